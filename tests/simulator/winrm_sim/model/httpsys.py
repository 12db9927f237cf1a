"""HTTP.sys as WinRM uses it: the URL reservations and the SSL certificate bindings, as the registry
keeps them (what StdRegProv can read over WS-Man; nothing here decides whether a listener listens).

- URL reservations (``netsh http show urlacl``): one REG_BINARY value per reserved URL, named by the
  URL (``http://+:5985/wsman/``), its data the security descriptor, under
  ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters\\UrlAclInfo``. WinRM reserves its
  listeners' URLs for ``NT SERVICE\\WinRM`` and ``NT SERVICE\\Wecsvc``.
- SSL bindings (``netsh http show sslcert``): one subkey per ``IP:port`` under ``...\\SslBindingInfo``
  (``0.0.0.0:443``), with ``SslCertHash`` (REG_BINARY, the certificate's SHA-1 thumbprint),
  ``AppId`` and ``SslCertStoreName`` (Microsoft IIS support blog, "SSL bindings are randomly getting
  deleted ...": ``HKLM\\System\\CurrentControlSet\\SERVICES\\HTTP\\Parameters\\SslBindingInfo\\X.X.X.X:443``).
- Microsoft, "Details on secure port configuration for WS-Management in Windows 7 and Windows Server
  2008 R2": "If the Group Policy settings are enabled through migration/upgrade, then the HTTP.sys
  reservations and SSL certificates are automatically set up. If an administrator enables the Group
  Policy settings directly these additional settings must also be configured".
"""
from __future__ import annotations

import base64

from .registry import REG_BINARY, REG_SZ, set_policy

PARAMETERS = r"SYSTEM\CurrentControlSet\Services\HTTP\Parameters"
URLACL_KEY = PARAMETERS + r"\UrlAclInfo"
SSL_BINDING_KEY = PARAMETERS + r"\SslBindingInfo"
# D:(A;;GX;;;S-1-5-80-...WinRM)(A;;GX;;;S-1-5-80-...Wecsvc) as a self-relative descriptor is long; the
# simulator keeps a short stand-in: only the value's name is read.
_SECURITY_DESCRIPTOR = base64.b64encode(b"\x01\x00\x04\x80").decode()
# The WinRM service's application id in its bindings [INF: any GUID; nothing reads it].
_WINRM_APP_ID = base64.b64encode(bytes(16)).decode()


def url(transport: str, port: int, url_prefix: str = "wsman") -> str:
    return f"{transport.lower()}://+:{port}/{url_prefix}/"


def add_listener_registrations(registry: dict, http_port: int | None, https_port: int | None,
                               thumbprint: str = "") -> None:
    """The reservations (and the certificate binding) of WinRM listeners on these ports, in a raw key table."""
    parts = SSL_BINDING_KEY.split("\\")
    for index in range(1, len(parts) + 1):
        registry.setdefault("\\".join(parts[:index]), {})
    if http_port:
        set_policy(registry, URLACL_KEY, url("http", http_port), REG_BINARY, _SECURITY_DESCRIPTOR)
    if https_port:
        set_policy(registry, URLACL_KEY, url("https", https_port), REG_BINARY, _SECURITY_DESCRIPTOR)
        if thumbprint:
            key = SSL_BINDING_KEY + f"\\0.0.0.0:{https_port}"
            set_policy(registry, key, "SslCertHash", REG_BINARY, base64.b64encode(bytes.fromhex(thumbprint)).decode())
            set_policy(registry, key, "AppId", REG_BINARY, _WINRM_APP_ID)
            set_policy(registry, key, "SslCertStoreName", REG_SZ, "MY")
