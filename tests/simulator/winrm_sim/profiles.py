"""Initial state of a simulated host, per profile.

Defaults: shared/reference wsman-config-facts.md (a new install of Windows Server 2012 R2-2022: one
HTTP listener on 5985 and no HTTPS listener) and the WinRM 2.0 migration table of Microsoft, "Details
on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2" (listeners on
80/443 move to 5985/5986, the compatibility listener settings and their Group Policy values are turned
on). Firewall rules: ``model/firewall.py``; network location: ``model/network.py``.

| profile | what it is |
| --- | --- |
| server2022 | a new Windows Server 2022 install: HTTP 5985 only, the shipped firewall rules |
| server2022_https | the same after Microsoft's "Configure WinRM for HTTPS" recipe: HTTPS on 5986 |
|                  | with the machine certificate, and a firewall rule admitting 5986 |
| winrm11 | a WinRM 1.1 host: listeners on 80 and 443, 1.1 defaults, the port-80 rule on |
| upgraded11 | that host after the upgrade to WinRM 2.0 (5985/5986, compatibility listeners under Group Policy) |
| winrm11_scoped | a WinRM 1.1 host on 80/443 whose administrator admits WinRM with a rule of their own (TCP 80, |
|                | 443, 5985 from the local subnet): the predefined port-80 and 5985 rules disabled |
| winrm11_ports | a WinRM 1.1 host whose listeners are not on 80/443 (HTTP 8080, HTTPS 8443), admitted by a |
|               | rule of the administrator's; the port-80 rule disabled |
| gpo | a new install with the WinRM STIG/CIS policy values and a TrustedHosts policy |
| workstation | a client SKU: the service has no listener, the client firewall rules are off |
| basic_unencrypted | a new install opened up as image-build recipes do: service Basic and AllowUnencrypted on |
| server2022_jea | a new install with a JEA endpoint and a delegated endpoint that runs as localadmin |

server2022_jea: JEAMaintenance (a virtual account; the local group "JEA Operators", operator in it)
and Maintenance (RunAs localadmin).

Every profile has the session configurations and plugins its Windows version registers
(``model/plugins.py``) and the local groups it ships (``model/accounts.py``); upgraded11 has the
WinRMRemoteWMIUsers__ group WinRM 2.0 creates, with operator in it.
"""
from __future__ import annotations

import copy

from .model import accounts, firewall, httpsys, network, plugins
from .model.listeners import listener, server_certificate
from .model.registry import (CLIENT_POLICY, REG_DWORD, REG_SZ, SERVICE_POLICY, base_keys, set_policy)
from .state import VERSION

PROFILES = ("server2022", "server2022_https", "winrm11", "upgraded11", "gpo", "workstation", "basic_unencrypted",
            "server2022_jea", "winrm11_scoped", "winrm11_ports")
# WinRM 1.1 hosts: the old limits and DefaultPorts 80/443.
WINRM11_PROFILES = ("winrm11", "winrm11_scoped", "winrm11_ports")

DEFAULT_ROOT_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"

_CONFIG_2022 = {
    "MaxEnvelopeSizekb": "500",
    "MaxTimeoutms": "60000",
    "MaxBatchItems": "32000",
    "MaxProviderRequests": "4294967295",
    "Client": {
        "NetworkDelayms": "5000",
        "URLPrefix": "wsman",
        "AllowUnencrypted": "false",
        "Auth": {"Basic": "true", "Digest": "true", "Kerberos": "true", "Negotiate": "true",
                 "Certificate": "true", "CredSSP": "false"},
        "DefaultPorts": {"HTTP": "5985", "HTTPS": "5986"},
        "TrustedHosts": "",
    },
    "Service": {
        "RootSDDL": DEFAULT_ROOT_SDDL,
        "MaxConcurrentOperations": "4294967295",
        "MaxConcurrentOperationsPerUser": "1500",
        "EnumerationTimeoutms": "240000",
        "MaxConnections": "300",
        "MaxPacketRetrievalTimeSeconds": "120",
        "AllowUnencrypted": "false",
        "Auth": {"Basic": "false", "Kerberos": "true", "Negotiate": "true", "Certificate": "false",
                 "CredSSP": "false", "CbtHardeningLevel": "Relaxed"},
        "DefaultPorts": {"HTTP": "5985", "HTTPS": "5986"},
        "IPv4Filter": "*",
        "IPv6Filter": "*",
        "EnableCompatibilityHttpListener": "false",
        "EnableCompatibilityHttpsListener": "false",
        "CertificateThumbprint": "",
        "AllowRemoteAccess": "true",
    },
    "Winrs": {
        "AllowRemoteShellAccess": "true",
        "IdleTimeout": "7200000",
        "MaxConcurrentUsers": "2147483647",
        "MaxShellRunTime": "2147483647",
        "MaxProcessesPerShell": "2147483647",
        "MaxMemoryPerShellMB": "2147483647",
        "MaxShellsPerUser": "2147483647",
    },
}

# WinRM 1.1 / early 2.0 values (MS-WSMV defaults: MaxEnvelopeSizekb 150, shell quotas); the tree
# keeps the current shape so one engine serves every profile.
_OLD_LIMITS = {
    "MaxEnvelopeSizekb": "150",
    "Winrs": {"IdleTimeout": "180000", "MaxConcurrentUsers": "5", "MaxShellRunTime": "28800000",
              "MaxProcessesPerShell": "15", "MaxMemoryPerShellMB": "150", "MaxShellsPerUser": "5"},
    "Service": {"MaxConcurrentOperationsPerUser": "15", "EnumerationTimeoutms": "60000",
                "MaxConnections": "25"},
}


def _merge(base: dict, overlay: dict) -> dict:
    for key, value in overlay.items():
        if isinstance(value, dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _https_listener(cert_store, host_name, port):
    cert = server_certificate(cert_store, host_name)
    if cert is None:
        return None
    return listener(transport="HTTPS", port=str(port), hostname=cert.subject_cn, thumbprint=cert.thumbprint.upper())


def build_state(profile: str, host_name: str, cert_store=None) -> dict:
    """The initial state of a host of this profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    config = copy.deepcopy(_CONFIG_2022)
    listeners: list[dict] = []
    registry = base_keys()

    if profile in ("server2022", "server2022_https", "gpo", "basic_unencrypted", "server2022_jea"):
        listeners.append(listener())
    if profile == "basic_unencrypted":
        # winrm set winrm/config/service @{AllowUnencrypted="true"}; .../service/auth @{Basic="true"}
        config["Service"]["AllowUnencrypted"] = "true"
        config["Service"]["Auth"]["Basic"] = "true"
    if profile == "server2022_https":
        https = _https_listener(cert_store, host_name, 5986)
        if https:
            listeners.append(https)
    elif profile in WINRM11_PROFILES:
        _merge(config, copy.deepcopy(_OLD_LIMITS))
        config["Client"]["DefaultPorts"] = {"HTTP": "80", "HTTPS": "443"}
        config["Service"]["DefaultPorts"] = {"HTTP": "80", "HTTPS": "443"}
        http_port, https_port = (8080, 8443) if profile == "winrm11_ports" else (80, 443)
        listeners.append(listener(port=str(http_port)))
        https = _https_listener(cert_store, host_name, https_port)
        if https:
            listeners.append(https)
        httpsys.add_listener_registrations(registry, http_port, https_port,
                                           https["CertificateThumbprint"] if https else "")
    elif profile == "upgraded11":
        # A 1.1 listener on 80 (443) becomes a listener with the same settings on 5985 (5986),
        # EnableCompatibilityHttp(s)Listener=true, and the Group Policy "Turn On Compatibility HTTP(S)
        # Listener" = Enabled. Client default ports were 80/443 and move to the new defaults. Other
        # settings keep their 1.1 values.
        _merge(config, copy.deepcopy(_OLD_LIMITS))
        config["Service"]["EnableCompatibilityHttpListener"] = "true"
        config["Service"]["EnableCompatibilityHttpsListener"] = "true"
        listeners.append(listener(port="5985"))
        https = _https_listener(cert_store, host_name, 5986)
        if https:
            listeners.append(https)
        set_policy(registry, SERVICE_POLICY, "HttpCompatibilityListener", REG_DWORD, 1)
        set_policy(registry, SERVICE_POLICY, "HttpsCompatibilityListener", REG_DWORD, 1)
        # "If the Group Policy settings are enabled through migration/upgrade, then the HTTP.sys
        # reservations and SSL certificates are automatically set up" (the same article).
        httpsys.add_listener_registrations(registry, 5985, 5986, https["CertificateThumbprint"] if https else "")
        httpsys.add_listener_registrations(registry, 80, 443, https["CertificateThumbprint"] if https else "")
    if profile in ("server2022", "server2022_https", "gpo"):
        # The WinRM service reserves its listeners' URLs with HTTP.sys and binds the HTTPS certificate.
        https = [item for item in listeners if item["Transport"] == "HTTPS"]
        httpsys.add_listener_registrations(registry, 5985, 5986 if https else None,
                                           https[0]["CertificateThumbprint"] if https else "")

    if profile == "gpo":
        # The six STIG/CIS values plus a client TrustedHosts list (security-controls.md).
        set_policy(registry, SERVICE_POLICY, "AllowBasic", REG_DWORD, 0)
        set_policy(registry, SERVICE_POLICY, "AllowUnencryptedTraffic", REG_DWORD, 0)
        set_policy(registry, SERVICE_POLICY, "DisableRunAs", REG_DWORD, 1)
        set_policy(registry, CLIENT_POLICY, "AllowBasic", REG_DWORD, 0)
        set_policy(registry, CLIENT_POLICY, "AllowDigest", REG_DWORD, 0)
        set_policy(registry, CLIENT_POLICY, "AllowUnencryptedTraffic", REG_DWORD, 0)
        set_policy(registry, CLIENT_POLICY, "TrustedHosts", REG_DWORD, 1)
        set_policy(registry, CLIENT_POLICY, "TrustedHostsList", REG_SZ, "*.corp.example.com,10.0.0.5")

    plugins.install(registry, plugins.default_plugins(profile, accounts.machine_sid(host_name)))
    return {
        "version": VERSION,
        "profile": profile,
        "config": config,
        "listeners": listeners,
        "certmappings": [],
        "registry": registry,
        "network": network.default_state(),
        "firewall": {"rules": firewall.default_rules(profile, host_name)},
        "groups": accounts.default_groups(plugins.profile_groups(profile)),
        "plugin_run_as": plugins.initial_run_as(profile),
    }
