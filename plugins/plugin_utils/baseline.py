# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secure baseline as data: the role's variables -> the desired state wsman.winrm.converge takes.

The role ``wsman.winrm.secure_baseline`` documents its ``secure_baseline_*`` variables
(``meta/argument_specs.yml``, ``defaults/main.yml``) and hands them to the converge action
(``baseline: secure_baseline``), which reads them here. Building the desired state in Python rather
than in Jinja keeps one place for the profiles' choices, reads the same under every ansible-core
(no templated nulls) and costs a fraction of the per-host templating.

Profiles: Microsoft Learn, "PowerShell Remoting Security Considerations" (HTTPS where NTLM cannot
authenticate the server, Kerberos encrypts HTTP on a domain), and the STIG/CIS WinRM controls.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.parsing.convert_bool import boolean

# "auto": the profile that reaches the best verdict for the host's situation (module_utils/verdict.py),
# chosen per host by wsman.winrm.converge from its domain membership.
AUTO = "auto"
PROFILES = {
    "domain_kerberos": {"remove_http_listener": False, "service_auth_kerberos": True, "service_auth_certificate": False},
    "workgroup_https": {"remove_http_listener": True, "service_auth_kerberos": None, "service_auth_certificate": False},
    "certificate_only": {"remove_http_listener": True, "service_auth_kerberos": None, "service_auth_certificate": True},
}
# The CIS level 2 controls that cut off remote management are never applied: reported with the reason.
MANAGED_OVER_WINRM = {
    "service_auto_config": "managed over WinRM: AllowAutoConfig=0 would stop remote management",
    "remote_shell_access": "managed over WinRM: AllowRemoteShellAccess=0 would stop remote shells",
}
# The role's variables (without the prefix) and their defaults, as defaults/main.yml sets them.
VARIABLES: dict[str, t.Any] = {
    "profile": AUTO, "https_listener": True, "https_port": 5986, "https_connection_port": None,
    "certificate_thumbprint": "", "certificate": "auto", "certificate_issuer": "", "certificate_template": "",
    "certificate_min_days_left": 0, "certificate_renew_within_days": 30, "https_hostname": "",
    "remove_http_listener": None, "https_firewall": True, "https_firewall_remote_addresses": None,
    "compatibility_listeners": False, "service_auth_kerberos": None, "service_auth_negotiate": True,
    "service_auth_certificate": None, "cbt_hardening_level": None,
    "root_sddl": "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)", "client_trusted_hosts": None,
    "write_policy": True, "override_conflicting_policy": False, "local_account_token_filter_policy": None,
    "policy_controlled": "skip", "report": True, "report_dir": "compliance", "report_name": "secure_baseline",
    "report_markdown_template": None, "report_html_template": None,
    "benchmark": "cis_ws2022_v3", "stig": "auto", "deviations": {}, "allowed_sddl_trustees": [],
    "fail_on_noncompliance": False,
}
_BOOLEANS = {"https_listener", "https_firewall", "remove_http_listener", "compatibility_listeners", "service_auth_kerberos",
             "service_auth_negotiate", "service_auth_certificate", "write_policy", "override_conflicting_policy",
             "report", "fail_on_noncompliance"}


def _bool(name: str, value: t.Any) -> bool | None:
    """As Ansible reads a boolean (yes/no, on/off, 1/0, true/false); None stays unset."""
    if value is None:
        return None
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError("%s must be true or false, got %r" % (name, value)) from None


def variables(prefix: str, get: t.Callable[[str], t.Any]) -> dict[str, t.Any]:
    """The role's variables through ``get(full name)`` (which raises KeyError for an unset one)."""
    values = {}
    for name, default in VARIABLES.items():
        try:
            value = get("%s_%s" % (prefix, name))
        except KeyError:
            value = default
        values[name] = _bool("%s_%s" % (prefix, name), value) if name in _BOOLEANS else value
    if values["profile"] not in PROFILES and values["profile"] != AUTO:
        raise ValueError("%s_profile must be one of %s or %s, got %r"
                         % (prefix, ", ".join(PROFILES), AUTO, values["profile"]))
    if values["certificate"] not in ("auto", "", None):
        raise ValueError("%s_certificate must be auto (chosen from the host's store) or empty (left to Windows), got %r"
                         % (prefix, values["certificate"]))
    for name in ("certificate_min_days_left", "certificate_renew_within_days"):
        try:
            values[name] = int(values[name])
        except (TypeError, ValueError):
            raise ValueError("%s_%s must be a number of days, got %r" % (prefix, name, values[name])) from None
    return values


def desired_state(values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The converge action's options for these variables (an option's value left out: unmanaged).

    The profile ``auto`` is resolved per host first (plugin_utils/remoting.py ``choose_profile``)."""
    if values["profile"] not in PROFILES:
        raise ValueError("profile %r: choose the host's profile before building its desired state" % values["profile"])
    choice = PROFILES[values["profile"]]

    def chosen(name: str) -> t.Any:
        return values[name] if values[name] is not None else choice.get(name)

    https = bool(values["https_listener"])
    service_auth: dict[str, t.Any] = {
        "basic": False, "credssp": False, "negotiate": bool(values["service_auth_negotiate"]),
        "cbt_hardening_level": values["cbt_hardening_level"] or ("Strict" if https else "Relaxed"),
    }
    for switch in ("kerberos", "certificate"):
        if chosen("service_auth_" + switch) is not None:
            service_auth[switch] = bool(chosen("service_auth_" + switch))
    service: dict[str, t.Any] = {"allow_unencrypted": False, "auth": service_auth}
    if values["root_sddl"]:
        service["root_sddl"] = values["root_sddl"]
    trusted = values["client_trusted_hosts"]
    state: dict[str, t.Any] = {
        "service": service,
        # TrustedHosts: exactly the given list, or (by default) whatever it is minus '*'.
        "client": {"allow_unencrypted": False, "auth": {"basic": False, "digest": False, "credssp": False},
                   "trusted_hosts": list(trusted) if trusted is not None else ["*"],
                   "trusted_hosts_mode": "set" if trusted is not None else "remove"},
        "compatibility_listeners": {"http": bool(values["compatibility_listeners"]),
                                    "https": bool(values["compatibility_listeners"])},
        "policy_conflicts": "override" if values["override_conflicting_policy"] else "keep",
        "policy_controlled": values["policy_controlled"],
        "controls": {"profile": values["profile"], "benchmark": values["benchmark"], "stig": values["stig"],
                     "allowed_sddl_trustees": list(values["allowed_sddl_trustees"] or []),
                     # The expiry control flags what the certificate choice below re-binds.
                     "certificate_expiry_days": values["certificate_renew_within_days"],
                     "deviations": dict(MANAGED_OVER_WINRM, **(values["deviations"] or {}))},
        "fail_on_noncompliance": bool(values["fail_on_noncompliance"]),
    }
    if values["write_policy"]:
        # The Group Policy values of the six STIG/CIS controls (what scanners read).
        policy: dict[str, t.Any] = {
            "client": {"allow_basic": False, "allow_unencrypted_traffic": False, "allow_digest": False},
            "service": {"allow_basic": False, "allow_unencrypted_traffic": False, "disable_run_as": True}}
        if values["local_account_token_filter_policy"] is not None:
            policy["local_account_token_filter_policy"] = values["local_account_token_filter_policy"]
        state["policy"] = policy
    if https:
        port = int(values["https_port"])
        state["https"] = {"port": port, "connection_port": int(values["https_connection_port"] or port),
                          "remove_http": bool(chosen("remove_http_listener")),
                          "firewall": bool(values["https_firewall"])}
        if values["https_firewall_remote_addresses"]:
            state["https"]["firewall_remote_addresses"] = list(values["https_firewall_remote_addresses"])
        if values["certificate_thumbprint"]:
            state["https"]["certificate_thumbprint"] = values["certificate_thumbprint"]
        elif values["certificate"] == "auto":
            criteria = {"issuer": values["certificate_issuer"] or None, "template": values["certificate_template"] or None,
                        "min_days_left": values["certificate_min_days_left"]}
            state["https"].update(certificate="auto", certificate_criteria=criteria,
                                  renew_within_days=values["certificate_renew_within_days"])
        if values["https_hostname"]:
            state["https"]["hostname"] = values["https_hostname"]
    if values["report"]:
        state["report"] = {"dir": values["report_dir"], "labels": {"role": "wsman.winrm.secure_baseline"}}
        for kind in ("markdown", "html"):
            if values["report_%s_template" % kind]:
                state["report"]["%s_template" % kind] = values["report_%s_template" % kind]
    return state
