"""Group Policy for WinRM: the policy registry values and the config values they override.

Registry value names from WindowsRemoteManagement.admx / WindowsRemoteShell.admx, as documented in
MicrosoftDocs windows-itpro-docs policy-csp-remotemanagement.md ("ADMX mapping" tables):
AllowBasic_1/_2 -> AllowBasic, AllowCredSSP_1/_2 -> AllowCredSSP, DisallowDigest -> AllowDigest,
DisallowNegotiate_1/_2 -> AllowNegotiate, DisallowKerberos_1/_2 -> AllowKerberos,
AllowUnencrypted_1/_2 -> AllowUnencryptedTraffic, DisableRunAs, AllowAutoConfig (+ IPv4Filter,
IPv6Filter), HttpCompatibilityListener, HttpsCompatibilityListener, CBTHardeningLevel_1 ->
CBTHardeningLevelStatus (+ CbtHardeningLevel), TrustedHosts (+ TrustedHostsList).
"Disallow X" policies store AllowX=0 when enabled, so every value reads as a boolean.

The overrides are derived from the registry once per registry change (``Registry.generation``), not
on every read: a Get of winrm/config reads every leaf.
"""
from __future__ import annotations

from .registry import CLIENT_POLICY, SERVICE_POLICY, SYSTEM_POLICY, WINRS_POLICY, Registry

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


class GroupPolicy:
    def __init__(self, registry: Registry):
        self.registry = registry
        self._cache: tuple[int, dict] | None = None

    def overrides(self) -> dict[tuple[str, ...], str]:
        """Config path -> value set by Group Policy."""
        if self._cache is None or self._cache[0] != self.registry.generation:
            self._cache = (self.registry.generation, self._compute())
        return self._cache[1]

    def _compute(self) -> dict[tuple[str, ...], str]:
        registry = self.registry
        result: dict[tuple[str, ...], str] = {}
        for key, name, path in BOOLEAN_POLICIES:
            value = registry.dword(key, name)
            if value is not None:
                result[path] = "true" if value else "false"
        for key, name, path in NUMERIC_POLICIES:
            value = registry.dword(key, name)
            if value is not None:
                result[path] = str(value)
        if registry.dword(SERVICE_POLICY, "CBTHardeningLevelStatus") == 1:
            level = CBT_LEVELS.get((registry.string(SERVICE_POLICY, "CbtHardeningLevel") or "").lower())
            if level:
                result[("Service", "Auth", "CbtHardeningLevel")] = level
        if registry.dword(CLIENT_POLICY, "TrustedHosts") == 1:
            result[("Client", "TrustedHosts")] = registry.string(CLIENT_POLICY, "TrustedHostsList") or ""
        if self.auto_config_enabled():
            result[("Service", "IPv4Filter")] = registry.string(SERVICE_POLICY, "IPv4Filter") or ""
            result[("Service", "IPv6Filter")] = registry.string(SERVICE_POLICY, "IPv6Filter") or ""
        return result

    def auto_config_enabled(self) -> bool:
        # "Allow remote server management through WinRM" = Enabled. Disabled / not configured leave
        # the local listeners in charge (the simulator does not model the "refuse every remote
        # request" reading of Disabled).
        return self.registry.dword(SERVICE_POLICY, "AllowAutoConfig") == 1

    def disable_run_as(self) -> bool:
        """"Disallow WinRM from storing RunAs credentials" = Enabled."""
        return self.registry.dword(SERVICE_POLICY, "DisableRunAs") == 1

    def local_account_token_filter(self) -> bool:
        return self.registry.dword(SYSTEM_POLICY, "LocalAccountTokenFilterPolicy") == 1
