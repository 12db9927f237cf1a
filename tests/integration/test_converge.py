"""wsman.winrm.converge with ansible-playbook against simulated hosts of every profile.

Audit (check mode) changes nothing and predicts the apply's steps exactly; the apply moves the
host to HTTPS; a rerun changes nothing, also from the inventory that still names the HTTP endpoint.
A fault at each step of the HTTPS move (refused connection, timeout, fault reply), injected by a
WS-Management relay between the controller and the host, leaves the host exactly as it was and
reachable. Every outcome is read back with a plain pypsrp client (faultproxy.plain_state).
"""

from __future__ import annotations

import copy
import re
import shutil

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

from faultproxy import CONFIG, ProxiedHost, Rule, plain_client, plain_state
from harness import run_tasks

FLEET_PROFILES = "server2022,winrm11,upgraded11,gpo,workstation,server2022,server2022_jea"
REACHABLE = ("server2022", "winrm11", "upgraded11", "gpo")

BASELINE = {
    "service": {"allow_unencrypted": False, "root_sddl": "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)",
                "auth": {"basic": False, "credssp": False, "cbt_hardening_level": "Strict"}},
    "client": {"allow_unencrypted": False, "trusted_hosts": ["*"], "trusted_hosts_mode": "remove",
               "auth": {"basic": False, "digest": False, "credssp": False}},
    "compatibility_listeners": {"http": False, "https": False},
    "policy": {"client": {"allow_basic": False, "allow_unencrypted_traffic": False, "allow_digest": False},
               "service": {"allow_basic": False, "allow_unencrypted_traffic": False, "disable_run_as": True}},
    "https": {"port": 5986, "remove_http": True, "connection_port": "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"},
    "controls": {"profile": "workgroup_https"},
    "policy_controlled": "skip",
    "details": True,
}
SIX = ("client_basic", "client_unencrypted", "client_digest", "service_basic", "service_unencrypted", "service_runas")


def converge(**overrides):
    args = copy.deepcopy(BASELINE)
    args.update(overrides)
    return {"name": "Converge", "wsman.winrm.converge": args}


def by_profile(fleet, profile):
    return [(name, host_vars) for name, host_vars in sorted(fleet.hosts().items())
            if host_vars["wsman_winrm_sim_profile"] == profile]


class _Inventory:
    """run_tasks() needs only an inventory path."""

    def __init__(self, path):
        self.inventory_path = str(path)


@pytest.fixture(scope="module")
def original_inventory(fleet, tmp_path_factory):
    """The inventory as written at the start: it names the HTTP endpoints an apply removes."""
    path = tmp_path_factory.mktemp("inventory") / "inventory.yml"
    shutil.copy(fleet.inventory_path, path)
    return _Inventory(path)


def test_every_profile_audited_applied_and_rerun_with_no_change(fleet, original_inventory, tmp_path):
    targets = [name for profile in REACHABLE for name, _hv in by_profile(fleet, profile)[:1]]
    (workstation, _hv), = by_profile(fleet, "workstation")
    limit = ":".join(targets + [workstation])
    before = {name: plain_state(fleet.hosts()[name]) for name in targets}

    audit = run_tasks(fleet, [converge()], limit=limit, check=True, tmp_path=tmp_path / "audit")
    for name in targets:
        (result,) = audit[name]
        assert not result.get("failed"), (name, result.get("msg"))
        assert result["changed"] is True and result["steps"], name
        assert result["after"] == result["before"]  # an audit judges what is, and predicts the rest
        assert plain_state(fleet.hosts()[name]) == before[name], name  # nothing sent
    # No listener at all: the host is unreachable (refused), said in the recap, nothing else tried.
    assert workstation not in audit.results
    assert re.search(r"^%s\s+:.*unreachable=1" % workstation, audit.stdout, re.M), audit.stdout[-2000:]

    apply = run_tasks(fleet, [converge()], limit=":".join(targets), tmp_path=tmp_path / "apply")
    for name in targets:
        (result,) = apply[name]
        (predicted,) = audit[name]
        profile = fleet.hosts()[name]["wsman_winrm_sim_profile"]
        assert not result.get("failed"), (name, result.get("msg"))
        assert result["host_state"] == "after" and result["endpoint"]["scheme"] == "https"
        assert result["steps"] == predicted["steps"], name  # check mode predicted exactly this
        state = plain_state(fleet.hosts()[name], https=True)
        transports = {dict(item)["Transport"]: dict(item) for item in state["listeners"]
                      if dict(item)["Source"] != "Compatibility"}
        assert "HTTP" not in transports and transports["HTTPS"]["Port"] == "5986", (name, state["listeners"])
        assert state["config"]["/Service/Auth/CbtHardeningLevel"][0] == "Strict"
        assert state["config"]["/Service/Auth/Basic"][0] == "false"
        assert state["policy"][r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\AllowBasic"] == "0"
        predicted_view = copy.deepcopy(result["predicted"])
        for listener in predicted_view["listeners"]:
            if listener["transport"] == "HTTPS" and listener["certificate_thumbprint"] is None:
                # A new listener without a thumbprint: Windows picks the machine certificate for the host name.
                listener["certificate_thumbprint"] = fleet.hosts()[name]["wsman_winrm_sim_thumbprint"]
        # The certificate views of a listener Windows gives its certificate are known only after it
        # exists: the stores themselves are predicted exactly, the listener's view once it names one.
        after_view = copy.deepcopy(result["after"])
        predicted_certificates = predicted_view.pop("certificates", None) or {}
        after_certificates = after_view.pop("certificates", None) or {}
        for key in ("my", "trusted_issuers", "errors", "computer_names"):
            assert after_certificates.get(key) == predicted_certificates.get(key), (name, key)
        assert after_view == predicted_view or profile == "upgraded11", name
        failing = {c["id"]: c for c in result["compliance"]["after"] if c["status"] == "fail"}
        if profile == "upgraded11":
            # Group Policy turns the compatibility listeners on: left as it is, its control failed naming it.
            # ... and Windows' port-80 rule admits any address on public networks to the listener kept on 80.
            assert set(failing) == {"compatibility_listeners_off", "firewall_public_local_subnet"}, failing
            assert "WINRM-HTTP-Compat-In-TCP (Any)" in failing["firewall_public_local_subnet"]["reason"]
            assert "Turn On Compatibility HTTP Listener" in failing["compatibility_listeners_off"]["reason"]
            assert sorted(result["policy_skipped"]) == ["service.enable_compatibility_http_listener",
                                                        "service.enable_compatibility_https_listener"]
            assert state["config"]["/Service/EnableCompatibilityHttpListener"] == ("true", "GPO")
        else:
            assert not failing, (name, failing)
        for control in result["compliance"]["after"]:
            if control["id"] in SIX:
                assert control["status"] == "pass", (name, control)

    # The inventory still names the HTTP endpoints: the rerun reads and works through HTTPS.
    rerun = run_tasks(original_inventory, [converge()], limit=":".join(targets), tmp_path=tmp_path / "rerun")
    for name in targets:
        (result,) = rerun[name]
        assert not result.get("failed"), (name, result.get("msg"))
        assert result["changed"] is False and result["steps"] == [], (name, result["steps"])
        assert result["endpoint"]["scheme"] == "https"


def test_override_lets_the_policy_yield(fleet, tmp_path):
    name, host_vars = by_profile(fleet, "upgraded11")[0]
    # after the first test the compatibility listeners are still on, through Group Policy
    (result,) = run_tasks(fleet, [converge(policy_conflicts="override")], limit=name, tmp_path=tmp_path)[name]
    assert not result.get("failed"), result.get("msg")
    state = plain_state(host_vars, https=True)
    assert state["config"]["/Service/EnableCompatibilityHttpListener"] == ("false", "GPO")
    assert state["policy"][r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\HttpCompatibilityListener"] == "0"
    assert not [c for c in result["compliance"]["after"] if c["status"] == "fail"]


def test_disable_run_as_names_the_run_as_configuration_it_breaks(fleet, tmp_path):
    # server2022_jea registers "Maintenance" with RunAsUser localadmin (Register-PSSessionConfiguration
    # -RunAsCredential); the policy makes WinRM erase stored RunAs passwords, so it stops opening.
    (jea, jea_vars), = by_profile(fleet, "server2022_jea")
    plain, _vars = by_profile(fleet, "server2022")[-1]
    key = r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\DisableRunAs"
    task = {"name": "Converge", "wsman.winrm.converge": {"policy": {"service": {"disable_run_as": True}}}}
    before = plain_state(jea_vars)
    assert key not in before["policy"], before["policy"]
    audit = run_tasks(fleet, [task], limit="%s:%s" % (jea, plain), check=True, tmp_path=tmp_path / "audit")
    (predicted,) = audit[jea]
    assert predicted["changed"] and not predicted.get("failed"), predicted.get("msg")
    warning = ("session configuration Maintenance runs as localadmin: the policy 'Disallow WinRM from storing RunAs "
               "credentials' (DisableRunAs) erases its stored password and it will no longer open")
    assert any(w.startswith(warning) for w in predicted.get("warnings", [])), predicted.get("warnings")
    assert plain_state(jea_vars) == before                                   # the audit sent nothing
    (other,) = audit[plain]                                                  # no RunAs configuration there
    assert other["changed"] and not any("runs as" in w for w in other.get("warnings", [])), other.get("warnings")
    (applied,) = run_tasks(fleet, [task], limit=jea, tmp_path=tmp_path / "apply")[jea]
    assert applied["changed"] and any(w.startswith(warning) for w in applied.get("warnings", [])), applied
    assert plain_state(jea_vars)["policy"][key] == "1"


# ---- faults at each step of the HTTPS move ------------------------------------------------------------

def _drop_https_listener(host_vars) -> None:
    """A new install has no HTTPS listener: make the move create one."""
    selectors = SelectorSet()
    selectors.add_option("Address", "*")
    selectors.add_option("Transport", "HTTPS")
    with plain_client(host_vars, https=False) as client:
        try:
            client.delete(CONFIG + "/listener", selector_set=selectors)
        except WSManFaultError:
            pass


STEPS = {
    # step: (proxy the request goes through, rule matching it)
    "firewall": ("http", dict(action="Create", resource="MSFT_NetFirewallRule")),
    "create": ("http", dict(action="Create", resource="config/listener")),
    "proof": ("https", dict(action="Enumerate", resource="config/listener")),
    "remove": ("https", dict(action="Delete", resource="config/listener")),
}
FAULTS = {"refused": "refuse", "timeout": "delay", "fault": "fault"}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("step", list(STEPS))
def test_a_fault_in_the_https_move_leaves_the_host_as_before(fleet, tmp_path, step, fault):
    name, host_vars = by_profile(fleet, "server2022")[-1]
    _drop_https_listener(host_vars)
    before = plain_state(host_vars)
    refused_connection = step == "proof" and fault == "refused"
    with ProxiedHost(fleet, name, tmp_path, https=not refused_connection) as host:
        proxy, match = STEPS[step]
        rule = Rule(FAULTS[fault], delay=15, **match)
        host.rules(**{proxy: [] if refused_connection else [rule]})
        task = converge(https=dict(BASELINE["https"], connection_port=5986 + host.OFFSET))
        (result,) = run_tasks(_Inventory(host.inventory_path), [task], tmp_path=tmp_path)[name]
        assert refused_connection or (FAULTS[fault], match["action"]) in [f[:2] for f in getattr(host, proxy).faulted]
    assert result.get("failed"), result
    assert result["host_state"] == "before", result["msg"]
    assert "the host holds its configuration from before this task" in result["msg"]
    assert result["changed"] is False
    # exactly as before, and reachable over the HTTP listener the controller came in on
    assert plain_state(host_vars) == before
