# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secure-baseline control catalog for WinRM and its evaluation against ``wsman.winrm.info``.

Pure data and pure functions (no Ansible, no network), so the report filters, the converge action
and the unit tests all call the same code. The policy values come from the one table of them
(``policy.py``).

Sources: the control ids, policy values and expected values come from the DISA STIGs for Windows
10 and Windows Server 2016, 2019 and 2022 and the CIS Microsoft Windows benchmarks named in
``BENCHMARKS`` (sections "Windows Remote Management (WinRM)" and "Windows Remote Shell"); the
controls beyond them and the profiles from Microsoft Learn, "PowerShell Remoting Security
Considerations", and "Authentication for Remote Connections" (Windows Remote Management).

A setting is named by a path into the info result:

- ``service.auth.basic``: a dotted path into the result's dicts (the effective ``winrm/config``
  value; ``Source="GPO"`` shows through the result's ``gpo_controlled`` list);
- ``policy:Service\\AllowBasic``: a Group Policy registry value from the result's ``policy`` list
  (``Client``, ``Service``, ``Service\\WinRS`` under ``...\\Policies\\Microsoft\\Windows\\WinRM``;
  ``System`` is ``...\\CurrentVersion\\Policies\\System``);
- ``listeners``: the listener list;
- ``certificates.listeners``: each HTTPS listener's certificate as ``wsman.winrm.info`` reports it
  with ``gather: [certificates]`` (the listener certificate controls need that part).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils.policy import (
    POLICY_SETTINGS, PolicySetting, group_policy_state, policy_setting, short_key,
)
from ansible_collections.wsman.winrm.plugins.module_utils import sddl as sddl_parser
from ansible_collections.wsman.winrm.plugins.module_utils import verdict as verdicts

# ----------------------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------------------

PASS = "pass"
FAIL = "fail"
DEVIATION = "deviation"
NOT_APPLICABLE = "not_applicable"
UNKNOWN = "unknown"
STATUSES = (PASS, FAIL, DEVIATION, NOT_APPLICABLE, UNKNOWN)

PROFILES = ("domain_kerberos", "workgroup_https", "certificate_only")

MANAGED_OVER_WINRM = "managed over WinRM"

# A CIS recommendation number's section placeholder (``{winrm_client}.1``), filled per benchmark.
_SECTION = re.compile(r"\{(\w+)\}")

# Registry keys of the policy values, as the info result spells them (``policy[].path``), by the
# short names the catalog uses (``Client``, ``Service``, ``Service\\WinRS``, ``System``).
_POLICY_KEYS = {short_key(setting).lower(): setting.path for setting in POLICY_SETTINGS}


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One CIS benchmark version: where its WinRM sections sit (the numbering moves between versions)."""

    name: str
    title: str
    # Section prefixes; a control's CIS id is a template such as "{winrm}.2.1". None = the version
    # has no such section in our sources, so the control gets no CIS id for it.
    sections: t.Mapping[str, str | None]


# The CIS benchmarks number the WinRM section 18.9.97.x in WS2019 v1.2.1, 18.9.102.x in v1.3.0 and
# 18.10.89.x from v2.0.0 (Windows 11 v3: 18.10.88.x). "Windows Remote Shell" is the section after
# "Windows Remote Management" in every version (WS2019 v1.2.1 18.9.98.1, v1.3.0 18.9.103.1, v2+
# 18.10.90.1). "MS Security Guide" (Apply UAC restrictions to local accounts on network logons) is
# 18.4.1 in the v2+ server benchmarks; not given for the others.
BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("cis_ws2019_v1_2_1", "CIS Microsoft Windows Server 2019 Benchmark v1.2.1",
              {"winrm": "18.9.97", "winrs": "18.9.98", "ms_security_guide": None}),
    Benchmark("cis_ws2019_v1_3_0", "CIS Microsoft Windows Server 2019 Benchmark v1.3.0",
              {"winrm": "18.9.102", "winrs": "18.9.103", "ms_security_guide": None}),
    Benchmark("cis_ws2019_v2", "CIS Microsoft Windows Server 2019 Benchmark v2.0.0",
              {"winrm": "18.10.89", "winrs": "18.10.90", "ms_security_guide": "18.4"}),
    Benchmark("cis_ws2019_v3", "CIS Microsoft Windows Server 2019 Benchmark v3.0.0",
              {"winrm": "18.10.89", "winrs": "18.10.90", "ms_security_guide": "18.4"}),
    Benchmark("cis_ws2022_v2", "CIS Microsoft Windows Server 2022 Benchmark v2.0.0",
              {"winrm": "18.10.89", "winrs": "18.10.90", "ms_security_guide": "18.4"}),
    Benchmark("cis_ws2022_v3", "CIS Microsoft Windows Server 2022 Benchmark v3.0.0",
              {"winrm": "18.10.89", "winrs": "18.10.90", "ms_security_guide": "18.4"}),
    Benchmark("cis_ws2022_v4", "CIS Microsoft Windows Server 2022 Benchmark v4.0.0",
              {"winrm": "18.10.89", "winrs": "18.10.90", "ms_security_guide": "18.4"}),
    Benchmark("cis_win11_v3", "CIS Microsoft Windows 11 Enterprise Benchmark v3.0.0",
              {"winrm": "18.10.88", "winrs": "18.10.89", "ms_security_guide": None}),
)}
DEFAULT_BENCHMARK = "cis_ws2022_v3"

STIGS: dict[str, str] = {
    "win10": "Microsoft Windows 10 STIG",
    "win11": "Microsoft Windows 11 STIG",
    "ws2016": "Microsoft Windows Server 2016 STIG",
    "ws2019": "Microsoft Windows Server 2019 STIG",
    "ws2022": "Microsoft Windows Server 2022 STIG",
    "ws2025": "Microsoft Windows Server 2025 STIG",
}
DEFAULT_STIG = "ws2022"
# The STIG release a version's ids were taken from, where the catalog names one.
STIG_RELEASES: dict[str, str] = {
    "win11": "Version 2 (Windows 11 STIG V2R7)",
    "ws2025": "Version 1, Release 2 (benchmark date 01 Jul 2026)",
}
# Vuln IDs (the checklist's Vuln_Num / group_id) of the STIG IDs, where verified against the STIG
# releases above: DISA Microsoft Windows Server 2025 STIG V1R2 (WN25-CC-000470..000520 =
# V-278125..V-278130); DISA Microsoft Windows 11 STIG (WN11-CC-000330 V-253416, -000335 V-253417,
# -000345 V-253418, -000360 V-253421). The other versions' Vuln IDs are left out until checked.
STIG_VULNS: dict[str, str] = {
    "WN25-CC-000470": "V-278125", "WN25-CC-000480": "V-278126", "WN25-CC-000490": "V-278127",
    "WN25-CC-000500": "V-278128", "WN25-CC-000510": "V-278129", "WN25-CC-000520": "V-278130",
    "WN11-CC-000330": "V-253416", "WN11-CC-000335": "V-253417", "WN11-CC-000345": "V-253418",
    "WN11-CC-000360": "V-253421",
}
# The roles a STIG tells apart: "-MS-" rules are for member (and standalone) servers only, "-DC-"
# rules for domain controllers only (DISA's STIG ID naming in the Windows Server STIGs).
STIG_ROLES = ("workstation", "member_server", "domain_controller")

# Windows builds -> the STIG version (Win32_OperatingSystem.Version / BuildNumber; Microsoft Learn,
# "Windows Server release information", "Windows 11 release information").
_SERVER_BUILDS = {14393: "ws2016", 17763: "ws2019", 20348: "ws2022", 26100: "ws2025"}
_WINDOWS_11_FIRST_BUILD = 22000


@dataclasses.dataclass(frozen=True)
class Control:
    """One control. ``rule`` names the check in ``RULES``; the rest is data the rule reads."""

    id: str
    title: str
    rule: str
    settings: tuple[str, ...]  # checked settings, first = the one a scanner reads
    expected: t.Any  # the secure value (all profiles) or {profile: value}
    severity: str  # high | medium | low
    evidence: tuple[str, ...] = ()  # further settings shown as evidence, not judged
    cis: str | None = None  # template into Benchmark.sections, e.g. "{winrm}.1.1"
    cis_level: str | None = None  # "L1" | "L2"
    stig: t.Mapping[str, str] = dataclasses.field(default_factory=dict)  # STIG version -> id
    stig_severity: str | None = None  # "CAT I" | "CAT II" | "CAT III"
    not_applicable: t.Mapping[str, str] = dataclasses.field(default_factory=dict)  # profile -> reason
    # profile -> (value, reason): a value the profile accepts as a documented deviation
    accepted: t.Mapping[str, tuple[t.Any, str]] = dataclasses.field(default_factory=dict)
    absent_value: t.Any = None  # the value a policy takes when not configured, if Windows defines one
    always_deviation: str | None = None  # reason; the control is never applied as written
    group: str = "beyond"  # "stig_cis" | "cis_l2" | "beyond": how docs and reports group it
    description: str = ""
    fix: str = ""  # how an admin fixes it, where the settings alone do not say it (listeners, lists)
    optional: bool = False  # judged only when the info result holds its first setting (a part read on request)

    def expected_for(self, profile: str) -> t.Any:
        if isinstance(self.expected, t.Mapping):
            return self.expected[profile]
        return self.expected

    def stig_id(self, stig: str, role: str | None = None) -> str | None:
        """The STIG ID for a version, None where the STIG has none for this role."""
        rule = self.stig.get(stig)
        if rule and role and (("-MS-" in rule and role != "member_server")
                              or ("-DC-" in rule and role != "domain_controller")):
            return None
        return rule

    def references(self, benchmark: str = DEFAULT_BENCHMARK, stig: str = DEFAULT_STIG,
                   role: str | None = None) -> dict[str, t.Any]:
        rule = self.stig_id(stig, role)
        references = {
            "cis": cis_id(self, benchmark),
            "cis_level": self.cis_level if cis_id(self, benchmark) else None,
            "cis_benchmark": benchmark,
            "stig": rule,
            "stig_severity": self.stig_severity if rule else None,
            "stig_version": stig,
        }
        if rule in STIG_VULNS:
            references["stig_vuln"] = STIG_VULNS[rule]
        return references


def _stig(win10: str, ws2016: str, ws2019: str, ws2022: str, win11: str | None = None,
          ws2025: str | None = None) -> dict[str, str]:
    ids = {"win10": win10, "ws2016": ws2016, "ws2019": ws2019, "ws2022": ws2022, "win11": win11, "ws2025": ws2025}
    return {version: rule for version, rule in ids.items() if rule}


# ----------------------------------------------------------------------------------------------
# The catalog
# ----------------------------------------------------------------------------------------------

CONTROLS: tuple[Control, ...] = (
    # The six controls the STIGs and CIS benchmarks share. Scanners read the policy
    # registry value, so that is what is judged; the effective config value is evidence.
    Control("client_basic", "WinRM client: Basic authentication disallowed (policy)", "policy",
            (r"policy:Client\AllowBasic",), 0, "high", evidence=("client.auth.basic",),
            cis="{winrm}.1.1", cis_level="L1", stig_severity="CAT I",
            stig=_stig("WN10-CC-000330", "WN16-CC-000500", "WN19-CC-000470", "WN22-CC-000470",
                       win11="WN11-CC-000330", ws2025="WN25-CC-000470"),
            group="stig_cis"),
    Control("client_unencrypted", "WinRM client: unencrypted traffic disallowed (policy)", "policy",
            (r"policy:Client\AllowUnencryptedTraffic",), 0, "medium", evidence=("client.allow_unencrypted",),
            cis="{winrm}.1.2", cis_level="L1", stig_severity="CAT II",
            stig=_stig("WN10-CC-000335", "WN16-CC-000510", "WN19-CC-000480", "WN22-CC-000480",
                       win11="WN11-CC-000335", ws2025="WN25-CC-000480"),
            group="stig_cis"),
    Control("client_digest", "WinRM client: Digest authentication disallowed (policy)", "policy",
            (r"policy:Client\AllowDigest",), 0, "medium", evidence=("client.auth.digest",),
            cis="{winrm}.1.3", cis_level="L1", stig_severity="CAT II",
            stig=_stig("WN10-CC-000360", "WN16-CC-000520", "WN19-CC-000490", "WN22-CC-000490",
                       win11="WN11-CC-000360", ws2025="WN25-CC-000490"),
            group="stig_cis"),
    Control("service_basic", "WinRM service: Basic authentication disallowed (policy)", "policy",
            (r"policy:Service\AllowBasic",), 0, "high", evidence=("service.auth.basic",),
            cis="{winrm}.2.1", cis_level="L1", stig_severity="CAT I",
            stig=_stig("WN10-CC-000345", "WN16-CC-000530", "WN19-CC-000500", "WN22-CC-000500",
                       win11="WN11-CC-000345", ws2025="WN25-CC-000500"),
            group="stig_cis"),
    Control("service_unencrypted", "WinRM service: unencrypted traffic disallowed (policy)", "policy",
            (r"policy:Service\AllowUnencryptedTraffic",), 0, "medium", evidence=("service.allow_unencrypted",),
            cis="{winrm}.2.3", cis_level="L1", stig_severity="CAT II",
            stig=_stig("WN10-CC-000350", "WN16-CC-000540", "WN19-CC-000510", "WN22-CC-000510",
                       win11="WN11-CC-000350", ws2025="WN25-CC-000510"),
            group="stig_cis"),
    Control("service_runas", "WinRM service: storing RunAs credentials disallowed (policy)", "policy",
            (r"policy:Service\DisableRunAs",), 1, "medium",
            cis="{winrm}.2.4", cis_level="L1", stig_severity="CAT II",
            stig=_stig("WN10-CC-000355", "WN16-CC-000550", "WN19-CC-000520", "WN22-CC-000520",
                       win11="WN11-CC-000355", ws2025="WN25-CC-000520"),
            group="stig_cis"),
    # CIS level 2 controls that cut off remote management: a host managed
    # over WinRM cannot follow them, so they are documented deviations, never evaluated.
    Control("service_auto_config", "WinRM service: remote server management through WinRM disabled (CIS L2)",
            "deviation", (r"policy:Service\AllowAutoConfig",), 0, "low",
            evidence=("listeners",), cis="{winrm}.2.2", cis_level="L2",
            always_deviation=MANAGED_OVER_WINRM, group="cis_l2",
            description="AllowAutoConfig=0 turns off the listeners the collection manages the host through."),
    Control("remote_shell_access", "Windows Remote Shell access disabled (CIS L2)", "deviation",
            (r"policy:Service\WinRS\AllowRemoteShellAccess",), 0, "low",
            evidence=("winrs.allow_remote_shell_access",), cis="{winrs}.1", cis_level="L2",
            always_deviation=MANAGED_OVER_WINRM, group="cis_l2",
            description="AllowRemoteShellAccess=0 refuses the remote shells Ansible runs its modules in."),
    # Beyond STIG/CIS: Microsoft's guidance (PowerShell Remoting Security Considerations, Authentication
    # for Remote Connections) and Ansible's Windows remote management documentation,
    # expected values per profile as the secure_baseline role documents them.
    Control("https_listener", "HTTPS listener present where NTLM is used", "listener_present",
            ("listeners",), "HTTPS", "medium",
            not_applicable={"domain_kerberos": "domain profile: Kerberos encrypts HTTP; HTTPS is better, not required"},
            description="NTLM does not authenticate the server; TLS with a CA-issued certificate does.",
            fix='Create an HTTPS listener with a CA-issued server certificate whose CN is the host name: '
                'winrm create winrm/config/Listener?Address=*+Transport=HTTPS '
                '@{Hostname="<host name>";CertificateThumbprint="<thumbprint>"} (wsman.winrm.listener; the '
                'role: secure_baseline_https_listener: true)'),
    Control("http_listener_removed", "HTTP listener removed where HTTPS is used", "listener_absent",
            ("listeners",), "HTTP", "medium",
            not_applicable={"domain_kerberos": "domain profile: HTTP 5985 is acceptable with Kerberos"},
            fix="Once the HTTPS listener answers, remove the HTTP listener: winrm delete "
                "winrm/config/Listener?Address=*+Transport=HTTP (the role: secure_baseline_remove_http_listener: true)"),
    Control("compatibility_listeners_off", "Compatibility listeners (80/443) off", "all_equal",
            ("service.enable_compatibility_http_listener", "service.enable_compatibility_https_listener"),
            False, "low", evidence=(r"policy:Service\HttpCompatibilityListener",
                                    r"policy:Service\HttpsCompatibilityListener", "listeners")),
    Control("cbt_hardening_strict", "Channel binding (CbtHardeningLevel) Strict with HTTPS", "cbt",
            ("service.auth.cbt_hardening_level",), "Strict", "medium",
            evidence=(r"policy:Service\CbtHardeningLevel", "listeners"),
            description="Strict channel binding stops NTLM relay to the HTTPS listener; the domain "
                        "profile requires it only when an HTTPS listener exists."),
    Control("credssp_off", "CredSSP off on the service and the client", "all_equal",
            ("service.auth.credssp", "client.auth.credssp"), False, "high",
            evidence=(r"policy:Service\AllowCredSSP", r"policy:Client\AllowCredSSP")),
    Control("trusted_hosts_not_wildcard", "Client TrustedHosts is not '*'", "not_wildcard",
            ("client.trusted_hosts",), "empty or an explicit list", "medium",
            evidence=(r"policy:Client\TrustedHostsList",),
            fix='List the servers by name, or clear the list: winrm set winrm/config/client '
                '@{TrustedHosts="<server1>,<server2>"} (the role: secure_baseline_client_trusted_hosts)'),
    Control("local_account_token_filter", "Local accounts' administrator token filtered on network logon",
            "policy", (r"policy:System\LocalAccountTokenFilterPolicy",), 0, "medium",
            cis="{ms_security_guide}.1", cis_level="L1", stig_severity="CAT II",
            # STIG WN22-MS-000020, CIS 18.4.1. Other versions from the DISA
            # STIG texts: WN19-MS-000020, WN16-MS-000020, WN10-CC-000037 (same rule, V-220799).
            stig=_stig("WN10-CC-000037", "WN16-MS-000020", "WN19-MS-000020", "WN22-MS-000020"),
            absent_value=0,  # absent = filtered (Windows' default, MS Security Guide)
            accepted={profile: (1, "local administrators must connect over the network (%s profile)" % profile)
                      for profile in ("workgroup_https", "certificate_only")}),
    Control("root_sddl_admins_only", "RootSDDL grants access to Administrators only (and named groups)", "sddl",
            ("service.root_sddl",), "Administrators (BA) only", "medium",
            description="Named groups allowed beside Administrators are passed as allowed_sddl_trustees.",
            fix='winrm set winrm/config/service @{RootSDDL="O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"}'
                ", or name the group that must keep access in allowed_sddl_trustees (the role: "
                "secure_baseline_root_sddl, secure_baseline_allowed_sddl_trustees)"),
    # HTTPS listener certificates (Microsoft Learn, "Configuration and Security" for WinRM: the
    # listener needs a Server Authentication certificate whose CN matches the host name, from the
    # computer's store; an expired or replaced one breaks every HTTPS connection).
    Control("listener_certificate_present", "HTTPS listener certificates present in LocalMachine\\My", "cert_present",
            ("certificates.listeners",), "the certificate each HTTPS listener names is in the store", "medium",
            description="A listener whose certificate was deleted (or whose store entry is damaged) accepts no "
                        "TLS connection.",
            fix="Bind the listener to a certificate in LocalMachine\\My: wsman.winrm.listener with certificate: auto "
                "(or certificate_thumbprint), or the role's secure_baseline_certificate: auto"),
    Control("listener_certificate_expiry", "HTTPS listener certificates not expiring soon", "cert_expiry",
            ("certificates.listeners",), 30, "medium",
            description="Days left before the listener's certificate expires (certificate_expiry_days, default "
                        "30); an expired one breaks every HTTPS connection, a renewed one is not picked up by "
                        "Windows on its own.",
            fix="Re-bind the listener to the renewed or a longer-valid certificate: wsman.winrm.listener with "
                "certificate: auto and renew_within_days (the role does it with secure_baseline_certificate: auto)"),
    Control("listener_certificate_hostname", "HTTPS listener certificates issued to the host's name",
            "cert_hostname", ("certificates.listeners",), "subject or SAN matches the listener Hostname or the "
            "computer's name", "medium",
            description="Clients that validate the certificate refuse a name that does not match.",
            fix="Bind a certificate whose subject or SAN names the host: wsman.winrm.listener with certificate: "
                "auto and certificate_criteria.hostname"),
    Control("listener_certificate_issuer", "HTTPS listener certificates from a trusted CA (not self-signed)",
            "cert_issuer", ("certificates.listeners",), "issued by a CA in the host's Root or intermediate stores",
            "medium",
            description="A self-signed or unknown issuer makes clients either refuse the connection or skip "
                        "validation, which lets anyone on the path impersonate the host (NTLM does not "
                        "authenticate the server).",
            fix="Enroll a Server Authentication certificate from a CA the clients trust (autoenrollment) and "
                "bind it: wsman.winrm.listener with certificate: auto and certificate_criteria.issuer"),
    # The per-host answer to "is WinRM secure here, or do I need HTTPS?" (module_utils/verdict.py:
    # Microsoft Learn, "PowerShell Remoting Security Considerations"; FoxDeploy, "Is WinRM Secure or
    # do I need HTTPs?"), from the info result's verdict (gather verdict; converge adds it).
    Control("security_verdict", "WinRM is secure for the host's situation (HTTPS, or Kerberos on a domain)", "verdict",
            ("verdict.verdict",), "secure_https or secure_http", "high",
            evidence=("system.part_of_domain", "listeners", "service.auth", "service.allow_unencrypted",
                      "verdict.facts.https_certificate_validated"),
            optional=True,
            description="A workgroup host reached with NTLM needs HTTPS for the server's identity; Basic with "
                        "AllowUnencrypted sends credentials in cleartext. The profile that reaches the best verdict "
                        "is domain_kerberos on a domain member, workgroup_https elsewhere. Judged when the verdict "
                        "was read (wsman.winrm.converge reads it; wsman.winrm.info with gather: [verdict]).",
            fix="Apply the profile the verdict recommends: the role's secure_baseline_profile: auto picks "
                "domain_kerberos on a domain member and workgroup_https elsewhere"),
    # Microsoft Learn, "Security Considerations for PowerShell Remoting using WinRM": on public
    # networks the default rule admits the same subnet only; "use caution when removing this rule".
    Control("firewall_public_local_subnet", "WinRM firewall: on public networks, the local subnet only", "firewall",
            ("firewall",), "LocalSubnet", "medium",
            description="Judged on the firewall rules wsman.winrm.info gathers with gather: [firewall]; actual "
                        "lists every enabled inbound allow rule for a port a WinRM listener uses (the exposure)."),
)

CONTROLS_BY_ID: dict[str, Control] = {control.id: control for control in CONTROLS}


def cis_id(control: Control, benchmark: str = DEFAULT_BENCHMARK) -> str | None:
    if control.cis is None:
        return None
    sections = _benchmark(benchmark).sections
    section = _SECTION.match(control.cis)
    if section is None or sections.get(section.group(1)) is None:
        return None
    return control.cis.format(**{k: v for k, v in sections.items() if v is not None})


def _benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ValueError("unknown CIS benchmark %r; choose one of %s" % (name, ", ".join(BENCHMARKS))) from None


def _check_choices(profile: str | None, benchmark: str, stig: str) -> None:
    _benchmark(benchmark)
    if stig not in STIGS:
        raise ValueError("unknown STIG %r; choose one of %s" % (stig, ", ".join(STIGS)))
    if profile is not None and profile not in PROFILES:
        raise ValueError("unknown profile %r; choose one of %s" % (profile, ", ".join(PROFILES)))


def catalog(benchmark: str = DEFAULT_BENCHMARK, stig: str = DEFAULT_STIG) -> list[dict[str, t.Any]]:
    """The catalog as plain data, with the references of one CIS benchmark and one STIG version."""
    _check_choices(None, benchmark, stig)
    rows = []
    for control in CONTROLS:
        rows.append({
            "id": control.id,
            "title": control.title,
            "group": control.group,
            "settings": list(control.settings),
            "evidence_settings": list(control.evidence),
            "expected": {profile: _expected_text(control, profile) for profile in PROFILES},
            "severity": control.severity,
            "references": control.references(benchmark, stig),
            "description": control.description,
        })
    return rows


def _expected_text(control: Control, profile: str) -> t.Any:
    if profile in control.not_applicable:
        return "not applicable: " + control.not_applicable[profile]
    expected = control.expected_for(profile)
    if control.always_deviation:
        return "%s=%s (not applied: %s)" % (_setting_name(control.settings[0]), expected, control.always_deviation)
    if control.rule == "listener_present":
        return "an %s listener" % expected
    if control.rule == "listener_absent":
        return "no %s listener" % expected
    if control.rule == "cbt" and profile == "domain_kerberos":
        return "Strict when an HTTPS listener exists"
    if control.rule == "cert_expiry":
        return "more than %s days left" % expected
    if profile in control.accepted:
        value, reason = control.accepted[profile]
        return "%s (%s accepted as a deviation: %s)" % (expected, value, reason)
    return expected


def _setting_name(path: str) -> str:
    return path.split(":", 1)[1] if path.startswith("policy:") else path


# ----------------------------------------------------------------------------------------------
# Reading the info result
# ----------------------------------------------------------------------------------------------

class _Missing:
    """The info result does not have the data (the part was not gathered)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
NOT_CONFIGURED = "not configured"


def read_setting(info: t.Mapping[str, t.Any], path: str) -> tuple[t.Any, str]:
    """The value at a setting path and its source.

    Source: ``GPO`` (effective value set by Group Policy), ``local``, ``policy`` (a policy registry
    value), ``not configured`` (policy value absent) or ``not gathered`` (value is ``MISSING``).
    """
    if path.startswith("policy:"):
        if not isinstance(info.get("policy"), list):
            return MISSING, "not gathered"
        key, _sep, name = path[len("policy:"):].rpartition("\\")
        full_key = _POLICY_KEYS[key.lower()].lower()
        for item in info["policy"]:
            if str(item.get("path", "")).lower() == full_key and str(item.get("name", "")).lower() == name.lower():
                return item.get("value"), "policy"
        return MISSING, NOT_CONFIGURED
    node: t.Any = info
    for part in path.split("."):
        if not isinstance(node, t.Mapping) or part not in node:
            return MISSING, "not gathered"
        node = node[part]
    if path == "listeners":
        return node, "GPO" if any(_listener_source(l) == "GPO" for l in node or []) else "local"
    return node, "GPO" if path in (info.get("gpo_controlled") or []) else "local"


def _listener_source(listener: t.Mapping[str, t.Any]) -> str:
    return str(listener.get("source") or "")


def _listener_label(listener: t.Mapping[str, t.Any]) -> str:
    label = "%s:%s" % (listener.get("transport"), listener.get("port"))
    flags = [f for f in (_listener_source(listener), "" if listener.get("enabled", True) else "disabled") if f]
    return label + ("" if not flags else " (%s)" % ", ".join(flags))


def _evidence_value(value: t.Any, path: str) -> t.Any:
    if value is MISSING:
        return None
    if path == "listeners":
        return [_listener_label(l) for l in value or []]
    if path == "certificates.listeners":
        return [_certificate_label(view) for view in value or []]
    return value


def _certificate_label(view: t.Mapping[str, t.Any]) -> str:
    what = view.get("certificate_thumbprint") or "no certificate"
    if view.get("in_store") is None:
        return "port %s: chosen by Windows" % view.get("port")
    if not view.get("in_store"):
        return "port %s: %s (not in the store)" % (view.get("port"), what)
    return "port %s: %s (%s days left)" % (view.get("port"), what, view.get("days_left"))


def _evidence(info: t.Mapping[str, t.Any], paths: t.Iterable[str]) -> list[dict[str, t.Any]]:
    rows = []
    for path in paths:
        value, source = read_setting(info, path)
        rows.append({"setting": path, "value": _evidence_value(value, path), "source": source})
    return rows


# ----------------------------------------------------------------------------------------------
# Rules: (control, info, profile, options) -> (status, actual, reason)
# ----------------------------------------------------------------------------------------------

Verdict = tuple[str, t.Any, str]


def _rule_policy(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    value, source = read_setting(info, control.settings[0])
    if source == "not gathered":
        return UNKNOWN, None, "the policy values were not gathered"
    expected = control.expected_for(profile)
    if value is MISSING:
        if control.absent_value is None:
            return FAIL, NOT_CONFIGURED, "policy not configured (scanners report it as open)"
        value = control.absent_value
        actual: t.Any = "%s (not configured)" % value
    else:
        actual = value
    if _same(value, expected):
        return PASS, actual, ""
    accepted = control.accepted.get(profile)
    if accepted is not None and _same(value, accepted[0]):
        return DEVIATION, actual, accepted[1]
    return FAIL, actual, "expected %s" % expected


def _rule_deviation(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    value, source = read_setting(info, control.settings[0])
    actual = {"not gathered": None, NOT_CONFIGURED: NOT_CONFIGURED}.get(source, value)
    return DEVIATION, actual, t.cast(str, control.always_deviation)


def _rule_all_equal(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    expected = control.expected_for(profile)
    values = {path: read_setting(info, path)[0] for path in control.settings}
    if any(value is MISSING for value in values.values()):
        return UNKNOWN, None, "the configuration was not gathered"
    wrong = [path for path, value in values.items() if not _same(value, expected)]
    actual = values if len(values) > 1 else next(iter(values.values()))
    if wrong:
        return FAIL, actual, "%s not %s" % (", ".join(wrong), expected)
    return PASS, actual, ""


def _enabled_listeners(info: t.Mapping[str, t.Any]) -> list[t.Mapping[str, t.Any]] | None:
    listeners, _source = read_setting(info, "listeners")
    if listeners is MISSING:
        return None
    return [l for l in listeners if l.get("enabled", True) is not False]


def _rule_listener_present(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    listeners = _enabled_listeners(info)
    if listeners is None:
        return UNKNOWN, None, "the listeners were not gathered"
    transport = control.expected_for(profile)
    actual = [_listener_label(l) for l in listeners]
    if any(str(l.get("transport", "")).upper() == transport for l in listeners):
        return PASS, actual, ""
    return FAIL, actual, "no enabled %s listener" % transport


def _rule_listener_absent(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    listeners = _enabled_listeners(info)
    if listeners is None:
        return UNKNOWN, None, "the listeners were not gathered"
    transport = control.expected_for(profile)
    actual = [_listener_label(l) for l in listeners]
    # Compatibility listeners are judged by compatibility_listeners_off.
    found = [l for l in listeners if str(l.get("transport", "")).upper() == transport
             and _listener_source(l) != "Compatibility"]
    if found:
        return FAIL, actual, "%s listener present: %s" % (transport, ", ".join(_listener_label(l) for l in found))
    return PASS, actual, ""


def _rule_cbt(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    level, _source = read_setting(info, control.settings[0])
    if level is MISSING:
        return UNKNOWN, None, "the configuration was not gathered"
    if profile == "domain_kerberos":
        listeners = _enabled_listeners(info)
        if listeners is None:
            return UNKNOWN, level, "the listeners were not gathered"
        if not any(str(l.get("transport", "")).upper() == "HTTPS" for l in listeners):
            return NOT_APPLICABLE, level, "no HTTPS listener: channel binding applies to TLS only"
    if str(level).lower() == "strict":
        return PASS, level, ""
    return FAIL, level, "expected Strict"


def _rule_not_wildcard(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    hosts, _source = read_setting(info, control.settings[0])
    if hosts is MISSING:
        return UNKNOWN, None, "the configuration was not gathered"
    hosts = hosts.split(",") if isinstance(hosts, str) else list(hosts or [])
    if any(str(h).strip() == "*" for h in hosts):
        return FAIL, hosts, "TrustedHosts '*' trusts every server with NTLM credentials"
    return PASS, hosts, ""


def _allowed_trustees(values: t.Iterable[t.Any]) -> set[str]:
    """Administrators and the ``allowed_sddl_trustees``, each as the parser names a trustee (a SID, or
    the alias of a domain-relative group), so BA, S-1-5-32-544 and BUILTIN\\Administrators are one."""
    allowed = {sddl_parser.resolve_trustee("BA")}
    for value in values:
        try:
            allowed.add(sddl_parser.resolve_trustee(str(value)))
        except ValueError as error:
            raise ValueError("allowed_sddl_trustees: %s" % error) from None
    return allowed


def _trustee_label(grant: t.Any) -> str:
    """'NT AUTHORITY\\INTERACTIVE (IU)': the name, and the token allowed_sddl_trustees takes."""
    token = sddl_parser.sid_token(grant.trustee)
    return grant.name if grant.name == token else "%s (%s)" % (grant.name, token)


def _rule_sddl(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    sddl, _source = read_setting(info, control.settings[0])
    if sddl is MISSING:
        return UNKNOWN, None, "the configuration was not gathered"
    try:
        grants = sddl_parser.grants(sddl)
    except sddl_parser.SddlError as error:
        return FAIL, sddl, "RootSDDL is not a security descriptor Windows accepts: %s" % error
    # A trustee has access when its allow ACEs leave it some right after its own denies: a conditional
    # allow ([MS-DTYP] 2.4.4.17) counts, as its condition may hold; an allow ACE with mask 0 grants nothing.
    extra = [_trustee_label(grant) for grant in grants
             if grant.effective and grant.trustee not in options["allowed_sddl_trustees"]]
    if extra:
        return FAIL, sddl, "access also granted to %s" % ", ".join(extra)
    return PASS, sddl, ""


def _listener_certificates(info: t.Mapping[str, t.Any]) -> list[t.Mapping[str, t.Any]] | None:
    views, _source = read_setting(info, "certificates.listeners")
    return None if views is MISSING else list(views or [])


def _certificate_rule(check: t.Callable[[t.Mapping[str, t.Any], dict], str | None]):
    """A rule over every HTTPS listener's certificate: ``check`` says what is wrong with one, or None."""
    def rule(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
        views = _listener_certificates(info)
        if views is None:
            listeners = _enabled_listeners(info)
            if listeners is not None and not any(str(l.get("transport", "")).upper() == "HTTPS" for l in listeners):
                return NOT_APPLICABLE, [], "no HTTPS listener"
            return UNKNOWN, None, "the certificates were not gathered (wsman.winrm.info gather: certificates)"
        if not views:
            return NOT_APPLICABLE, [], "no HTTPS listener"
        actual = [_certificate_label(view) for view in views]
        known = [view for view in views if view.get("in_store") is not None]
        problems = [problem for problem in (check(view, options) for view in known) if problem]
        if problems:
            return FAIL, actual, "; ".join(problems)
        if len(known) < len(views):
            return UNKNOWN, actual, "Windows chooses the certificate of a listener it creates without one"
        return PASS, actual, ""
    return rule


def _reason_messages(view: t.Mapping[str, t.Any], *codes: str) -> list[str]:
    return [r.get("message", "") for r in view.get("reasons") or [] if r.get("code") in codes]


def _check_present(view: t.Mapping[str, t.Any], options: dict) -> str | None:
    if view.get("in_store"):
        return None
    return "port %s: %s" % (view.get("port"), "; ".join(_reason_messages(view, "missing")) or "not in the store")


def _check_expiry(view: t.Mapping[str, t.Any], options: dict) -> str | None:
    if not view.get("in_store"):
        return None  # listener_certificate_present reports it
    days, limit = view.get("days_left"), int(options.get("certificate_expiry_days", 30))
    if days is None or days > limit:
        return None
    state = "expired %d days ago" % -days if days < 0 else "expires in %d days" % days
    renewed = " (renewed by %s, which the listener does not use)" % view["renewed_by"] if view.get("renewed_by") else ""
    return "port %s: %s %s%s, limit %d days" % (view.get("port"), view.get("certificate_thumbprint"), state,
                                                renewed, limit)


def _check_hostname(view: t.Mapping[str, t.Any], options: dict) -> str | None:
    messages = _reason_messages(view, "name_mismatch")
    return "port %s: %s" % (view.get("port"), "; ".join(messages)) if messages else None


def _check_issuer(view: t.Mapping[str, t.Any], options: dict) -> str | None:
    messages = _reason_messages(view, "untrusted_issuer")
    if not messages and view.get("self_signed"):
        # The control asks for a CA: a self-signed certificate the host trusts (a copy in its Root
        # store) is still one no client trusts until each gets a copy too.
        messages = ["%s is self-signed: its copy in the host's Root store makes the host trust it, not the clients "
                    "that connect" % view.get("certificate_thumbprint")]
    return "port %s: %s" % (view.get("port"), "; ".join(messages)) if messages else None


def _rule_verdict(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    found = info.get("verdict")
    if not isinstance(found, t.Mapping) or not found.get("verdict"):
        return UNKNOWN, None, "the verdict was not gathered (wsman.winrm.info gather: [verdict])"
    code, reason = found["verdict"], str(found.get("summary") or found["verdict"])
    status = {verdicts.SECURE_HTTPS: PASS, verdicts.SECURE_HTTP: PASS, verdicts.UNKNOWN: UNKNOWN}.get(code, FAIL)
    if status == FAIL and found.get("changes"):
        reason += "; to change: " + "; ".join(found["changes"])
    recommended = found.get("recommended_profile")
    if recommended and recommended != profile:
        reason += "; the best verdict for this host (%s) comes with the %s profile, not %s" % (
            found.get("best_possible"), recommended, profile)
    elif recommended:
        reason += "; the %s profile is the one that reaches %s for this host" % (profile, found.get("best_possible"))
    return status, code, reason


_LOCAL_SUBNET_TOKENS = {"localsubnet", "localsubnet4", "localsubnet6"}


def _port_token_covers(token: t.Any, ports: t.Iterable[int]) -> bool:
    """Whether a LocalPort token (Any, 5985, 5985-5986) covers one of the ports."""
    text = str(token).strip()
    if text.lower() == "any":
        return True
    low, _sep, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        return False
    return any(int(low) <= port <= int(high or low) for port in ports)


def _rule_firewall(control: Control, info: t.Mapping[str, t.Any], profile: str, options: dict) -> Verdict:
    """The WinRM exposure (every enabled inbound allow rule for a WinRM port); fail when one of them
    admits more than the local subnet on the Public profile."""
    rules, _source = read_setting(info, control.settings[0])
    if rules is MISSING:
        return UNKNOWN, None, "the firewall rules were not gathered (wsman.winrm.info gather: [firewall])"
    open_rules = [rule for rule in rules or [] if rule.get("enabled") and rule.get("direction", "inbound") == "inbound"
                  and rule.get("action", "allow") == "allow"]
    listeners = _enabled_listeners(info)
    if listeners is not None:
        # Exposure is where WinRM listens: a rule for a port no listener uses (port 80 after the
        # compatibility listener was turned off) admits nothing of WinRM's.
        ports = {int(l["port"]) for l in listeners if str(l.get("port", "")).isdigit()}
        open_rules = [rule for rule in open_rules if any(_port_token_covers(token, ports)
                                                         for token in rule.get("local_ports") or ["Any"])]
    actual = ["%s: %s %s, %s, from %s" % (rule.get("name"), rule.get("protocol") or "Any",
                                          ",".join(rule.get("local_ports") or ["Any"]),
                                          "+".join(rule.get("profiles") or ["any"]),
                                          ",".join(rule.get("remote_addresses") or ["Any"])) for rule in open_rules]
    wide = [rule for rule in open_rules if {"public", "any"} & set(rule.get("profiles") or ["any"])
            and any(str(address).lower() not in _LOCAL_SUBNET_TOKENS for address in rule.get("remote_addresses") or ["Any"])]
    if wide:
        return FAIL, actual, "open beyond the local subnet on public networks: %s" % "; ".join(
            "%s (%s)" % (rule.get("name"), ", ".join(rule.get("remote_addresses") or ["Any"])) for rule in wide)
    return PASS, actual, ""


RULES: dict[str, t.Callable[[Control, t.Mapping[str, t.Any], str, dict], Verdict]] = {
    "cert_present": _certificate_rule(_check_present),
    "cert_expiry": _certificate_rule(_check_expiry),
    "cert_hostname": _certificate_rule(_check_hostname),
    "cert_issuer": _certificate_rule(_check_issuer),
    "policy": _rule_policy,
    "deviation": _rule_deviation,
    "all_equal": _rule_all_equal,
    "listener_present": _rule_listener_present,
    "listener_absent": _rule_listener_absent,
    "cbt": _rule_cbt,
    "not_wildcard": _rule_not_wildcard,
    "sddl": _rule_sddl,
    "verdict": _rule_verdict,
    "firewall": _rule_firewall,
}


def _same(actual: t.Any, expected: t.Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _as_bool(actual) == _as_bool(expected)
    if isinstance(expected, int):
        try:
            return int(actual) == expected
        except (TypeError, ValueError):
            return False
    return str(actual).lower() == str(expected).lower()


def _as_bool(value: t.Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return {"true": True, "false": False, "1": True, "0": False}.get(str(value).strip().lower())


# ----------------------------------------------------------------------------------------------
# Presentation: the setting as an admin knows it, the fix, the change an apply makes
# ----------------------------------------------------------------------------------------------

def winrm_setting(path: str) -> str:
    """A dotted config path as ``winrm get`` shows it: ``service.auth.basic`` -> ``winrm/config/Service/Auth Basic``."""
    if path == "listeners":
        return "winrm/config/Listener"
    # The config model is imported here: this module stays importable with the standard library alone.
    from ansible_collections.wsman.winrm.plugins.module_utils.config import Section, WinRMConfig

    resource: t.Any = WinRMConfig
    names = ["winrm/config"]
    parts = path.split(".")
    for index, part in enumerate(parts):
        member = next((m for m in resource.MEMBERS if m.option == part), None)
        if member is None:
            return path
        if isinstance(member, Section):
            names.append(member.xml)
            resource = member.resource
        else:
            return "%s %s" % ("/".join(names), member.xml) if index == len(parts) - 1 else path
    return "/".join(names)


def _policy_settings_of(control: Control) -> list[PolicySetting]:
    """The policy values a control is about: those it names, then those holding its config settings."""
    found: list[PolicySetting] = []
    for path in control.settings + control.evidence:
        if path.startswith("policy:"):
            key, _sep, name = path[len("policy:"):].rpartition("\\")
            found.append(policy_setting(key, name))
    for path in control.settings:
        if not path.startswith("policy:") and path != "listeners":
            found += [setting for setting in POLICY_SETTINGS if path in setting.controls
                      and setting.type == "DWORD" and not setting.name.endswith("Status")]
    return list(dict.fromkeys(found))


def _config_paths_of(control: Control) -> list[str]:
    paths = [p for p in control.settings + control.evidence if not p.startswith("policy:")]
    return list(dict.fromkeys(paths))


_PRESENTATION: dict[tuple[str, str], tuple[dict[str, str], str]] = {}


def presentation(control: Control, profile: str) -> tuple[dict[str, str], str]:
    """(setting, fix) of a control: the Group Policy path and name, the registry value and the
    ``winrm`` setting; how to fix it. The same for every host, so computed once per profile."""
    cached = _PRESENTATION.get((control.id, profile))
    if cached is not None:
        return cached
    policies = _policy_settings_of(control)
    setting = {}
    if policies:
        setting["group_policy"] = "; ".join(dict.fromkeys("%s > %s" % (p.location, p.title) for p in policies))
        setting["registry"] = "; ".join("%s (%s)" % (p.full_name, "REG_DWORD" if p.type == "DWORD" else "REG_SZ")
                                        for p in policies)
    configs = _config_paths_of(control)
    if configs:
        setting["winrm"] = "; ".join(winrm_setting(path) for path in configs)
    result = (setting, _fix_text(control, profile, policies, configs))
    _PRESENTATION[(control.id, profile)] = result
    return result


def _winrm_value(value: t.Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _winrm_set(path: str, value: t.Any) -> str:
    """The ``winrm set`` command that gives a config setting a value (Microsoft Learn, "Installation
    and configuration for Windows Remote Management")."""
    uri, _sep, element = winrm_setting(path).rpartition(" ")
    return 'winrm set %s @{%s="%s"}' % (uri, element, _winrm_value(value))


def _fix_text(control: Control, profile: str, policies: list[PolicySetting], configs: list[str]) -> str:
    if control.always_deviation:
        return "Not applied while the host is %s: %s" % (control.always_deviation, control.description or "")
    if profile in control.not_applicable:
        return "Nothing to do for this profile (%s)." % control.not_applicable[profile]
    expected = control.expected_for(profile)
    if control.rule == "policy":
        value = policies[0]
        return ("Group Policy: set '%s' (%s) to %s; it writes %s = %s. The role writes it with "
                "secure_baseline_write_policy: true." % (value.title, value.location,
                                                         group_policy_state(value, expected), value.full_name, expected))
    if control.fix:
        return control.fix
    commands = ["%s" % _winrm_set(path, expected) for path in control.settings if path not in ("listeners",)]
    text = "; ".join(commands)
    held = {"'%s' (%s)" % (p.title, p.location): p for p in policies}
    if held:
        state = "Not Configured or Disabled" if isinstance(expected, bool) else "Enabled with %s" % expected
        text += ". Where Group Policy holds it: %s %s" % ("; ".join(held), state)
    return text


def with_changes(rows: list[dict[str, t.Any]], before: t.Sequence[t.Mapping[str, t.Any]],
                 after: t.Sequence[t.Mapping[str, t.Any]], applied: bool) -> list[dict[str, t.Any]]:
    """``rows`` with a ``change`` on each control whose evidence differs between ``before`` and
    ``after``: what an apply would change (check mode: ``after`` is the plan's prediction) or what the
    apply changed. ``change``: ``applied``, ``status`` (``from``/``to``) and ``settings``
    (``setting``, ``from``, ``to`` per value that changes)."""
    old = {row["id"]: row for row in before}
    new = {row["id"]: row for row in after}
    annotated = []
    for row in rows:
        was, will = old.get(row["id"]), new.get(row["id"])
        if was is None or will is None or was is will:
            annotated.append(row)
            continue
        values = {item["setting"]: item.get("value") for item in was.get("evidence") or []}
        settings = [{"setting": item["setting"], "from": values.get(item["setting"]), "to": item.get("value")}
                    for item in will.get("evidence") or [] if values.get(item["setting"]) != item.get("value")]
        if settings or was["status"] != will["status"]:
            row = dict(row, change={"applied": applied, "status": {"from": was["status"], "to": will["status"]},
                                    "settings": settings})
        annotated.append(row)
    return annotated


def stig_for_system(system: t.Mapping[str, t.Any] | None) -> tuple[str | None, str | None, str]:
    """(STIG version, role, why) for a host's ``Win32_OperatingSystem``/``Win32_ComputerSystem``
    reading (the ``system`` part of ``wsman.winrm.info``); (None, role, why) when no STIG of the
    catalog covers that Windows version."""
    if not system:
        return None, None, "the operating system was not read"
    version = str(system.get("os_version") or "")
    parts = version.split(".")
    try:
        build = int(system.get("build_number") or (parts[2] if len(parts) > 2 else ""))
    except (TypeError, ValueError):
        build = 0
    domain_role, product_type = system.get("domain_role"), system.get("product_type")
    controller = domain_role in (4, 5) or product_type == 2
    server = controller or domain_role in (2, 3) or product_type == 3
    role = "domain_controller" if controller else "member_server" if server else "workstation"
    caption = system.get("os_caption") or "Windows %s" % version
    if not version.startswith("10."):
        return None, role, "%s (%s): no STIG of the catalog covers it" % (caption, version)
    if server:
        stig = _SERVER_BUILDS.get(build)
    else:
        stig = "win11" if build >= _WINDOWS_11_FIRST_BUILD else "win10"
    if stig is None:
        return None, role, "%s (build %s): no STIG of the catalog covers it" % (caption, build)
    return stig, role, "%s, build %s, %s" % (caption, build, role.replace("_", " "))


AUTO_STIG = "auto"


def choose_stig(requested: str | None, system: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The STIG a host is judged against: ``version``, ``role``, ``source`` (pinned | detected | default)
    and ``reason``. ``auto`` picks it from the host's Windows version and domain role; a version the
    user gives is kept (the role still comes from the host when it was read)."""
    detected, role, reason = stig_for_system(system)
    if requested and requested != AUTO_STIG:
        if requested not in STIGS:
            raise ValueError("unknown STIG %r; choose one of %s or %s" % (requested, ", ".join(STIGS), AUTO_STIG))
        return {"version": requested, "title": STIGS[requested], "release": STIG_RELEASES.get(requested),
                "role": role, "source": "pinned", "reason": "pinned by the user; host: %s" % reason}
    if requested == AUTO_STIG and detected:
        return {"version": detected, "title": STIGS[detected], "release": STIG_RELEASES.get(detected),
                "role": role, "source": "detected", "reason": reason}
    why = reason if requested == AUTO_STIG else "no STIG asked for"
    return {"version": DEFAULT_STIG, "title": STIGS[DEFAULT_STIG], "release": STIG_RELEASES.get(DEFAULT_STIG),
            "role": role, "source": "default", "reason": "%s; the catalog's default is used" % why}


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------

def evaluate(info_result: t.Mapping[str, t.Any], profile: str = "domain_kerberos",
             benchmark: str = DEFAULT_BENCHMARK, stig: str = DEFAULT_STIG,
             deviations: t.Mapping[str, str] | None = None,
             allowed_sddl_trustees: t.Iterable[str] = (), certificate_expiry_days: int = 30,
             stig_role: str | None = None) -> list[dict[str, t.Any]]:
    """Every control judged against one host's ``wsman.winrm.info`` result.

    ``deviations`` maps a control id (or its CIS or STIG id) to the reason it is deliberately not
    followed: such a control that fails is reported as ``deviation`` with that reason, and the
    status it would otherwise have in ``evaluated_status``. ``allowed_sddl_trustees`` are the SIDs or SDDL
    aliases RootSDDL may grant besides Administrators. ``certificate_expiry_days``: a listener certificate
    with this many days left or fewer fails listener_certificate_expiry. ``stig_role`` (workstation,
    member_server, domain_controller) drops the STIG IDs the STIG does not give that role (a "-MS-" rule
    on a domain controller). Each row also says the setting as an admin knows it (``setting``) and the ``fix``.
    """
    _check_choices(profile, benchmark, stig)
    if not isinstance(info_result, t.Mapping):
        raise ValueError("evaluate() needs the result of wsman.winrm.info (a dict), got %s"
                         % type(info_result).__name__)
    deviations = dict(deviations or {})
    known = set(CONTROLS_BY_ID)
    for control in CONTROLS:
        known |= {r for r in (cis_id(control, benchmark), control.stig.get(stig)) if r}
    unknown_ids = sorted(set(deviations) - known)
    if unknown_ids:
        raise ValueError("deviations name unknown controls: %s" % ", ".join(unknown_ids))
    if stig_role is not None and stig_role not in STIG_ROLES:
        raise ValueError("unknown STIG role %r; choose one of %s" % (stig_role, ", ".join(STIG_ROLES)))
    options = {"allowed_sddl_trustees": _allowed_trustees(allowed_sddl_trustees or ()),
               "certificate_expiry_days": int(certificate_expiry_days)}

    results = []
    for control in CONTROLS:
        if control.optional and read_setting(info_result, control.settings[0])[0] is MISSING:
            continue
        references = control.references(benchmark, stig, stig_role)
        setting, fix = presentation(control, profile)
        if profile in control.not_applicable:
            status, actual, reason = NOT_APPLICABLE, None, control.not_applicable[profile]
        else:
            status, actual, reason = RULES[control.rule](control, info_result, profile, options)
        if status == FAIL:
            held = _held_by_policy(info_result, control)
            if held:
                reason = "%s; held by Group Policy: %s - change it where that policy is set" % (reason, "; ".join(held))
        result = {
            "id": control.id,
            "title": control.title,
            "severity": control.severity,
            "references": references,
            "expected": _expected_text(control, profile) if control.rule != "cert_expiry"
            else "more than %d days left" % options["certificate_expiry_days"],
            "actual": actual,
            "status": status,
            "reason": reason,
            "evidence": _evidence(info_result, control.settings + control.evidence),
            "setting": setting,
            "fix": fix,
        }
        declared = [deviations[key] for key in (control.id, references["cis"], references["stig"])
                    if key and key in deviations]
        # A declared deviation explains a failure; a control that passes or cannot be judged keeps
        # its status, so the report never hides what was actually seen.
        if declared and status in (FAIL, DEVIATION):
            result.update(status=DEVIATION, reason=declared[0], evaluated_status=status)
        results.append(result)
    return results


def _held_by_policy(info: t.Mapping[str, t.Any], control: Control) -> list[str]:
    """The configured policy values that hold a control's settings, each with its Group Policy
    setting and where it is in the Group Policy editor (the settings Windows marks Source="GPO")."""
    held = []
    gpo = set(info.get("gpo_controlled") or [])
    for item in info.get("policy") or []:
        try:
            setting = policy_setting(str(item.get("path", "")), str(item.get("name", "")))
        except KeyError:
            continue
        if any(path in gpo and path in setting.controls for path in control.settings):
            held.append("%s = %s (%s)" % (setting.full_name, item.get("value"), setting.describe().split(" (", 1)[1][:-1]))
    return held


def summarize(results: t.Iterable[t.Mapping[str, t.Any]]) -> dict[str, int]:
    """Counts per status and in total."""
    counts = {status: 0 for status in STATUSES}
    total = 0
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
        total += 1
    counts["total"] = total
    return counts


def judgement(options: t.Mapping[str, t.Any], system: t.Mapping[str, t.Any] | None) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """``evaluate``'s keyword arguments for the converge action's ``controls`` options, and the STIG
    chosen for the host (``choose_stig``)."""
    stig = choose_stig(options.get("stig"), system)
    return {"profile": options["profile"], "benchmark": options.get("benchmark") or DEFAULT_BENCHMARK,
            "stig": stig["version"], "stig_role": stig["role"], "deviations": options.get("deviations") or {},
            "allowed_sddl_trustees": options.get("allowed_sddl_trustees") or [],
            "certificate_expiry_days": options.get("certificate_expiry_days", 30)}, stig


__all__ = [
    "BENCHMARKS", "CONTROLS", "CONTROLS_BY_ID", "Control", "DEFAULT_BENCHMARK", "DEFAULT_STIG", "DEVIATION",
    "FAIL", "MANAGED_OVER_WINRM", "NOT_APPLICABLE", "PASS", "PROFILES", "STATUSES", "STIGS", "UNKNOWN",
    "AUTO_STIG", "STIG_RELEASES", "STIG_ROLES", "choose_stig", "judgement", "STIG_VULNS", "catalog", "cis_id", "evaluate", "presentation", "read_setting",
    "stig_for_system", "summarize", "winrm_setting", "with_changes",
]
