"""wsman.winrm.compliance and the report filters in a real playbook, on wsman.winrm.info results."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness import run_tasks

FLEET_PROFILES = "server2022,gpo"

SIX = ("client_basic", "client_unencrypted", "client_digest", "service_basic", "service_unencrypted",
       "service_runas")

# Tasks after the info task (task_0): judge it, then render both reports from the judged results.
TASKS = [
    {"wsman.winrm.info": {}},
    {"ansible.builtin.set_fact": {
        "winrm_compliance": "{{ task_0 | wsman.winrm.compliance('domain_kerberos', stig='ws2019', "
                            "benchmark='cis_ws2019_v3') }}"}},
    {"ansible.builtin.debug": {
        "msg": "{{ {inventory_hostname: winrm_compliance} | wsman.winrm.compliance_junit }}"}},
    {"ansible.builtin.debug": {
        "msg": "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'winrm_compliance')))"
               " | wsman.winrm.compliance_markdown }}"}},
]


def test_compliance_in_a_playbook(fleet, tmp_path):
    run = run_tasks(fleet, TASKS, tmp_path=tmp_path)
    profiles = {fleet.hosts()[name]["wsman_winrm_sim_profile"]: (name, results)
                for name, results in run.results.items()}
    assert set(profiles) == {"server2022", "gpo"}

    judged = {}
    for profile, (name, (info, facts, junit, markdown)) in profiles.items():
        assert not info.get("failed"), info.get("msg")
        assert not facts.get("failed"), facts.get("msg")
        judged[profile] = {r["id"]: r for r in facts["ansible_facts"]["winrm_compliance"]}

        root = ET.fromstring(junit["msg"])
        suite = root.find("testsuite")
        assert suite.get("name") == name
        assert int(suite.get("tests")) == len(judged[profile])
        assert int(suite.get("failures")) == sum(r["status"] == "fail" for r in judged[profile].values())

        report = markdown["msg"]
        assert "## " + name in report and "| host | pass | FAIL |" in report

    for control in SIX:
        assert judged["gpo"][control]["status"] == "pass", judged["gpo"][control]
        assert judged["server2022"][control]["status"] == "fail", judged["server2022"][control]
        assert judged["server2022"][control]["actual"] == "not configured"
    assert judged["gpo"]["service_basic"]["references"]["stig"] == "WN19-CC-000500"
    assert judged["gpo"]["service_basic"]["references"]["cis"] == "18.10.89.2.1"
    gpo_evidence = {e["setting"]: e for e in judged["gpo"]["service_basic"]["evidence"]}
    assert gpo_evidence["service.auth.basic"]["source"] == "GPO"

    for profile in ("server2022", "gpo"):
        for control in ("service_auto_config", "remote_shell_access"):
            assert judged[profile][control]["status"] == "deviation"
            assert judged[profile][control]["reason"] == "managed over WinRM"
