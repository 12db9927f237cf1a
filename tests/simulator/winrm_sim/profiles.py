"""Initial state of a simulated host, per profile.

The state is a plain JSON-serialisable dict (see host.py): the WinRM configuration tree with values
as Windows renders them (strings), the local listeners, the CertMapping entries and the registry
keys the simulator models (WinRM policy keys and the UAC System policies key).

Defaults: /work/shared/reference/wsman-config-facts.md (new install of Windows Server 2012 R2-2022)
and the WinRM 2.0 migration table of seed 000 (listeners on 80/443 move to 5985/5986, the
compatibility listener settings and their Group Policy values are turned on).
"""
from __future__ import annotations

import copy
import datetime

from . import firewall

PROFILES = ("server2022", "winrm11", "upgraded11", "gpo", "workstation")

DEFAULT_ROOT_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"

POLICY_ROOT = r"SOFTWARE\Policies\Microsoft\Windows"
WINRM_POLICY = POLICY_ROOT + r"\WinRM"
CLIENT_POLICY = WINRM_POLICY + r"\Client"
SERVICE_POLICY = WINRM_POLICY + r"\Service"
WINRS_POLICY = SERVICE_POLICY + r"\WinRS"
SYSTEM_POLICY = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"

REG_SZ = "REG_SZ"
REG_DWORD = "REG_DWORD"

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


def listener(address="*", transport="HTTP", port="5985", hostname="", enabled="true",
             url_prefix="wsman", thumbprint="") -> dict:
    return {"Address": address, "Transport": transport, "Port": str(port), "Hostname": hostname,
            "Enabled": enabled, "URLPrefix": url_prefix, "CertificateThumbprint": thumbprint}


def server_certificate(cert_store, host_name: str):
    """The machine certificate an HTTPS listener of this host uses: CN = computer name first."""
    if cert_store is None:
        return None
    now = datetime.datetime.now(datetime.timezone.utc)

    def usable(info):
        not_after = info.not_after
        if not_after.tzinfo is None:
            not_after = not_after.replace(tzinfo=datetime.timezone.utc)
        return info.server_auth and not info.is_ca and not_after > now

    candidates = [c for c in cert_store.by_subject_cn(host_name) if usable(c)]
    if not candidates:
        candidates = [c for c in cert_store.certs if usable(c)]
    return candidates[0] if candidates else None


def _https_listener(cert_store, host_name, port):
    cert = server_certificate(cert_store, host_name)
    if cert is None:
        return None
    return listener(transport="HTTPS", port=str(port), hostname=cert.subject_cn,
                    thumbprint=cert.thumbprint.upper())


def _base_registry() -> dict:
    # Keys that exist on every install; WinRM policy keys appear only when a policy is applied.
    return {
        "SOFTWARE": {},
        r"SOFTWARE\Policies": {},
        r"SOFTWARE\Policies\Microsoft": {},
        POLICY_ROOT: {},
        SYSTEM_POLICY: {"EnableLUA": [REG_DWORD, 1], "ConsentPromptBehaviorAdmin": [REG_DWORD, 5]},
    }


def _set_policy(registry: dict, key: str, name: str, kind: str, data) -> None:
    parts = key.split("\\")
    for i in range(1, len(parts) + 1):
        registry.setdefault("\\".join(parts[:i]), {})
    registry[key][name] = [kind, data]


def build_state(profile: str, host_name: str, cert_store=None) -> dict:
    """The initial state dict of a host of this profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    config = copy.deepcopy(_CONFIG_2022)
    listeners: list[dict] = []
    registry = _base_registry()

    if profile in ("server2022", "gpo"):
        listeners.append(listener())
        # Not Windows' default (a new install has no HTTPS listener): the test harness needs an
        # HTTPS way in for certificate and Basic-over-TLS scenarios.
        https = _https_listener(cert_store, host_name, 5986)
        if https:
            listeners.append(https)
    elif profile == "winrm11":
        _merge(config, copy.deepcopy(_OLD_LIMITS))
        config["Client"]["DefaultPorts"] = {"HTTP": "80", "HTTPS": "443"}
        config["Service"]["DefaultPorts"] = {"HTTP": "80", "HTTPS": "443"}
        listeners.append(listener(port="80"))
        https = _https_listener(cert_store, host_name, 443)
        if https:
            listeners.append(https)
    elif profile == "upgraded11":
        # Seed 000: a 1.1 listener on 80 (443) becomes a listener with the same settings on 5985
        # (5986), EnableCompatibilityHttp(s)Listener=true, and the Group Policy "Turn On
        # Compatibility HTTP(S) Listener" = Enabled. Client default ports were 80/443 and move to
        # the new defaults. Other settings keep their 1.1 values.
        _merge(config, copy.deepcopy(_OLD_LIMITS))
        config["Service"]["EnableCompatibilityHttpListener"] = "true"
        config["Service"]["EnableCompatibilityHttpsListener"] = "true"
        listeners.append(listener(port="5985"))
        https = _https_listener(cert_store, host_name, 5986)
        if https:
            listeners.append(https)
        _set_policy(registry, SERVICE_POLICY, "HttpCompatibilityListener", REG_DWORD, 1)
        _set_policy(registry, SERVICE_POLICY, "HttpsCompatibilityListener", REG_DWORD, 1)
    elif profile == "workstation":
        pass  # client SKU: the service runs with defaults and no listener

    if profile == "gpo":
        # The six STIG/CIS values plus a client TrustedHosts list (security-controls.md).
        _set_policy(registry, SERVICE_POLICY, "AllowBasic", REG_DWORD, 0)
        _set_policy(registry, SERVICE_POLICY, "AllowUnencryptedTraffic", REG_DWORD, 0)
        _set_policy(registry, SERVICE_POLICY, "DisableRunAs", REG_DWORD, 1)
        _set_policy(registry, CLIENT_POLICY, "AllowBasic", REG_DWORD, 0)
        _set_policy(registry, CLIENT_POLICY, "AllowDigest", REG_DWORD, 0)
        _set_policy(registry, CLIENT_POLICY, "AllowUnencryptedTraffic", REG_DWORD, 0)
        _set_policy(registry, CLIENT_POLICY, "TrustedHosts", REG_DWORD, 1)
        _set_policy(registry, CLIENT_POLICY, "TrustedHostsList", REG_SZ, "*.corp.example.com,10.0.0.5")

    return {
        "version": 1,
        "profile": profile,
        "config": config,
        "listeners": listeners,
        "certmappings": [],
        "registry": registry,
        "firewall": firewall.default_rules(profile),
    }
