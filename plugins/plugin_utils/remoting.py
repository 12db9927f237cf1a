# Copyright (c) 2026 wsman.winrm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell remoting security for wsman.winrm.info: what each extra part reads, and the report.

Parts beyond the configuration (read only when asked, issue 9's request budget):

- ``system``: Win32_ComputerSystem and Win32_OperatingSystem (2 Enumerates).
- ``session_configurations``: every plugin of ``winrm/config/plugin`` (1 Enumerate).
- ``access``: who may connect, effectively (module_utils/access.py): the configuration and the
  listeners, the plugins, the local groups and their members (2 Enumerates), the
  LocalAccountTokenFilterPolicy value (1 StdRegProv call unless the policy part was read), the
  firewall rules (3 Enumerates) and the network profile (1 Enumerate).
- ``verdict``: module_utils/verdict.py from Win32_ComputerSystem, the listeners, the service's
  auth switches, AllowUnencrypted, and whether the controller validates the HTTPS listener's
  certificate (the task's own HTTPS session says so; over HTTP, one TLS handshake with the
  endpoint's trust settings, no WS-Man request).
"""

from __future__ import annotations

import socket
import ssl
import typing as t

from ansible_collections.wsman.winrm.plugins.module_utils import access, computer, guards, resources
from ansible_collections.wsman.winrm.plugins.module_utils import session_configurations as configurations_model
from ansible_collections.wsman.winrm.plugins.plugin_utils import firewall as firewall_plans
from ansible_collections.wsman.winrm.plugins.module_utils.verdict import AUTH_METHODS, PROFILE_FOR, security_verdict

PARTS = ("system", "session_configurations", "access", "verdict")
# The configuration parts (resources.read_all) each remoting part needs.
CONFIG_NEEDS = {"access": {"config", "listeners"}, "verdict": {"config", "listeners"}}
NETWORK_CATEGORIES = {0: "public", 1: "private", 2: "domain"}
NETWORK_PROFILE_URI = resources.CIM_STANDARD_URI + "MSFT_NetConnectionProfile"


def config_parts(parts: t.Iterable[str]) -> t.Set[str]:
    """The read_all parts a gather list needs: those asked for, and those the remoting parts use."""
    wanted = set(parts)
    needed = wanted & set(resources.ALL_PARTS)
    for part in wanted & set(PARTS):
        needed |= CONFIG_NEEDS.get(part, set())
    return needed


def token_filter_policy(session: t.Any, snapshot: resources.ConfigSnapshot) -> t.Optional[bool]:
    value = snapshot.policy.get(resources.SYSTEM_POLICIES, "LocalAccountTokenFilterPolicy") \
        if snapshot.policy.values else resources.registry_get_value(
            session, resources.SYSTEM_POLICIES, "LocalAccountTokenFilterPolicy", "DWORD")
    return value == 1


def network_profile(session: t.Any) -> t.Optional[str]:
    """The firewall profile of the host's network now (MSFT_NetConnectionProfile NetworkCategory)."""
    categories = set()
    for element in session.enumerate(NETWORK_PROFILE_URI):
        instance = resources.CimInstance.from_xml(element)
        categories.add(instance.get_int("NetworkCategory", -1))
    names = [NETWORK_CATEGORIES[c] for c in sorted(categories) if c in NETWORK_CATEGORIES]
    return "/".join(names) or None


PROBE_SECONDS = 5


def https_certificate_validated(endpoint: t.Any, listeners: t.Sequence[t.Any],
                                firewall: t.Optional[t.Sequence[t.Any]] = None) -> t.Optional[bool]:
    """Whether the controller validates the HTTPS listener's certificate; None without one or when
    it cannot be reached. ``firewall``: the host's rules when they were read (``FirewallRule``s):
    when none admits the controller to the listener's port, the probe is not sent (it would wait
    out its timeout on a port the firewall drops, for the same None)."""
    https = [l for l in listeners if (l.get("transport") or "").upper() == "HTTPS" and l.get("enabled", True)]
    if not https:
        return None
    if endpoint.scheme == "https":
        return bool(endpoint.cert_validation or endpoint.cert_fingerprint)   # a pinned certificate is validated too
    if firewall is not None:
        controller, host = firewall_plans.controller_address(endpoint)
        if not guards.firewall_admits_port([rule.to_dict() for rule in firewall], https[0].get("port"),
                                           controller, host or endpoint.host):
            return None
    context = ssl.create_default_context(cafile=endpoint.cert_validation if isinstance(endpoint.cert_validation, str)
                                         else None)
    try:
        port = int(https[0].get("port"))
        # A port the firewall drops answers nothing: wait a few seconds, not the connection timeout
        # (30 s by default), for a fact the verdict can also leave unknown.
        with socket.create_connection((endpoint.host, port), timeout=min(endpoint.connection_timeout, PROBE_SECONDS)) as raw:
            with context.wrap_socket(raw, server_hostname=endpoint.host):
                return True
    except ssl.SSLError:
        return False
    except (OSError, ValueError, TypeError):
        return None


def verdict_facts(view: t.Mapping[str, t.Any], domain_member: t.Optional[bool],
                  validated: t.Optional[bool]) -> t.Dict[str, t.Any]:
    """The verdict's facts from a configuration view (``ConfigSnapshot.to_dict``: service, listeners)."""
    service = view.get("service") or {}
    auth = service.get("auth") or {}
    return {
        "domain_member": domain_member,
        "listeners": [{"transport": (l.get("transport") or "").upper(), "port": l.get("port"),
                       "enabled": bool(l.get("enabled", True)), "source": l.get("source") or None}
                      for l in view.get("listeners") or []],
        "auth": {method: bool(auth.get(method)) for method in AUTH_METHODS},
        "allow_unencrypted": bool(service.get("allow_unencrypted")),
        "https_certificate_validated": validated,
    }


def verdict(view: t.Mapping[str, t.Any], domain_member: t.Optional[bool],
            validated: t.Optional[bool]) -> t.Dict[str, t.Any]:
    """The security verdict of a configuration view, with the facts it was judged from."""
    facts = verdict_facts(view, domain_member, validated)
    return dict(security_verdict(facts).to_dict(), facts=facts)


# ---- for wsman.winrm.converge: the verdict before, after and predicted, and the profile that reaches the best

def choose_profile(system: computer.SystemInfo) -> t.Tuple[str, str]:
    """The secure_baseline profile for this host's situation, and why (module_utils/verdict.py)."""
    if system.part_of_domain:
        return PROFILE_FOR[True], ("domain member (Win32_ComputerSystem PartOfDomain): domain_kerberos keeps HTTP "
                                   "with Kerberos message encryption and reaches secure_http")
    reason = "workgroup host" if system.part_of_domain is False else "domain membership unknown"
    return PROFILE_FOR[False], ("%s: NTLM cannot verify the server, workgroup_https moves WinRM to HTTPS and reaches "
                                "secure_https" % reason)


def with_verdict(view: t.Optional[t.Mapping[str, t.Any]], system: computer.SystemInfo,
                 validated: t.Optional[bool]) -> t.Optional[t.Dict[str, t.Any]]:
    """A configuration view with ``system`` and its ``verdict`` added (what the security_verdict control reads)."""
    if not view:
        return view
    return dict(view, system=system.to_dict(), verdict=verdict(view, system.part_of_domain, validated))


def writes_disable_run_as(changes: t.Iterable[str]) -> bool:
    """Whether a plan writes the DisableRunAs policy value (only then are the configurations read)."""
    return any(change.lower().endswith("\\service\\disablerunas") for change in changes)


def run_as_warnings(session: t.Any) -> t.List[str]:
    """Every session configuration that runs as another user: the DisableRunAs policy stops it."""
    return ["session configuration %s runs as %s: the policy 'Disallow WinRM from storing RunAs credentials' "
            "(DisableRunAs) erases its stored password and it will no longer open; use a virtual account (JEA) or "
            "a group managed service account" % (c.name, c.run_as_user)
            for c in configurations_model.read_all(session) if c.run_as_user]


def gather(session: t.Any, parts: t.Iterable[str], snapshot: resources.ConfigSnapshot) -> t.Dict[str, t.Any]:
    """The report keys of the remoting parts asked for."""
    wanted = set(parts) & set(PARTS)
    report: t.Dict[str, t.Any] = {}
    system = None
    if wanted & {"system", "verdict"}:
        system = computer.read_system(session, operating_system="system" in wanted)
        if "system" in wanted:
            report["system"] = system.to_dict()
    plugins = None
    if wanted & {"session_configurations", "access"}:
        plugins = configurations_model.read_all(session)
        if "session_configurations" in wanted:
            report["session_configurations"] = [c.to_dict() for c in plugins if c.kind == "powershell"]
            report["plugins"] = [c.to_dict() for c in plugins if c.kind != "powershell"]
    if "access" in wanted:
        groups = computer.read_local_groups(session)
        rules = resources.read_firewall_rules(session)
        report["local_groups"] = groups.to_list()
        report["who_may_connect"] = access.who_may_connect(
            snapshot.config.service.get("root_sddl"), plugins or [], snapshot.listeners, groups,
            token_filter_policy(session, snapshot), rules, network_profile(session))
    if "verdict" in wanted:
        report["verdict"] = verdict(snapshot.to_dict(parts={"config", "listeners"}), system.part_of_domain,
                                    https_certificate_validated(session.endpoint, snapshot.listeners))
    return report
