"""WS-Management engine of the simulated WinRM service: SOAP in, SOAP out.

Parses the envelopes pypsrp (pypsrp.wsman.WSMan) and pywinrm (winrm.protocol.Protocol) send,
dispatches WS-Transfer / WS-Enumeration / WMI Invoke / WinRS operations to the host's resources,
and writes the replies with Windows' namespaces, prefixes, element order and Source attributes.
Sources for the behaviour: /work/shared/reference (wsman-config-facts.md, 10_real_cli_outputs.md,
wsman_error_codes.md, MS-WSMV_config_extract.md); anything inferred is marked [INF].
"""
from __future__ import annotations

import base64
import datetime
import logging
import re
import shlex
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from . import firewall, profiles
from .faults import (ANONYMOUS, NS_SOAP, NS_WSA, NS_WSMAN, WSManFault, build_fault,
                     soap_envelope, xml_attr, xml_text)
from .host import SddlError, parse_dacl, parse_ip_filter
from .profiles import REG_DWORD, REG_SZ

log = logging.getLogger(__name__)

NS_WSMV = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"

CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"
LISTENER_URI = CONFIG_URI + "/listener"
CERTMAPPING_URI = CONFIG_URI + "/service/certmapping"
SHELL_CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
STDREGPROV_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
ENUMERATION = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
A_GET, A_PUT, A_CREATE, A_DELETE = (TRANSFER + x for x in ("Get", "Put", "Create", "Delete"))
A_ENUMERATE, A_PULL, A_RELEASE = (ENUMERATION + x for x in ("Enumerate", "Pull", "Release"))
A_COMMAND, A_RECEIVE, A_SIGNAL, A_SEND = (SHELL + x for x in ("Command", "Receive", "Signal", "Send"))

HKEY_LOCAL_MACHINE = 2147483650
WBEM_E_TYPE_MISMATCH = 2147749893


# --- the config tree --------------------------------------------------------------------------------
class Leaf:
    def __init__(self, name, kind="string", minimum=0):
        self.name, self.kind, self.minimum = name, kind, minimum


class Section:
    def __init__(self, name, children):
        self.name, self.children = name, children

    def child(self, name):
        for child in self.children:
            if child.name == name:
                return child
        return None


def _auth(names_kinds):
    return [Leaf(n, k) for n, k in names_kinds]


# Element order: wsman-config-facts.md [REAL]; types and limits: MS-WSMV 2.2.4.x.
SCHEMA = Section("Config", [
    Leaf("MaxEnvelopeSizekb", "uint", 32),
    Leaf("MaxTimeoutms", "uint", 500),
    Leaf("MaxBatchItems", "uint", 1),
    Leaf("MaxProviderRequests", "deprecated"),
    Section("Client", [
        Leaf("NetworkDelayms", "uint", 500),
        Leaf("URLPrefix", "prefix"),
        Leaf("AllowUnencrypted", "bool"),
        Section("Auth", _auth([("Basic", "bool"), ("Digest", "bool"), ("Kerberos", "bool"),
                               ("Negotiate", "bool"), ("Certificate", "bool"), ("CredSSP", "bool")])),
        Section("DefaultPorts", [Leaf("HTTP", "port"), Leaf("HTTPS", "port")]),
        Leaf("TrustedHosts"),
    ]),
    Section("Service", [
        Leaf("RootSDDL", "sddl"),
        Leaf("MaxConcurrentOperations", "deprecated"),
        Leaf("MaxConcurrentOperationsPerUser", "uint", 1),
        Leaf("EnumerationTimeoutms", "uint", 500),
        Leaf("MaxConnections", "uint", 1),
        Leaf("MaxPacketRetrievalTimeSeconds", "uint", 1),
        Leaf("AllowUnencrypted", "bool"),
        Section("Auth", _auth([("Basic", "bool"), ("Kerberos", "bool"), ("Negotiate", "bool"),
                               ("Certificate", "bool"), ("CredSSP", "bool"), ("CbtHardeningLevel", "cbt")])),
        Section("DefaultPorts", [Leaf("HTTP", "port"), Leaf("HTTPS", "port")]),
        Leaf("IPv4Filter", "filter4"),
        Leaf("IPv6Filter", "filter6"),
        Leaf("EnableCompatibilityHttpListener", "bool"),
        Leaf("EnableCompatibilityHttpsListener", "bool"),
        Leaf("CertificateThumbprint", "thumbprint"),
        Leaf("AllowRemoteAccess", "bool"),
    ]),
    Section("Winrs", [
        Leaf("AllowRemoteShellAccess", "bool"),
        Leaf("IdleTimeout", "uint", 60000),
        Leaf("MaxConcurrentUsers", "uint", 1),
        Leaf("MaxShellRunTime", "shellruntime"),
        Leaf("MaxProcessesPerShell", "uint", 1),
        Leaf("MaxMemoryPerShellMB", "uint", 1),
        Leaf("MaxShellsPerUser", "uint", 1),
    ]),
])

# Resource URI (lower case, after CONFIG_URI) -> path of section names below Config.
CONFIG_RESOURCES = {
    "": (), "/client": ("Client",), "/client/auth": ("Client", "Auth"),
    "/client/defaultports": ("Client", "DefaultPorts"), "/service": ("Service",),
    "/service/auth": ("Service", "Auth"), "/service/defaultports": ("Service", "DefaultPorts"),
    "/winrs": ("Winrs",),
}

LISTENER_FIELDS = ("Address", "Transport", "Port", "Hostname", "Enabled", "URLPrefix", "CertificateThumbprint")
CERTMAPPING_KEYS = ("URI", "Subject", "Issuer")


def section_at(path):
    node = SCHEMA
    for name in path:
        node = node.child(name)
    return node


# --- request parsing -------------------------------------------------------------------------------
class Request:
    def __init__(self, envelope: ET.Element):
        self.envelope = envelope
        header = envelope.find(f"{{{NS_SOAP}}}Header")
        self.body = envelope.find(f"{{{NS_SOAP}}}Body")
        self.header = header if header is not None else ET.Element("Header")

        def text(ns, local):
            element = self.header.find(f"{{{ns}}}{local}")
            return element.text.strip() if element is not None and element.text else None

        self.action = text(NS_WSA, "Action")
        self.message_id = text(NS_WSA, "MessageID")
        self.to = text(NS_WSA, "To") or ""
        self.resource_uri = text(NS_WSMAN, "ResourceURI") or ""
        self.max_envelope = text(NS_WSMAN, "MaxEnvelopeSize")
        self.selectors: list[tuple[str, str]] = []
        selector_set = self.header.find(f"{{{NS_WSMAN}}}SelectorSet")
        if selector_set is not None:
            for selector in selector_set.findall(f"{{{NS_WSMAN}}}Selector"):
                self.selectors.append((selector.get("Name", ""), (selector.text or "").strip()))
        self.options: dict[str, str] = {}
        option_set = self.header.find(f"{{{NS_WSMAN}}}OptionSet")
        if option_set is not None:
            for option in option_set.findall(f"{{{NS_WSMAN}}}Option"):
                self.options[option.get("Name", "")] = (option.text or "").strip()

    @property
    def payload(self) -> ET.Element | None:
        """The first element of the SOAP body."""
        if self.body is None:
            return None
        return next(iter(self.body), None)

    @property
    def machine(self) -> str:
        # The host part as the client wrote it (urlsplit would lower-case it).
        try:
            netloc = urllib.parse.urlsplit(self.to).netloc
        except ValueError:
            return ""
        netloc = netloc.rpartition("@")[2]
        if netloc.startswith("["):
            return netloc[1:netloc.find("]")] if "]" in netloc else ""
        return netloc.partition(":")[0]


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _selector_dict(request: Request, allowed: tuple[str, ...], required: bool = True) -> dict[str, str]:
    """Selectors by canonical name; names match case-insensitively (reference output 3)."""
    canonical = {name.lower(): name for name in allowed}
    result: dict[str, str] = {}
    for name, value in request.selectors:
        key = canonical.get(name.lower())
        if key is None:
            raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
        if key in result:
            raise WSManFault("DUPLICATE_SELECTORS")
        result[key] = value
    if required and len(result) != len(allowed):
        raise WSManFault("INSUFFICIENT_SELECTORS", detail="InsufficientSelectors")
    return result


# --- entry point -----------------------------------------------------------------------------------
def handle_request(host, body: bytes, principal) -> tuple[int, bytes]:
    """Never raises: every failure becomes a SOAP fault (an internal error if it is a bug)."""
    request = None
    try:
        if len(body) > host.max_envelope_bytes():
            # MS-WSMV 3.1.4.1.20: larger than MaxEnvelopeSizekb -> HTTP 413 without processing.
            return 413, b""
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError:
            raise WSManFault("INVALID_XML")
        if envelope.tag != f"{{{NS_SOAP}}}Envelope":
            raise WSManFault("INVALID_SOAP_BODY")
        request = Request(envelope)
        compat_http_was_on = firewall.compat_http_on(host)
        reply = dispatch(host, request, principal)
        firewall.follow_compatibility_listener(host, compat_http_was_on)  # seed 000: port-80 rule follows
        if request.max_envelope and request.max_envelope.isdigit() and len(reply) > int(request.max_envelope):
            raise WSManFault("MAX_ENVELOPE_SIZE_EXCEEDED")
        return 200, reply
    except WSManFault as fault:
        relates = request.message_id if request is not None else None
        machine = request.machine if request is not None else ""
        return 500, build_fault(fault, machine=machine or host.name, host_name=host.name, relates_to=relates)
    except Exception:  # noqa: BLE001 - a simulator bug must still look like a Windows fault
        log.exception("internal error while handling a request for %s", host.name)
        relates = request.message_id if request is not None else None
        return 500, build_fault(WSManFault("INTERNAL_ERROR"), machine=host.name, host_name=host.name,
                                relates_to=relates)


def dispatch(host, request: Request, principal) -> bytes:
    if request.body is None:
        raise WSManFault("INVALID_SOAP_BODY")
    if request.action is None:
        payload = request.payload
        if payload is not None and payload.tag == f"{{{NS_WSMID}}}Identify":
            return identify_reply(host)
        raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
    if not request.message_id:
        raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
    if request.max_envelope is not None:
        if not request.max_envelope.isdigit() or int(request.max_envelope) < 8192:
            raise WSManFault("INVALID_MESSAGE_INFORMATION_HEADER")
        if int(request.max_envelope) > host.max_envelope_bytes():
            raise WSManFault("MAX_ENVELOPE_SIZE")

    action = request.action
    uri = request.resource_uri.lower()
    access = _access_for(action, uri)
    if not principal.user or not host.authorized(principal, access):
        raise WSManFault("ACCESS_DENIED")

    if uri == SHELL_CMD_URI.lower():
        return ShellResource(host, request, principal).handle()
    if uri == STDREGPROV_URI.lower():
        return RegistryProvider(host, request).handle()
    if action in (A_PULL, A_RELEASE):
        return enumeration_continue(host, request)
    firewall_class = firewall.class_of(uri)
    if firewall_class:
        return firewall.handle(host, request, firewall_class)
    if uri.startswith(CONFIG_URI.lower()):
        suffix = uri[len(CONFIG_URI):].rstrip("/")
        if suffix in CONFIG_RESOURCES:
            return ConfigResource(host, request, CONFIG_RESOURCES[suffix]).handle()
        if suffix == "/listener":
            return ListenerResource(host, request, principal).handle()
        if suffix == "/service/certmapping":
            return CertMappingResource(host, request, principal).handle()
    if not request.resource_uri:
        raise WSManFault("INVALID_RESOURCE_URI")
    raise WSManFault("RESOURCE_NOT_FOUND", detail="InvalidResourceURI")


def _access_for(action: str, uri: str) -> str:
    if uri == SHELL_CMD_URI.lower():
        return "execute"
    if action in (A_GET, A_ENUMERATE, A_PULL, A_RELEASE):
        return "read"
    if uri == STDREGPROV_URI.lower():
        method = action.rpartition("/")[2]
        return "read" if method.startswith(("Get", "Enum", "Check")) else "write"
    return "write"


def reply(action: str, request: Request, body_xml: str, extra_ns: str = "") -> bytes:
    return soap_envelope(action, request.message_id, body_xml, extra_ns)


def identify_reply(host) -> bytes:
    body = (f'<wsmid:IdentifyResponse xmlns:wsmid="{NS_WSMID}">'
            f"<wsmid:ProtocolVersion>{NS_WSMAN}</wsmid:ProtocolVersion>"
            "<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
            "<wsmid:ProductVersion>OS: 10.0.20348 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"
            "<wsmid:SecurityProfiles><wsmid:SecurityProfileName>"
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos"
            "</wsmid:SecurityProfileName></wsmid:SecurityProfiles></wsmid:IdentifyResponse>")
    text = (f'<s:Envelope xml:lang="en-US" xmlns:s="{NS_SOAP}"><s:Header/>'
            f"<s:Body>{body}</s:Body></s:Envelope>")
    return text.encode("utf-8")


# --- WS-Enumeration ---------------------------------------------------------------------------------
def start_enumeration(host, request: Request, items: list[str]) -> bytes:
    payload = request.payload
    if payload is None or local_name(payload.tag) != "Enumerate":
        raise WSManFault("INVALID_SOAP_BODY")
    optimize = False
    max_elements = None
    for child in payload:
        name = local_name(child.tag)
        if name == "OptimizeEnumeration":
            optimize = True
        elif name == "MaxElements":
            max_elements = _positive_int(child.text)
        elif name == "Filter":
            raise WSManFault("FILTERING_NOT_SUPPORTED")
    _expire_enumerations(host)
    context = "uuid:" + str(uuid.uuid4()).upper()
    batch_limit = int(host.effective_value(("MaxBatchItems",)))
    if optimize:
        count = min(max_elements or 1, batch_limit)  # DSP0226: MaxElements defaults to 1
        first, rest = items[:count], items[count:]
    else:
        first, rest = [], items
    if optimize and not rest:
        body = (f"<n:EnumerateResponse><n:EnumerationContext></n:EnumerationContext>"
                f"<w:Items>{''.join(first)}</w:Items><w:EndOfSequence/></n:EnumerateResponse>")
        return reply(ENUMERATION + "EnumerateResponse", request, body)
    host.enumerations[context] = {"uri": request.resource_uri.lower(), "items": rest,
                                  "expires": _enumeration_deadline(host)}
    items_xml = f"<w:Items>{''.join(first)}</w:Items>" if optimize else ""
    body = (f"<n:EnumerateResponse><n:EnumerationContext>{context}</n:EnumerationContext>"
            f"{items_xml}</n:EnumerateResponse>")
    return reply(ENUMERATION + "EnumerateResponse", request, body)


def _enumeration_deadline(host) -> float:
    try:
        timeout_ms = int(host.effective_value(("Service", "EnumerationTimeoutms")))
    except ValueError:
        timeout_ms = 240000
    return time.monotonic() + timeout_ms / 1000.0


def _expire_enumerations(host) -> None:
    now = time.monotonic()
    for context in [c for c, e in host.enumerations.items() if e["expires"] < now]:
        del host.enumerations[context]


def enumeration_continue(host, request: Request) -> bytes:
    payload = request.payload
    if payload is None or local_name(payload.tag) not in ("Pull", "Release"):
        raise WSManFault("INVALID_SOAP_BODY")
    context = None
    max_elements = 1
    for child in payload:
        name = local_name(child.tag)
        if name == "EnumerationContext":
            context = (child.text or "").strip()
        elif name == "MaxElements":
            max_elements = _positive_int(child.text) or 1
    _expire_enumerations(host)
    state = host.enumerations.get(context or "")
    if state is None or state["uri"] != request.resource_uri.lower():
        raise WSManFault("INVALID_ENUMERATION_CONTEXT")
    if request.action == A_RELEASE:
        del host.enumerations[context]
        return reply(ENUMERATION + "ReleaseResponse", request, "")
    count = min(max_elements, int(host.effective_value(("MaxBatchItems",))))
    batch, state["items"] = state["items"][:count], state["items"][count:]
    if state["items"]:
        state["expires"] = _enumeration_deadline(host)
        body = (f"<n:PullResponse><n:EnumerationContext>{context}</n:EnumerationContext>"
                f"<n:Items>{''.join(batch)}</n:Items></n:PullResponse>")
    else:
        del host.enumerations[context]
        body = f"<n:PullResponse><n:Items>{''.join(batch)}</n:Items><n:EndOfSequence/></n:PullResponse>"
    return reply(ENUMERATION + "PullResponse", request, body)


def _positive_int(text) -> int | None:
    try:
        value = int((text or "").strip())
    except ValueError:
        raise WSManFault("SCHEMA_VALIDATION_ERROR")
    if value < 1:
        raise WSManFault("SCHEMA_VALIDATION_ERROR")
    return value


# --- value validation --------------------------------------------------------------------------------
def validate_value(host, leaf: Leaf, raw: str) -> str:
    value = (raw or "").strip() if leaf.kind != "string" else (raw or "")
    kind = leaf.kind
    if kind == "bool":
        if value.lower() not in ("true", "false"):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        return value.lower()
    if kind == "uint":
        if not value.isdigit() or int(value) > 4294967295 or int(value) < leaf.minimum:
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        return str(int(value))
    if kind == "port":
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            raise WSManFault("CONFIG_PORT_INVALID", provider=True)
        return str(int(value))
    if kind == "cbt":
        from .host import CBT_LEVELS
        if value.lower() not in CBT_LEVELS:
            raise WSManFault("SERVICE_CBT_HARDENING_INVALID", provider=True)
        return CBT_LEVELS[value.lower()]
    if kind == "sddl":
        try:
            parse_dacl(value)
        except SddlError:
            raise WSManFault("INVALID_SECURITY_DESCRIPTOR", provider=True)
        return value
    if kind in ("filter4", "filter6"):
        try:
            parse_ip_filter(value, 4 if kind == "filter4" else 6)
        except ValueError:
            raise WSManFault("INVALID_IPFILTER", provider=True)
        return value
    if kind == "thumbprint":
        value = value.replace(" ", "").upper()
        if value and (not re.fullmatch(r"[0-9A-F]{40}", value) or host.cert_store is None
                      or host.cert_store.find(value) is None):
            raise WSManFault("CERT_NOT_FOUND", provider=True)
        return value
    if kind == "prefix":
        # MS-WSMV: URLPrefix is [a-zA-Z0-9_/], not blank, no leading or trailing '/'.
        if not re.fullmatch(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*", value):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        return value
    return value


def _leaf_text(element: ET.Element) -> str:
    if len(element):
        raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
    if element.get(f"{{{NS_XSI}}}nil", "").lower() == "true":
        return ""
    return element.text or ""


# --- config resources ------------------------------------------------------------------------------
class ConfigResource:
    """config, config/client[/auth|/defaultports], config/service[/auth|/defaultports], config/winrs."""

    def __init__(self, host, request: Request, path: tuple[str, ...]):
        self.host, self.request, self.path = host, request, path
        self.section = section_at(path)
        suffix = "/".join(p.lower() for p in path)
        self.namespace = CONFIG_URI + ("/" + suffix if suffix else "")

    def handle(self) -> bytes:
        if self.request.selectors:
            raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
        action = self.request.action
        if action == A_GET:
            return reply(TRANSFER + "GetResponse", self.request, self.render())
        if action == A_PUT:
            self.put()
            return reply(TRANSFER + "PutResponse", self.request, self.render())
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def render(self) -> str:
        overrides = self.host.policy_overrides()
        inner = self._render_children(self.section, self.path, overrides)
        name = self.section.name
        return (f'<cfg:{name} xmlns:cfg="{self.namespace}" xml:lang="en-US">{inner}</cfg:{name}>')

    def _render_children(self, section: Section, path, overrides) -> str:
        parts = []
        for child in section.children:
            child_path = path + (child.name,)
            if isinstance(child, Section):
                parts.append(f"<cfg:{child.name}>{self._render_children(child, child_path, overrides)}"
                             f"</cfg:{child.name}>")
                continue
            source = ' Source="GPO"' if child_path in overrides else ""
            value = overrides.get(child_path, self.host.local_value(child_path))
            parts.append(f"<cfg:{child.name}{source}>{xml_text(value)}</cfg:{child.name}>")
        return "".join(parts)

    def put(self) -> None:
        payload = self.request.payload
        if payload is None:
            raise WSManFault("INVALID_REPRESENTATION")
        if local_name(payload.tag) != self.section.name:
            raise WSManFault("INVALID_REPRESENTATION")
        overrides = self.host.policy_overrides()
        changes: list[tuple[tuple[str, ...], str]] = []
        self._collect(payload, self.section, self.path, overrides, changes)
        for path, value in changes:
            node = self.host.state["config"]
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value

    def _collect(self, element, section: Section, path, overrides, changes) -> None:
        for child in element:
            name = local_name(child.tag)
            spec = section.child(name)
            if spec is None:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            child_path = path + (name,)
            if isinstance(spec, Section):
                self._collect(child, spec, child_path, overrides, changes)
                continue
            raw = _leaf_text(child)
            if spec.kind == "deprecated":
                # MS-WSMV notes <11>, <18>: Put of MaxProviderRequests / MaxConcurrentOperations.
                raise WSManFault("DEPRECATED_CONFIG_SETTING", provider=True)
            if spec.kind == "shellruntime":
                # MS-WSMV <29>: the minimum (and only value) is the current one on 2008 R2+.
                if raw.strip() != self.host.local_value(child_path):
                    raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
                continue
            value = validate_value(self.host, spec, raw)
            if child_path in overrides:
                # Windows refuses to change a policy-controlled value; an unchanged value in a
                # whole-document Put is let through [INF].
                if value != overrides[child_path]:
                    raise WSManFault("CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING", provider=True, name=name)
                continue
            changes.append((child_path, value))


# --- listeners -------------------------------------------------------------------------------------
def _canonical_address(address: str) -> str:
    """Validate a listener Address: '*', 'IP:<addr>' or 'MAC:<mac>'."""
    text = address.strip()
    if text == "*":
        return "*"
    kind, _sep, rest = text.partition(":")
    if kind.upper() == "IP" and rest:
        import ipaddress
        try:
            ipaddress.ip_address(rest.strip("[]"))
        except ValueError:
            raise WSManFault("LISTENER_ADDRESS_INVALID", provider=True)
        return "IP:" + rest
    if kind.upper() == "MAC" and re.fullmatch(r"([0-9A-Fa-f]{2}[-:]){5}[0-9A-Fa-f]{2}", rest):
        return "MAC:" + rest.upper()
    raise WSManFault("LISTENER_ADDRESS_INVALID", provider=True)


def render_listener(host, item: dict) -> str:
    source = f' Source="{item["Source"]}"' if item.get("Source") else ""
    parts = [f"<cfg:{field}>{xml_text(item[field])}</cfg:{field}>" for field in LISTENER_FIELDS]
    addresses = host.listening_on(item["Address"])
    if addresses:
        parts += [f"<cfg:ListeningOn>{a}</cfg:ListeningOn>" for a in addresses]
    else:
        parts.append('<cfg:ListeningOn xsi:nil="true"/>')  # shown as "null" by winrm.cmd
    return (f'<cfg:Listener xmlns:cfg="{LISTENER_URI}" xmlns:xsi="{NS_XSI}"{source} xml:lang="en-US">'
            f"{''.join(parts)}</cfg:Listener>")


def resource_created(request: Request, resource_uri: str, selectors: list[tuple[str, str]],
                     address: str = ANONYMOUS, extra: str = "") -> bytes:
    selector_xml = "".join(f"<w:Selector Name={xml_attr(n)}>{xml_text(v)}</w:Selector>" for n, v in selectors)
    body = (f"<x:ResourceCreated><a:Address>{xml_text(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{resource_uri}</w:ResourceURI><w:SelectorSet>{selector_xml}</w:SelectorSet>"
            f"</a:ReferenceParameters></x:ResourceCreated>{extra}")
    return reply(TRANSFER + "CreateResponse", request, body)


class ListenerResource:
    def __init__(self, host, request: Request, principal):
        self.host, self.request, self.principal = host, request, principal

    def handle(self) -> bytes:
        action = self.request.action
        if action == A_ENUMERATE:
            if self.request.selectors:
                raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
            items = [render_listener(self.host, item) for item in self.host.effective_listeners()]
            return start_enumeration(self.host, self.request, items)
        selectors = _selector_dict(self.request, ("Address", "Transport"))
        transport = selectors["Transport"].upper()
        if transport not in ("HTTP", "HTTPS"):
            raise WSManFault("INVALID_SELECTORS")
        address = _canonical_address(selectors["Address"])
        if action == A_GET:
            item = self._find_effective(address, transport)
            return reply(TRANSFER + "GetResponse", self.request, render_listener(self.host, item))
        if action == A_CREATE:
            return self.create(address, transport)
        if action == A_PUT:
            return self.put(address, transport)
        if action == A_DELETE:
            self._refuse_gpo(address, transport)
            index = self._local_index(address, transport)
            del self.host.state["listeners"][index]
            return reply(TRANSFER + "DeleteResponse", self.request, "")
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def _find_effective(self, address, transport) -> dict:
        # Compatibility listeners are not addressable (seed 000); GPO ones can be read.
        for item in self.host.effective_listeners():
            if item["Source"] == "Compatibility":
                continue
            if item["Address"].lower() == address.lower() and item["Transport"] == transport:
                return item
        raise WSManFault("RESOURCE_NOT_FOUND")

    def _local_index(self, address, transport) -> int:
        for index, item in enumerate(self.host.state["listeners"]):
            if item["Address"].lower() == address.lower() and item["Transport"] == transport:
                return index
        raise WSManFault("RESOURCE_NOT_FOUND")

    def _refuse_gpo(self, address, transport) -> None:
        if self.host.auto_config_enabled() and address == "*" and transport == "HTTP":
            # The policy listener replaces the local */HTTP one; text per the GPO fault [INF].
            raise WSManFault("CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING", provider=True, name="Listener")

    def _read_body(self, address, transport, allow_missing: bool) -> dict:
        payload = self.request.payload
        values: dict[str, str] = {}
        if payload is None:
            if allow_missing:
                return values
            raise WSManFault("INVALID_REPRESENTATION")
        if local_name(payload.tag) != "Listener":
            raise WSManFault("INVALID_REPRESENTATION")
        for child in payload:
            name = local_name(child.tag)
            text = _leaf_text(child).strip()
            if name == "ListeningOn":
                raise WSManFault("CONFIG_READONLY_PROPERTY", provider=True)
            if name in ("Address", "Transport"):
                same = (_canonical_address(text).lower() == address.lower() if name == "Address"
                        else text.upper() == transport)
                if not same:
                    raise WSManFault("CANNOT_CHANGE_KEYS", provider=True)
                continue
            if name not in LISTENER_FIELDS:
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values[name] = text
        return values

    def _validate(self, item: dict) -> dict:
        port = item["Port"]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise WSManFault("CONFIG_PORT_INVALID", provider=True)
        item["Port"] = str(int(port))
        if item["Enabled"].lower() not in ("true", "false"):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        item["Enabled"] = item["Enabled"].lower()
        validate_value(self.host, Leaf("URLPrefix", "prefix"), item["URLPrefix"])
        thumbprint = item["CertificateThumbprint"].replace(" ", "").upper()
        item["CertificateThumbprint"] = thumbprint
        if item["Transport"] == "HTTP":
            if thumbprint:
                raise WSManFault("CONFIG_THUMBPRINT_SHOULD_BE_EMPTY", provider=True)
            return item
        store = self.host.cert_store
        now = datetime.datetime.now(datetime.timezone.utc)
        if not thumbprint:
            # No thumbprint: the machine certificate whose CN is the Hostname (or computer name),
            # usable for SSL per the quickconfig rule (0x80338115 text).
            wanted = item["Hostname"] or self.host.name
            for cert in (store.by_subject_cn(wanted) if store else []):
                if cert.server_auth and not cert.is_ca and not cert.self_signed and _aware(cert.not_after) > now:
                    item["CertificateThumbprint"] = cert.thumbprint.upper()
                    return item
            raise WSManFault("QUICK_CONFIG_FAILED_CERT_REQUIRED", provider=True)
        cert = store.find(thumbprint) if store else None
        if cert is None:
            raise WSManFault("CERT_NOT_FOUND", provider=True)
        if item["Hostname"] and cert.subject_cn.lower() != item["Hostname"].lower():
            raise WSManFault("CONFIG_CERT_CN_DOES_NOT_MATCH_HOSTNAME", provider=True)
        if not cert.server_auth:
            raise WSManFault("CERT_INVALID_USAGE", provider=True)
        if _aware(cert.not_after) <= now:
            raise WSManFault("QUICK_CONFIG_FAILED_CERT_REQUIRED", provider=True)
        return item

    def create(self, address, transport) -> bytes:
        for item in self.host.state["listeners"]:
            if item["Address"].lower() == address.lower() and item["Transport"] == transport:
                raise WSManFault("ALREADY_EXISTS", provider=True)
        self._refuse_gpo(address, transport)
        values = self._read_body(address, transport, allow_missing=True)
        default_port = self.host.effective_value(("Service", "DefaultPorts", transport))
        item = profiles.listener(address=address, transport=transport, port=default_port)
        item.update(values)
        item = self._validate(item)
        self.host.state["listeners"].append(item)
        return resource_created(self.request, LISTENER_URI, [("Address", address), ("Transport", transport)])

    def put(self, address, transport) -> bytes:
        self._refuse_gpo(address, transport)
        index = self._local_index(address, transport)
        values = self._read_body(address, transport, allow_missing=False)
        item = dict(self.host.state["listeners"][index])
        if item["Transport"] == "HTTPS" and "Hostname" in values and "CertificateThumbprint" not in values:
            pass  # keep the bound certificate; _validate checks its CN against the new Hostname
        item.update(values)
        item = self._validate(item)
        self.host.state["listeners"][index] = item
        return reply(TRANSFER + "PutResponse", self.request, render_listener(self.host, dict(item, Source="")))


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


# --- certificate mappings ------------------------------------------------------------------------
def render_certmapping(item: dict) -> str:
    fields = ("URI", "Subject", "Issuer", "UserName", "Enabled")  # Password is never returned
    parts = "".join(f"<cfg:{f}>{xml_text(item.get(f, ''))}</cfg:{f}>" for f in fields)
    return f'<cfg:CertMapping xmlns:cfg="{CERTMAPPING_URI}" xml:lang="en-US">{parts}</cfg:CertMapping>'


class CertMappingResource:
    def __init__(self, host, request: Request, principal):
        self.host, self.request, self.principal = host, request, principal

    def handle(self) -> bytes:
        action = self.request.action
        mappings = self.host.state["certmappings"]
        if action == A_ENUMERATE:
            if self.request.selectors:
                raise WSManFault("UNEXPECTED_SELECTORS", detail="UnexpectedSelectors")
            return start_enumeration(self.host, self.request, [render_certmapping(m) for m in mappings])
        keys = _selector_dict(self.request, CERTMAPPING_KEYS)
        if action == A_CREATE:
            return self.create(keys)
        index = self._index(keys)
        if action == A_GET:
            return reply(TRANSFER + "GetResponse", self.request, render_certmapping(mappings[index]))
        if action == A_PUT:
            return self.put(index, keys)
        if action == A_DELETE:
            del mappings[index]
            return reply(TRANSFER + "DeleteResponse", self.request, "")
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def _index(self, keys) -> int:
        for index, item in enumerate(self.host.state["certmappings"]):
            if all(item[k].lower() == keys[k].lower() for k in CERTMAPPING_KEYS):
                return index
        raise WSManFault("RESOURCE_NOT_FOUND")

    def _validate_keys(self, keys) -> dict:
        uri, subject, issuer = keys["URI"], keys["Subject"], keys["Issuer"]
        # MS-WSMV 2.2.4.x CertMapping: URI at most one '*' (last), no whitespace or '?'.
        if (not uri or len(uri) > 1023 or re.search(r"\s|\?", uri) or uri.count("*") > 1
                or ("*" in uri and not uri.endswith("*"))):
            raise WSManFault("URISECURITY_INVALIDURIKEY", provider=True)
        if (not subject or len(subject) > 1023 or subject.count("*") > 1
                or ("*" in subject and not subject.startswith("*"))):
            raise WSManFault("CERTMAPPING_INVALIDSUBJECTKEY", provider=True)
        issuer = issuer.replace(" ", "").upper()
        store = self.host.cert_store
        if (not re.fullmatch(r"[0-9A-F]{40}", issuer) or store is None
                or not store.is_trusted_ca(issuer)):
            raise WSManFault("CERTMAPPING_INVALIDISSUERKEY", provider=True)
        return {"URI": uri, "Subject": subject, "Issuer": issuer}

    def _read_body(self, keys) -> dict:
        payload = self.request.payload
        if payload is None:
            return {}
        if local_name(payload.tag) != "CertMapping":
            raise WSManFault("INVALID_REPRESENTATION")
        values = {}
        for child in payload:
            name = local_name(child.tag)
            text = _leaf_text(child)
            if name in CERTMAPPING_KEYS:
                if text.strip().lower() != keys[name].lower():
                    raise WSManFault("CONFIG_CANNOT_CHANGE_CERTMAPPING_KEYS", provider=True)
                continue
            if name not in ("UserName", "Password", "Enabled"):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values[name] = text if name == "Password" else text.strip()
        if "Enabled" in values:
            if values["Enabled"].lower() not in ("true", "false"):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            values["Enabled"] = values["Enabled"].lower()
        return values

    def _check_credentials(self, values) -> None:
        if ("UserName" in values) != ("Password" in values):
            raise WSManFault("CERTMAPPING_PASSWORDUSERTUPLE", provider=True)
        if "Password" not in values:
            return
        # winrm.vbs: "the -r switch must be used since the WinRM service must store the password".
        if not self.principal.remote:
            raise WSManFault("NO_CERTMAPPING_OPERATION_FOR_LOCAL_SESSION", provider=True)
        password = values["Password"]
        if password == "":
            raise WSManFault("CERTMAPPING_PASSWORDBLANK", provider=True)
        if len(password) > 255:
            raise WSManFault("CERTMAPPING_PASSWORDTOOLONG", provider=True)
        account = self.host.check_password(values["UserName"], password)
        if account is None:  # unknown, not local (another domain) or wrong password
            raise WSManFault("CERTMAPPING_INVALIDUSERCREDENTIALS", provider=True)
        values["UserName"] = account

    def create(self, keys) -> bytes:
        keys = self._validate_keys(keys)
        for item in self.host.state["certmappings"]:
            if all(item[k].lower() == keys[k].lower() for k in CERTMAPPING_KEYS):
                raise WSManFault("ALREADY_EXISTS", provider=True)
        values = self._read_body(keys)
        if "UserName" not in values and "Password" not in values:
            raise WSManFault("CERTMAPPING_PASSWORDUSERTUPLE", provider=True)
        self._check_credentials(values)
        item = dict(keys, UserName=values["UserName"], Password=values["Password"],
                    Enabled=values.get("Enabled", "true"))
        self.host.state["certmappings"].append(item)
        return resource_created(self.request, CERTMAPPING_URI,
                                [("Issuer", keys["Issuer"]), ("Subject", keys["Subject"]), ("URI", keys["URI"])])

    def put(self, index, keys) -> bytes:
        values = self._read_body(keys)
        self._check_credentials(values)
        item = self.host.state["certmappings"][index]
        item.update(values)
        return reply(TRANSFER + "PutResponse", self.request, render_certmapping(item))


# --- WMI StdRegProv -------------------------------------------------------------------------------
# Keys the simulator stores; everything else reads as absent (ReturnValue 2).
MODELLED_KEY_PREFIXES = (profiles.WINRM_POLICY.lower(), profiles.SYSTEM_POLICY.lower())


class RegistryProvider:
    """StdRegProv over WS-Management: Invoke = wsa:Action '<resource URI>/<Method>'."""

    def __init__(self, host, request: Request):
        self.host, self.request = host, request

    def handle(self) -> bytes:
        action = self.request.action or ""
        if not action.lower().startswith(STDREGPROV_URI.lower() + "/"):
            raise WSManFault("ACTION_NOT_SUPPORTED")
        method = action[len(STDREGPROV_URI) + 1:]
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            raise WSManFault("ACTION_NOT_SUPPORTED")
        payload = self.request.payload
        if payload is None or local_name(payload.tag) != method + "_INPUT":
            raise WSManFault("INVALID_SOAP_BODY")
        params: dict[str, str] = {}
        for child in payload:
            params[local_name(child.tag)] = child.text or ""
        hive = params.get("hDefKey", str(HKEY_LOCAL_MACHINE)).strip()
        if not hive.isdigit():
            raise WSManFault("INVALID_PARAMETER_WIN32")
        outputs = handler(int(hive), params.get("sSubKeyName", "").strip("\\"), params)
        body = "".join(self._render_output(name, value) for name, value in outputs)
        body = (f'<p:{method}_OUTPUT xmlns:p="{STDREGPROV_URI}">{body}</p:{method}_OUTPUT>')
        return reply(STDREGPROV_URI + "/" + method + "Response", self.request, body,
                     extra_ns=f' xmlns:xsi="{NS_XSI}"')

    @staticmethod
    def _render_output(name, value) -> str:
        if value is None:
            return f'<p:{name} xsi:nil="true"/>'
        if isinstance(value, list):
            return "".join(f"<p:{name}>{xml_text(v)}</p:{name}>" for v in value)
        return f"<p:{name}>{xml_text(value)}</p:{name}>"

    # helpers
    def _key(self, hive, key):
        if hive != HKEY_LOCAL_MACHINE:
            return None, None
        return self.host._registry_key(key)

    def _modelled(self, key: str) -> bool:
        lower = key.lower()
        return any(lower == p or lower.startswith(p + "\\") for p in MODELLED_KEY_PREFIXES)

    def _get(self, hive, key, name, kind):
        real_key, values = self._key(hive, key)
        if values is None:
            return 2, None
        for value_name, (value_kind, data) in values.items():
            if value_name.lower() == name.lower():
                if value_kind != kind:
                    return WBEM_E_TYPE_MISMATCH, None
                return 0, data
        return 2, None

    def _set(self, hive, key, name, kind, data):
        real_key, values = self._key(hive, key)
        if values is None:
            return 2  # the key must exist (CreateKey first), as with RegOpenKeyEx
        if not self._modelled(real_key):
            return 5
        for value_name in list(values):
            if value_name.lower() == name.lower():
                del values[value_name]
        values[name] = [kind, data]
        return 0

    # methods
    def m_GetDWORDValue(self, hive, key, params):
        code, data = self._get(hive, key, params.get("sValueName", ""), REG_DWORD)
        return [("ReturnValue", code), ("uValue", data)]

    def m_GetStringValue(self, hive, key, params):
        code, data = self._get(hive, key, params.get("sValueName", ""), REG_SZ)
        return [("ReturnValue", code), ("sValue", data)]

    def m_SetDWORDValue(self, hive, key, params):
        raw = (params.get("uValue") or "0").strip()
        if not raw.isdigit() or int(raw) > 0xFFFFFFFF:
            raise WSManFault("INVALID_PARAMETER_WIN32")
        return [("ReturnValue", self._set(hive, key, params.get("sValueName", ""), REG_DWORD, int(raw)))]

    def m_SetStringValue(self, hive, key, params):
        return [("ReturnValue", self._set(hive, key, params.get("sValueName", ""), REG_SZ,
                                          params.get("sValue", "")))]

    def m_DeleteValue(self, hive, key, params):
        real_key, values = self._key(hive, key)
        name = params.get("sValueName", "")
        if values is None:
            return [("ReturnValue", 2)]
        for value_name in list(values):
            if value_name.lower() == name.lower():
                if not self._modelled(real_key):
                    return [("ReturnValue", 5)]
                del values[value_name]
                return [("ReturnValue", 0)]
        return [("ReturnValue", 2)]

    def m_CreateKey(self, hive, key, params):
        if hive != HKEY_LOCAL_MACHINE or not key:
            return [("ReturnValue", 2)]
        if self._key(hive, key)[1] is not None:
            return [("ReturnValue", 0)]
        if not self._modelled(key):
            return [("ReturnValue", 5)]  # the simulator stores only WinRM / UAC policy keys
        parts = key.split("\\")
        registry = self.host.state["registry"]
        for i in range(1, len(parts) + 1):
            partial = "\\".join(parts[:i])
            if self.host._registry_key(partial)[1] is None:
                registry[partial] = {}
        return [("ReturnValue", 0)]

    def m_DeleteKey(self, hive, key, params):
        real_key, values = self._key(hive, key)
        if values is None:
            return [("ReturnValue", 2)]
        if not self._modelled(real_key):
            return [("ReturnValue", 5)]
        if self._subkeys(real_key):
            return [("ReturnValue", 5)]  # RegDeleteKey refuses keys with subkeys
        del self.host.state["registry"][real_key]
        return [("ReturnValue", 0)]

    def _subkeys(self, real_key: str) -> list[str]:
        prefix = real_key.lower() + "\\"
        names = []
        for key in self.host.state["registry"]:
            if key.lower().startswith(prefix) and "\\" not in key[len(prefix):]:
                names.append(key[len(prefix):])
        return sorted(names, key=str.lower)

    def m_EnumKey(self, hive, key, params):
        real_key, values = self._key(hive, key)
        if values is None:
            return [("ReturnValue", 2), ("sNames", None)]
        names = self._subkeys(real_key)
        return [("ReturnValue", 0), ("sNames", names or None)]

    def m_EnumValues(self, hive, key, params):
        real_key, values = self._key(hive, key)
        if values is None:
            return [("ReturnValue", 2), ("sNames", None), ("Types", None)]
        names = list(values)
        types = [4 if values[n][0] == REG_DWORD else 1 for n in names]
        if not names:
            return [("ReturnValue", 0), ("sNames", None), ("Types", None)]
        return [("ReturnValue", 0), ("sNames", names), ("Types", types)]


# --- WinRS (cmd shell) ------------------------------------------------------------------------------
class ShellResource:
    """Enough of WinRS for pywinrm's open_shell / run_command / get_command_output / close_shell."""

    def __init__(self, host, request: Request, principal):
        self.host, self.request, self.principal = host, request, principal

    def handle(self) -> bytes:
        if self.host.effective_value(("Winrs", "AllowRemoteShellAccess")).lower() != "true":
            raise WSManFault("REMOTESHELLS_NOT_ALLOWED")
        action = self.request.action
        if action == A_CREATE:
            return self.create()
        shell_id = self._shell_id()
        if action == A_DELETE:
            del self.host.shells[shell_id]
            return reply(TRANSFER + "DeleteResponse", self.request, "")
        if action == A_COMMAND:
            return self.command(shell_id)
        if action == A_RECEIVE:
            return self.receive(shell_id)
        if action == A_SIGNAL:
            payload = self.request.payload
            command_id = payload.get("CommandId", "") if payload is not None else ""
            self.host.shells[shell_id]["commands"].pop(command_id.upper(), None)
            return reply(SHELL + "SignalResponse", self.request,
                         f'<rsp:SignalResponse xmlns:rsp="{NS_RSP}"/>')
        if action == A_SEND:
            return reply(SHELL + "SendResponse", self.request, f'<rsp:SendResponse xmlns:rsp="{NS_RSP}"/>')
        raise WSManFault("ACTION_NOT_SUPPORTED")

    def _shell_id(self) -> str:
        shell_id = dict((n.lower(), v) for n, v in self.request.selectors).get("shellid", "").upper()
        if shell_id not in self.host.shells:
            raise WSManFault("RESOURCE_NOT_FOUND")
        return shell_id

    def create(self) -> bytes:
        shell_id = str(uuid.uuid4()).upper()
        self.host.shells[shell_id] = {"owner": self.principal.user, "commands": {}}
        shell = (f'<rsp:Shell xmlns:rsp="{NS_RSP}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
                 f"<rsp:ResourceUri>{SHELL_CMD_URI}</rsp:ResourceUri>"
                 f"<rsp:Owner>{xml_text(self.principal.user)}</rsp:Owner>"
                 f"<rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                 f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                 f"<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
                 f"</rsp:Shell>")
        return resource_created(self.request, SHELL_CMD_URI, [("ShellId", shell_id)],
                                address=self.request.to or ANONYMOUS, extra=shell)

    def command(self, shell_id) -> bytes:
        payload = self.request.payload
        command, arguments = "", ""
        if payload is not None:
            for child in payload:
                if local_name(child.tag) == "Command":
                    command = (child.text or "").strip()
                elif local_name(child.tag) == "Arguments":
                    arguments += " " + (child.text or "")
        stdout, exit_code = simulate_command((command + arguments).strip())
        command_id = str(uuid.uuid4()).upper()
        self.host.shells[shell_id]["commands"][command_id] = {"stdout": stdout, "exit": exit_code}
        body = (f'<rsp:CommandResponse xmlns:rsp="{NS_RSP}"><rsp:CommandId>{command_id}</rsp:CommandId>'
                f"</rsp:CommandResponse>")
        return reply(SHELL + "CommandResponse", self.request, body)

    def receive(self, shell_id) -> bytes:
        payload = self.request.payload
        stream = payload.find(f"{{{NS_RSP}}}DesiredStream") if payload is not None else None
        command_id = (stream.get("CommandId", "") if stream is not None else "").upper()
        command = self.host.shells[shell_id]["commands"].get(command_id)
        if command is None:
            raise WSManFault("RESOURCE_NOT_FOUND")
        out = base64.b64encode(command["stdout"]).decode("ascii")
        cid = xml_attr(command_id)
        body = (f'<rsp:ReceiveResponse xmlns:rsp="{NS_RSP}">'
                f'<rsp:Stream Name="stdout" CommandId={cid}>{out}</rsp:Stream>'
                f'<rsp:Stream Name="stdout" CommandId={cid} End="true"></rsp:Stream>'
                f'<rsp:Stream Name="stderr" CommandId={cid} End="true"></rsp:Stream>'
                f'<rsp:CommandState CommandId={cid} State="{SHELL}CommandState/Done">'
                f"<rsp:ExitCode>{command['exit']}</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>")
        return reply(SHELL + "ReceiveResponse", self.request, body)


def simulate_command(command_line: str) -> tuple[bytes, int]:
    """`echo X` (optionally behind `cmd /c`) prints X; `exit N` exits N; anything else succeeds silently."""
    text = command_line.strip()
    lowered = text.lower()
    for prefix in ("cmd.exe /c ", "cmd /c ", "cmd.exe /c", "cmd /c"):
        if lowered.startswith(prefix):
            text = text[len(prefix):].strip()
            lowered = text.lower()
            break
    if lowered == "echo" or lowered.startswith("echo "):
        return (text[5:] + "\r\n").encode("utf-8"), 0
    if lowered.startswith("exit"):
        try:
            return b"", int(shlex.split(text)[1])
        except (IndexError, ValueError):
            return b"", 0
    return b"", 0
