"""wsman.winrm.info through ansible-playbook against hosts of every profile."""

from __future__ import annotations

from harness import run_tasks

FLEET_PROFILES = "server2022,winrm11,upgraded11,gpo,workstation"


def by_profile(fleet, run):
    return {fleet.hosts()[name]["wsman_winrm_sim_profile"]: results for name, results in run.results.items()}


def test_info_reads_every_profile(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {}}], tmp_path=tmp_path, limit="windows:!sim_workstation")
    results = {profile: result[0] for profile, result in by_profile(fleet, run).items()}
    for profile, result in results.items():
        assert not result.get("failed"), (profile, result.get("msg"))
        assert result["changed"] is False
        assert "password" not in str(result).lower() or "Password" not in str(result["cert_mappings"])

    server = results["server2022"]
    assert {(item["transport"], item["port"], item["source"]) for item in server["listeners"]} >= {("HTTP", 5985, "")}
    assert server["service"]["auth"]["basic"] is False
    assert "digest" not in server["service"]["auth"]
    assert server["client"]["default_ports"] == {"http": 5985, "https": 5986}
    assert server["security_summary"]["compatibility_listeners_on"] is False

    legacy = results["winrm11"]
    assert {item["port"] for item in legacy["listeners"]} == {80, 443}
    assert legacy["client"]["default_ports"] == {"http": 80, "https": 443}

    upgraded = results["upgraded11"]
    compat = [item for item in upgraded["listeners"] if item["source"] == "Compatibility"]
    assert {(item["transport"], item["port"]) for item in compat} == {("HTTP", 80), ("HTTPS", 443)}
    assert upgraded["security_summary"]["compatibility_listeners_on"] is True

    gpo = results["gpo"]
    assert "service.auth.basic" in gpo["gpo_controlled"]
    assert "service.allow_unencrypted" in gpo["gpo_controlled"]
    assert any(item["name"] == "DisableRunAs" and item["value"] == 1 for item in gpo["policy"])


def test_info_query_and_gather(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {"gather": ["listeners"],
                                                  "query": "listeners[?transport=='HTTP'].port"}}],
                    tmp_path=tmp_path, limit="sim_server2022")
    (result,) = next(iter(run.results.values()))
    assert result["query_result"] == [5985]
    assert "service" not in result and "policy" not in result
    assert result["security_summary"]["basic_enabled"] is None


def test_info_check_mode_and_bad_query(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {}}, {"wsman.winrm.info": {"query": "listeners[?"}}],
                    tmp_path=tmp_path, limit="sim_server2022", check=True)
    (ok, bad) = next(iter(run.results.values()))
    assert not ok.get("failed") and ok["listeners"]
    assert bad["failed"] and "JMESPath" in bad["msg"]


def test_info_on_a_host_without_listeners_fails_clearly(fleet, tmp_path):
    # Nothing listens: the host is unreachable, as with any connection plugin (kept in the play here).
    run = run_tasks(fleet, [{"wsman.winrm.info": {}, "ignore_unreachable": True}], tmp_path=tmp_path,
                    limit="sim_workstation")
    (result,) = next(iter(run.results.values()))
    assert result["unreachable"] and not result.get("failed")
    assert "refused" in result["msg"].lower() or "connect" in result["msg"].lower()
