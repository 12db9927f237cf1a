"""HTTP authentication and message encryption of the WinRM service, as Windows does them.

One ``ConnectionAuth`` per TCP connection: Negotiate (NTLM through pyspnego's acceptor) is
connection-based, so once a handshake completes, later requests on the same connection carry no
``Authorization`` header and are still authenticated (what pypsrp and pywinrm rely on). Basic and
certificate authentication are checked on every request.

Windows behaviours reproduced here, with where they were confirmed:

- a request without acceptable credentials gets HTTP 401, an empty body and one
  ``WWW-Authenticate`` header per enabled scheme (Negotiate, Kerberos, ``Basic realm="WSMAN"``,
  CredSSP) [shared/reference/wsman-config-facts.md]; MS-WSMV 3.1.4.1.29.2 offers SPNEGO when
  either Negotiate or Kerberos is enabled
  (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/a1e78297-ed05-483f-ae6c-289abcfed306);
- a wrong password is a 401, never a dropped connection (pywinrm turns it into "the specified
  credentials were rejected by the server", diyan/pywinrm#154, #158);
- Basic over plain HTTP while the service refuses unencrypted traffic is also a 401: users of
  pywinrm see the same "credentials were rejected" message until they set
  ``AllowUnencrypted=true`` (diyan/pywinrm#114, #154 answers);
- certificate authentication with no matching CertMapping is a 401 ("certificate: the specified
  credentials were rejected by the server", diyan/pywinrm#311, ansible/ansible#65794);
- local accounts authenticate as ``user``, ``.\\user`` and ``COMPUTER\\user``
  ("If connecting to a remote target computer using a local account, then the account should be
  prefixed with the computer name", learn.microsoft.com/windows/win32/winrm/authentication-for-remote-connections);
- Kerberos (``configure_kerberos``: a keytab with every host's ``host/``, ``HTTP/``, ``WSMAN/`` SPNs)
  comes as ``Authorization: Kerberos`` or inside Negotiate (SPNEGO or a bare Kerberos token); a
  ticket is accepted only by the computer it names, as only that computer has the key. Without a
  keytab the hosts behave like workgroup members: Negotiate ends in NTLM, and the 401 offers no
  ``Kerberos`` scheme (a workgroup computer has no Kerberos identity; MS-WSMV 3.1.4.1.29.2 maps both
  Negotiate and Kerberos to SPNEGO);
- the NTLM CHALLENGE names the simulated computer, as a Windows computer does: TargetName and
  MsvAvNbDomainName are the computer name for a workgroup member (its own "domain"), the NetBIOS
  domain for a domain member, followed by the NetBIOS computer name and the DNS names ([MS-NLMP]
  2.2.1.2 and 2.2.2.1; the pairs Windows sends in that order, e.g. nmap's ntlm-info output for
  workgroup and domain computers). pyspnego's acceptor puts the machine running the simulator there,
  so ``_named_challenge`` rewrites its CHALLENGE per connection;
- a request whose credentials are refused gets its 401 with ``Connection: close`` and the connection
  is closed (WinRM Analytic event 1294, "Sending HTTP 401 response to the client and disconnect the
  connection after sending the response"); the first, credential-less request keeps it open.
"""
from __future__ import annotations

import base64
import dataclasses
import logging
import os
import re
import struct
import threading

log = logging.getLogger("winrm_sim.auth")

try:  # the engine owns Principal; this copy only serves until it exists
    from winrm_sim.host import Principal  # type: ignore
except Exception:  # pragma: no cover - depends on the other half of the package
    @dataclasses.dataclass
    class Principal:  # type: ignore[no-redef]
        user: str
        auth: str
        transport: str
        encrypted: bool
        remote: bool = True

MUTUAL_CERT_AUTH = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_ENCRYPTED = "application/HTTP-Kerberos-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"

_RESOURCE_URI = re.compile(rb"<(?:[\w.-]+:)?ResourceURI\b[^>]*>\s*([^<\s]+)\s*<", re.S)
_LENGTH = re.compile(rb"Length=(\d+)")


# -- the computer the NTLM CHALLENGE names ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NtlmIdentity:
    target_name: str
    nb_domain: str
    nb_computer: str
    dns_domain: str
    dns_computer: str
    dns_tree: str | None
    domain: bool


def ntlm_identity(host) -> NtlmIdentity:
    system = getattr(host, "system", None)
    config = getattr(system, "domain", None)
    name = host.name.upper()
    if config is None:
        return NtlmIdentity(name, name, name, host.name, host.name, None, False)
    netbios_domain = config.realm.split(".")[0].upper()
    return NtlmIdentity(netbios_domain, netbios_domain, name, config.domain_suffix, config.fqdn(host),
                        config.domain_suffix, True)


_current_identity = threading.local()


def _install_named_challenge() -> None:
    """Make pyspnego's NTLM acceptor name the computer set in ``_current_identity`` for this thread."""
    try:
        from spnego import _ntlm
        from spnego._ntlm_raw.messages import AvId, Challenge, NegotiateFlags, TargetInfo
    except ImportError:  # pragma: no cover - another pyspnego layout: keep its names
        log.warning("pyspnego internals changed: the NTLM CHALLENGE names the machine, not the simulated host")
        return
    original = _ntlm.NTLMProxy._step_accept_negotiate
    if getattr(original, "winrm_sim", False):
        return

    def step(self, token):
        out = original(self, token)
        identity = getattr(_current_identity, "value", None)
        old = getattr(self, "_temp_challenge", None)
        if identity is None or old is None:
            return out
        flags = old.flags & ~(NegotiateFlags.target_type_server | NegotiateFlags.target_type_domain)
        flags |= NegotiateFlags.target_type_domain if identity.domain else NegotiateFlags.target_type_server
        info = TargetInfo()
        info[AvId.nb_domain_name] = identity.nb_domain
        info[AvId.nb_computer_name] = identity.nb_computer
        info[AvId.dns_domain_name] = identity.dns_domain
        info[AvId.dns_computer_name] = identity.dns_computer
        if identity.dns_tree:
            info[AvId.dns_tree_name] = identity.dns_tree
        info[AvId.timestamp] = old.target_info[AvId.timestamp]
        challenge = Challenge(flags, old.server_challenge, target_name=identity.target_name, target_info=info,
                              version=old.version)
        self._temp_challenge = challenge
        return challenge.pack()

    step.winrm_sim = True
    _ntlm.NTLMProxy._step_accept_negotiate = step


# -- NTLM user file -------------------------------------------------------------------------------

_user_file_lock = threading.Lock()


def write_ntlm_user_file(path: str, hosts) -> str:
    """List every local account of every host for pyspnego's NTLM acceptor, and point
    ``NTLM_USER_FILE`` at it.

    pyspnego matches the domain exactly, so each account is listed with an empty domain, ``.``
    and the computer name. The acceptor keeps the first line whose user and domain match: an
    account name shared by several hosts must therefore have one password for the empty and
    ``.`` domains (the CLI generates one password per account name for the whole fleet).
    """
    lines: list[str] = []
    seen_plain: dict[str, str] = {}
    for host in hosts:
        for user, account in sorted(_accounts_of(host).items()):
            password = account["password"]
            key = user.lower()
            if key not in seen_plain:
                seen_plain[key] = password
                lines.append(f":{user}:{password}")
                lines.append(f".:{user}:{password}")
            elif seen_plain[key] != password:
                log.warning("account %s has different passwords across hosts: only %s\\%s works over NTLM",
                            user, host.name, user)
            lines.append(f"{host.name}:{user}:{password}")
    tmp = f"{path}.tmp{os.getpid()}"
    with _user_file_lock:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    os.environ["NTLM_USER_FILE"] = path
    return path


def _accounts_of(host) -> dict:
    accounts = getattr(host, "accounts", None)
    if accounts is None:
        accounts = getattr(host, "_accounts", {})
    return accounts or {}


def canonical_account(host, user: str) -> str | None:
    """The stored spelling of a local account name, or None when the host has no such account."""
    finder = getattr(host, "canonical_account", None)
    if callable(finder):
        try:
            return finder(user)
        except Exception:  # pragma: no cover - engine-specific helper failing is not our fault
            log.exception("canonical account lookup failed")
    for name in _accounts_of(host):
        if name.lower() == user.lower():
            return name
    return None


def split_local_user(host, raw_user: str) -> str | None:
    """Strip a domain part that names this computer (``.``, ``COMPUTER``); None for another domain."""
    user = raw_user
    domain = ""
    if "\\" in raw_user:
        domain, user = raw_user.split("\\", 1)
    elif "@" in raw_user:
        user, domain = raw_user.rsplit("@", 1)
    if domain and domain not in (".",) and domain.lower() != host.name.lower():
        return None
    return user


# -- Kerberos ------------------------------------------------------------------------------------

SERVICE_CLASSES = ("host", "HTTP", "WSMAN")


@dataclasses.dataclass(frozen=True)
class KerberosConfig:
    """The simulated domain: every host is ``<name>.<domain_suffix>`` in ``realm``; ``accounts``
    maps a client principal (``user@REALM``, compared case-insensitively) to the local account it
    acts as (a domain admin is an administrator of every member computer)."""
    keytab: str
    realm: str
    domain_suffix: str
    accounts: dict

    def fqdn(self, host) -> str:
        return self.fqdn_of(host.name)

    def fqdn_of(self, name: str) -> str:
        return f"{name.lower()}.{self.domain_suffix}"

    def service_principals(self, host) -> set[str]:
        # A domain computer answers host/ (pypsrp's default), HTTP/ (pywinrm; mapped to host/ by
        # AD) and WSMAN/ (registered by WinRM).
        return {f"{service}/{self.fqdn(host)}@{self.realm}".lower() for service in SERVICE_CLASSES}


_kerberos: KerberosConfig | None = None


def configure_kerberos(keytab: str, realm: str, domain_suffix: str | None = None,
                       accounts: dict | None = None, replay_cache_dir: str | None = None) -> KerberosConfig:
    """Make Kerberos available: MIT's acceptor reads its keys from ``KRB5_KTNAME``."""
    global _kerberos
    keytab = os.path.abspath(keytab)
    if not os.path.isfile(keytab):
        raise FileNotFoundError(f"keytab {keytab} does not exist")
    realm = realm.upper()
    os.environ["KRB5_KTNAME"] = f"FILE:{keytab}"
    if replay_cache_dir and "KRB5RCACHENAME" not in os.environ:
        # Keep the replay cache with the state, not in the machine-wide /var/tmp.
        os.environ["KRB5RCACHENAME"] = f"file2:{os.path.join(replay_cache_dir, 'krb5.rcache')}"
    if accounts is None:
        accounts = {f"ansible@{realm}": "Administrator"}
    _kerberos = KerberosConfig(keytab=keytab, realm=realm, domain_suffix=(domain_suffix or realm).lower(),
                               accounts={principal.lower(): account for principal, account in accounts.items()})
    return _kerberos


def kerberos_config() -> KerberosConfig | None:
    return _kerberos


def accepted_service_principal(context) -> str | None:
    """The SPN the client's ticket was for (``HTTP/host@REALM``), read from the GSSAPI context.

    pyspnego has no public accessor for it; its Negotiate wrapper exposes the chosen mechanism's
    context as ``_context`` and the GSSAPI proxy its ``gssapi.SecurityContext`` the same way."""
    inner = context
    for _attempt in range(3):
        target = getattr(inner, "target_name", None)
        if target is not None and not callable(target):
            return str(target).rstrip("\x00")
        inner = getattr(inner, "_context", None)
        if inner is None:
            return None
    return None


# -- HTTP message encryption (MS-WSMV 2.2.9.1) ------------------------------------------------------

class EncryptionError(ValueError):
    pass


def unwrap_body(context, body: bytes) -> bytes:
    """Decrypt a ``multipart/encrypted`` body.

    Parts are located by position rather than by searching the ciphertext for the boundary:
    ``--Encrypted Boundary`` / headers with ``OriginalContent: ...;Length=N`` / ``--Encrypted
    Boundary`` / ``Content-Type: application/octet-stream`` / 4-byte little-endian signature length,
    signature, N bytes of sealed data; and a closing ``--Encrypted Boundary--``.
    """
    plain = b""
    pos = 0
    for _part in range(1024):  # one part per 16 KB chunk at most for CredSSP; NTLM sends one
        start = body.find(BOUNDARY, pos)
        if start < 0 or body.startswith(BOUNDARY + b"--", start):
            break
        header_end = body.find(BOUNDARY, start + len(BOUNDARY))
        if header_end < 0:
            raise EncryptionError("encrypted body without a data part")
        header = body[start + len(BOUNDARY):header_end]
        match = _LENGTH.search(header)
        if not match:
            raise EncryptionError("encrypted part without OriginalContent Length")
        length = int(match.group(1))
        line_end = body.find(b"application/octet-stream", header_end)
        if line_end < 0:
            raise EncryptionError("encrypted part without an octet-stream part")
        data_start = body.find(b"\r\n", line_end) + 2
        if data_start < 2 or data_start + 4 > len(body):
            raise EncryptionError("truncated encrypted part")
        sig_len = struct.unpack("<I", body[data_start:data_start + 4])[0]
        sig_start = data_start + 4
        sealed_start = sig_start + sig_len
        sealed_end = sealed_start + length
        if sig_len > 1024 or sealed_end > len(body):
            raise EncryptionError("encrypted part shorter than its declared length")
        try:
            chunk = context.unwrap_winrm(body[sig_start:sealed_start], body[sealed_start:sealed_end])
        except Exception as exc:
            raise EncryptionError(f"cannot decrypt: {exc}") from exc
        plain += chunk
        pos = sealed_end
    else:
        raise EncryptionError("too many encrypted parts")
    return plain


def wrap_body(context, message: bytes, protocol: str = SPNEGO_ENCRYPTED) -> tuple[str, bytes]:
    """Encrypt a reply the way the WinRM service does; returns (Content-Type, body)."""
    header, sealed, padding = context.wrap_winrm(message)
    payload = b"".join([
        BOUNDARY, b"\r\n",
        b"\tContent-Type: ", protocol.encode(), b"\r\n",
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=",
        str(len(message) + padding).encode(), b"\r\n",
        BOUNDARY, b"\r\n",
        b"\tContent-Type: application/octet-stream\r\n",
        struct.pack("<I", len(header)), header, sealed,
        BOUNDARY, b"--\r\n",
    ])
    content_type = f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'
    return content_type, payload


def resource_uri_of(body: bytes) -> str:
    match = _RESOURCE_URI.search(body[:65536])
    return match.group(1).decode("utf-8", "replace") if match else ""


# -- per-connection authentication ---------------------------------------------------------------

@dataclasses.dataclass
class AuthOutcome:
    """What the handler does next: serve the request as ``principal``, or answer ``status``."""
    principal: Principal | None = None
    status: int = 0                      # 0: go on; otherwise answer this status with an empty body
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    context: object | None = None        # the security context for message encryption, if any
    close: bool = False


def challenge_headers(host) -> list[tuple[str, str]]:
    """One WWW-Authenticate per enabled service scheme, in Windows' order (Kerberos only from a
    domain member)."""
    headers = []
    negotiate = _enabled(host, "negotiate")
    kerberos = _enabled(host, "kerberos")
    if negotiate or kerberos:
        headers.append(("WWW-Authenticate", "Negotiate"))
    if kerberos and getattr(getattr(host, "system", None), "domain_member", False):
        headers.append(("WWW-Authenticate", "Kerberos"))
    if _enabled(host, "basic"):
        headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
    if _enabled(host, "credssp"):
        headers.append(("WWW-Authenticate", "CredSSP"))
    return headers


def _enabled(host, scheme: str) -> bool:
    try:
        return bool(host.auth_enabled(scheme))
    except Exception:  # pragma: no cover
        log.exception("auth_enabled(%s) failed", scheme)
        return False


class ConnectionAuth:
    """Authentication state of one TCP connection to one listener."""

    def __init__(self, host, transport: str, channel_bindings_data: bytes | None = None):
        self.host = host
        self.transport = transport
        self.channel_bindings_data = channel_bindings_data
        self.context = None            # pyspnego acceptor, during and after a handshake
        self.principal: Principal | None = None   # set once a connection-based handshake completed
        self.scheme = ""

    # The handlers of each Authorization scheme; Kerberos and CredSSP plug in here later.
    def authenticate(self, authorization: str | None, body: bytes, peer_cert_der: bytes | None) -> AuthOutcome:
        if not authorization:
            if self.principal is not None and self.context is not None:
                if not self._scheme_still_enabled():
                    # Turning an auth method off refuses it on the next request.
                    self.reset()
                    return self.refuse()
                return AuthOutcome(principal=self.principal, context=self.context)
            return self.refuse(credentials_refused=False)
        scheme, _sep, credentials = authorization.strip().partition(" ")
        scheme_l = scheme.lower()
        if scheme_l in ("negotiate", "kerberos"):
            return self._negotiate(scheme, credentials.strip())
        if scheme_l == "basic":
            return self._basic(credentials.strip())
        if authorization.strip() == MUTUAL_CERT_AUTH:
            return self._certificate(body, peer_cert_der)
        return self.refuse()

    def reset(self) -> None:
        self.context = None
        self.principal = None
        self.scheme = ""

    def refuse(self, credentials_refused: bool = True) -> AuthOutcome:
        return AuthOutcome(status=401, headers=challenge_headers(self.host), close=credentials_refused)

    def _scheme_still_enabled(self) -> bool:
        if self.principal is not None and self.principal.auth == "kerberos":
            return _enabled(self.host, "kerberos")
        if self.scheme == "negotiate":
            return _enabled(self.host, "negotiate") or _enabled(self.host, "kerberos")
        return _enabled(self.host, self.scheme)

    # -- Negotiate / NTLM

    def _negotiate(self, scheme: str, token_b64: str) -> AuthOutcome:
        if scheme.lower() == "negotiate" and not (_enabled(self.host, "negotiate") or _enabled(self.host, "kerberos")):
            return self.refuse()
        if scheme.lower() == "kerberos" and not _enabled(self.host, "kerberos"):
            return self.refuse()
        try:
            token = base64.b64decode(token_b64, validate=True)
        except Exception:
            self.reset()
            return self.refuse()
        if not token:
            self.reset()
            return self.refuse()
        fresh_start = token.startswith(b"NTLMSSP\x00\x01\x00\x00\x00") or token[:1] == b"\x60"
        if self.context is None or self.context.complete or fresh_start:
            # A new handshake on this connection replaces the previous identity.
            self.reset()
            self.context = self._new_acceptor()
        _current_identity.value = ntlm_identity(self.host)
        try:
            out_token = self.context.step(token)
        except Exception as exc:
            log.info("%s: Negotiate rejected: %s", self.host.name, exc)
            self.reset()
            return self.refuse()
        finally:
            _current_identity.value = None
        reply_headers = []
        if out_token:
            reply_headers.append(("WWW-Authenticate", f"{scheme} {base64.b64encode(out_token).decode()}"))
        if not self.context.complete:
            return AuthOutcome(status=401, headers=reply_headers)
        mechanism = getattr(self.context, "negotiated_protocol", "ntlm") or "ntlm"
        if mechanism == "kerberos":
            account = self._kerberos_account()
        else:
            if not _enabled(self.host, "negotiate"):
                # NTLM comes only through Negotiate; with Negotiate off only Kerberos is left.
                self.reset()
                return self.refuse()
            local_user = split_local_user(self.host, self.context.client_principal or "")
            account = canonical_account(self.host, local_user) if local_user else None
            if account is None:
                log.info("%s: NTLM user %r is not a local account", self.host.name, self.context.client_principal)
        if account is None:
            self.reset()
            return self.refuse()
        log.info("%s: %s authenticated as %s with %s (%s header)", self.host.name,
                 self.context.client_principal, account, mechanism, scheme)
        self.scheme = "negotiate"
        self.principal = Principal(
            user=account,
            auth="ntlm" if mechanism == "ntlm" else mechanism,
            transport=self.transport,
            encrypted=self.transport == "https",
        )
        return AuthOutcome(principal=self.principal, headers=reply_headers, context=self.context)

    def _kerberos_account(self) -> str | None:
        """The local account a completed Kerberos handshake acts as, or None (then 401)."""
        config = _kerberos
        client = (self.context.client_principal or "").rstrip("\x00")
        if config is None:
            # No keytab: a workgroup computer cannot accept tickets (only reachable if the
            # machine itself has a default keytab).
            log.info("%s: Kerberos ticket from %s refused: no keytab configured", self.host.name, client)
            return None
        if not _enabled(self.host, "kerberos"):
            log.info("%s: Kerberos ticket from %s refused: service Kerberos is off", self.host.name, client)
            return None
        service = accepted_service_principal(self.context)
        if service is None or service.lower() not in config.service_principals(self.host):
            # One keytab serves every simulated host; a real computer only has its own key.
            log.info("%s: Kerberos ticket for %s refused: not this computer's SPN", self.host.name, service)
            return None
        mapped = config.accounts.get(client.lower())
        account = canonical_account(self.host, mapped) if mapped else None
        if account is None:
            log.info("%s: Kerberos principal %s maps to no account", self.host.name, client)
        return account

    def _new_acceptor(self):
        import spnego  # imported late: NTLM_USER_FILE must be set before the first acceptor
        from spnego.channel_bindings import GssChannelBindings

        _install_named_challenge()
        bindings = None
        level = "relaxed"
        try:
            level = str(self.host.cbt_hardening_level()).lower()
        except Exception:  # pragma: no cover
            pass
        # pyspnego refuses a token without bindings once the acceptor has some, which is Windows'
        # Strict; Relaxed (validate only when sent) has no equivalent there, so Relaxed and None
        # accept any bindings.
        if self.channel_bindings_data and level == "strict":
            bindings = GssChannelBindings(application_data=self.channel_bindings_data)
        return spnego.server(hostname=self.host.name, service="HTTP", channel_bindings=bindings,
                             protocol="negotiate")

    # -- Basic

    def _basic(self, credentials: str) -> AuthOutcome:
        if not _enabled(self.host, "basic"):
            return self.refuse()
        if self.transport == "http" and not self.host.allow_unencrypted():
            # Basic cannot encrypt: refused over HTTP unless AllowUnencrypted=true.
            return self.refuse()
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            raw_user, _sep, password = decoded.partition(":")
        except Exception:
            return self.refuse()
        local_user = split_local_user(self.host, raw_user)
        account = self.host.check_password(local_user, password) if local_user else None
        if not account:
            return self.refuse()
        self.scheme = "basic"
        return AuthOutcome(principal=Principal(user=account, auth="basic", transport=self.transport,
                                               encrypted=self.transport == "https"))

    # -- Certificate

    def _certificate(self, body: bytes, peer_cert_der: bytes | None) -> AuthOutcome:
        if self.transport != "https" or not _enabled(self.host, "certificate") or not peer_cert_der:
            return self.refuse()
        try:
            account = self.host.map_client_certificate(peer_cert_der, resource_uri_of(body))
        except Exception:
            log.exception("%s: certificate mapping failed", self.host.name)
            account = None
        if not account:
            return self.refuse()
        self.scheme = "certificate"
        return AuthOutcome(principal=Principal(user=account, auth="certificate", transport="https", encrypted=True))
