# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP.sys URL reservations and SSL certificate bindings for the WinRM compatibility listeners.

Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server
2008 R2": "If the Group Policy settings are enabled through migration/upgrade, then the HTTP.sys
reservations and SSL certificates are automatically set up. If an administrator enables the Group
Policy settings directly these additional settings must also be configured through Group Policy."

Nothing in ``winrm/config`` and no WMI class shows them. HTTP.sys keeps them in the registry, which
WMI ``StdRegProv`` reads over the same WS-Man session:

- URL reservations (``netsh http show urlacl``): one value per reserved URL, named by the URL
  (``http://+:80/wsman/``), under ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters\\UrlAclInfo``;
- SSL certificate bindings (``netsh http show sslcert``): one subkey per ``IP:port`` under
  ``...\\Parameters\\SslBindingInfo`` (``0.0.0.0:443``) with the certificate's SHA-1 hash in
  ``SslCertHash`` (Microsoft IIS support blog, "SSL bindings are randomly getting deleted for a website",
  names ``HKLM\\System\\CurrentControlSet\\SERVICES\\HTTP\\Parameters\\SslBindingInfo\\X.X.X.X:443``).

Reading needs only read access to those keys; when they cannot be read the answer says so instead
of guessing. Standard library only at import time.
"""

from __future__ import annotations

import dataclasses
import typing as t

PARAMETERS_KEY = r"SYSTEM\CurrentControlSet\Services\HTTP\Parameters"
URLACL_KEY = PARAMETERS_KEY + r"\UrlAclInfo"
SSL_BINDING_KEY = PARAMETERS_KEY + r"\SslBindingInfo"
SOURCE = ('Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server '
          '2008 R2"')
# Compatibility listeners: transport -> port (they always use the service's URLPrefix "wsman").
COMPATIBILITY_PORTS = {"http": 80, "https": 443}


@dataclasses.dataclass
class HttpSysState:
    url_reservations: list[str] | None      # reserved URLs, lower case; None = could not be read
    ssl_bindings: dict[str, str] | None     # "0.0.0.0:443" -> thumbprint (upper-case hex); None = unreadable

    def to_dict(self) -> dict[str, t.Any]:
        return {"url_reservations": self.url_reservations, "ssl_bindings": self.ssl_bindings}


def read(session: t.Any) -> HttpSysState:
    """One EnumValues of UrlAclInfo, one EnumKey of SslBindingInfo and one GetBinaryValue per binding on 443."""
    from ansible_collections.wsman.winrm.plugins.module_utils.policy import (
        registry_enum_keys, registry_get_binary, registry_value_names)

    names = registry_value_names(session, URLACL_KEY)
    reservations = None if names is None else sorted({name.lower() for name in names})
    bindings: dict[str, str] | None = None
    keys = registry_enum_keys(session, SSL_BINDING_KEY)
    if keys is not None:
        bindings = {}
        for key in keys:
            if key.rsplit(":", 1)[-1] not in {str(port) for port in COMPATIBILITY_PORTS.values()}:
                continue   # only the compatibility ports matter here: one read per binding that does
            data = registry_get_binary(session, SSL_BINDING_KEY + "\\" + key, "SslCertHash")
            bindings[key] = data.hex().upper() if data else ""
    return HttpSysState(reservations, bindings)


def _reserved(state: HttpSysState, transport: str, port: int, url_prefix: str) -> bool:
    wanted = {"%s://%s:%d/%s/" % (transport, host, port, url_prefix.strip("/").lower()) for host in ("+", "*")}
    return bool(wanted & set(state.url_reservations or []))


def missing_for_compatibility(state: HttpSysState, turned_on: t.Iterable[str], url_prefix: str = "wsman",
                              thumbprint: str = "") -> list[str]:
    """What HTTP.sys lacks for the compatibility listeners being turned on ("http", "https"), one text each;
    unreadable keys are reported as such."""
    missing = []
    for transport in turned_on:
        port = COMPATIBILITY_PORTS[transport]
        url = "%s://+:%d/%s/" % (transport, port, url_prefix.strip("/"))
        if state.url_reservations is None:
            missing.append("the URL reservation %s could not be checked (HKLM\\%s is not readable)" % (url, URLACL_KEY))
        elif not _reserved(state, transport, port, url_prefix):
            missing.append("no HTTP.sys URL reservation for %s (netsh http show urlacl; HKLM\\%s)" % (url, URLACL_KEY))
        if transport != "https":
            continue
        if state.ssl_bindings is None:
            missing.append("the SSL certificate binding for port 443 could not be checked (HKLM\\%s is not readable)"
                           % SSL_BINDING_KEY)
            continue
        on_443 = {key: value for key, value in state.ssl_bindings.items() if key.endswith(":443")}
        if not on_443:
            missing.append("no HTTP.sys SSL certificate binding for port 443 (netsh http show sslcert; HKLM\\%s\\"
                           "0.0.0.0:443)" % SSL_BINDING_KEY)
        elif thumbprint and thumbprint.upper() not in on_443.values():
            missing.append("the SSL certificate bound to port 443 (%s) is not the service's certificate %s"
                           % (", ".join("%s %s" % item for item in sorted(on_443.items())), thumbprint.upper()))
    return missing


def compatibility_warning(missing: list[str], how: str) -> str:
    """One warning naming what is missing; ``how`` says how the listener was turned on."""
    return ("%s turns on a compatibility listener directly (not through the WinRM 2.0 upgrade), and HTTP.sys is not "
            "set up for it: %s. %s: \"If an administrator enables the Group Policy settings directly these "
            "additional settings must also be configured\"; configure them (netsh http add urlacl / add sslcert, or "
            "through Group Policy) or the listener may not answer." % (how, "; ".join(missing), SOURCE))
