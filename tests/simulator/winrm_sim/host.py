"""A simulated Windows host's WinRM service: state, persistence, effective config, accounts, RootSDDL.

Contract: docs/contracts.md section 4. The WS-Management protocol work (SOAP parsing, resources,
replies) is in engine.py; this module owns the data and the rules that do not depend on SOAP.
"""
from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import logging
import os
import re
import tempfile
import threading
from typing import Callable

from . import profiles
from .profiles import CLIENT_POLICY, REG_DWORD, SERVICE_POLICY, SYSTEM_POLICY, WINRS_POLICY

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Principal:
    user: str            # local account name as stored ("Administrator"), or "" before auth
    auth: str            # "basic" | "negotiate" | "ntlm" | "kerberos" | "certificate" | "credssp"
    transport: str       # "http" | "https"
    encrypted: bool      # message encryption or TLS
    remote: bool = True


@dataclasses.dataclass(frozen=True)
class ActiveListener:
    transport: str       # "http" | "https"
    port: int
    url_prefix: str      # "wsman"
    thumbprint: str      # "" for http; uppercase hex SHA-1 for https
    source: str          # "" | "GPO" | "Compatibility"


# --- Group Policy ---------------------------------------------------------------------------------
# Registry value names from WindowsRemoteManagement.admx / WindowsRemoteShell.admx, as documented in
# MicrosoftDocs windows-itpro-docs policy-csp-remotemanagement.md ("ADMX mapping" tables):
# AllowBasic_1/_2 -> AllowBasic, AllowCredSSP_1/_2 -> AllowCredSSP, DisallowDigest -> AllowDigest,
# DisallowNegotiate_1/_2 -> AllowNegotiate, DisallowKerberos_1/_2 -> AllowKerberos,
# AllowUnencrypted_1/_2 -> AllowUnencryptedTraffic, DisableRunAs, AllowAutoConfig (+ IPv4Filter,
# IPv6Filter), HttpCompatibilityListener, HttpsCompatibilityListener, CBTHardeningLevel_1 ->
# CBTHardeningLevelStatus (+ CbtHardeningLevel), TrustedHosts (+ TrustedHostsList).
# "Disallow X" policies store AllowX=0 when enabled, so every value reads as a boolean.
BOOLEAN_POLICIES: list[tuple[str, str, tuple[str, ...]]] = [
    (CLIENT_POLICY, "AllowBasic", ("Client", "Auth", "Basic")),
    (CLIENT_POLICY, "AllowDigest", ("Client", "Auth", "Digest")),
    (CLIENT_POLICY, "AllowKerberos", ("Client", "Auth", "Kerberos")),
    (CLIENT_POLICY, "AllowNegotiate", ("Client", "Auth", "Negotiate")),
    (CLIENT_POLICY, "AllowCredSSP", ("Client", "Auth", "CredSSP")),
    (CLIENT_POLICY, "AllowUnencryptedTraffic", ("Client", "AllowUnencrypted")),
    (SERVICE_POLICY, "AllowBasic", ("Service", "Auth", "Basic")),
    (SERVICE_POLICY, "AllowKerberos", ("Service", "Auth", "Kerberos")),
    (SERVICE_POLICY, "AllowNegotiate", ("Service", "Auth", "Negotiate")),
    (SERVICE_POLICY, "AllowCredSSP", ("Service", "Auth", "CredSSP")),
    (SERVICE_POLICY, "AllowUnencryptedTraffic", ("Service", "AllowUnencrypted")),
    (SERVICE_POLICY, "HttpCompatibilityListener", ("Service", "EnableCompatibilityHttpListener")),
    (SERVICE_POLICY, "HttpsCompatibilityListener", ("Service", "EnableCompatibilityHttpsListener")),
    (WINRS_POLICY, "AllowRemoteShellAccess", ("Winrs", "AllowRemoteShellAccess")),
]
NUMERIC_POLICIES: list[tuple[str, str, tuple[str, ...]]] = [
    (WINRS_POLICY, "IdleTimeout", ("Winrs", "IdleTimeout")),
    (WINRS_POLICY, "MaxConcurrentUsers", ("Winrs", "MaxConcurrentUsers")),
    (WINRS_POLICY, "MaxProcessesPerShell", ("Winrs", "MaxProcessesPerShell")),
    (WINRS_POLICY, "MaxMemoryPerShellMB", ("Winrs", "MaxMemoryPerShellMB")),
    (WINRS_POLICY, "MaxShellsPerUser", ("Winrs", "MaxShellsPerUser")),
]
CBT_LEVELS = {"none": "None", "relaxed": "Relaxed", "strict": "Strict"}

# --- Authorization ----------------------------------------------------------------------------------
SID_ALIASES = {
    "WD": "S-1-1-0", "NU": "S-1-5-2", "IU": "S-1-5-4", "AU": "S-1-5-11", "SY": "S-1-5-18",
    "LS": "S-1-5-19", "NS": "S-1-5-20", "BA": "S-1-5-32-544", "BU": "S-1-5-32-545",
    "BG": "S-1-5-32-546", "RD": "S-1-5-32-555", "RM": "S-1-5-32-580",
}
GROUP_SIDS = {
    "administrators": "S-1-5-32-544", "users": "S-1-5-32-545", "guests": "S-1-5-32-546",
    "remote desktop users": "S-1-5-32-555", "remote management users": "S-1-5-32-580",
}
GENERIC_ALL, GENERIC_EXECUTE, GENERIC_WRITE, GENERIC_READ = 0x10000000, 0x20000000, 0x40000000, 0x80000000
RIGHTS = {"GA": GENERIC_ALL, "GX": GENERIC_EXECUTE, "GW": GENERIC_WRITE, "GR": GENERIC_READ}
ACCESS = {"read": GENERIC_READ, "write": GENERIC_WRITE, "execute": GENERIC_EXECUTE}
_ACE = re.compile(r"\(([^()]*)\)")


class SddlError(ValueError):
    pass


def parse_dacl(sddl: str) -> list[tuple[str, int, str]]:
    """The DACL of an SDDL string as [(type "A"|"D", generic rights mask, SID)]."""
    match = re.search(r"D:([A-Z]*)((?:\([^()]*\))*)", sddl or "")
    if not match:
        raise SddlError("no DACL")
    aces = []
    for ace in _ACE.findall(match.group(2)):
        fields = ace.split(";")
        if len(fields) != 6 or fields[0] not in ("A", "D", "AU", "OA", "OD"):
            raise SddlError(f"bad ACE {ace!r}")
        if fields[0] not in ("A", "D"):
            continue
        rights_text = fields[2]
        if rights_text.lower().startswith("0x"):
            rights = int(rights_text, 16)
        else:
            if len(rights_text) % 2:
                raise SddlError(f"bad rights {rights_text!r}")
            rights = 0
            for i in range(0, len(rights_text), 2):
                code = rights_text[i:i + 2]
                if code in RIGHTS:
                    rights |= RIGHTS[code]
                elif code not in ("RC", "SD", "WD", "WO", "CC", "DC", "LC", "SW", "RP", "WP", "DT",
                                  "LO", "CR", "FA", "FR", "FW", "FX", "KA", "KR", "KW", "KX"):
                    raise SddlError(f"bad right {code!r}")
        sid = fields[5]
        sid = SID_ALIASES.get(sid, sid)
        if not sid.startswith("S-1-"):
            raise SddlError(f"unknown SID {fields[5]!r}")
        aces.append((fields[0], rights, sid))
    return aces


def access_check(aces, sids: set[str], wanted: int) -> bool:
    """Windows' DACL walk: stop at a deny of a wanted right, succeed once all are granted."""
    granted = 0
    for kind, rights, sid in aces:
        if sid not in sids:
            continue
        if rights & GENERIC_ALL:
            rights |= GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE
        if kind == "D" and rights & wanted & ~granted:
            return False
        if kind == "A":
            granted |= rights & wanted
            if granted == wanted:
                return True
    return False


# --- IP filters and addresses ---------------------------------------------------------------------
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


def _filter_allows(ranges, address) -> bool:
    if ranges is None:
        return True
    return any(low <= address <= high for low, high in ranges)


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


class SimHost:
    """One simulated Windows host. Every public method takes ``self.lock``."""

    def __init__(self, name, address, profile, state_path, cert_store, accounts):
        self.name = name
        self.address = address
        self.profile = profile
        self.state_path = state_path
        self.cert_store = cert_store
        self.accounts = dict(accounts or {})
        if not any(n.lower() == "administrator" for n in self.accounts):
            log.debug("host %s has no built-in Administrator account", name)
        self.lock = threading.RLock()
        self.on_listeners_changed: Callable[[], None] | None = None
        # Volatile service state (lost on restart, as on Windows): enumerations and shells.
        self.enumerations: dict[str, dict] = {}
        self.shells: dict[str, dict] = {}
        self.state = self._load_or_create()
        self._saved_text = self._dump()

    # ----- persistence -----------------------------------------------------------------------------
    def _load_or_create(self) -> dict:
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
            self.profile = state.get("profile", self.profile)
            return state
        state = profiles.build_state(self.profile, self.name, self.cert_store)
        self._write(json.dumps(state, indent=1, sort_keys=False))
        return state

    def _dump(self) -> str:
        return json.dumps(self.state, indent=1, sort_keys=False)

    def _write(self, text: str) -> None:
        if not self.state_path:
            return
        directory = os.path.dirname(os.path.abspath(self.state_path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.state_path), dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.state_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def save_if_changed(self) -> bool:
        with self.lock:
            text = self._dump()
            if text == self._saved_text:
                return False
            self._write(text)
            self._saved_text = text
            return True

    # ----- registry ----------------------------------------------------------------------------------
    def _registry_key(self, path: str):
        wanted = path.strip("\\").lower()
        for key, values in self.state["registry"].items():
            if key.lower() == wanted:
                return key, values
        return None, None

    def registry_value(self, key: str, name: str):
        """(type, data) or None."""
        _found_key, values = self._registry_key(key)
        if values is None:
            return None
        for value_name, entry in values.items():
            if value_name.lower() == name.lower():
                return entry[0], entry[1]
        return None

    def _policy_dword(self, key, name):
        entry = self.registry_value(key, name)
        if entry is None or entry[0] != REG_DWORD:
            return None
        return int(entry[1])

    def _policy_string(self, key, name):
        entry = self.registry_value(key, name)
        if entry is None:
            return None
        return str(entry[1])

    def policy_overrides(self) -> dict[tuple[str, ...], str]:
        """Config path -> value set by Group Policy (read from the registry on every request)."""
        result: dict[tuple[str, ...], str] = {}
        for key, name, path in BOOLEAN_POLICIES:
            value = self._policy_dword(key, name)
            if value is not None:
                result[path] = "true" if value else "false"
        for key, name, path in NUMERIC_POLICIES:
            value = self._policy_dword(key, name)
            if value is not None:
                result[path] = str(value)
        if self._policy_dword(SERVICE_POLICY, "CBTHardeningLevelStatus") == 1:
            level = CBT_LEVELS.get((self._policy_string(SERVICE_POLICY, "CbtHardeningLevel") or "").lower())
            if level:
                result[("Service", "Auth", "CbtHardeningLevel")] = level
        if self._policy_dword(CLIENT_POLICY, "TrustedHosts") == 1:
            result[("Client", "TrustedHosts")] = self._policy_string(CLIENT_POLICY, "TrustedHostsList") or ""
        if self.auto_config_enabled():
            result[("Service", "IPv4Filter")] = self._policy_string(SERVICE_POLICY, "IPv4Filter") or ""
            result[("Service", "IPv6Filter")] = self._policy_string(SERVICE_POLICY, "IPv6Filter") or ""
        return result

    def auto_config_enabled(self) -> bool:
        # "Allow remote server management through WinRM" = Enabled. Disabled / not configured leave
        # the local listeners in charge (the simulator does not model the "refuse every remote
        # request" reading of Disabled).
        return self._policy_dword(SERVICE_POLICY, "AllowAutoConfig") == 1

    # ----- effective configuration ---------------------------------------------------------------
    def local_value(self, path: tuple[str, ...]) -> str:
        node = self.state["config"]
        for part in path:
            node = node[part]
        return node

    def effective_value(self, path: tuple[str, ...]) -> str:
        with self.lock:
            overrides = self.policy_overrides()
            if path in overrides:
                return overrides[path]
            return self.local_value(path)

    def auth_enabled(self, scheme: str) -> bool:
        leaf = {"basic": "Basic", "negotiate": "Negotiate", "ntlm": "Negotiate", "kerberos": "Kerberos",
                "certificate": "Certificate", "credssp": "CredSSP"}.get((scheme or "").lower())
        if leaf is None:
            return False
        return self.effective_value(("Service", "Auth", leaf)).lower() == "true"

    def allow_unencrypted(self) -> bool:
        return self.effective_value(("Service", "AllowUnencrypted")).lower() == "true"

    def cbt_hardening_level(self) -> str:
        return self.effective_value(("Service", "Auth", "CbtHardeningLevel"))

    def max_envelope_bytes(self) -> int:
        try:
            return int(self.effective_value(("MaxEnvelopeSizekb",))) * 1024
        except ValueError:
            return 500 * 1024

    # ----- listeners ---------------------------------------------------------------------------------
    def host_addresses(self) -> list:
        addresses = []
        for text in (self.address, "127.0.0.1", "::1"):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        return addresses

    def listening_on(self, listener_address: str) -> list[str]:
        """ListeningOn: the host's addresses the listener binds, after IPv4Filter / IPv6Filter."""
        try:
            v4 = parse_ip_filter(self.effective_value(("Service", "IPv4Filter")), 4)
        except ValueError:
            v4 = []  # "A configuration error in the policy results in an empty value"
        try:
            v6 = parse_ip_filter(self.effective_value(("Service", "IPv6Filter")), 6)
        except ValueError:
            v6 = []
        candidates = self.host_addresses()
        if listener_address.upper().startswith("IP:"):
            try:
                wanted = ipaddress.ip_address(listener_address[3:].strip("[]"))
            except ValueError:
                return []
            candidates = [a for a in candidates if a == wanted]
        elif listener_address != "*":
            return []  # MAC:<mac> - the simulated host has no such adapter
        allowed = [a for a in candidates if _filter_allows(v4 if a.version == 4 else v6, a)]
        allowed.sort(key=lambda a: (a.version, int(a)))
        return [str(a) for a in allowed]

    def https_thumbprint_for_compat(self) -> str:
        thumbprint = self.effective_value(("Service", "CertificateThumbprint"))
        if thumbprint:
            return thumbprint
        for item in self.state["listeners"]:
            if item["Transport"] == "HTTPS" and item["CertificateThumbprint"]:
                return item["CertificateThumbprint"]
        cert = profiles.server_certificate(self.cert_store, self.name)
        return cert.thumbprint.upper() if cert else ""

    def effective_listeners(self) -> list[dict]:
        """Listeners as Enumerate shows them: each dict has the fields plus "Source"."""
        with self.lock:
            result = []
            gpo = None
            if self.auto_config_enabled():
                gpo = profiles.listener(port=self.effective_value(("Service", "DefaultPorts", "HTTP")))
                gpo["Source"] = "GPO"
                result.append(gpo)
            for item in sorted(self.state["listeners"], key=lambda l: (l["Address"].lower(), l["Transport"])):
                if gpo and item["Address"] == "*" and item["Transport"] == "HTTP":
                    continue  # the policy listener takes the place of the local one
                result.append(dict(item, Source=""))
            if self.effective_value(("Service", "EnableCompatibilityHttpListener")).lower() == "true":
                result.append(dict(profiles.listener(port="80"), Source="Compatibility"))
            if self.effective_value(("Service", "EnableCompatibilityHttpsListener")).lower() == "true":
                compat = profiles.listener(transport="HTTPS", port="443",
                                           thumbprint=self.https_thumbprint_for_compat())
                result.append(dict(compat, Source="Compatibility"))
            return result

    def active_listeners(self) -> list[ActiveListener]:
        with self.lock:
            active = []
            seen = set()
            for item in self.effective_listeners():
                if item["Enabled"].lower() != "true":
                    continue
                if self.address not in self.listening_on(item["Address"]):
                    continue
                transport = item["Transport"].lower()
                thumbprint = item["CertificateThumbprint"].upper() if transport == "https" else ""
                if transport == "https" and not thumbprint:
                    continue
                key = (transport, int(item["Port"]), item["URLPrefix"].lower())
                if key in seen:
                    continue
                seen.add(key)
                active.append(ActiveListener(transport, int(item["Port"]), item["URLPrefix"],
                                             thumbprint, item["Source"]))
            return active

    # ----- accounts and authorization --------------------------------------------------------------
    def canonical_account(self, user: str) -> str | None:
        if not user:
            return None
        name = user
        if "\\" in name:
            domain, _sep, name = name.partition("\\")
            if domain not in (".",) and domain.lower() != self.name.lower():
                return None
        elif "@" in name:
            name, _sep, domain = name.partition("@")
            if domain.lower() != self.name.lower():
                return None
        for account in self.accounts:
            if account.lower() == name.lower():
                return account
        return None

    def check_password(self, user, password) -> str | None:
        with self.lock:
            account = self.canonical_account(user)
            if account is None or password is None:
                return None
            if self.accounts[account].get("password") != password:
                return None
            return account

    def is_builtin_administrator(self, account: str) -> bool:
        return account.lower() == "administrator"

    def effective_admin(self, account: str, remote: bool) -> bool:
        """UAC remote restrictions: a network logon of a local admin other than the built-in
        Administrator gets a filtered token unless LocalAccountTokenFilterPolicy=1."""
        info = self.accounts.get(account, {})
        groups = [g.lower() for g in info.get("groups", [])]
        member = bool(info.get("admin")) or "administrators" in groups or self.is_builtin_administrator(account)
        if not member:
            return False
        if self.is_builtin_administrator(account) or not remote:
            return True
        return self._policy_dword(SYSTEM_POLICY, "LocalAccountTokenFilterPolicy") == 1

    def principal_sids(self, principal: Principal) -> set[str]:
        account = self.canonical_account(principal.user)
        if account is None:
            return set()
        sids = {"S-1-1-0", "S-1-5-11", "S-1-5-32-545"}
        sids.add("S-1-5-2" if principal.remote else "S-1-5-4")
        info = self.accounts.get(account, {})
        for group in info.get("groups", []):
            sid = GROUP_SIDS.get(group.lower(), group if group.startswith("S-1-") else None)
            if sid and sid != "S-1-5-32-544":
                sids.add(sid)
        if self.effective_admin(account, principal.remote):
            sids.add("S-1-5-32-544")
        return sids

    def authorized(self, principal: Principal, access: str) -> bool:
        with self.lock:
            try:
                aces = parse_dacl(self.effective_value(("Service", "RootSDDL")))
            except SddlError:
                return False
            return access_check(aces, self.principal_sids(principal), ACCESS[access])

    # ----- certificate mapping -------------------------------------------------------------------
    def map_client_certificate(self, der: bytes, resource_uri: str) -> str | None:
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID, NameOID

        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return None
        now = datetime.datetime.now(datetime.timezone.utc)
        not_before = _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)
        not_after = _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)
        if not (not_before <= now <= not_after):
            return None
        issuer_thumbprint = self._issuer_thumbprint(cert)
        if not issuer_thumbprint:
            return None
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            upn_oid = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
            for other in san.get_values_for_type(x509.OtherName):
                if other.type_id == upn_oid:
                    names.append(_der_utf8_string(other.value))
            names.extend(san.get_values_for_type(x509.RFC822Name))
        except x509.ExtensionNotFound:
            pass
        names = [n for n in names if n]
        with self.lock:
            for mapping in self.state["certmappings"]:
                if mapping.get("Enabled", "true").lower() != "true":
                    continue
                if mapping["Issuer"].upper() != issuer_thumbprint:
                    continue
                if not any(_subject_matches(mapping["Subject"], n) for n in names):
                    continue
                if not _uri_matches(mapping["URI"], resource_uri or ""):
                    continue
                account = self.canonical_account(mapping.get("UserName", ""))
                if account and self.accounts[account].get("password") == mapping.get("Password"):
                    return account
            return None

    def _issuer_thumbprint(self, cert) -> str | None:
        from cryptography import x509

        if self.cert_store is None:
            return None
        for info in self.cert_store.certs:
            if not info.is_ca or not self.cert_store.is_trusted_ca(info.thumbprint):
                continue
            try:
                with open(info.cert_path, "rb") as handle:
                    data = handle.read()
                ca = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                      else x509.load_der_x509_certificate(data))
            except (OSError, ValueError):
                continue
            if ca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except Exception:  # noqa: BLE001 - any verification failure means "not this CA"
                continue
            return info.thumbprint.upper()
        return None

    # ----- the protocol -------------------------------------------------------------------------------
    def handle(self, body: bytes, principal: Principal) -> tuple[int, bytes]:
        from . import engine

        with self.lock:
            before = self._safe_active_listeners()
            status, reply = engine.handle_request(self, body, principal)
            try:
                self.save_if_changed()
            except Exception:  # noqa: BLE001 - the reply still goes out; the next change retries
                log.exception("cannot write the state of %s", self.name)
            after = self._safe_active_listeners()
        if before != after and self.on_listeners_changed is not None:
            try:
                self.on_listeners_changed()
            except Exception:  # noqa: BLE001 - the transport's problem must not break the reply
                log.exception("on_listeners_changed failed for %s", self.name)
        return status, reply

    def _safe_active_listeners(self):
        try:
            return self.active_listeners()
        except Exception:  # noqa: BLE001 - handle() must never raise
            log.exception("cannot compute the listeners of %s", self.name)
            return None


def _der_utf8_string(value: bytes) -> str:
    """The UPN OtherName value is a DER UTF8String; decode just that."""
    if len(value) >= 2 and value[0] == 0x0C:
        length = value[1]
        offset = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(value[2:2 + count], "big")
            offset = 2 + count
        return value[offset:offset + length].decode("utf-8", "replace")
    return ""


def _subject_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower(), name.lower()
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return pattern == name


def _uri_matches(pattern: str, uri: str) -> bool:
    pattern, uri = pattern.lower(), uri.lower()
    if pattern.endswith("*"):
        return uri.startswith(pattern[:-1])
    return pattern == uri
