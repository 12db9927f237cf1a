"""The WinRM configuration tree (``winrm/config``): schema, local values, the Group Policy overlay,
and Windows' validation of every value a Put may write.

Element order: shared/reference wsman-config-facts.md [REAL]; types and limits: MS-WSMV 2.2.4.x.
Values are stored as the strings Windows renders.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Callable

from ..protocol.faults import WSManFault
from . import accounts
from .policy import CBT_LEVELS, GroupPolicy


class Leaf:
    def __init__(self, name, kind="string", minimum=0):
        self.name, self.kind, self.minimum = name, kind, minimum


class Section:
    def __init__(self, name, children):
        self.name, self.children = name, children
        self._by_name = {child.name: child for child in children}

    def child(self, name):
        return self._by_name.get(name)


def _leaves(names_kinds):
    return [Leaf(n, k) for n, k in names_kinds]


SCHEMA = Section("Config", [
    Leaf("MaxEnvelopeSizekb", "uint", 32),
    Leaf("MaxTimeoutms", "uint", 500),
    Leaf("MaxBatchItems", "uint", 1),
    Leaf("MaxProviderRequests", "deprecated"),
    Section("Client", [
        Leaf("NetworkDelayms", "uint", 500),
        Leaf("URLPrefix", "prefix"),
        Leaf("AllowUnencrypted", "bool"),
        Section("Auth", _leaves([("Basic", "bool"), ("Digest", "bool"), ("Kerberos", "bool"),
                                 ("Negotiate", "bool"), ("Certificate", "bool"), ("CredSSP", "bool")])),
        Section("DefaultPorts", [Leaf("HTTP", "port"), Leaf("HTTPS", "port")]),
        Leaf("TrustedHosts", "trustedhosts"),
    ]),
    Section("Service", [
        Leaf("RootSDDL", "sddl"),
        Leaf("MaxConcurrentOperations", "deprecated"),
        Leaf("MaxConcurrentOperationsPerUser", "uint", 1),
        Leaf("EnumerationTimeoutms", "uint", 500),
        Leaf("MaxConnections", "uint", 1),
        Leaf("MaxPacketRetrievalTimeSeconds", "uint", 1),
        Leaf("AllowUnencrypted", "bool"),
        Section("Auth", _leaves([("Basic", "bool"), ("Kerberos", "bool"), ("Negotiate", "bool"),
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
        # MS-WSMV 2.2.4.42: "Any number from 0 to 0x7FFFFFFF can be set, where 0 means" unlimited.
        Leaf("MaxProcessesPerShell", "uint", 0),
        Leaf("MaxMemoryPerShellMB", "uint", 0),
        Leaf("MaxShellsPerUser", "uint", 0),
    ]),
])

# Resource URI suffix (lower case, after .../wsman/1/config) -> path of section names below Config.
CONFIG_RESOURCES = {
    "": (), "/client": ("Client",), "/client/auth": ("Client", "Auth"),
    "/client/defaultports": ("Client", "DefaultPorts"), "/service": ("Service",),
    "/service/auth": ("Service", "Auth"), "/service/defaultports": ("Service", "DefaultPorts"),
    "/winrs": ("Winrs",),
}


def section_at(path: tuple[str, ...]) -> Section:
    node = SCHEMA
    for name in path:
        node = node.child(name)
    return node


# --- IP filters (MS-WSMV 2.2.4.41 IPv4Filter / IPv6Filter) ---------------------------------------
def parse_ip_filter(text: str, version: int):
    """None = every address ("*"); [] = no address (blank); else [(low, high)]. ValueError if bad."""
    text = (text or "").strip()
    if text == "*":
        return None
    ranges = []
    if not text:
        return ranges
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError("empty range")
        if part == "*":
            return None  # "When * is used, other ranges in the filter are ignored."
        low_text, _sep, high_text = part.partition("-")
        low = ipaddress.ip_address(low_text.strip())
        high = ipaddress.ip_address(high_text.strip()) if high_text else low
        if low.version != version or high.version != version or low > high:
            raise ValueError("bad range")
        ranges.append((low, high))
    return ranges


# --- TrustedHosts (MS-WSMV 2.2.4.6, ClientType) ----------------------------------------------------
# Blank, "*", or a comma-separated list of: "*suffix" / "prefix*" (at least two characters),
# "<local>", or a host name / IP address without "*". A host name follows RFC 1123 (labels of letters,
# digits and hyphens, at most 63 characters each, 255 in all); IPv6 addresses are accepted too, in
# brackets or not. Anything else: fault 0x8033809F (ERROR_WSMAN_INVALID_HOSTNAME_PATTERN).
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")


def _address_ok(text: str) -> bool:
    bracketed = text.startswith("[") and text.endswith("]")
    if not bracketed and ("[" in text or "]" in text):
        return False
    try:
        address = ipaddress.ip_address(text[1:-1] if bracketed else text)
    except ValueError:
        return False
    return address.version == 6 or not bracketed


def _host_name_ok(text: str) -> bool:
    if len(text) > 255:
        return False
    if _address_ok(text):
        return True
    labels = text.split(".")
    return all(_LABEL.match(label) for label in labels)


def _pattern_ok(entry: str, fixed: str) -> bool:
    # The fixed part of a pattern is a name or an address, or the start/end of a host name
    # ("web-*" trusts web-01): the hosts that share the prefix or suffix are trusted.
    return not fixed or _host_name_ok(fixed) or _host_name_ok(entry.replace("*", "x"))


def trusted_hosts_valid(value: str) -> bool:
    if value in ("", "*"):
        return True
    for entry in value.split(","):
        if entry == "<local>":
            continue
        if entry.startswith("*"):
            if len(entry) < 2 or "*" in entry[1:] or not _pattern_ok(entry, entry[1:].lstrip(".")):
                return False
        elif entry.endswith("*"):
            if len(entry) < 2 or "*" in entry[:-1] or not _pattern_ok(entry, entry[:-1].rstrip(".")):
                return False
        elif not entry or not _host_name_ok(entry):
            return False
    return True


class ConfigTree:
    """Local values of the tree, and the effective ones (Group Policy wins)."""

    def __init__(self, values: dict, policy: GroupPolicy, cert_store, on_change: Callable[[], None]):
        self._values = values
        self.policy = policy
        self.cert_store = cert_store
        self._on_change = on_change

    def local(self, path: tuple[str, ...]) -> str:
        node = self._values
        for part in path:
            node = node[part]
        return node

    def effective(self, path: tuple[str, ...]) -> str:
        overrides = self.policy.overrides()
        if path in overrides:
            return overrides[path]
        return self.local(path)

    def flag(self, path: tuple[str, ...]) -> bool:
        return self.effective(path).lower() == "true"

    def number(self, path: tuple[str, ...], default: int) -> int:
        try:
            return int(self.effective(path))
        except ValueError:
            return default

    def set_local(self, changes: list[tuple[tuple[str, ...], str]]) -> None:
        for path, value in changes:
            node = self._values
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        if changes:
            self._on_change()

    def validate(self, leaf: Leaf, raw: str) -> str:
        """Windows' canonical form of a value for this leaf, or the fault Windows answers."""
        # Surrounding white space is XML layout (MS-WSMV's own examples wrap RootSDDL in new lines).
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
            if value.lower() not in CBT_LEVELS:
                raise WSManFault("SERVICE_CBT_HARDENING_INVALID", provider=True)
            return CBT_LEVELS[value.lower()]
        if kind == "sddl":
            try:
                accounts.parse_sddl(value)
            except accounts.SddlError:
                raise WSManFault("INVALID_SECURITY_DESCRIPTOR", provider=True) from None
            return value
        if kind == "trustedhosts":
            if not trusted_hosts_valid(value):
                raise WSManFault("INVALID_HOSTNAME_PATTERN", provider=True)
            return value
        if kind in ("filter4", "filter6"):
            try:
                parse_ip_filter(value, 4 if kind == "filter4" else 6)
            except ValueError:
                raise WSManFault("INVALID_IPFILTER", provider=True) from None
            return value
        if kind == "thumbprint":
            value = value.replace(" ", "").upper()
            if value and (not re.fullmatch(r"[0-9A-F]{40}", value) or self.cert_store is None
                          or self.cert_store.find(value) is None):
                raise WSManFault("CERT_NOT_FOUND", provider=True)
            return value
        if kind == "prefix":
            # MS-WSMV: URLPrefix is [a-zA-Z0-9_/], not blank, no leading or trailing '/'.
            if not re.fullmatch(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*", value):
                raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
            return value
        return value
