"""wsman.winrm.session_configuration through ansible-playbook, each change read back with a plain
pypsrp Get of the plugin resource and proved with pypsrp's own RunspacePool: who the descriptor lets
open a PowerShell session is who can.

Windows: Set-PSSessionConfiguration (a Get, the edit, a Put of the whole document through the WSMan
provider), [MS-WSMV] 3.1.4.1.28 (the plugin's descriptor replaces RootSDDL; a shell needs GX),
Disable-PSSessionConfiguration (Enabled, after a service restart).
"""
from __future__ import annotations

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from ansible_collections.wsman.winrm.plugins.module_utils import sddl
from harness import run_tasks

FLEET_PROFILES = "server2022,server2022_jea"
PLUGIN = "http://schemas.microsoft.com/wbem/wsman/1/config/plugin"
PNS = "{http://schemas.microsoft.com/wbem/wsman/1/config/PluginConfiguration}"
DEFAULT = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"


def plain_get(fleet, host_vars, name):
    """The plugin document as a plain pypsrp Get returns it: (Sddl of its endpoint, Enabled, quotas)."""
    document = fleet.get(host_vars, PLUGIN, {"Name": name})
    security = next(document.iter(PNS + "Security"))
    quotas = document.find(PNS + "Quotas")
    return security.get("Sddl"), document.get("Enabled"), dict(quotas.attrib) if quotas is not None else {}


def opens(host_vars, user, password, configuration="microsoft.powershell", refused: int = 5) -> bool:
    client = WSMan(host_vars["ansible_host"], port=host_vars["wsman_winrm_sim_ports"][5985], ssl=False, auth="ntlm",
                   username=user, password=password, no_proxy=True, operation_timeout=10, read_timeout=20)
    try:
        with client:
            pool = RunspacePool(client, configuration_name=configuration)
            pool.open()
            pool.close()
        return True
    except WSManFaultError as error:
        assert error.code == refused, error
        return False


def task(**args):
    return {"wsman.winrm.session_configuration": args}


def test_add_a_group_and_back(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    operator = ("operator", host_vars["wsman_winrm_sim_operator_password"])
    assert not opens(host_vars, *operator)
    grant = task(name="Microsoft.PowerShell", access=[{"trustee": "BUILTIN\\Users", "rights": ["execute"]}])
    predicted = run_tasks(fleet, [grant], tmp_path=tmp_path / "check", limit=name, check=True, diff=True)[name][0]
    assert predicted["changed"] and predicted["changes"] == ["sddl"], predicted
    assert sddl.equivalent(plain_get(fleet, host_vars, "microsoft.powershell")[0], DEFAULT)   # nothing sent
    applied, again = run_tasks(fleet, [grant, grant], tmp_path=tmp_path / "apply", limit=name, diff=True)[name]
    assert applied["changed"] and not applied.get("failed"), applied
    assert applied["restart_required"] is False and applied["after"] == predicted["after"]
    assert "BUILTIN\\Users: execute" in applied["session_configuration"]["access"]
    assert applied["diff"]["before"]["sddl"] != applied["diff"]["after"]["sddl"]
    assert again["changed"] is False
    stored = plain_get(fleet, host_vars, "microsoft.powershell")[0]
    assert sddl.equivalent(stored, str(sddl.add_allow(DEFAULT, "BU", "GX")))
    assert opens(host_vars, *operator)                       # the descriptor applies at once
    back = run_tasks(fleet, [task(name="microsoft.powershell", access=[{"trustee": "BU", "state": "absent"}])],
                     tmp_path=tmp_path / "back", limit=name)[name][0]
    assert back["changed"] and not back.get("failed"), back
    assert sddl.equivalent(plain_get(fleet, host_vars, "microsoft.powershell")[0], DEFAULT)
    assert not opens(host_vars, *operator)


def test_taking_away_the_tasks_own_access_is_refused_unless_forced(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    admin = (host_vars["ansible_user"], host_vars["ansible_password"])
    without_admins = "O:NSG:BAD:P(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
    refused, disabling = run_tasks(fleet, [task(name="microsoft.powershell", sddl=without_admins),
                                           task(name="microsoft.powershell", enabled=False)],
                                   tmp_path=tmp_path / "refused", limit=name)[name]
    for result in (refused, disabling):
        assert result["failed"] and "Refusing a change that would lock this controller out" in result["msg"], result
        assert "Administrator holds execute on microsoft.powershell through BUILTIN\\Administrators" in result["msg"]
    stored, enabled, _quotas = plain_get(fleet, host_vars, "microsoft.powershell")
    assert sddl.equivalent(stored, DEFAULT) and enabled == "true"
    forced, restore = run_tasks(fleet, [task(name="microsoft.powershell", sddl=without_admins, force=True),
                                        task(name="microsoft.powershell", sddl=DEFAULT)],
                                tmp_path=tmp_path / "forced", limit=name)[name]
    assert forced["changed"] and any("takes away the task's own access" in w for w in forced["warnings"]), forced
    # The endpoint ansible.builtin.psrp would connect to is the one guarded: another one may close.
    other, _back = run_tasks(fleet, [task(name="microsoft.powershell", sddl=without_admins),
                                     task(name="microsoft.powershell", sddl=DEFAULT)], tmp_path=tmp_path / "psrp",
                             limit=name, extra_args=["-e", "ansible_psrp_configuration_name=JEAMaintenance"])[name]
    assert other["changed"] and not other.get("failed"), other
    assert restore["changed"] and not restore.get("failed"), restore
    assert sddl.equivalent(plain_get(fleet, host_vars, "microsoft.powershell")[0], DEFAULT)
    assert opens(host_vars, *admin)


def test_enabled_and_quotas_wait_for_a_service_restart(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    closed, limited = run_tasks(fleet, [task(name="microsoft.powershell32", enabled=False),
                                        task(name="microsoft.powershell32", quotas={"max_shells_per_user": 5})],
                                tmp_path=tmp_path, limit=name)[name]
    assert closed["changed"] and closed["restart_required"] is True
    assert any("take effect when the WinRM service restarts" in w for w in closed["warnings"])
    assert limited["changes"] == ["quotas.max_shells_per_user"] and limited["restart_required"] is True
    _sddl, enabled, quotas = plain_get(fleet, host_vars, "microsoft.powershell32")
    assert enabled == "false" and quotas["MaxShellsPerUser"] == "5"
    assert opens(host_vars, host_vars["ansible_user"], host_vars["ansible_password"], "microsoft.powershell32")


def test_a_quota_above_the_group_policy_value_is_flagged(fleet, tmp_path):
    name, _host_vars = fleet.host("server2022")
    results = run_tasks(fleet, [{"wsman.winrm.policy": {"winrs": {"max_shells_per_user": 10}}},
                                task(name="microsoft.powershell.workflow", quotas={"max_shells_per_user": 20}),
                                {"wsman.winrm.policy": {"winrs": {"max_shells_per_user": "absent"}}}],
                        tmp_path=tmp_path, limit=name)[name]
    assert not results[0].get("failed") and not results[2].get("failed"), results
    assert any("above the global winrs.max_shells_per_user=10 (set by Group Policy" in w
               for w in results[1]["warnings"]), results[1]


def test_a_local_group_is_found_by_name_and_run_as_is_flagged(fleet, tmp_path):
    name, host_vars = fleet.host("server2022_jea")
    operator = ("operator", host_vars["wsman_winrm_sim_operator_password"])
    grant = task(name="microsoft.powershell", access=[{"trustee": "JEA Operators", "rights": ["execute"]}])
    revoke = task(name="microsoft.powershell", access=[{"trustee": "%s\\JEA Operators" % name, "state": "absent"}])
    policy = {"wsman.winrm.policy": {"service": {"disable_run_as": True}}}
    results = run_tasks(fleet, [grant, revoke, policy, task(name="Maintenance", quotas={"max_shells": 20})],
                        tmp_path=tmp_path, limit=name)[name]
    granted, revoked, policy_result, run_as = results
    # Setting the policy names every configuration it stops.
    assert any("session configuration Maintenance runs as localadmin" in w for w in policy_result["warnings"]), \
        policy_result
    assert granted["changed"] and not granted.get("failed"), granted
    assert "%s\\JEA Operators" % name not in str(revoked["session_configuration"]["access"])
    assert any("Maintenance runs as localadmin" in w and "DisableRunAs" in w for w in run_as["warnings"]), run_as
    # Its stored password is gone: Windows' RunAs credentials fault.
    assert not opens(host_vars, *operator, configuration="Maintenance", refused=2150859203)


@pytest.mark.parametrize("args, message", [
    (dict(name="no.such.endpoint"), "has no session configuration named 'no.such.endpoint'; it has: "),
    (dict(name="microsoft.powershell", sddl="O:NSG:BAD:P(A;;GA;;;XX)"), "sddl is not a security descriptor"),
    (dict(name="microsoft.powershell", access=[{"trustee": "Nobody Here"}]),
     "access[0].trustee: no account or group named 'Nobody Here'"),
    (dict(name="microsoft.powershell", quotas={"max_shells": -1}), "quotas.max_shells must be between 0"),
])
def test_bad_input_is_named_and_nothing_changes(fleet, tmp_path, args, message):
    name, host_vars = fleet.host("server2022")
    before = plain_get(fleet, host_vars, args["name"]) if args["name"] != "no.such.endpoint" else None
    (result,) = run_tasks(fleet, [task(**args)], tmp_path=tmp_path, limit=name)[name]
    assert result["failed"] and message in result["msg"], result
    if before is not None:
        assert plain_get(fleet, host_vars, args["name"]) == before
