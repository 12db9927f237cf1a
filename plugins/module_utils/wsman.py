# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one WS-Management session of the collection.

One pypsrp ``WSMan`` client per endpoint, opened on first use. Every failure leaves this module
as a ``WSManError`` (or a subclass) carrying the Windows code, Windows' own message and a hint
saying what to do. No exception text ever contains a password.
"""

from __future__ import annotations

import logging
import re
import typing as t
import xml.etree.ElementTree as ET
from urllib.parse import quote

from ansible_collections.wsman.winrm.plugins.module_utils import compat
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import DEFAULTS as _DEFAULT_PORTS

try:
    import requests
    from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError, WSManFaultError
    from pypsrp.wsman import SelectorSet

    HAS_PYPSRP = True
    PYPSRP_IMPORT_ERROR: str | None = None
except ImportError as import_error:  # pragma: no cover - exercised only without pypsrp
    HAS_PYPSRP = False
    PYPSRP_IMPORT_ERROR = str(import_error)

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import Endpoint

# --------------------------------------------------------------------------------------------
# Namespaces and URIs
# --------------------------------------------------------------------------------------------

URI_PREFIX = "http://schemas.microsoft.com/wbem/wsman/1/"
RESOURCE = URI_PREFIX + "config"
NS_SOAP = compat.NS_SOAP
NS_WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_WSMANFAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"

# winrm.cmd aliases: "winrm/..." is the WS-Man root, "wmicimv2/..." the WMI cimv2 namespace.
_URI_ALIASES = (
    ("winrm/", URI_PREFIX),
    ("wmicimv2/", URI_PREFIX + "wmi/root/cimv2/"),
)

# One Enumerate returns at most MaxBatchItems (32000 by default); the Pull loop stops after
# this many round trips even if the service never says EndOfSequence.
MAX_PULLS = 1000

# The WinRM 2.0 port and the WinRM 1.1 port of each scheme, from the one resolver's table.
WINRM_11_PORTS = {_DEFAULT_PORTS["client_ports"][scheme]: _DEFAULT_PORTS["legacy_ports"][scheme]
                  for scheme in ("http", "https")}


def expand_uri(resource_uri: str) -> str:
    """Full resource URI for a short one (``winrm/config/listener`` -> ``http://.../config/listener``)."""
    uri = resource_uri.strip()
    if "://" in uri:
        return uri
    uri = uri.lstrip("/")
    for short, full in _URI_ALIASES:
        if uri.lower().startswith(short):
            return full + uri[len(short):]
    return URI_PREFIX + uri


# --------------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------------

# What to do, per Windows fault code (wsmerror.h / Win32) or per transport condition (str keys).
# Sources for the codes: wsmerror.h (Windows SDK) and the texts winrm.cmd prints for them.
HINTS: dict[int | str, str] = {
    5: "the account lacks rights in RootSDDL: use an administrator, or for a local non-builtin "
       "admin set LocalAccountTokenFilterPolicy=1 (wsman.winrm.policy)",
    87: "a parameter of the request is invalid: check the values given to the task",
    2150858752: "the resource or instance was not found: check the selectors (listener Address/Transport, "
                "certmapping URI/Subject/Issuer); it may have been deleted already",
    2150858770: "the destination cannot be reached from the service",
    2150858771: "the service does not support this action on this resource",
    2150858773: "the service did not accept the document format: this is a bug in the request, please report it",
    2150858779: "the enumeration context expired: run the task again",
    2150858793: "the service did not finish within the operation timeout: raise operation_timeout "
                "(ansible_winrm_operation_timeout_sec) or retry",
    2150858801: "the action does not match the resource: this is a bug in the request, please report it",
    2150858803: "the instance already exists: update it instead of creating it, or delete it first",
    2150858811: "the resource URI is invalid: check the URI (short forms: winrm/config/..., wmi/root/...)",
    2150858813: "the selectors are invalid: listeners need Address and Transport, certmappings URI, Subject and Issuer",
    2150858817: "the document does not match the schema: a setting is not valid for this resource "
                "(e.g. Digest exists only in the client auth settings, not in the service's)",
    2150858838: "a value in the document is invalid: check the type and range of each setting",
    2150858839: "a required value is missing from the document",
    2150858840: "the document's XML namespace is wrong: this is a bug in the request, please report it",
    2150858842: "selectors are missing: listeners need Address and Transport, certmappings URI, Subject and Issuer",
    2150858843: "selectors were given to a resource that has none: drop them",
    2150858845: "a selector value is invalid: check listener Address ('*', 'IP:<addr>', 'MAC:<mac>') and Transport",
    2150858851: "the instance already exists: update it instead of creating it, or delete it first",
    2150858882: "the certificate was not found in the machine store (LocalMachine\\My): import it first or fix the thumbprint",
    2150858888: "the WinRM Group Policy values are corrupt: fix or remove them (wsman.winrm.policy)",
    2150858889: "the listener address is invalid: use '*', 'IP:<address>' or 'MAC:<mac address>'",
    2150858890: "the value is under Group Policy: change the policy (wsman.winrm.policy) or set policy_controlled: skip",
    2150858972: "the port is invalid: use 1-65535",
    2150858982: "the certificate thumbprint must be empty when the SSL binding is shared with another service",
    2150858983: "an HTTPS listener needs a certificate thumbprint (or a machine certificate whose CN matches Hostname)",
    2150858984: "another service owns the SSL binding for this address and port: use another port or address",
    2150858985: "the certificate's CN does not match the listener Hostname: set hostname to the certificate's CN",
    2150858987: "an HTTP listener takes no certificate thumbprint: remove certificate_thumbprint or use transport HTTPS",
    2150858988: "the IP filter is invalid: use '*', ranges 'IP1-IP2' separated by ',', or empty",
    2150858989: "the keys of an instance cannot be changed in place: delete it and create it with the new keys",
    2150858990: "the certificate is not valid for Server Authentication (EKU): use a server certificate",
    2150859029: "no usable certificate for HTTPS: give a thumbprint of a valid, non-self-signed server "
                "certificate whose CN matches the host name",
    2150859071: "the setting is read-only: remove it from the task",
    2150859090: "certificate mappings can only be created or re-passworded over a remote session: "
                "connect over the network, not to localhost",
    2150859091: "the certificate mapping store is full: remove unused mappings",
    2150859092: "the mapping's user name or password was rejected: use a local (non-domain) account and its current password",
    2150859100: "the security descriptor (SDDL) is invalid: check root_sddl",
    2150859104: "the certmapping URI is invalid: no whitespace or '?', at most one '*' at the end",
    2150859105: "the certmapping Subject is invalid: at most one '*', as the first character",
    2150859106: "the certmapping Issuer must be the thumbprint of a CA in the machine's Root or Intermediate store",
    2150859113: "a network connection is on the Public profile: make it Private or Domain, or use the "
                "firewall settings that allow the Public profile",
    2150859114: "the certmapping password is longer than 255 characters",
    2150859115: "the certmapping account cannot have a blank password",
    2150859116: "UserName and Password must be given together",
    2150859122: "the certmapping keys (URI, Subject, Issuer) cannot be changed: delete and recreate the mapping",
    2150859182: "the setting is deprecated and cannot be changed: remove it from the task",
    2150859192: "CbtHardeningLevel must be None, Relaxed or Strict (CBT): Strict needs HTTPS clients that send "
                "channel binding tokens",
    2150859199: "the security of this resource URI cannot be changed",
    2150859229: "the service refuses remote requests (AllowRemoteAccess=false): change it locally",
    # transport conditions
    "auth": "check the user name and password, that the '{auth}' method is enabled on the service "
            "(winrm/config/service/auth) and for the account; a local non-builtin administrator needs "
            "LocalAccountTokenFilterPolicy=1",
    "auth_basic_http": "Basic over HTTP also needs AllowUnencrypted=true on the service (insecure): "
                       "prefer HTTPS or NTLM/Kerberos with message encryption",
    "auth_kerberos": "Kerberos needs a ticket (kinit) or credentials, a host name (not an IP address) and an "
                     "SPN WSMAN/<host>",
    "kerberos_cache": "run kinit for the user (with KRB5CCNAME pointing at that cache), or set ansible_password "
                      "so a ticket is obtained for the task",
    "auth_certificate": "certificate authentication needs service auth Certificate=true, HTTPS, and a "
                        "CertMapping for the client certificate's issuer and subject",
    "refused": "nothing accepts connections on port {port}: check that the WinRM service runs, that a "
               "listener exists for this transport and port, and the firewall",
    "refused_legacy": "a WinRM 1.1 host (or one with compatibility listeners) answers on port {legacy} instead: "
                      "set the port explicitly if this is one; the collection never falls back on its own",
    "dns": "the host name does not resolve: check ansible_host and DNS",
    "unreachable": "the host cannot be reached: check routing, the address and the firewall",
    "dropped": "the request reached the host but its reply was cut off, so whether it was applied is unknown: "
               "read the setting back (wsman.winrm.info) before retrying; check the network path and proxies",
    "proxy": "the proxy refused or failed the connection: check the proxy URL and its credentials, or "
             "connect without a proxy",
    "tls": "the server certificate was not accepted: give the CA bundle that issued it (ansible_winrm_ca_trust_path "
           "or ansible_psrp_ca_cert; REQUESTS_CA_BUNDLE is never read), pin it with wsman_winrm_cert_fingerprint, or "
           "check that the host name matches the certificate",
    "tls_plain_http": "port {port} answers in plain HTTP: use http for this port (ansible_winrm_scheme: http; "
                      "5985 is WinRM's HTTP port, 5986 its HTTPS port), or point the task at the HTTPS listener",
    "tls_fingerprint": "the server certificate's SHA-256 fingerprint is not the pinned one: the listener's "
                       "certificate changed, or this is not the expected host",
    "timeout": "no answer in time: check that the host is up and the port is not silently dropped; raise "
               "connection_timeout/read_timeout if the host is slow",
    "deadline": "a reply trickling in slower than the deadline is not waited for: check the network path and "
                "proxies; raise read_timeout if the host is merely slow",
    "unencrypted_reply": "something on the network path (a proxy, a load balancer or an attacker) answered instead "
                         "of the host; whether the request was applied is unknown: read the state back over HTTPS or "
                         "from another network path before retrying",
    "undecryptable_reply": "the reply was damaged or not written by the host; whether the request was applied is "
                           "unknown: read the state back before retrying",
    "http": "the endpoint answered HTTP {status}: check the URL path ({path}) and that this is a WinRM listener",
    "config": "check the connection settings",
    "pypsrp": "install pypsrp on the controller: pip install pypsrp",
    "endless_enumeration": "the service never ended the enumeration: check that the endpoint is a WinRM listener "
                           "(not a proxy or another service answering on its port)",
    "protocol": "the reply was not a valid WS-Management message: check that the endpoint is a WinRM listener",
}

# Every quantifier is bounded and the scheme must start a token, so scrubbing is linear in the
# length of the text (an unbounded scheme backtracked quadratically on long runs of letters).
_URL_CREDENTIALS = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<user>[^:@/\s]{0,256}):(?P<secret>[^@/\s]{0,1024})@",
    re.I)
_SECRET_ASSIGNMENT = re.compile(r"(?P<key>password|passwd|pwd)(?P<sep>\s{0,8}[=:]\s{0,8})(?P<value>[^\s,;&'\"]+)",
                                re.I)
_REDACTED = "********"
# What a message (and so a task result) carries at most; the rest is cut, after scrubbing.
MAX_MESSAGE_CHARS = 2000


def _secret_pattern(secret: str) -> "re.Pattern[str]":
    """The secret as a whole token: not glued to letters or digits on a side where it has one, so a
    one-letter password does not turn every 'p' of a message into asterisks (and hint at itself)."""
    before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return re.compile(before + re.escape(secret) + after)


def scrub(text: str, secrets: t.Iterable[str | None] = ()) -> str:
    """Remove secrets from a message: the given values wherever they stand as a token (also
    URL-quoted), credentials in URLs and password assignments. Linear in the length of the text."""
    if not text:
        return text
    # Longest first, so a secret containing another is removed whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in sorted({secret, quote(secret, safe="")}, key=len, reverse=True):
            if form in text:
                text = _secret_pattern(form).sub(_REDACTED, text)
    text = _URL_CREDENTIALS.sub(lambda m: "%s%s:%s@" % (m.group("scheme"), m.group("user"), _REDACTED), text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: m.group("key") + m.group("sep") + _REDACTED, text)
    return text


def cap(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """At most ``limit`` characters, saying how much was cut (a hostile server can send megabytes)."""
    if len(text) <= limit:
        return text
    return "%s... [%d more characters cut]" % (text[:limit], len(text) - limit)


# pypsrp logs every request and reply body at DEBUG ("Sending message ...") before it encrypts
# them; a CertMapping Create or Put carries the mapped account's password in <Password>. Whoever
# turns on DEBUG logging on the controller must never find that password in the log.
_PASSWORD_ELEMENT = re.compile(r"(<(?:[\w.-]+:)?Password\b[^>]*>)(.*?)(</(?:[\w.-]+:)?Password\s*>)", re.S | re.I)


class RedactPasswordsFilter(logging.Filter):
    """Rewrites log records of pypsrp's WS-Man transport with every Password element emptied."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        # A malformed record is logged as it is.
        except Exception:  # pylint: disable=broad-except
            return True
        redacted = scrub(_PASSWORD_ELEMENT.sub(lambda m: m.group(1) + _REDACTED + m.group(3), message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_log_redaction() -> None:
    # A filter on a logger sees only records created on that very logger, so name each one.
    for name in ("pypsrp.wsman", "pypsrp"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactPasswordsFilter) for f in logger.filters):
            logger.addFilter(RedactPasswordsFilter())


_install_log_redaction()


class WSManError(Exception):
    """Base of every error of the session; ``str()`` is ``<message> (code N). <hint>``.

    ``outcome_unknown`` is True when the request may have reached the host and been applied but no
    trustworthy reply arrived (read timeout after sending, connection dropped mid-reply, HTTP 500
    that is not a SOAP fault, malformed or truncated XML, an unencrypted reply on an encrypted
    session, the deadline passed); False when it certainly was not applied (refused connection,
    connect timeout, DNS, TLS handshake, authentication refused, a well-formed WS-Man fault, bad
    settings found before sending). After an unknown outcome, read the host's state back before
    undoing or reporting anything.
    """

    outcome_unknown_default = True

    def __init__(self, message: str, code: int | None = None, hint: str = "", *,
                 operation: str | None = None, secrets: t.Iterable[str | None] = (),
                 outcome_unknown: bool | None = None):
        secrets = tuple(secrets)
        self.outcome_unknown = self.outcome_unknown_default if outcome_unknown is None else bool(outcome_unknown)
        self.code = code
        # Scrub the whole text first, then cut: cutting first could leave half a secret at the edge.
        self.message = cap(scrub((message or "").strip(), secrets))
        self.hint = cap(scrub((hint or "").strip(), secrets))
        self.operation = operation
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message.rstrip(". ") if self.code is not None else self.message
        if self.code is not None:
            text = "%s (code %s)" % (text, self.code)
        if self.hint:
            text = "%s. %s" % (text.rstrip("."), self.hint)
        return text

    def __str__(self) -> str:
        return self._render()

    def to_dict(self) -> dict[str, t.Any]:
        """For module results: code, message, hint (never a secret) and whether the outcome is unknown."""
        return {"code": self.code, "message": self.message, "hint": self.hint, "operation": self.operation,
                "outcome_unknown": self.outcome_unknown}


class WSManFault(WSManError):
    """A SOAP fault from the service: the service refused the request, nothing was applied."""

    outcome_unknown_default = False

    def __init__(self, message: str, code: int | None = None, hint: str = "", *, subcode: str | None = None,
                 machine: str | None = None, provider: str | None = None, **kwargs: t.Any):
        self.subcode = subcode
        self.machine = machine
        self.provider = provider
        super().__init__(message, code, hint, **kwargs)


class AuthenticationFailed(WSManError):
    """HTTP 401, or the authentication library gave up: the request was not processed."""

    outcome_unknown_default = False


class ConnectionFailed(WSManError):
    """Refused, unreachable, DNS, proxy (no request reached the host), or dropped mid-reply
    (raised with ``outcome_unknown=True``)."""

    outcome_unknown_default = False


class TLSFailed(WSManError):
    """Certificate validation, pinning or handshake: nothing was sent."""

    outcome_unknown_default = False


class TimedOut(WSManError):
    """Read timeout or deadline after sending (outcome unknown); a connect timeout is raised with
    ``outcome_unknown=False``."""


class OperationTimedOut(WSManFault, TimedOut):
    """Fault 2150858793: the service gave up within OperationTimeout."""


FAULT_CLASSES: dict[int, type[WSManFault]] = {2150858793: OperationTimedOut}


def parse_fault(xml_text: str) -> dict[str, t.Any]:
    """Code, subcode, machine, provider and the innermost message of a SOAP fault."""
    root = ET.fromstring(xml_text)
    fault = root.find(".//{%s}Fault" % NS_SOAP)
    info: dict[str, t.Any] = {"code": None, "subcode": None, "machine": None, "provider": None, "message": "",
                              "is_fault": fault is not None}
    reason = ""
    if fault is not None:
        sub = fault.find("{%s}Code/{%s}Subcode/{%s}Value" % (NS_SOAP, NS_SOAP, NS_SOAP))
        if sub is not None and sub.text:
            info["subcode"] = sub.text.strip()
        text = fault.find("{%s}Reason/{%s}Text" % (NS_SOAP, NS_SOAP))
        reason = (text.text or "").strip() if text is not None else ""
    faults = root.findall(".//{%s}WSManFault" % NS_WSMANFAULT)
    if faults:
        outer = faults[0]
        info["machine"] = outer.get("Machine")
        for candidate in faults:  # outer code first; an inner provider fault may carry one when the outer does not
            code = candidate.get("Code")
            if code and code.strip().lstrip("-").isdigit():
                info["code"] = int(code) & 0xFFFFFFFF  # winrm.cmd prints signed values
                break
        provider = root.find(".//{%s}ProviderFault" % NS_WSMANFAULT)
        if provider is not None:
            info["provider"] = provider.get("provider")
        # The innermost non-empty Message is Windows' own text (config provider faults nest it).
        for message in reversed(root.findall(".//{%s}Message" % NS_WSMANFAULT)):
            text = "".join(message.itertext()).strip()
            if text:
                info["message"] = text
                break
    info["message"] = info["message"] or reason
    return info


# --------------------------------------------------------------------------------------------
# The session
# --------------------------------------------------------------------------------------------

def _selector_set(selectors: t.Mapping[str, t.Any] | None) -> t.Any:
    if not selectors:
        return None
    selector_set = SelectorSet()
    for name, value in selectors.items():
        selector_set.add_option(name, str(value))
    return selector_set


def _body_child(body: ET.Element | None) -> ET.Element | None:
    if body is None:
        return None
    children = list(body)
    return children[0] if children else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Session:
    """One authenticated WS-Management session to one endpoint."""

    def __init__(self, endpoint: "Endpoint"):
        if not HAS_PYPSRP:
            raise WSManError("pypsrp is required on the controller (%s)" % PYPSRP_IMPORT_ERROR, hint=HINTS["pypsrp"])
        self.endpoint = endpoint
        self._client: t.Any = None

    def __repr__(self) -> str:
        return "Session(%s, auth=%s, user=%s)" % (self.endpoint.url, self.endpoint.auth, self.endpoint.username)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    # ---- public operations --------------------------------------------------------------

    def get(self, resource_uri: str, selectors: t.Mapping[str, t.Any] | None = None) -> ET.Element:
        uri = expand_uri(resource_uri)
        body = self._call("Get", uri, lambda c: c.get(uri, selector_set=_selector_set(selectors)))
        return self._require_child(body, "Get", uri)

    def put(self, resource_uri: str, body: ET.Element, selectors: t.Mapping[str, t.Any] | None = None) -> ET.Element:
        uri = expand_uri(resource_uri)
        reply = self._call("Put", uri, lambda c: c.put(uri, body, selector_set=_selector_set(selectors)))
        child = _body_child(reply)
        return child if child is not None else body

    def create(self, resource_uri: str, body: ET.Element, selectors: t.Mapping[str, t.Any] | None = None) -> ET.Element:
        uri = expand_uri(resource_uri)
        reply = self._call("Create", uri, lambda c: c.create(uri, body, selector_set=_selector_set(selectors)))
        return self._require_child(reply, "Create", uri)

    def delete(self, resource_uri: str, selectors: t.Mapping[str, t.Any] | None = None) -> None:
        uri = expand_uri(resource_uri)
        self._call("Delete", uri, lambda c: c.delete(uri, selector_set=_selector_set(selectors)))

    def enumerate(self, resource_uri: str, max_elements: int = 32000,
                  selectors: t.Mapping[str, t.Any] | None = None) -> list[ET.Element]:
        """Enumerate (optimized) then Pull until EndOfSequence; every item, in the service's order."""
        uri = expand_uri(resource_uri)
        request = ET.Element("{%s}Enumerate" % NS_WSEN)
        ET.SubElement(request, "{%s}OptimizeEnumeration" % NS_WSMAN)
        ET.SubElement(request, "{%s}MaxElements" % NS_WSMAN).text = str(max_elements)
        reply = self._call("Enumerate", uri,
                           lambda c: c.enumerate(uri, request, selector_set=_selector_set(selectors)))
        items, context, done = self._enumeration_page(reply, "EnumerateResponse")
        for _pull in range(MAX_PULLS):
            if done or not context:
                return items
            pull = ET.Element("{%s}Pull" % NS_WSEN)
            ET.SubElement(pull, "{%s}EnumerationContext" % NS_WSEN).text = context
            ET.SubElement(pull, "{%s}MaxElements" % NS_WSEN).text = str(max_elements)
            reply = self._call("Pull", uri, lambda c: c.pull(uri, pull, selector_set=_selector_set(selectors)))
            page, context, done = self._enumeration_page(reply, "PullResponse")
            items.extend(page)
        raise WSManError("%s: the enumeration of %s did not end after %d pulls (every reply named a next page)"
                         % (self.endpoint.url, uri, MAX_PULLS), hint=HINTS["endless_enumeration"],
                         operation="Enumerate %s" % uri, outcome_unknown=False)

    def invoke(self, resource_uri: str, method: str, body: ET.Element | None = None,
               selectors: t.Mapping[str, t.Any] | None = None) -> ET.Element:
        """A WMI/CIM method: wsa:Action is the resource URI + '/' + method; returns <method>_OUTPUT."""
        uri = expand_uri(resource_uri)
        if body is None:
            body = method_input(uri, method, {})
        action = uri + "/" + method
        reply = self._call(
            method, uri,
            lambda c: c.invoke(action, uri, body, selector_set=_selector_set(selectors)).find("{%s}Body" % NS_SOAP),
        )
        return self._require_child(reply, method, uri)

    def identify(self) -> dict[str, str | None]:
        """WS-Management Identify (DSP0226 section 11): protocol version, vendor and product version
        (authenticated, Windows adds the OS version). The cheapest request a listener answers."""
        envelope = ('<s:Envelope xmlns:s="%s" xmlns:wsmid="%s"><s:Header/><s:Body><wsmid:Identify/></s:Body>'
                    "</s:Envelope>" % (NS_SOAP, NS_WSMID)).encode("utf-8")
        reply = self._call("Identify", self.endpoint.url, lambda c: compat.send_raw(c, envelope))
        try:
            body = ET.fromstring(reply)
        except ET.ParseError as error:
            raise WSManError("%s answered Identify with XML that does not parse: %s" % (self.endpoint.url, error),
                             hint=HINTS["protocol"], operation="Identify") from None
        response = body.find(".//{%s}IdentifyResponse" % NS_WSMID)
        if response is None:
            raise WSManError("%s answered Identify without an IdentifyResponse" % self.endpoint.url,
                             hint=HINTS["protocol"], operation="Identify")
        return {name: response.findtext("{%s}%s" % (NS_WSMID, element))
                for name, element in (("protocol_version", "ProtocolVersion"), ("product_vendor", "ProductVendor"),
                                      ("product_version", "ProductVersion"))}

    @property
    def peer_certificate(self) -> bytes | None:
        """The DER certificate the server presented in this session's latest TLS handshake (None
        before the first request, and over HTTP)."""
        recorder = getattr(self._client, "peer_certificates", None)
        return recorder.latest if recorder is not None else None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None

    # ---- internals ----------------------------------------------------------------------

    @property
    def _secrets(self) -> tuple[str | None, ...]:
        ep = self.endpoint
        return (ep.password, getattr(ep, "proxy_password", None))

    def _require_child(self, body: ET.Element | None, operation: str, uri: str) -> ET.Element:
        child = _body_child(body)
        if child is None:
            raise WSManError("%s answered %s %s with an empty body" % (self.endpoint.url, operation, uri),
                             hint=HINTS["protocol"], operation="%s %s" % (operation, uri))
        return child

    @staticmethod
    def _enumeration_page(body: ET.Element | None, response: str) -> tuple[list[ET.Element], str | None, bool]:
        """Items, the next context and whether the sequence ended, from an Enumerate/Pull response."""
        reply = body.find("{%s}%s" % (NS_WSEN, response)) if body is not None else None
        if reply is None:
            return [], None, True
        items: list[ET.Element] = []
        context: str | None = None
        done = False
        for child in reply:
            name = _local(child.tag)
            if name == "Items":  # wsman:Items in an optimized Enumerate, wsen:Items in Pull
                items.extend(list(child))
            elif name == "EnumerationContext":
                context = (child.text or "").strip() or None
            elif name == "EndOfSequence":
                done = True
        return items, context, done

    def _open(self) -> t.Any:
        ep = self.endpoint
        proxy_url = ep.proxy_url_with_credentials()
        kwargs: dict[str, t.Any] = {
            "port": ep.port,
            "path": ep.path,
            "ssl": ep.scheme == "https",
            "auth": ep.auth,
            "username": ep.username,
            "password": ep.password,
            "encryption": ep.encryption,
            "cert_validation": ep.cert_validation,
            "connection_timeout": ep.connection_timeout,
            # The HTTP read must outlast the WS-Man OperationTimeout, or every slow reply is a read timeout.
            "read_timeout": max(ep.read_timeout, ep.operation_timeout + 5),
            "operation_timeout": ep.operation_timeout,
            # Environment proxies are ignored unless the endpoint names one (pywinrm#149, ansible#73748).
            "proxy": proxy_url,
            "no_proxy": proxy_url is None,
        }
        if ep.auth == "certificate":
            kwargs["certificate_pem"] = ep.client_cert_pem
            kwargs["certificate_key_pem"] = ep.client_key_pem
        _require_credentials(ep)
        client = compat.WSManClient(ep.host, **kwargs)
        del proxy_url, kwargs  # the credentialed proxy URL lives only inside pypsrp's transport
        session = compat.open_wsman_session(client, deadline=request_deadline(ep))
        if ep.cert_fingerprint and ep.scheme == "https":
            compat.pin_fingerprint(session, ep.cert_fingerprint)
        return client

    def _call(self, operation: str, uri: str, request: t.Callable[[t.Any], t.Any]) -> t.Any:
        try:
            if self._client is None:
                client = self._open()
                self._client = client
            return request(self._client)
        except WSManError:
            raise
        # Every failure is translated.
        except Exception as error:  # pylint: disable=broad-except
            translated = self._translate(error, "%s %s" % (operation, uri))
        # Raised outside the except block: no chained traceback that could carry a secret.
        raise translated

    def _translate(self, error: BaseException, operation: str) -> WSManError:
        ep = self.endpoint
        secrets = self._secrets
        common: dict[str, t.Any] = {"operation": operation, "secrets": secrets}
        if isinstance(error, WSManFaultError):
            return self._translate_fault(error, operation)
        if isinstance(error, compat.DeadlineExceeded):
            return TimedOut("%s sent no complete reply within %g seconds (connection_timeout + read_timeout), although "
                            "it kept the connection open" % (ep.url, error.seconds), hint=HINTS["deadline"],
                            outcome_unknown=True, **common)
        if isinstance(error, compat.UnencryptedReply):
            return WSManError(
                "%s answered a message-encrypted request with an unencrypted reply (HTTP %s, %s): refused, as anyone on "
                "the network path could have written it; it is not taken as the host's answer"
                % (ep.url, error.status, error.content_type), hint=HINTS["unencrypted_reply"],
                outcome_unknown=True, **common)
        if isinstance(error, compat.ReplyTooLarge):
            return WSManError("%s sent a reply larger than %d MiB, more than any WS-Management envelope: refused"
                              % (ep.url, error.limit // (1024 * 1024)), hint=HINTS["protocol"], outcome_unknown=True,
                              **common)
        if isinstance(error, compat.DocumentTypeDeclared):
            return WSManError("%s sent XML with a document type declaration, which SOAP forbids (it carries entity "
                              "expansion and external entities): refused unread" % ep.url, hint=HINTS["protocol"],
                              outcome_unknown=True, **common)
        if isinstance(error, compat.UndecryptableReply):
            return WSManError("%s sent an encrypted reply that cannot be decrypted (%s)" % (ep.url, _short(str(error))),
                              hint=HINTS["undecryptable_reply"], outcome_unknown=True, **common)
        if isinstance(error, AuthenticationError) or _is_auth_library_error(error):
            hint = HINTS["auth"].format(auth=ep.auth)
            if ep.auth == "basic" and ep.scheme == "http":
                hint += "; " + HINTS["auth_basic_http"]
            elif ep.auth == "kerberos":
                hint += "; " + HINTS["auth_kerberos"]
            elif ep.auth == "certificate":
                hint = HINTS["auth_certificate"]
            who = "user '%s'" % ep.username if ep.username else "the client certificate" \
                if ep.auth == "certificate" else "the current Kerberos ticket"
            return AuthenticationFailed(
                "%s could not authenticate %s with %s (HTTP 401)" % (ep.url, who, ep.auth), hint=hint, **common)
        if isinstance(error, requests.exceptions.SSLError):
            return self._translate_tls(error, common)
        if isinstance(error, requests.exceptions.ProxyError):
            return ConnectionFailed("cannot connect to %s through proxy %s: %s" % (ep.url, ep.proxy, _short(str(error))),
                                    hint=HINTS["proxy"], **common)
        if isinstance(error, requests.exceptions.Timeout):
            stage = "connecting to" if isinstance(error, requests.exceptions.ConnectTimeout) else "waiting for"
            return TimedOut("timed out %s %s" % (stage, ep.url), hint=HINTS["timeout"],
                            outcome_unknown=not isinstance(error, requests.exceptions.ConnectTimeout), **common)
        if isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            return self._translate_connection(error, common)
        if isinstance(error, WinRMTransportError):
            status = getattr(error, "code", None)
            # A 5xx without a SOAP fault may come after the service applied the request; a 4xx is a refusal.
            return WSManError("%s answered HTTP %s without a WS-Management fault" % (ep.url, status),
                              hint=HINTS["http"].format(status=status, path=ep.path),
                              outcome_unknown=not (isinstance(status, int) and 400 <= status < 500), **common)
        if isinstance(error, ValueError) and self._client is None:  # pypsrp refused the settings before sending
            return WSManError("invalid connection settings for %s: %s" % (ep.url, error), hint=HINTS["config"],
                              outcome_unknown=False, **common)
        if isinstance(error, (ET.ParseError, WinRMError, ValueError)):
            return WSManError("unexpected reply from %s to %s: %s" % (ep.url, operation, _short(str(error))),
                              hint=HINTS["protocol"], **common)
        return WSManError("%s to %s failed: %s: %s" % (operation, ep.url, type(error).__name__, _short(str(error))),
                          hint=HINTS["protocol"], **common)

    def _translate_tls(self, error: BaseException, common: dict[str, t.Any]) -> TLSFailed:
        ep = self.endpoint
        text = str(error)
        lowered = text.lower()
        if "fingerprint" in lowered:
            hint = HINTS["tls_fingerprint"]
        elif any(marker in lowered for marker in _PLAIN_HTTP_MARKERS):
            return TLSFailed("%s speaks plain HTTP, not TLS: the TLS handshake got an HTTP answer (%s)"
                             % (ep.url, _short(text, 120)), hint=HINTS["tls_plain_http"].format(port=ep.port), **common)
        else:
            hint = HINTS["tls"]
        return TLSFailed("TLS with %s failed: %s" % (ep.url, _short(text)), hint=hint, **common)

    def _translate_fault(self, error: t.Any, operation: str) -> WSManError:
        raw = getattr(error, "fault_xml", None)
        info: dict[str, t.Any] = {}
        if raw:
            try:
                info = parse_fault(raw)
            except ET.ParseError:
                info = {}
            if not info.get("is_fault"):
                # pypsrp reads any XML in an HTTP 500 as a fault; without a SOAP Fault it is not the service's answer.
                ep = self.endpoint
                return WSManError("%s answered HTTP 500 without a WS-Management fault: %s" % (ep.url, _short(raw, 200)),
                                  hint=HINTS["http"].format(status=500, path=ep.path), operation=operation,
                                  secrets=self._secrets, outcome_unknown=True)
        code = info.get("code", error.code)
        if not isinstance(code, int):
            code = error.code if isinstance(error.code, int) else None
        message = info.get("message") or error.reason or error.provider_fault or "the service returned a fault"
        cls = FAULT_CLASSES.get(code, WSManFault) if code is not None else WSManFault
        return cls(message, code, HINTS.get(code, "") if code is not None else "",
                   subcode=info.get("subcode"), machine=info.get("machine") or error.machine,
                   provider=info.get("provider") or error.provider, operation=operation, secrets=self._secrets)

    def _translate_connection(self, error: BaseException, common: dict[str, t.Any]) -> ConnectionFailed:
        ep = self.endpoint
        text = str(error)
        lowered = text.lower()
        if _dropped_after_sending(error):
            return ConnectionFailed("%s closed the connection before its reply was complete: %s" % (ep.url, _short(text)),
                                    hint=HINTS["dropped"], outcome_unknown=True, **common)
        if "refused" in lowered:
            hint = HINTS["refused"].format(port=ep.port)
            if ep.port in WINRM_11_PORTS:
                hint += "; " + HINTS["refused_legacy"].format(legacy=WINRM_11_PORTS[ep.port])
            return ConnectionFailed("cannot connect to %s: connection refused" % ep.url, hint=hint, **common)
        if any(s in lowered for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                      "temporary failure in name resolution", "no address associated")):
            return ConnectionFailed("cannot resolve the host of %s" % ep.url, hint=HINTS["dns"], **common)
        if any(s in lowered for s in ("no route to host", "network is unreachable", "host is down")):
            return ConnectionFailed("cannot reach %s" % ep.url, hint=HINTS["unreachable"], **common)
        return ConnectionFailed("cannot connect to %s: %s" % (ep.url, _short(text)), hint=HINTS["unreachable"], **common)


# OpenSSL's words when the server answers the ClientHello in plain HTTP.
_PLAIN_HTTP_MARKERS = ("wrong_version_number", "wrong version number", "record layer failure", "http_request")


def request_deadline(endpoint: "Endpoint") -> float:
    """The most one request may take, its authentication round trips included: the connect timeout
    plus the read timeout the session uses (a per-read timeout alone lets a trickling reply run forever)."""
    return float(endpoint.connection_timeout + max(endpoint.read_timeout, endpoint.operation_timeout + 5))


def kerberos_ticket_problem(username: str | None) -> str | None:
    """Why the controller's credential cache cannot serve Kerberos for ``username`` (None: it can).
    Local only: reads the cache, never asks the KDC."""
    try:
        import gssapi  # pylint: disable=import-outside-toplevel
    except ImportError:
        return "Kerberos is not available on the controller (the Python package gssapi is not installed)"
    try:
        name = gssapi.Name(username, gssapi.NameType.kerberos_principal) if username else None
        credentials = gssapi.Credentials(name=name, usage="initiate")
        if credentials.lifetime == 0:
            return "the Kerberos ticket of %s has expired" % (username or credentials.name)
    except gssapi.exceptions.GSSError as error:
        detail = " ".join(str(error).split())
        return "no Kerberos ticket%s in the controller's credential cache (%s)" % (
            " for %s" % username if username else "", _short(detail, 200))
    return None


def _require_credentials(endpoint: "Endpoint") -> None:
    """Kerberos without a password needs a ticket in the controller's cache: say so before sending."""
    if endpoint.auth != "kerberos" or endpoint.password:
        return
    problem = kerberos_ticket_problem(endpoint.username)
    if problem is not None:
        raise AuthenticationFailed(
            "%s: %s, and no password is given: Windows requires explicit credentials or a Kerberos ticket"
            % (endpoint.url, problem), hint=HINTS["kerberos_cache"], outcome_unknown=False)


def _dropped_after_sending(error: BaseException) -> bool:
    """The connection was open and the request sent when it broke (urllib3's "Connection aborted")."""
    seen: set[int] = set()
    pending: list[t.Any] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (requests.exceptions.ChunkedEncodingError, ConnectionResetError, BrokenPipeError)):
            return True
        if type(current).__name__ in ("ProtocolError", "RemoteDisconnected", "IncompleteRead"):
            return True
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return False


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _is_auth_library_error(error: BaseException) -> bool:
    """pyspnego/requests-credssp failures (no Kerberos ticket, bad NTLM context) are authentication failures."""
    module = type(error).__module__ or ""
    return module.startswith(("spnego", "requests_credssp", "krb5", "gssapi"))


def method_input(resource_uri: str, method: str, params: t.Mapping[str, t.Any]) -> ET.Element:
    """``<p:<method>_INPUT xmlns:p="<resource uri>">`` with one element per parameter, in order."""
    uri = expand_uri(resource_uri)
    element = ET.Element("{%s}%s_INPUT" % (uri, method))
    for name, value in params.items():
        child = ET.SubElement(element, "{%s}%s" % (uri, name))
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)
    return element


_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def output_array(output: ET.Element, name: str) -> list[str | None]:
    """The items of one output parameter as a list (WMI sends an array as one element per item;
    None for an ``xsi:nil`` item): what ``output_values(output)[name]`` holds, without building the
    other values. A certificate blob is a uint8 array, one element per byte."""
    # WMI puts the parameters in the output element's namespace: ElementTree's C findall matches
    # that tag without a Python call per byte (a 2 KiB blob is 2,000 elements). Any other namespace
    # is matched by local name, as output_values does.
    namespace = output.tag[:output.tag.rfind("}") + 1]
    items = output.findall(namespace + name)
    if not items and namespace:
        items = [child for child in output if _local(child.tag) == name]
    return [None if child.get(_XSI_NIL) == "true" else (child.text or "") for child in items]


def output_values(output: ET.Element) -> dict[str, t.Any]:
    """The children of a ``<method>_OUTPUT`` element by local name; repeated names become lists."""
    values: dict[str, t.Any] = {}
    for child in output:
        name = _local(child.tag)
        nil = child.get(_XSI_NIL) == "true"
        text = None if nil else (child.text or "")
        if name in values:
            if not isinstance(values[name], list):
                values[name] = [values[name]]
            values[name].append(text)
        else:
            values[name] = text
    return values
