# -*- coding: utf-8 -*-
# Copyright: (c) wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one endpoint resolver: a host's connection variables -> URL, auth and TLS settings.

Rules come from Microsoft's "Details on secure port configuration for WS-Management in Windows 7
and Windows Server 2008 R2", "Authentication for Remote Connections", "Proxy Servers and WinRM",
"PowerShell Remoting Security Considerations" and MS-WSMV; docs/endpoint-resolution.md documents
every variable, rule and default. ``resolve`` is a pure function: no network, and no environment
reads unless environment proxies are asked for. Callers hand it the variables the user chose,
read through ansible-core's option system (plugins/plugin_utils/connection_options.py).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import typing as t
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = [
    "AUTH_ALIASES",
    "CONNECTION_FAMILIES",
    "DEFAULTS",
    "Endpoint",
    "EndpointError",
    "VARIABLES",
    "resolve",
]


class EndpointError(ValueError):
    """A host's connection variables cannot be resolved; the message names the variable and the fix."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """The resolved endpoint of one host (contract: docs/contracts.md section 1)."""

    scheme: str
    host: str
    port: int
    path: str
    auth: str
    username: t.Optional[str]
    password: t.Optional[str] = dataclasses.field(repr=False)
    encryption: str
    cert_validation: t.Union[bool, str]
    cert_fingerprint: t.Optional[str]
    client_cert_pem: t.Optional[str]
    client_key_pem: t.Optional[str]
    proxy: t.Optional[str]
    proxy_username: t.Optional[str] = dataclasses.field(repr=False)
    proxy_password: t.Optional[str] = dataclasses.field(repr=False)
    connection_timeout: int
    read_timeout: int
    operation_timeout: int
    decisions: t.Tuple[str, ...]

    @property
    def url(self) -> str:
        return "%s://%s:%d/%s" % (self.scheme, _url_host(self.host), self.port, self.path)

    def proxy_url_with_credentials(self) -> t.Optional[str]:
        """The proxy URL handed to requests: the only place the proxy credentials are written into a URL."""
        if not self.proxy or (self.proxy_username is None and self.proxy_password is None):
            return self.proxy
        scheme, _sep, rest = self.proxy.partition("://")
        userinfo = quote(self.proxy_username or "", safe="") + ":" + quote(self.proxy_password or "", safe="")
        return "%s://%s@%s" % (scheme, userinfo, rest)

    def redacted(self) -> t.Dict[str, t.Any]:
        """Everything but secrets (passwords and proxy credentials), for logs and task results."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for secret in ("password", "proxy_username", "proxy_password"):
            del values[secret]
        values["proxy_authenticated"] = self.proxy_username is not None or self.proxy_password is not None
        values["decisions"] = list(self.decisions)
        values["url"] = self.url
        return values


# ---------------------------------------------------------------------------------------------
# Data: which variables feed which option, per connection plugin family.
# ---------------------------------------------------------------------------------------------

# Families of variables a connection plugin reads. The collection's own plugin is a drop-in for
# ansible.builtin.winrm, so it reads the ansible_winrm_* variables too.
CONNECTION_FAMILIES: t.Dict[t.Optional[str], t.Tuple[str, ...]] = {
    "ansible.builtin.winrm": ("wsman", "winrm", "generic"),
    "winrm": ("wsman", "winrm", "generic"),
    "ansible.legacy.winrm": ("wsman", "winrm", "generic"),
    "wsman.winrm.winrm": ("wsman", "winrm", "generic"),
    "ansible.builtin.psrp": ("wsman", "psrp", "generic"),
    "psrp": ("wsman", "psrp", "generic"),
    "ansible.legacy.psrp": ("wsman", "psrp", "generic"),
    None: ("wsman", "winrm", "psrp", "generic"),
}

# option -> {family: [variable names, highest precedence first]}, meaning, default (for the docs).
# Precedence: wsman_winrm_* > plugin-specific (ansible_winrm_* / ansible_psrp_*) > ansible_*; inside
# one family, the later name of ansible-core's `vars:` list wins, so it is listed first here.
VARIABLES: t.Dict[str, t.Dict[str, t.Any]] = {
    "host": {
        "wsman": ["wsman_winrm_host"],
        "winrm": ["ansible_winrm_host"],
        "psrp": ["ansible_psrp_host"],
        "generic": ["ansible_host", "inventory_hostname"],
        "meaning": "computer name or IP address; a URL here is read as a connection URI",
        "default": "inventory_hostname",
    },
    "connection_uri": {
        "wsman": ["wsman_winrm_connection_uri"],
        "meaning": "connection URI (http://host[:port]/wsman); ports default to 80/443 as in -ConnectionUri",
        "default": "none (computer name)",
    },
    "port": {
        "wsman": ["wsman_winrm_port"],
        "winrm": ["ansible_winrm_port"],
        "psrp": ["ansible_psrp_port"],
        "generic": ["ansible_port"],
        "meaning": "explicit port; always wins; 5985 without a scheme means http, as in ansible.builtin.winrm and "
                   "ansible.builtin.psrp",
        "default": "client DefaultPorts: 5985 (http) / 5986 (https)",
    },
    "scheme": {
        "wsman": ["wsman_winrm_scheme"],
        "winrm": ["ansible_winrm_scheme"],
        "psrp": ["ansible_psrp_protocol"],
        "meaning": "http or https",
        "default": "https (http for port 5985)",
    },
    "use_ssl": {
        "wsman": ["wsman_winrm_use_ssl"],
        "meaning": "true = https, false = http (like -UseSSL); must agree with the scheme",
        "default": "unset",
    },
    "path": {
        "wsman": ["wsman_winrm_path"],
        "winrm": ["ansible_winrm_path"],
        "psrp": ["ansible_psrp_path"],
        "meaning": "URL prefix of the listener",
        "default": "wsman",
    },
    "legacy_ports": {
        "wsman": ["wsman_winrm_legacy_ports"],
        "meaning": "reach a WinRM 1.1 host on 80 (http) / 443 (https)",
        "default": "false",
    },
    "default_ports": {
        "wsman": ["wsman_winrm_default_ports"],
        "meaning": "the client's DefaultPorts when not 5985/5986, e.g. {http: 8985, https: 8986}",
        "default": "{http: 5985, https: 5986}",
    },
    "user": {
        "wsman": ["wsman_winrm_user"],
        "winrm": ["ansible_winrm_user"],
        "psrp": ["ansible_psrp_user"],
        "generic": ["ansible_user"],
        "meaning": "user name (user, DOMAIN\\user or user@REALM)",
        "default": "none",
    },
    "password": {
        "wsman": ["wsman_winrm_password"],
        "winrm": ["ansible_winrm_password", "ansible_winrm_pass"],
        "psrp": ["ansible_winrm_password", "ansible_winrm_pass"],
        "generic": ["ansible_password"],
        "meaning": "password (no_log)",
        "default": "none",
    },
    "auth": {
        "wsman": ["wsman_winrm_auth"],
        "winrm": ["ansible_winrm_transport"],
        "psrp": ["ansible_psrp_auth"],
        "meaning": "basic, ntlm, negotiate, kerberos, credssp or certificate; a list or comma string "
                   "takes the first supported one (plaintext and ssl mean basic)",
        "default": "negotiate (certificate when only a client certificate is given)",
    },
    "cert_validation": {
        "wsman": ["wsman_winrm_cert_validation"],
        "winrm": ["ansible_winrm_server_cert_validation"],
        "psrp": ["ansible_psrp_cert_validation"],
        "meaning": "validate or ignore the server certificate",
        "default": "validate",
    },
    "ca_path": {
        "wsman": ["wsman_winrm_ca_path"],
        "winrm": ["ansible_winrm_ca_trust_path"],
        "psrp": ["ansible_psrp_ca_cert", "ansible_psrp_cert_trust_path"],
        "meaning": "PEM CA bundle used to validate the server certificate",
        "default": "system trust store",
    },
    "cert_fingerprint": {
        "wsman": ["wsman_winrm_cert_fingerprint"],
        "meaning": "SHA-256 pin of the server certificate (any case, colons allowed)",
        "default": "none",
    },
    "client_cert_pem": {
        "wsman": ["wsman_winrm_cert_pem"],
        "winrm": ["ansible_winrm_cert_pem"],
        "psrp": ["ansible_psrp_certificate_pem"],
        "meaning": "client certificate (PEM path) for certificate auth",
        "default": "none",
    },
    "client_key_pem": {
        "wsman": ["wsman_winrm_cert_key_pem"],
        "winrm": ["ansible_winrm_cert_key_pem"],
        "psrp": ["ansible_psrp_certificate_key_pem"],
        "meaning": "client certificate key (PEM path) for certificate auth",
        "default": "none",
    },
    "proxy": {
        "wsman": ["wsman_winrm_proxy"],
        "winrm": ["ansible_winrm_proxy"],
        "psrp": ["ansible_psrp_proxy"],
        "meaning": "proxy URL; credentials in it are moved to the proxy credential fields",
        "default": "none",
    },
    "proxy_username": {
        "wsman": ["wsman_winrm_proxy_username"],
        "meaning": "proxy user (no_log)",
        "default": "none",
    },
    "proxy_password": {
        "wsman": ["wsman_winrm_proxy_password"],
        "meaning": "proxy password (no_log)",
        "default": "none",
    },
    "use_env_proxy": {
        "wsman": ["wsman_winrm_use_env_proxy"],
        "meaning": "read HTTPS_PROXY/https_proxy and NO_PROXY/no_proxy from the controller environment",
        "default": "false",
    },
    "ignore_proxy": {
        "psrp": ["ansible_psrp_ignore_proxy"],
        "meaning": "never read environment proxies (already the default here)",
        "default": "false",
    },
    "allow_http_proxy": {
        "wsman": ["wsman_winrm_allow_http_proxy"],
        "meaning": "let message-encrypted HTTP go through an unauthenticated proxy",
        "default": "false",
    },
    "allow_clear_proxy_credentials": {
        "wsman": ["wsman_winrm_allow_clear_proxy_credentials"],
        "meaning": "send proxy credentials to an http:// (or socks) proxy, which receives them in clear",
        "default": "false",
    },
    "message_encryption": {
        "wsman": ["wsman_winrm_message_encryption"],
        "winrm": ["ansible_winrm_message_encryption"],
        "psrp": ["ansible_psrp_message_encryption"],
        "meaning": "auto, always or never (pypsrp semantics); never is refused over HTTP",
        "default": "auto (always over HTTP)",
    },
    "trusted_hosts": {
        "wsman": ["wsman_winrm_trusted_hosts"],
        "meaning": "TrustedHosts-style list (list or comma string; *, *.example.com, 192.168.1.*) of hosts "
                   "reached with NTLM/Negotiate/CredSSP/Basic over HTTP",
        "default": "empty",
    },
    "allow_basic_http": {
        "wsman": ["wsman_winrm_allow_basic_http"],
        "meaning": "first of two switches allowing Basic over HTTP",
        "default": "false",
    },
    "allow_unencrypted": {
        "wsman": ["wsman_winrm_allow_unencrypted"],
        "meaning": "second switch: allow unencrypted traffic (needed by Basic over HTTP)",
        "default": "false",
    },
    "kerberos_hostname_override": {
        "wsman": ["wsman_winrm_kerberos_hostname_override"],
        "winrm": ["ansible_winrm_kerberos_hostname_override"],
        "psrp": ["ansible_psrp_negotiate_hostname_override"],
        "meaning": "host name for the Kerberos SPN; recorded, does not lift the no-Kerberos-to-IP rule",
        "default": "the host",
    },
    "connection_timeout": {
        "wsman": ["wsman_winrm_connection_timeout"],
        "psrp": ["ansible_psrp_connection_timeout"],
        "meaning": "TCP connect timeout, seconds",
        "default": "30",
    },
    "winrm_connection_timeout": {
        "winrm": ["ansible_winrm_connection_timeout"],
        "meaning": "ansible.builtin.winrm's connection_timeout: operation timeout N and read timeout N + 10 seconds; "
                   "wins over the read and operation timeout variables",
        "default": "unset",
    },
    "read_timeout": {
        "wsman": ["wsman_winrm_read_timeout"],
        "winrm": ["ansible_winrm_read_timeout", "ansible_winrm_read_timeout_sec"],
        "psrp": ["ansible_psrp_read_timeout"],
        "meaning": "HTTP read timeout, seconds; must exceed the operation timeout",
        "default": "30",
    },
    "operation_timeout": {
        "wsman": ["wsman_winrm_operation_timeout"],
        "winrm": ["ansible_winrm_operation_timeout_sec"],
        "psrp": ["ansible_psrp_operation_timeout"],
        "meaning": "WS-Man OperationTimeout, seconds",
        "default": "20",
    },
}

DEFAULTS: t.Dict[str, t.Any] = {
    "scheme": "https",
    "path": "wsman",
    # Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2":
    "client_ports": {"http": 5985, "https": 5986},  # WinRM 2.0 client DefaultPorts
    "uri_ports": {"http": 80, "https": 443},  # -ConnectionUri defaults
    "legacy_ports": {"http": 80, "https": 443},  # WinRM 1.1 listeners
    "connection_timeout": 30,
    "read_timeout": 30,
    "operation_timeout": 20,
}

# Names users write (pywinrm transports included) -> the auth the session uses.
AUTH_ALIASES: t.Dict[str, str] = {
    "basic": "basic",
    "plaintext": "basic",
    "ssl": "basic",
    "ntlm": "ntlm",
    "negotiate": "negotiate",
    "kerberos": "kerberos",
    "credssp": "credssp",
    "certificate": "certificate",
}

# Why a server is unverified over HTTP, per auth ("PowerShell Remoting Security Considerations": NTLM
# does not prove the server's identity).
_UNVERIFIED_SERVER_REASON: t.Dict[str, str] = {
    "ntlm": "NTLM cannot verify the server's identity",
    "negotiate": "Negotiate to an IP address can only use NTLM, which cannot verify the server's identity",
    "credssp": "CredSSP delegates credentials and, over NTLM, cannot verify the server's identity",
    "basic": "Basic auth cannot verify the server's identity",
}

# Auth methods that can encrypt messages over HTTP (pypsrp's list).
ENCRYPTING_AUTHS = frozenset(("ntlm", "negotiate", "kerberos", "credssp"))

_TRUE = frozenset(("true", "yes", "on", "1", "y", "t"))
_FALSE = frozenset(("false", "no", "off", "0", "n", "f", ""))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _url_host(host: str) -> str:
    return "[%s]" % host if ":" in host else host


# The IPv4 spellings inet_aton(3) accepts, which the system resolver reads as an address too:
# 127.1, 2130706433, 0x7f000001, 010.000.000.001 (octal).
_INET_ATON_FORM = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.I)


def _ip_address(host: str) -> t.Optional[t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _INET_ATON_FORM.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _canonical_host(host: str, decisions: t.List[str]) -> str:
    """An IPv4 address written the way only inet_aton(3) reads it becomes dotted-quad, so every rule
    (Kerberos never to an address, TrustedHosts) sees the address the connection will go to."""
    address = _ip_address(host)
    if isinstance(address, ipaddress.IPv4Address) and str(address) != host:
        decisions.append("host %s is the IPv4 address %s (as the system resolver reads it), used in that form"
                         % (host, address))
        return str(address)
    return host


class _Reader:
    """Reads options from host variables in precedence order and remembers which variable won."""

    def __init__(self, host_vars: t.Mapping[str, t.Any], families: t.Tuple[str, ...]):
        self.host_vars = host_vars
        self.families = families

    def names(self, option: str) -> t.List[str]:
        row = VARIABLES[option]
        names: t.List[str] = []
        for family in self.families:
            for name in row.get(family, []):
                if name not in names:
                    names.append(name)
        return names

    def get(self, option: str) -> t.Tuple[t.Any, t.Optional[str]]:
        for name in self.names(option):
            value = self.host_vars.get(name)
            if value is not None and not (isinstance(value, str) and value.strip() == "" and option != "password"):
                return value, name
        return None, None

    def boolean(self, option: str) -> t.Tuple[bool, t.Optional[str]]:
        value, name = self.get(option)
        if value is None:
            return False, None
        if isinstance(value, bool):
            return value, name
        text = str(value).strip().lower()
        if text in _TRUE:
            return True, name
        if text in _FALSE:
            return False, name
        raise EndpointError("%s must be a boolean (true/false), got %r" % (name, value))

    def integer(self, option: str, default: int) -> t.Tuple[int, t.Optional[str]]:
        value, name = self.get(option)
        if value is None:
            return default, None
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or number <= 0:
            raise EndpointError("%s must be a positive whole number of seconds, got %r" % (name, value))
        return number, name


def _port_number(value: t.Any, name: str) -> int:
    try:
        port = int(str(value).strip()) if not isinstance(value, bool) else 0
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise EndpointError("%s must be a port number between 1 and 65535, got %r" % (name, value))
    return port


def _as_list(value: t.Any) -> t.List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    else:
        items = list(value)
    return [str(item).strip() for item in items if item is not None and str(item).strip()]


def _trusted_pattern_matches(pattern: str, host: str) -> bool:
    # PowerShell TrustedHosts: exact names/addresses and '*' wildcards, case-insensitive. Matched
    # without compiling a regular expression per host and pattern (a fleet resolves thousands).
    parts = pattern.lower().split("*")
    host = host.lower()
    if len(parts) == 1:
        return host == parts[0]
    first, last = parts[0], parts[-1]
    if len(host) < len(first) + len(last) or not host.startswith(first) or not host.endswith(last):
        return False
    position, end = len(first), len(host) - len(last)
    for part in parts[1:-1]:
        found = host.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


def _no_proxy_matches(entries: t.List[str], host: str) -> bool:
    address = _ip_address(host)
    for entry in entries:
        entry = entry.strip().lower()
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        domain = entry.lstrip("*").lstrip(".")
        name = host.lower()
        if domain and (name == domain or name.endswith("." + domain)):
            return True
    return False


def _split_proxy(url: str, name: str) -> t.Tuple[str, t.Optional[str], t.Optional[str]]:
    """Proxy URL -> (URL without credentials, user, password). Errors never echo the URL's userinfo."""
    text = str(url).strip()
    if "://" not in text:
        text = "http://" + text  # requests and PowerShell read host:port as an HTTP proxy
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        raise EndpointError("%s is not a valid proxy URL (expected http://proxy.example.com:3128)" % name) from None
    if parts.scheme.lower() not in ("http", "https", "socks5", "socks5h", "socks4", "socks4a") or not hostname:
        raise EndpointError("%s is not a valid proxy URL (expected http://proxy.example.com:3128)" % name)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = _url_host(hostname) + (":%d" % port if port else "")
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))
    return clean, user, password


def _normalise_fingerprint(value: t.Any, name: str) -> str:
    fingerprint = re.sub(r"[\s:]", "", str(value)).upper()
    if not re.fullmatch(r"[0-9A-F]{64}", fingerprint):
        raise EndpointError(
            "%s must be the SHA-256 fingerprint of the server certificate (64 hex digits, colons allowed)" % name)
    return fingerprint


# ---------------------------------------------------------------------------------------------
# The resolver
# ---------------------------------------------------------------------------------------------

def resolve(host_vars: t.Mapping[str, t.Any], connection: t.Optional[str] = None,
            environ: t.Optional[t.Mapping[str, str]] = None) -> Endpoint:
    """Resolve a host's connection variables into an ``Endpoint`` (see docs/endpoint-resolution.md).

    ``environ`` is read only when ``wsman_winrm_use_env_proxy`` is true; it defaults to os.environ.
    """
    decisions: t.List[str] = []
    families = CONNECTION_FAMILIES.get(connection)
    if families is None:
        families = CONNECTION_FAMILIES[None]
        decisions.append("variables: connection %r is not a WinRM plugin, so the variables of "
                         "ansible.builtin.winrm, ansible.builtin.psrp and wsman.winrm are all read" % connection)
    reader = _Reader(host_vars, families)

    scheme, host, port, path = _resolve_address(reader, decisions)
    address = _ip_address(host)
    username, _source = reader.get("user")
    password, _source = reader.get("password")
    username = None if username is None else str(username)
    password = None if password is None else str(password)

    client_cert, cert_name = reader.get("client_cert_pem")
    client_key, key_name = reader.get("client_key_pem")
    auth = _resolve_auth(reader, decisions, host, address, username, client_cert is not None)
    auth = _resolve_credentials(reader, decisions, auth, username, password, address)

    cert_validation, fingerprint = _resolve_tls(reader, decisions, scheme)
    if auth == "certificate":
        if scheme != "https":
            raise EndpointError("certificate auth needs HTTPS: the client certificate is sent in the TLS handshake; "
                                "set the scheme to https")
        if client_cert is None or client_key is None:
            raise EndpointError("certificate auth needs both a client certificate and its key: set %s and %s"
                                % tuple(reader.names(o)[0] for o in ("client_cert_pem", "client_key_pem")))
        decisions.append("client certificate: %s (%s), key from %s" % (client_cert, cert_name, key_name))
    else:
        client_cert = client_key = None

    if scheme == "http":
        auth = _check_http_auth(reader, decisions, host, auth, address, username)
    encryption = _resolve_encryption(reader, decisions, scheme, auth)

    proxy, proxy_username, proxy_password = _resolve_proxy(reader, decisions, scheme, host, auth, environ)

    connection_timeout, _source = reader.integer("connection_timeout", DEFAULTS["connection_timeout"])
    read_timeout, read_name = reader.integer("read_timeout", DEFAULTS["read_timeout"])
    operation_timeout, operation_name = reader.integer("operation_timeout", DEFAULTS["operation_timeout"])
    combined, combined_name = reader.integer("winrm_connection_timeout", 0)
    if combined_name is not None:
        # ansible.builtin.winrm's meaning (win_reboot sets it): it wins over the separate timeouts.
        operation_timeout, operation_name = combined, combined_name
        read_timeout, read_name = combined + 10, "%s + 10" % combined_name
        decisions.append("timeouts: %s=%d means operation timeout %ds and read timeout %ds, as in "
                         "ansible.builtin.winrm" % (combined_name, combined, combined, combined + 10))
    if read_timeout <= operation_timeout:
        raise EndpointError(
            "read timeout (%s=%d) must be greater than operation timeout (%s=%d): the server answers an operation "
            "only when its OperationTimeout expires" % (read_name or "default", read_timeout,
                                                        operation_name or "default", operation_timeout))
    decisions.append("timeouts: connect %ds, read %ds, operation %ds"
                     % (connection_timeout, read_timeout, operation_timeout))

    return Endpoint(
        scheme=scheme, host=host, port=port, path=path, auth=auth,
        username=username, password=password, encryption=encryption,
        cert_validation=cert_validation, cert_fingerprint=fingerprint,
        client_cert_pem=None if client_cert is None else str(client_cert),
        client_key_pem=None if client_key is None else str(client_key),
        proxy=proxy, proxy_username=proxy_username, proxy_password=proxy_password,
        connection_timeout=connection_timeout, read_timeout=read_timeout, operation_timeout=operation_timeout,
        decisions=tuple(decisions),
    )


def _explicit_scheme(reader: _Reader) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """Scheme chosen by ansible_winrm_scheme/ansible_psrp_protocol and/or use_ssl; they must agree."""
    value, name = reader.get("scheme")
    scheme = None
    if value is not None:
        scheme = str(value).strip().lower()
        if scheme not in ("http", "https"):
            raise EndpointError("%s must be http or https, got %r" % (name, value))
    use_ssl_value, _source = reader.get("use_ssl")
    if use_ssl_value is not None:
        use_ssl, ssl_name = reader.boolean("use_ssl")
        from_ssl = "https" if use_ssl else "http"
        if scheme is not None and scheme != from_ssl:
            raise EndpointError("%s=%s contradicts %s=%s: set only one of them"
                                % (name, scheme, ssl_name, str(use_ssl).lower()))
        if scheme is None:
            return from_ssl, ssl_name
    return scheme, name


def _resolve_address(reader: _Reader, decisions: t.List[str]) -> t.Tuple[str, str, int, str]:
    uri, uri_name = reader.get("connection_uri")
    host_value, host_name = reader.get("host")
    if uri is None and host_value is not None and "://" in str(host_value):
        uri, uri_name = host_value, host_name
    if uri is not None:
        return _resolve_uri(reader, decisions, str(uri).strip(), uri_name)
    if host_value is None:
        raise EndpointError("no host to connect to: set ansible_host (or wsman_winrm_connection_uri)")
    host = _canonical_host(_computer_name(str(host_value).strip(), host_name), decisions)

    scheme, scheme_name = _explicit_scheme(reader)
    port_value, port_name = reader.get("port")
    http_port = DEFAULTS["client_ports"]["http"]
    if scheme is not None:
        decisions.append("scheme %s: chosen by %s" % (scheme, scheme_name))
    elif port_value is not None and _port_number(port_value, port_name) == http_port:
        scheme = "http"
        decisions.append("scheme http: %s=%d is WinRM's HTTP port, and both ansible.builtin.winrm and "
                         "ansible.builtin.psrp choose http for it when no scheme is given" % (port_name, http_port))
    else:
        scheme = DEFAULTS["scheme"]
        reason = ("scheme https: no variable chose a scheme; HTTPS is the safe default (server identity "
                  "checked, proxies usable; ansible.builtin.winrm and ansible.builtin.psrp also default to https, "
                  "while WinRM's -ComputerName default is HTTP 5985 with message encryption); set "
                  "ansible_winrm_scheme: http to choose HTTP")
        if port_value is not None:
            reason += ("; port %s does not choose the scheme (only 5985 means http, as in the builtin plugins): "
                       "if that listener is HTTP, set ansible_winrm_scheme: http" % port_value)
        decisions.append(reason)

    legacy, legacy_name = reader.boolean("legacy_ports")
    client_ports = _client_default_ports(reader)
    if port_value is not None:
        port = _port_number(port_value, port_name)
        decisions.append("port %d: given explicitly by %s%s" % (
            port, port_name, " (it wins over %s)" % legacy_name if legacy else ""))
    elif legacy:
        port = DEFAULTS["legacy_ports"][scheme]
        decisions.append("port %d: legacy WinRM 1.1 port for %s, chosen by %s" % (port, scheme.upper(), legacy_name))
    elif client_ports is not None:
        port = client_ports[scheme]
        decisions.append("port %d: client DefaultPorts for %s declared by wsman_winrm_default_ports"
                         % (port, scheme.upper()))
    else:
        port = DEFAULTS["client_ports"][scheme]
        decisions.append("port %d: WinRM 2.0 client default for %s with a computer name; a WinRM 1.1 host on "
                         "80/443 needs wsman_winrm_legacy_ports, an explicit port or a connection URI"
                         % (port, scheme.upper()))

    path_value, path_name = reader.get("path")
    path = _clean_path(path_value) if path_value is not None else DEFAULTS["path"]
    decisions.append("host %s: computer name%s" % (
        host, " (IP address)" if _ip_address(host) else "") + ("; path from %s" % path_name if path_name else ""))
    return scheme, host, port, path


def _client_default_ports(reader: _Reader) -> t.Optional[t.Dict[str, int]]:
    value, name = reader.get("default_ports")
    if value is None:
        return None
    if not isinstance(value, t.Mapping) or not set(value) <= {"http", "https"} or not value:
        raise EndpointError("%s must be a mapping like {http: 5985, https: 5986}, got %r" % (name, value))
    ports = dict(DEFAULTS["client_ports"])
    for scheme, port in value.items():
        ports[scheme] = _port_number(port, "%s.%s" % (name, scheme))
    return ports


def _computer_name(host: str, name: t.Optional[str]) -> str:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c in host for c in "/\\@ \t?#[]"):
        raise EndpointError("%s=%r is not a computer name or IP address" % (name, host))
    if ":" in host and _ip_address(host) is None:
        raise EndpointError("%s=%r: give the port in ansible_port, not in the host name" % (name, host))
    return host


def _uri_host(netloc: str) -> str:
    """The host of a URI's netloc as written (urlsplit's hostname lowercases it)."""
    hostport = netloc.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        return hostport[1:hostport.index("]")]
    return hostport.split(":", 1)[0]


def _clean_path(value: t.Any) -> str:
    path = str(value).strip().strip("/")
    return path or DEFAULTS["path"]


def _resolve_uri(reader: _Reader, decisions: t.List[str], uri: str, uri_name: t.Optional[str]
                 ) -> t.Tuple[str, str, int, str]:
    try:
        parts = urlsplit(uri)
        uri_port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise EndpointError("%s=%r is not a valid connection URI (http://host[:port]/wsman)" % (uri_name, uri)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not hostname:
        raise EndpointError("%s=%r is not a valid connection URI (http://host[:port]/wsman)" % (uri_name, uri))
    if parts.username is not None or parts.password is not None:
        raise EndpointError("%s: put credentials in ansible_user/ansible_password, not in the connection URI"
                            % uri_name)
    host = _canonical_host(_uri_host(parts.netloc), decisions)

    explicit_scheme, scheme_name = _explicit_scheme(reader)
    if explicit_scheme is not None and explicit_scheme != scheme:
        raise EndpointError("%s=%s contradicts the connection URI scheme %s (%s): remove one of them"
                            % (scheme_name, explicit_scheme, scheme, uri_name))

    port = uri_port if uri_port is not None else DEFAULTS["uri_ports"][scheme]
    port_value, port_name = reader.get("port")
    if port_value is not None and _port_number(port_value, port_name) != port:
        raise EndpointError("%s=%s contradicts the connection URI %s, which means port %d: put the port in the URI "
                            "or remove %s" % (port_name, port_value, uri, port, port_name))

    uri_path = parts.path.strip("/")
    path_value, path_name = reader.get("path")
    if path_value is not None and uri_path and _clean_path(path_value) != uri_path:
        raise EndpointError("%s=%s contradicts the connection URI path /%s" % (path_name, path_value, uri_path))
    path = uri_path or (_clean_path(path_value) if path_value is not None else DEFAULTS["path"])

    decisions.append("scheme %s: from the connection URI (%s)" % (scheme, uri_name))
    if uri_port is not None:
        decisions.append("port %d: from the connection URI" % port)
    else:
        decisions.append("port %d: connection URI default for %s (-ConnectionUri uses 80/443, not the client "
                         "DefaultPorts)" % (port, scheme.upper()))
    decisions.append("host %s: from the connection URI%s" % (host, " (IP address)" if _ip_address(host) else ""))
    return scheme, host, port, path


def _resolve_auth(reader: _Reader, decisions: t.List[str], host: str, address: t.Any,
                  username: t.Optional[str], has_client_cert: bool) -> str:
    value, name = reader.get("auth")
    auth = None
    if value is not None:
        requested = [item.lower() for item in _as_list(value)]
        supported = [item for item in requested if item in AUTH_ALIASES]
        if not supported:
            raise EndpointError("%s=%r names no supported auth; use one of basic, ntlm, negotiate, kerberos, "
                                "credssp, certificate" % (name, value))
        auth = AUTH_ALIASES[supported[0]]
        skipped = list(requested[:requested.index(supported[0])])
        decisions.append("auth %s: first supported of %s%s" % (
            auth, name, " (skipped unsupported %s)" % ", ".join(skipped) if skipped else ""))
    elif has_client_cert and not username:
        auth = "certificate"
        decisions.append("auth certificate: no auth chosen, no user name and a client certificate given")
    else:
        auth = "negotiate"
        why = ("the user name names a domain" if username and ("@" in username or "\\" in username)
               else "no auth chosen")
        decisions.append("auth negotiate: %s; Negotiate (Kerberos, else NTLM) is WinRM's default with explicit "
                         "credentials; Basic is never guessed" % why)

    if address is not None:
        if auth == "kerberos":
            raise EndpointError(
                "Kerberos cannot be used with an IP address (%s): Kerberos needs the host's name for its SPN; "
                "connect by name, or choose ntlm over HTTPS" % host)
        if auth == "negotiate":
            auth = "ntlm"
            decisions.append("auth ntlm: Negotiate to an IP address can only use NTLM, so Kerberos is not attempted")
    override, override_name = reader.get("kerberos_hostname_override")
    if override is not None and auth in ("kerberos", "negotiate"):
        decisions.append("kerberos host name override %s from %s (the session builds the SPN from it)"
                         % (override, override_name))
    return auth


def _resolve_tls(reader: _Reader, decisions: t.List[str], scheme: str
                 ) -> t.Tuple[t.Union[bool, str], t.Optional[str]]:
    value, name = reader.get("cert_validation")
    validate = True
    if value is not None:
        text = str(value).strip().lower()
        if isinstance(value, bool):
            validate = value
        elif text in ("validate",) or text in _TRUE:
            validate = True
        elif text in ("ignore",) or text in _FALSE:
            validate = False
        else:
            raise EndpointError("%s must be validate or ignore, got %r" % (name, value))
    ca_path, ca_name = reader.get("ca_path")
    fingerprint_value, fingerprint_name = reader.get("cert_fingerprint")
    fingerprint = (_normalise_fingerprint(fingerprint_value, fingerprint_name)
                   if fingerprint_value is not None else None)

    if scheme != "https":
        if fingerprint is not None:
            raise EndpointError("%s pins a server certificate but the scheme is http: use https or remove the pin"
                                % fingerprint_name)
        return (str(ca_path) if ca_path is not None and validate else validate), None

    if not validate:
        cert_validation: t.Union[bool, str] = False
        decisions.append("server certificate NOT validated: %s=%s is the explicit opt-out%s" % (
            name, value, "; %s is unused" % ca_name if ca_path is not None else ""))
    elif ca_path is not None:
        cert_validation = str(ca_path)
        decisions.append("server certificate validated against the CA bundle %s (%s)" % (ca_path, ca_name))
    else:
        cert_validation = True
        decisions.append("server certificate validated against the system trust store (HTTPS default; "
                         "REQUESTS_CA_BUNDLE and other environment variables are never read)")
    if fingerprint is not None:
        decisions.append("server certificate pinned to SHA-256 %s (%s)" % (fingerprint, fingerprint_name))
    return cert_validation, fingerprint


def _resolve_encryption(reader: _Reader, decisions: t.List[str], scheme: str, auth: str) -> str:
    value, name = reader.get("message_encryption")
    requested = "auto" if value is None else str(value).strip().lower()
    if requested not in ("auto", "always", "never"):
        raise EndpointError("%s must be auto, always or never, got %r" % (name, value))
    can_encrypt = auth in ENCRYPTING_AUTHS
    if requested == "always" and not can_encrypt:
        raise EndpointError("%s=always: %s auth cannot encrypt messages; use ntlm, negotiate, kerberos or credssp, "
                            "or HTTPS with encryption auto" % (name, auth))
    if scheme == "https":
        decisions.append("encryption %s: TLS protects the messages%s" % (
            requested, "; message encryption on top of TLS as asked by %s" % name if requested == "always" else ""))
        return requested
    if not can_encrypt:
        # Basic over HTTP: can only be sent in clear; _check_http_auth decides whether it is allowed.
        return "never"
    if requested == "never":
        raise EndpointError("%s=never over HTTP would send %s traffic unencrypted: WinRM always encrypts over HTTP; "
                            "remove it or use HTTPS" % (name, auth))
    decisions.append("encryption always: %s message encryption over HTTP (%s)" % (
        auth, "pypsrp's auto means the same over HTTP" if requested == "auto" else "asked by %s" % name))
    return "always"


def _resolve_credentials(reader: _Reader, decisions: t.List[str], auth: str, username: t.Optional[str],
                         password: t.Optional[str], address: t.Any) -> str:
    """Refuse before anything is sent what Windows refuses for lack of explicit credentials
    ("Authentication for Remote Connections": Negotiate, Digest and Basic without explicit credentials
    are an error); without a password, Negotiate can only be Kerberos from the controller's cache."""
    user_name, password_name = "ansible_user", "ansible_password"  # what inventories write
    if auth == "negotiate" and not password:
        if username and not _has_realm(username):
            pass  # a local account has no Kerberos ticket; NTLM needs the password: refused below
        else:
            decisions.append("auth kerberos: Negotiate without a password can only use Kerberos with a ticket from "
                             "the controller's credential cache (kinit); the session checks for it before sending")
            return "kerberos"
    if auth == "kerberos" and not password:
        decisions.append("Kerberos with a ticket from the controller's credential cache (kinit)%s; the session "
                         "checks for it before sending" % (" for %s" % username if username else ""))
        return auth
    if auth in ("ntlm", "negotiate", "basic", "credssp") and not (username and password):
        missing = " and ".join(name for name, value in ((user_name, username), (password_name, password))
                               if not value)
        why = (" (Negotiate to an IP address is NTLM)" if auth == "ntlm" and address is not None else "")
        raise EndpointError(
            "%s authentication%s needs a user name and a password, and %s is not set: Windows requires explicit "
            "credentials for it (Microsoft, \"Authentication for Remote Connections\"); set %s, or use Kerberos "
            "by computer name with a ticket from kinit" % (auth, why, missing, missing))
    return auth


def _has_realm(username: str) -> bool:
    return "@" in username or "\\" in username


def _trust_example(host: str, address: t.Any) -> str:
    """A TrustedHosts-style pattern covering the host and its neighbours, for a group's variables."""
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".*"
    if address is None and "." in host:
        return "*." + host.split(".", 1)[1]
    return host


def _check_http_auth(reader: _Reader, decisions: t.List[str], host: str, auth: str, address: t.Any,
                     username: t.Optional[str]) -> str:
    """The WinRM client's rule over HTTP: only Kerberos proves who the server is; anything else goes
    only to a host in TrustedHosts (MS-WSMV 3.2.4.1.22.1). Returns the auth to use."""
    if auth == "basic":
        allow_basic, basic_name = reader.boolean("allow_basic_http")
        allow_unencrypted, unencrypted_name = reader.boolean("allow_unencrypted")
        if not allow_basic:
            raise EndpointError("Basic auth over HTTP is refused: it sends the password and every message in clear; "
                                "use HTTPS, or another auth, or set wsman_winrm_allow_basic_http and "
                                "wsman_winrm_allow_unencrypted to true")
        if not allow_unencrypted:
            raise EndpointError("Basic auth over HTTP is always unencrypted: %s alone is not enough, also set "
                                "wsman_winrm_allow_unencrypted: true (or use HTTPS)" % basic_name)
        decisions.append("Basic over HTTP, UNENCRYPTED: explicitly allowed by %s and %s"
                         % (basic_name, unencrypted_name))
    if auth == "kerberos":
        decisions.append("HTTP with Kerberos: mutual authentication proves the server's identity")
        return auth
    trusted, trusted_name = reader.get("trusted_hosts")
    patterns = _as_list(trusted)
    match = next((pattern for pattern in patterns if _trusted_pattern_matches(pattern, host)), None)
    if match is not None:
        decisions.append("HTTP with %s: host %s is trusted by %r in %s%s" % (
            auth, host, match, trusted_name,
            " (warning: '*' trusts every host)" if match.strip() == "*" else ""))
        return auth
    if auth == "negotiate" and address is None:
        # What the WinRM client does for an untrusted computer name over HTTP: Negotiate may only
        # complete with Kerberos, never fall back to NTLM.
        decisions.append(
            "auth kerberos: Negotiate to a computer name over HTTP uses Kerberos only, as the WinRM client does for "
            "a host not in TrustedHosts (NTLM cannot prove the server's identity); Kerberos needs a domain account "
            "(user@REALM)%s. For NTLM (local accounts, workgroups) add the host to wsman_winrm_trusted_hosts, e.g. "
            "wsman_winrm_trusted_hosts: \"%s\" in the group's variables, or use HTTPS" % (
                "; %s is given as DOMAIN\\user, which the KDC may not know: prefer user@REALM" % username
                if username and "\\" in username else "", _trust_example(host, address)))
        return "kerberos"
    reason = _UNVERIFIED_SERVER_REASON[auth]
    alternative = "; or connect by computer name with a domain account (Kerberos)" if auth in ("ntlm", "negotiate") \
        else ""
    raise EndpointError(
        "%s over HTTP to %s is refused: %s. Use HTTPS with a CA-issued certificate%s; or add the host to "
        "wsman_winrm_trusted_hosts, for example for the whole group (group_vars/windows.yml): "
        "wsman_winrm_trusted_hosts: \"%s\"" % (auth, host, reason, alternative, _trust_example(host, address)))


def _resolve_proxy(reader: _Reader, decisions: t.List[str], scheme: str, host: str, auth: str,
                   environ: t.Optional[t.Mapping[str, str]]
                   ) -> t.Tuple[t.Optional[str], t.Optional[str], t.Optional[str]]:
    proxy_value, proxy_name = reader.get("proxy")
    proxy_user, user_name = reader.get("proxy_username")
    proxy_password, _source = reader.get("proxy_password")
    embedded_user = embedded_password = None
    proxy = None
    source = None
    if proxy_value is not None:
        proxy, embedded_user, embedded_password = _split_proxy(str(proxy_value), proxy_name)
        source = proxy_name
    else:
        use_env, env_name = reader.boolean("use_env_proxy")
        ignore, ignore_name = reader.boolean("ignore_proxy")
        if use_env and ignore:
            decisions.append("environment proxies ignored: %s wins over %s" % (ignore_name, env_name))
        elif use_env and scheme != "https":
            decisions.append("environment proxies not used: HTTP goes direct (HTTPS_PROXY applies to HTTPS only)")
        elif use_env:
            env = os.environ if environ is None else environ
            env_proxy = env.get("https_proxy") or env.get("HTTPS_PROXY")
            no_proxy = _as_list(env.get("no_proxy") or env.get("NO_PROXY"))
            if not env_proxy:
                decisions.append("no proxy: %s is true but HTTPS_PROXY is not set" % env_name)
            elif _no_proxy_matches(no_proxy, host):
                decisions.append("no proxy: %s matches NO_PROXY" % host)
            else:
                proxy, embedded_user, embedded_password = _split_proxy(env_proxy, "HTTPS_PROXY")
                source = "HTTPS_PROXY (asked for by %s)" % env_name
    if proxy_user is None and embedded_user is not None:
        proxy_user = embedded_user
    if proxy_password is None and embedded_password is not None:
        proxy_password = embedded_password
    if embedded_user is not None or embedded_password is not None:
        decisions.append("proxy credentials moved out of the proxy URL into the no_log credential fields")

    if proxy is None:
        if proxy_user is not None or proxy_password is not None:
            decisions.append("proxy credentials unused: no proxy")
        return None, None, None

    authenticated = proxy_user is not None or proxy_password is not None
    if scheme != "https":
        if auth not in ENCRYPTING_AUTHS:
            raise EndpointError("unencrypted HTTP is never sent through a proxy (%s): use HTTPS" % proxy)
        if authenticated:
            raise EndpointError("an authenticated proxy (%s) requires HTTPS to the WinRM host: use HTTPS" % proxy)
        allow, allow_name = reader.boolean("allow_http_proxy")
        if not allow:
            raise EndpointError(
                "HTTP through the proxy %s is refused: HTTPS should be used through proxies (HTTP proxies may break "
                "connection-based authentication and affinity); use HTTPS, or set wsman_winrm_allow_http_proxy: true "
                "for a proxy that keeps connection affinity" % proxy)
        decisions.append("proxy %s for message-encrypted HTTP, allowed by %s (from %s)" % (proxy, allow_name, source))
    else:
        decisions.append("proxy %s%s (from %s)" % (proxy, ", authenticated" if authenticated else "", source))
    if authenticated and not proxy.lower().startswith("https://"):
        # requests sends proxy credentials as Basic in the CONNECT request: in clear unless the proxy
        # itself is reached over TLS (an https:// proxy URL); SOCKS user/password auth is clear too.
        allow, allow_name = reader.boolean("allow_clear_proxy_credentials")
        if not allow:
            raise EndpointError(
                "the proxy credentials would go to %s in clear (Basic over a connection to the proxy without TLS): "
                "give the proxy as an https:// URL, or set wsman_winrm_allow_clear_proxy_credentials: true if the "
                "network to the proxy is trusted" % proxy)
        decisions.append("proxy credentials sent to %s in CLEAR (no TLS to the proxy), allowed by %s"
                         % (proxy, allow_name))
    if authenticated and user_name is None and embedded_user is None:
        decisions.append("proxy password given without a proxy user name")
    return proxy, None if proxy_user is None else str(proxy_user), \
        None if proxy_password is None else str(proxy_password)
