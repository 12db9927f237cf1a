"""wsman.winrm.limits through ansible-playbook, read back with a plain pypsrp Get of winrm/config:
the global message limits and the WinRS quotas locally, the WinRS policy values winning over them
(Source="GPO"), and the envelope limit that would refuse the controller's own requests.

Windows: [MS-WSMV] 2.2.4.42 WinrsType (ranges), 3.1.4.1.20 (a request asking for a larger envelope
than MaxEnvelopeSizekb is refused); the WinRS policies of WindowsRemoteShell.admx.
"""
from __future__ import annotations

from harness import run_tasks, value_of

FLEET_PROFILES = "server2022"


def config_value(fleet, host_vars, name):
    return value_of(fleet.get(host_vars, "http://schemas.microsoft.com/wbem/wsman/1/config"), name)


def test_limits_are_set_idempotently_and_read_back(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    task = {"wsman.winrm.limits": {"max_envelope_size_kb": 8192, "max_batch_items": 20000,
                                   "winrs": {"idle_timeout": 1800000, "max_memory_per_shell_mb": 0}}}
    predicted = run_tasks(fleet, [task], tmp_path=tmp_path / "check", check=True, diff=True)[name][0]
    assert predicted["changed"] and sorted(predicted["changes"]) == [
        "max_batch_items", "max_envelope_size_kb", "winrs.idle_timeout", "winrs.max_memory_per_shell_mb"], predicted
    assert config_value(fleet, host_vars, "MaxEnvelopeSizekb") == "500"          # check mode sends nothing
    applied, again = run_tasks(fleet, [task, task], tmp_path=tmp_path / "apply", diff=True)[name]
    assert applied["changed"] and applied["limits"] == predicted["limits"], applied
    assert applied["limits"]["winrs"]["max_memory_per_shell_mb"] == 0            # 0: unlimited
    assert applied["diff"]["before"]["max_envelope_size_kb"] == 500
    assert again["changed"] is False
    assert [config_value(fleet, host_vars, n) for n in ("MaxEnvelopeSizekb", "MaxBatchItems", "IdleTimeout",
                                                        "MaxMemoryPerShellMB")] == ["8192", "20000", "1800000", "0"]


def test_the_winrs_policy_wins_and_is_named(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    results = run_tasks(fleet, [
        {"wsman.winrm.policy": {"winrs": {"max_shells_per_user": 10}}},
        {"wsman.winrm.limits": {"winrs": {"max_shells_per_user": 20}}},
        {"wsman.winrm.limits": {"winrs": {"max_shells_per_user": 20, "max_concurrent_users": 30},
                                "policy_controlled": "skip"}},
        {"wsman.winrm.policy": {"winrs": {"max_shells_per_user": "absent"}}},
    ], tmp_path=tmp_path)[name]
    _policy, refused, skipped, _back = results
    assert refused["failed"] and "winrs.max_shells_per_user" in refused["msg"] and "MaxShellsPerUser" in refused["msg"]
    assert skipped["changed"] and skipped["policy_skipped"] == ["winrs.max_shells_per_user"], skipped
    assert config_value(fleet, host_vars, "MaxConcurrentUsers") == "30"


def test_an_envelope_limit_that_refuses_the_controller_is_refused(fleet, tmp_path):
    name, host_vars = fleet.host("server2022")
    (result,) = run_tasks(fleet, [{"wsman.winrm.limits": {"max_envelope_size_kb": 64}}], tmp_path=tmp_path)[name]
    assert result["failed"] and "below the 150 KB envelope" in result["msg"], result
    assert config_value(fleet, host_vars, "MaxEnvelopeSizekb") != "64"


def test_a_value_out_of_range_names_the_setting(fleet, tmp_path):
    name, _host_vars = fleet.host("server2022")
    (result,) = run_tasks(fleet, [{"wsman.winrm.limits": {"max_timeout_ms": 100}}], tmp_path=tmp_path)[name]
    assert result["failed"] and result["msg"] == "max_timeout_ms must be between 500 and 4294967295, got 100. Nothing was sent."
