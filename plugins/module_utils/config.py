# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinRM configuration tree (``winrm/config``) as data.

One class per resource. Each knows its fields in Windows' element order (MS-WSMV 2.2.4), parses
what Windows returns (keeping ``Source="GPO"`` per field and ``Source="GPO"|"Compatibility"`` per
listener), renders partial Put and Create bodies, and diffs a desired state against the current
one. No XML of the config tree is built anywhere else. A reply value Windows would never send (a
number that is not one) is an ``InvalidReply`` naming the element, never a bare ``ValueError``.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing as t
import xml.etree.ElementTree as ET

from ansible_collections.wsman.winrm.plugins.module_utils.wsman import URI_PREFIX, WSManError, WSManFault

CONFIG_URI = URI_PREFIX + "config"
LISTENER_URI = CONFIG_URI + "/listener"
CERTMAPPING_URI = CONFIG_URI + "/service/certmapping"

# The fault a Get or Delete of an instance that does not exist gets (wsmerror.h 0x80338000).
NOT_FOUND = 2150858752

SOURCE_GPO = "GPO"
SOURCE_COMPATIBILITY = "Compatibility"

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


# --------------------------------------------------------------------------------------------
# Reply values
# --------------------------------------------------------------------------------------------

# WinRM and WMI numbers are 32- or 64-bit: 20 digits hold any of them. A longer run of digits is
# not a number Windows sends (and Python refuses to parse more than 4,300 digits at all).
_NUMBER = re.compile(r"[+-]?[0-9]{1,20}")
REPLY_HINT = ("the host, or something between it and the controller (a proxy or load balancer), sent a "
              "WS-Management reply Windows never sends: check that the endpoint is a Windows WinRM listener "
              "and that nothing on the path rewrites the replies")


class InvalidReply(WSManError):
    """A value in a reply that is not what the protocol allows (a non-numeric number, ...)."""

    def __init__(self, element: str, value: t.Any, expected: str):
        shown = str(value)
        shown = repr(shown) if len(shown) <= 40 else "%r... (%d characters)" % (shown[:40], len(shown))
        self.element = element
        super().__init__("the reply holds %s = %s, which is not %s" % (element, shown, expected), hint=REPLY_HINT)

    def at(self, url: str) -> "InvalidReply":
        """The same error naming the host's endpoint (the model does not know it)."""
        if not self.message.startswith(url):
            self.message = "%s: %s" % (url, self.message)
        self.args = (self._render(),)
        return self


def reply_int(text: t.Any, element: str) -> int:
    """A number from a reply; InvalidReply (naming the element) for anything else."""
    value = str(text).strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidReply(element, text, "a whole number")
    return int(value)


# --------------------------------------------------------------------------------------------
# Field definitions
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Field:
    """One leaf setting: its XML element, its Ansible option, its type and how it may be written."""

    xml: str
    option: str
    kind: type  # bool, int, str or list
    read_only: bool = False
    write_only: bool = False  # sent, never returned (CertMapping Password)
    key: bool = False  # a selector: identifies the instance, not in Create/Put bodies
    case_insensitive: bool = False  # Windows compares and canonicalises these
    choices: tuple[str, ...] = ()  # canonical spellings; a desired value in any case maps to one

    def parse(self, text: str | None) -> t.Any:
        text = (text or "").strip()
        if self.kind is bool:
            return None if not text else text.lower() == "true"
        if self.kind is int:
            return reply_int(text, self.xml) if text else None
        if self.kind is list:
            return [item.strip() for item in text.split(",") if item.strip()]
        return text

    def coerce(self, value: t.Any) -> t.Any:
        """A desired value (bool, int, str or list from a task) in this field's type."""
        if value is None:
            return None
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("%s must be a boolean, got %r" % (self.option, value))
        if self.kind is int:
            if isinstance(value, bool):
                raise ValueError("%s must be an integer, got %r" % (self.option, value))
            try:
                return int(str(value).strip())
            except ValueError:
                raise ValueError("%s must be an integer, got %r" % (self.option, value)) from None
        if self.kind is list:
            items = value.split(",") if isinstance(value, str) else list(value)
            return [str(item).strip() for item in items if str(item).strip()]
        text = str(value)
        for choice in self.choices:
            if choice.lower() == text.strip().lower():
                return choice
        if self.choices:
            raise ValueError("%s must be one of %s, got %r" % (self.option, ", ".join(self.choices), value))
        return text

    def render(self, value: t.Any) -> str:
        if value is None:
            return ""
        if self.kind is bool:
            return "true" if value else "false"
        if self.kind is list:
            return ",".join(value)
        return str(value)

    def same(self, current: t.Any, desired: t.Any) -> bool:
        if self.kind is list:  # TrustedHosts and the like: order and case do not matter to Windows
            return sorted(v.lower() for v in current or []) == sorted(v.lower() for v in desired or [])
        if self.kind is str:
            current, desired = current or "", desired or ""
            if self.case_insensitive:
                return current.replace(" ", "").lower() == desired.replace(" ", "").lower()
        return current == desired


@dataclasses.dataclass(frozen=True)
class Section:
    """A nested resource (``Auth`` inside ``Service``), rendered as a nested element."""

    xml: str
    option: str
    resource: type  # a Resource subclass


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flatten(desired: t.Mapping[str, t.Any], prefix: str = "") -> dict[str, t.Any]:
    flat: dict[str, t.Any] = {}
    for name, value in desired.items():
        path = prefix + name
        if isinstance(value, t.Mapping) and not ("after" in value and "before" in value):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


# --------------------------------------------------------------------------------------------
# The resource base
# --------------------------------------------------------------------------------------------

class Resource:
    """A WinRM config resource: values by option name, Source per option, nested sections."""

    XML_NAME = ""
    RESOURCE_URI = ""
    MEMBERS: tuple[Field | Section, ...] = ()

    def __init__(self, values: t.Mapping[str, t.Any] | None = None, *, source: str = "",
                 sources: t.Mapping[str, str] | None = None,
                 sections: t.Mapping[str, "Resource"] | None = None):
        self.values: dict[str, t.Any] = {}
        self.sources: dict[str, str] = dict(sources or {})
        self.sections: dict[str, Resource] = {}
        self.source = source  # the root element's Source attribute ("", "GPO", "Compatibility")
        for member in self.MEMBERS:
            if isinstance(member, Section):
                given = (sections or {}).get(member.option)
                self.sections[member.option] = given if given is not None else member.resource()
            elif not member.write_only:
                self.values[member.option] = None
        for option, value in (values or {}).items():
            self.set(option, value)

    # ---- metadata -------------------------------------------------------------------------

    @classmethod
    def fields(cls) -> list[Field]:
        return [m for m in cls.MEMBERS if isinstance(m, Field)]

    @classmethod
    def field(cls, path: str) -> Field:
        """The field at a dotted option path (``auth.basic``); KeyError names the unknown option."""
        head, _sep, rest = path.partition(".")
        for member in cls.MEMBERS:
            if member.option == head:
                if isinstance(member, Section):
                    if not rest:
                        break
                    return member.resource.field(rest)
                if not rest:
                    return member
        raise KeyError("%s has no setting '%s'" % (cls.__name__, path))

    @classmethod
    def option_paths(cls, prefix: str = "") -> list[str]:
        paths: list[str] = []
        for member in cls.MEMBERS:
            if isinstance(member, Section):
                paths.extend(member.resource.option_paths(prefix + member.option + "."))
            else:
                paths.append(prefix + member.option)
        return paths

    # ---- values ---------------------------------------------------------------------------

    def get(self, path: str, default: t.Any = None) -> t.Any:
        head, _sep, rest = path.partition(".")
        if rest:
            return self.sections[head].get(rest, default)
        self.field(head)
        value = self.values.get(head)
        return default if value is None else value

    __getitem__ = get

    def set(self, path: str, value: t.Any) -> None:
        head, _sep, rest = path.partition(".")
        if head in self.sections:
            if isinstance(value, Resource):
                self.sections[head] = value
            elif isinstance(value, t.Mapping):
                for name, item in value.items():
                    self.sections[head].set(name if not rest else rest + "." + name, item)
            else:
                self.sections[head].set(rest, value)
            return
        field = self.field(head)
        if field.write_only:
            raise KeyError("%s is write-only and never kept" % field.option)
        self.values[head] = field.coerce(value)

    def get_section(self, path: str) -> "Resource":
        """The nested resource at a dotted section path (``service.auth``)."""
        resource = self
        for name in path.split("."):
            resource = resource.sections[name]
        return resource

    def source_of(self, path: str) -> str:
        head, _sep, rest = path.partition(".")
        if rest:
            return self.sections[head].source_of(rest)
        return self.sources.get(head, "")

    def policy_controlled(self, prefix: str = "") -> list[str]:
        """Dotted option paths whose value Windows marked ``Source="GPO"``."""
        paths = [prefix + option for option, source in self.sources.items() if source == SOURCE_GPO]
        for option, section in self.sections.items():
            paths.extend(section.policy_controlled(prefix + option + "."))
        return sorted(paths)

    def to_dict(self) -> dict[str, t.Any]:
        """Snake-case keys, nested sections as dicts; write-only values never appear."""
        result: dict[str, t.Any] = {}
        for member in self.MEMBERS:
            if isinstance(member, Section):
                result[member.option] = self.sections[member.option].to_dict()
            elif not member.write_only:
                value = self.values.get(member.option)
                result[member.option] = list(value) if isinstance(value, list) else value
        return result

    def copy(self) -> "Resource":
        return copy.deepcopy(self)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict() \
            and self.source == other.source  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, self.to_dict())

    # ---- XML in ---------------------------------------------------------------------------

    @classmethod
    def from_xml(cls, element: ET.Element) -> "Resource":
        """Parse a reply element; names are matched on the local name (clients vary the namespace)."""
        resource = cls(source=element.get("Source") or "")
        by_name = {m.xml: m for m in cls.MEMBERS}
        for child in element:
            member = by_name.get(local_name(child.tag))
            if member is None:
                continue  # settings of newer Windows versions are ignored, not fatal
            if isinstance(member, Section):
                resource.sections[member.option] = member.resource.from_xml(child)
                continue
            if member.write_only:
                continue
            value = member.parse("".join(child.itertext()))
            if member.kind is list and member.read_only:  # ListeningOn: one element per value
                resource.values[member.option] = (resource.values.get(member.option) or []) + value
            else:
                resource.values[member.option] = value
            source = child.get("Source")
            if source:
                resource.sources[member.option] = source
        for member in cls.fields():
            if member.kind is list and member.read_only and resource.values.get(member.option) is None:
                resource.values[member.option] = []  # no ListeningOn element: listening nowhere
        return resource

    # ---- XML out --------------------------------------------------------------------------

    @classmethod
    def _render_into(cls, parent: ET.Element, namespace: str, values: t.Mapping[str, t.Any],
                     include_keys: bool) -> None:
        for member in cls.MEMBERS:
            if isinstance(member, Section):
                nested = {k[len(member.option) + 1:]: v for k, v in values.items()
                          if k.startswith(member.option + ".")}
                if nested:
                    element = ET.SubElement(parent, "{%s}%s" % (namespace, member.xml))
                    member.resource._render_into(element, namespace, nested, include_keys)
                continue
            if member.option not in values or (member.key and not include_keys):
                continue
            value = values[member.option]
            if value is None:
                continue
            value = member.coerce(value)
            if member.kind is list and member.read_only:
                continue
            ET.SubElement(parent, "{%s}%s" % (namespace, member.xml)).text = member.render(value)

    @classmethod
    def render(cls, values: t.Mapping[str, t.Any], namespace: str | None = None,
               include_keys: bool = False) -> ET.Element:
        """A (partial) document holding only ``values`` (dotted option paths or nested dicts),
        in Windows' element order; read-only fields are refused, write-only ones are allowed."""
        flat = {k: (v["after"] if isinstance(v, t.Mapping) else v) for k, v in _flatten(values).items()}
        for path in flat:
            field = cls.field(path)
            if field.read_only:
                raise ValueError("%s is read-only and cannot be written" % path)
        namespace = namespace or cls.RESOURCE_URI
        root = ET.Element("{%s}%s" % (namespace, cls.XML_NAME))
        cls._render_into(root, namespace, flat, include_keys)
        return root

    def render_put(self, changes: t.Mapping[str, t.Any], namespace: str | None = None) -> ET.Element:
        """The partial Put body for ``changes`` (``diff()['changes']`` or option -> value)."""
        return self.render(changes, namespace)

    def updated(self, changes: t.Mapping[str, t.Any]) -> "Resource":
        """A copy with ``changes`` applied: the predicted state after a Put (check mode)."""
        result = self.copy()
        for path, value in _flatten(changes).items():
            value = value["after"] if isinstance(value, t.Mapping) else value
            if not self.field(path).write_only:
                result.set(path, value)
        return result

    def diff(self, desired: t.Mapping[str, t.Any]) -> dict[str, dict[str, dict[str, t.Any]]]:
        return diff(self, desired)


def diff(current: Resource, desired: t.Mapping[str, t.Any]) -> dict[str, dict[str, dict[str, t.Any]]]:
    """Compare a desired state (option -> value, nested dicts or dotted paths; None = unmanaged).

    Returns ``{"changes": {...}, "policy_controlled": {...}, "read_only": {...}}``, each mapping a
    dotted option path to ``{"before": ..., "after": ...}``. Changes to settings Windows marks
    ``Source="GPO"`` or that are read-only are listed apart and left out of ``changes``, so a
    module can refuse or skip them; ``changes`` is what a Put may send.
    """
    result: dict[str, dict[str, dict[str, t.Any]]] = {"changes": {}, "policy_controlled": {}, "read_only": {}}
    for path, value in _flatten(desired).items():
        if value is None:
            continue
        field = current.field(path)
        if field.write_only:
            continue  # never returned, so never comparable: the module decides (e.g. update_password)
        wanted = field.coerce(value)
        before = current.get(path)
        if field.same(before, wanted):
            continue
        entry = {"before": before, "after": wanted}
        if field.read_only:
            result["read_only"][path] = entry
        elif current.source_of(path) == SOURCE_GPO:
            result["policy_controlled"][path] = entry
        else:
            result["changes"][path] = entry
    return result


# --------------------------------------------------------------------------------------------
# The resources (element order = Windows' order, MS-WSMV 2.2.4)
# --------------------------------------------------------------------------------------------

class Auth(Resource):
    """Authentication switches of the client or of the service."""

    XML_NAME = "Auth"
    ROLE = ""

    @staticmethod
    def for_role(role: str) -> type["Auth"]:
        return {"client": ClientAuth, "service": ServiceAuth}[role]


class ClientAuth(Auth):
    ROLE = "client"
    RESOURCE_URI = CONFIG_URI + "/client/auth"
    MEMBERS = (
        Field("Basic", "basic", bool),
        Field("Digest", "digest", bool),
        Field("Kerberos", "kerberos", bool),
        Field("Negotiate", "negotiate", bool),
        Field("Certificate", "certificate", bool),
        Field("CredSSP", "credssp", bool),
    )


class ServiceAuth(Auth):
    """The service has no Digest: Windows refuses it with a schema fault (2150858817)."""

    ROLE = "service"
    RESOURCE_URI = CONFIG_URI + "/service/auth"
    MEMBERS = (
        Field("Basic", "basic", bool),
        Field("Kerberos", "kerberos", bool),
        Field("Negotiate", "negotiate", bool),
        Field("Certificate", "certificate", bool),
        Field("CredSSP", "credssp", bool),
        Field("CbtHardeningLevel", "cbt_hardening_level", str, case_insensitive=True,
              choices=("None", "Relaxed", "Strict")),
    )


class DefaultPorts(Resource):
    XML_NAME = "DefaultPorts"
    MEMBERS = (
        Field("HTTP", "http", int),
        Field("HTTPS", "https", int),
    )


class ClientDefaultPorts(DefaultPorts):
    RESOURCE_URI = CONFIG_URI + "/client/defaultports"


class ServiceDefaultPorts(DefaultPorts):
    RESOURCE_URI = CONFIG_URI + "/service/defaultports"


class ClientConfig(Resource):
    XML_NAME = "Client"
    RESOURCE_URI = CONFIG_URI + "/client"
    MEMBERS = (
        Field("NetworkDelayms", "network_delay_ms", int),
        Field("URLPrefix", "url_prefix", str),
        Field("AllowUnencrypted", "allow_unencrypted", bool),
        Section("Auth", "auth", ClientAuth),
        Section("DefaultPorts", "default_ports", ClientDefaultPorts),
        Field("TrustedHosts", "trusted_hosts", list),
    )


class ServiceConfig(Resource):
    XML_NAME = "Service"
    RESOURCE_URI = CONFIG_URI + "/service"
    MEMBERS = (
        Field("RootSDDL", "root_sddl", str),
        Field("MaxConcurrentOperations", "max_concurrent_operations", int, read_only=True),
        Field("MaxConcurrentOperationsPerUser", "max_concurrent_operations_per_user", int),
        Field("EnumerationTimeoutms", "enumeration_timeout_ms", int),
        Field("MaxConnections", "max_connections", int),
        Field("MaxPacketRetrievalTimeSeconds", "max_packet_retrieval_time_seconds", int),
        Field("AllowUnencrypted", "allow_unencrypted", bool),
        Section("Auth", "auth", ServiceAuth),
        Section("DefaultPorts", "default_ports", ServiceDefaultPorts),
        Field("IPv4Filter", "ipv4_filter", str),
        Field("IPv6Filter", "ipv6_filter", str),
        Field("EnableCompatibilityHttpListener", "enable_compatibility_http_listener", bool),
        Field("EnableCompatibilityHttpsListener", "enable_compatibility_https_listener", bool),
        Field("CertificateThumbprint", "certificate_thumbprint", str, case_insensitive=True),
        Field("AllowRemoteAccess", "allow_remote_access", bool),
    )


class Winrs(Resource):
    XML_NAME = "Winrs"
    RESOURCE_URI = CONFIG_URI + "/winrs"
    MEMBERS = (
        Field("AllowRemoteShellAccess", "allow_remote_shell_access", bool),
        Field("IdleTimeout", "idle_timeout", int),
        Field("MaxConcurrentUsers", "max_concurrent_users", int),
        Field("MaxShellRunTime", "max_shell_run_time", int, read_only=True),
        Field("MaxProcessesPerShell", "max_processes_per_shell", int),
        Field("MaxMemoryPerShellMB", "max_memory_per_shell_mb", int),
        Field("MaxShellsPerUser", "max_shells_per_user", int),
    )


class WinRMConfig(Resource):
    """``winrm/config`` as a whole: one Get answers most questions, one partial Put changes many."""

    XML_NAME = "Config"
    RESOURCE_URI = CONFIG_URI
    MEMBERS = (
        Field("MaxEnvelopeSizekb", "max_envelope_size_kb", int),
        Field("MaxTimeoutms", "max_timeout_ms", int),
        Field("MaxBatchItems", "max_batch_items", int),
        Field("MaxProviderRequests", "max_provider_requests", int, read_only=True),
        Section("Client", "client", ClientConfig),
        Section("Service", "service", ServiceConfig),
        Section("Winrs", "winrs", Winrs),
    )

    @property
    def client(self) -> ClientConfig:
        return t.cast(ClientConfig, self.sections["client"])

    @property
    def service(self) -> ServiceConfig:
        return t.cast(ServiceConfig, self.sections["service"])

    @property
    def winrs(self) -> Winrs:
        return t.cast(Winrs, self.sections["winrs"])


def listener_selectors(address: str, transport: str) -> dict[str, str]:
    """Selectors of a listener; Windows matches them case-insensitively and replies canonically."""
    return {"Address": address, "Transport": transport.upper()}


def certmapping_selectors(uri: str, subject: str, issuer: str) -> dict[str, str]:
    return {"URI": uri, "Subject": subject, "Issuer": issuer}


class Listener(Resource):
    """A listener; ``source`` is "" (local), "GPO" or "Compatibility" (never addressable as a listener)."""

    XML_NAME = "Listener"
    RESOURCE_URI = LISTENER_URI
    MEMBERS = (
        Field("Address", "address", str, key=True, case_insensitive=True),
        Field("Transport", "transport", str, key=True, case_insensitive=True, choices=("HTTP", "HTTPS")),
        Field("Port", "port", int),
        Field("Hostname", "hostname", str, case_insensitive=True),
        Field("Enabled", "enabled", bool),
        Field("URLPrefix", "url_prefix", str),
        Field("CertificateThumbprint", "certificate_thumbprint", str, case_insensitive=True),
        Field("ListeningOn", "listening_on", list, read_only=True),
    )

    @property
    def is_compatibility(self) -> bool:
        return self.source == SOURCE_COMPATIBILITY

    @property
    def selectors(self) -> dict[str, str]:
        return listener_selectors(self.get("address", "*"), self.get("transport", ""))

    def matches(self, address: str, transport: str) -> bool:
        """Same Address and Transport (case-insensitive); compatibility listeners never match."""
        return not self.is_compatibility \
            and (self.get("address") or "").lower() == address.lower() \
            and (self.get("transport") or "").lower() == transport.lower()

    def to_dict(self) -> dict[str, t.Any]:
        result = super().to_dict()
        result["source"] = self.source
        return result

    @classmethod
    def create_body(cls, port: int | None = None, hostname: str | None = None, enabled: bool | None = None,
                    url_prefix: str | None = None, certificate_thumbprint: str | None = None) -> ET.Element:
        """The Create body; Address and Transport go in the selectors. Omitted values take Windows'
        defaults (Port from service DefaultPorts, Enabled=true, URLPrefix=wsman)."""
        values = {"port": port, "hostname": hostname, "enabled": enabled, "url_prefix": url_prefix,
                  "certificate_thumbprint": certificate_thumbprint}
        return cls.render({k: v for k, v in values.items() if v is not None})


class CertMapping(Resource):
    """A client-certificate mapping. The password is write-only: it is rendered into a Create or
    Put body when given, and never stored, returned, printed or diffed."""

    XML_NAME = "CertMapping"
    RESOURCE_URI = CERTMAPPING_URI
    MEMBERS = (
        Field("URI", "uri", str, key=True),
        Field("Subject", "subject", str, key=True),
        Field("Issuer", "issuer", str, key=True, case_insensitive=True),
        Field("UserName", "user_name", str, case_insensitive=True),
        Field("Enabled", "enabled", bool),
        Field("Password", "password", str, write_only=True),
    )

    @property
    def selectors(self) -> dict[str, str]:
        return certmapping_selectors(self.get("uri", ""), self.get("subject", ""), self.get("issuer", ""))

    def matches(self, uri: str, subject: str, issuer: str) -> bool:
        return (self.get("uri") or "").lower() == uri.lower() \
            and (self.get("subject") or "").lower() == subject.lower() \
            and (self.get("issuer") or "").lower() == issuer.lower()

    @classmethod
    def create_body(cls, user_name: str, password: str, enabled: bool = True) -> ET.Element:
        """UserName and Password go together (fault 2150859116 otherwise)."""
        return cls.render({"user_name": user_name, "enabled": enabled, "password": password})

    def render_put(self, changes: t.Mapping[str, t.Any], namespace: str | None = None,
                   password: str | None = None) -> ET.Element:
        values = dict(_flatten(changes))
        if password is not None:
            values["password"] = password
            # Windows checks the password against the account: send the name with it.
            values.setdefault("user_name", self.get("user_name"))
        return self.render(values, namespace)


def read_instance(session: t.Any, resource_class: type[Resource], selectors: t.Mapping[str, str]) -> Resource | None:
    """The instance (a listener, a CertMapping) as the host holds it; None when it has none."""
    try:
        return resource_class.from_xml(session.get(resource_class.RESOURCE_URI, selectors))
    except WSManFault as fault:
        if fault.code == NOT_FOUND:
            return None
        raise


def delete_instance(session: t.Any, resource_class: type[Resource], selectors: t.Mapping[str, str]) -> None:
    """Delete an instance; one that is not there (never created, or gone already) counts as deleted."""
    try:
        session.delete(resource_class.RESOURCE_URI, selectors)
    except WSManFault as fault:
        if fault.code != NOT_FOUND:
            raise
