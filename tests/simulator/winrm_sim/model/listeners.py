"""WinRM listeners: the local ones, the ones Group Policy and the compatibility settings add, and
which of them actually listen.

Rules: MS-WSMV 3.1.4.1.29.5 and shared/reference wsman-config-facts.md (Address ``*``/``IP:``/``MAC:``,
Transport HTTP or HTTPS, Create defaults Port from service DefaultPorts, Enabled true, URLPrefix
wsman; HTTPS needs a usable certificate); compatibility listeners per Microsoft, "Details on secure
port configuration for WS-Management in Windows 7 and Windows Server 2008 R2" (not addressable,
shown with Source="Compatibility", ports 80/443).
"""
from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import re
from typing import Callable

from ..protocol.faults import WSManFault
from .config import ConfigTree, Leaf, parse_ip_filter

FIELDS = ("Address", "Transport", "Port", "Hostname", "Enabled", "URLPrefix", "CertificateThumbprint")


@dataclasses.dataclass(frozen=True)
class ActiveListener:
    transport: str       # "http" | "https"
    port: int
    url_prefix: str      # "wsman"
    thumbprint: str      # "" for http; uppercase hex SHA-1 for https
    source: str          # "" | "GPO" | "Compatibility"


def listener(address="*", transport="HTTP", port="5985", hostname="", enabled="true",
             url_prefix="wsman", thumbprint="") -> dict:
    return {"Address": address, "Transport": transport, "Port": str(port), "Hostname": hostname,
            "Enabled": enabled, "URLPrefix": url_prefix, "CertificateThumbprint": thumbprint}


def canonical_address(address: str) -> str:
    """A listener Address as Windows stores it: '*', 'IP:<addr>' or 'MAC:<mac>'."""
    text = address.strip()
    if text == "*":
        return "*"
    kind, _sep, rest = text.partition(":")
    if kind.upper() == "IP" and rest:
        try:
            ipaddress.ip_address(rest.strip("[]"))
        except ValueError:
            raise WSManFault("LISTENER_ADDRESS_INVALID", provider=True) from None
        return "IP:" + rest
    if kind.upper() == "MAC" and re.fullmatch(r"([0-9A-Fa-f]{2}[-:]){5}[0-9A-Fa-f]{2}", rest):
        return "MAC:" + rest.upper()
    raise WSManFault("LISTENER_ADDRESS_INVALID", provider=True)


def server_certificate(cert_store, host_name: str):
    """The machine certificate an HTTPS listener of this host uses: CN = computer name first."""
    if cert_store is None:
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    candidates = [c for c in cert_store.by_subject_cn(host_name) if _usable(c, now)]
    if not candidates:
        candidates = [c for c in cert_store.certs if _usable(c, now)]
    return candidates[0] if candidates else None


def _usable(info, now) -> bool:
    return info.server_auth and not info.is_ca and _aware(info.not_after) > now


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


class Listeners:
    def __init__(self, items: list, config: ConfigTree, addresses: Callable[[], list], host_name: str,
                 cert_store, on_change: Callable[[], None]):
        self._items = items
        self.config = config
        self._addresses = addresses
        self.host_name = host_name
        self.cert_store = cert_store
        self._on_change = on_change

    # -- what Enumerate shows
    def local(self) -> list[dict]:
        return [dict(item) for item in self._items]

    def effective(self) -> list[dict]:
        """Listeners as Enumerate shows them: each dict has the fields plus "Source"."""
        config = self.config
        result = []
        gpo = None
        if config.policy.auto_config_enabled():
            gpo = dict(listener(port=config.effective(("Service", "DefaultPorts", "HTTP"))), Source="GPO")
            result.append(gpo)
        for item in sorted(self._items, key=lambda l: (l["Address"].lower(), l["Transport"])):
            if gpo and item["Address"] == "*" and item["Transport"] == "HTTP":
                continue  # the policy listener takes the place of the local one
            result.append(dict(item, Source=""))
        if config.flag(("Service", "EnableCompatibilityHttpListener")):
            result.append(dict(listener(port="80"), Source="Compatibility"))
        if config.flag(("Service", "EnableCompatibilityHttpsListener")):
            compat = listener(transport="HTTPS", port="443", thumbprint=self._compat_https_thumbprint())
            result.append(dict(compat, Source="Compatibility"))
        return result

    def _compat_https_thumbprint(self) -> str:
        """The service's CertificateThumbprint, else the HTTPS listener's certificate (what the
        upgrade to WinRM 2.0 sets up); else none: "If an administrator enables the Group Policy
        settings directly these additional settings [HTTP.sys reservations and SSL certificates]
        must also be configured" (Microsoft's port configuration article), so such a listener does
        not listen."""
        thumbprint = self.config.effective(("Service", "CertificateThumbprint"))
        if thumbprint:
            return thumbprint
        for item in self._items:
            if item["Transport"] == "HTTPS" and item["CertificateThumbprint"]:
                return item["CertificateThumbprint"]
        return ""

    def listening_on(self, listener_address: str) -> list[str]:
        """ListeningOn: the host's addresses the listener binds, after IPv4Filter / IPv6Filter."""
        try:
            v4 = parse_ip_filter(self.config.effective(("Service", "IPv4Filter")), 4)
        except ValueError:
            v4 = []  # "A configuration error in the policy results in an empty value"
        try:
            v6 = parse_ip_filter(self.config.effective(("Service", "IPv6Filter")), 6)
        except ValueError:
            v6 = []
        candidates = self._addresses()
        if listener_address.upper().startswith("IP:"):
            try:
                wanted = ipaddress.ip_address(listener_address[3:].strip("[]"))
            except ValueError:
                return []
            candidates = [a for a in candidates if a == wanted]
        elif listener_address != "*":
            return []  # MAC:<mac> - the simulated host has no such adapter
        allowed = [a for a in candidates
                   if (v4 if a.version == 4 else v6) is None
                   or any(low <= a <= high for low, high in (v4 if a.version == 4 else v6))]
        allowed.sort(key=lambda a: (a.version, int(a)))
        return [str(a) for a in allowed]

    def active(self, address: str) -> list[ActiveListener]:
        """The listeners that accept connections on ``address`` (one per transport and port)."""
        active, seen = [], set()
        for item in self.effective():
            if item["Enabled"].lower() != "true" or address not in self.listening_on(item["Address"]):
                continue
            transport = item["Transport"].lower()
            thumbprint = item["CertificateThumbprint"].upper() if transport == "https" else ""
            if transport == "https" and not thumbprint:
                continue
            key = (transport, int(item["Port"]), item["URLPrefix"].lower())
            if key in seen:
                continue
            seen.add(key)
            active.append(ActiveListener(transport, int(item["Port"]), item["URLPrefix"], thumbprint,
                                         item["Source"]))
        return active

    # -- addressing one listener
    def find_effective(self, address: str, transport: str) -> dict:
        # Compatibility listeners are not addressable; GPO ones can be read.
        for item in self.effective():
            if item["Source"] != "Compatibility" and item["Address"].lower() == address.lower() \
                    and item["Transport"] == transport:
                return item
        raise WSManFault("RESOURCE_NOT_FOUND")

    def _index(self, address: str, transport: str) -> int:
        for index, item in enumerate(self._items):
            if item["Address"].lower() == address.lower() and item["Transport"] == transport:
                return index
        raise WSManFault("RESOURCE_NOT_FOUND")

    def _refuse_gpo(self, address: str, transport: str) -> None:
        if self.config.policy.auto_config_enabled() and address == "*" and transport == "HTTP":
            # The policy listener replaces the local */HTTP one; text per the GPO fault [INF].
            raise WSManFault("CONFIG_CANNOT_CHANGE_GPO_CONTROLLED_SETTING", provider=True, name="Listener")

    # -- changes
    def create(self, address: str, transport: str, values: dict) -> None:
        if any(i["Address"].lower() == address.lower() and i["Transport"] == transport for i in self._items):
            raise WSManFault("ALREADY_EXISTS", provider=True)
        self._refuse_gpo(address, transport)
        item = listener(address=address, transport=transport,
                        port=self.config.effective(("Service", "DefaultPorts", transport)))
        item.update(values)
        self._items.append(self._validate(item))
        self._on_change()

    def put(self, address: str, transport: str, values: dict) -> dict:
        self._refuse_gpo(address, transport)
        index = self._index(address, transport)
        item = self._validate(dict(self._items[index], **values))
        self._items[index] = item
        self._on_change()
        return dict(item, Source="")

    def outlive(self, address: str, transport: str, thumbprint: str) -> None:
        """The listener as it stands once the certificate it was bound to expired or left the store:
        it still names that thumbprint (Windows does not check it again). No validation here."""
        index = self._index(address, transport)
        self._items[index] = dict(self._items[index], CertificateThumbprint=thumbprint.replace(" ", "").upper())
        self._on_change()

    def delete(self, address: str, transport: str) -> None:
        self._refuse_gpo(address, transport)
        del self._items[self._index(address, transport)]
        self._on_change()

    def _validate(self, item: dict) -> dict:
        port = item["Port"]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise WSManFault("CONFIG_PORT_INVALID", provider=True)
        item["Port"] = str(int(port))
        if item["Enabled"].lower() not in ("true", "false"):
            raise WSManFault("SCHEMA_VALIDATION_ERROR", provider=True)
        item["Enabled"] = item["Enabled"].lower()
        self.config.validate(Leaf("URLPrefix", "prefix"), item["URLPrefix"])
        thumbprint = item["CertificateThumbprint"].replace(" ", "").upper()
        item["CertificateThumbprint"] = thumbprint
        if item["Transport"] == "HTTP":
            if thumbprint:
                raise WSManFault("CONFIG_THUMBPRINT_SHOULD_BE_EMPTY", provider=True)
            return item
        store = self.cert_store
        now = datetime.datetime.now(datetime.timezone.utc)
        if not thumbprint:
            # No thumbprint: the machine certificate whose CN is the Hostname (or computer name),
            # usable for SSL per the quickconfig rule (0x80338115 text).
            wanted = item["Hostname"] or self.host_name
            for cert in (store.by_subject_cn(wanted) if store else []):
                if (cert.server_auth and not cert.is_ca and not cert.self_signed and cert.key_path
                        and not getattr(cert, "archived", False) and _aware(cert.not_after) > now):
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
