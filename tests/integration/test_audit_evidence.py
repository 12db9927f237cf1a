"""Audit evidence from a real run: wsman.winrm.info on simulated hosts, judged by wsman.winrm.compliance,
rendered as the fleet dashboard (opened in headless Chromium), STIG Viewer checklists (CKLB and CKL,
checked against the published formats) and JUnit, all in one playbook as users write it.

Artefacts (the dashboard, its screenshots, the checklists) stay under tests/output/audit-evidence/."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import xml.etree.ElementTree as ET

import pytest
from ansible.release import __version__ as ansible_core_version

import checklist_formats
from ansible_collections.wsman.winrm.plugins.filter.compliance_dashboard import compliance_dashboard
from ansible_collections.wsman.winrm.plugins.module_utils import controls
from browser import Chromium, chromium_path
from harness import ROOT, run_tasks

# One host per profile the info module can read; the workstation has no listener, so it is the host
# that could not be assessed. The WinRM 1.1 host is judged with the workgroup profile, the others
# with the domain profile; the upgraded host's policy values and firewall rules are not gathered (its
# six STIG controls and the firewall control are unknown); the GPO host and the 2022 host declare a
# deviation (the latter on a STIG rule).
FLEET_PROFILES = "server2022,winrm11,upgraded11,gpo,workstation"
OUTPUT = os.path.join(ROOT, "tests", "output", "audit-evidence")
DEVIATION_REASON = "Accepted by the ISSO until the agents move to certificates"

TASKS = [
    {"name": "Read the WinRM configuration",
     "wsman.winrm.info": {"gather": "{{ ['config', 'listeners'] if 'sim_upgraded11' in group_names else "
                                    "['config', 'listeners', 'cert_mappings', 'policy', 'firewall', 'certificates'] }}"},
     # A host that does not answer is unreachable; the play keeps it so that the evidence names it.
     "ignore_unreachable": True},
    {"name": "Judge it",
     "ansible.builtin.set_fact": {
         "winrm_compliance": "{{ task_0 | wsman.winrm.compliance("
                             "'workgroup_https' if 'sim_winrm11' in group_names else 'domain_kerberos', "
                             "deviations={'root_sddl_admins_only': deviation} if 'sim_gpo' in group_names else "
                             "{'service_runas': deviation} if 'sim_server2022' in group_names else {}) }}",
         "winrm_stig_target": {"ip_address": "{{ ansible_host }}", "domain_role": 3,
                               "comments": "{{ wsman_winrm_sim_profile }}"}},
     "vars": {"deviation": DEVIATION_REASON},
     "when": "task_0 is reachable and task_0 is succeeded"},
    {"name": "Remember the hosts that could not be read",
     "ansible.builtin.set_fact": {"winrm_not_assessed": "{{ task_0.msg }}"},
     "when": "task_0 is unreachable or task_0 is failed"},
    {"name": "Fleet dashboard",
     "ansible.builtin.copy": {
         "dest": OUTPUT + "/dashboard.html", "mode": "0644",
         "content": "{{ judged_rows | wsman.winrm.compliance_dashboard(groups=groups, not_assessed=not_assessed, "
                    "provenance={'playbook': 'test_audit_evidence', 'ansible': ansible_version.full}) }}"},
     "delegate_to": "localhost", "run_once": True},
    {"name": "STIG Viewer 3 checklists",
     "ansible.builtin.copy": {"dest": OUTPUT + "/{{ item.key }}.cklb", "content": "{{ item.value }}", "mode": "0644"},
     "loop": "{{ judged_rows | wsman.winrm.stig_checklist('cklb', targets=stig_targets, "
             "release_info='Release: 1 Benchmark Date: 01 Jan 2026', version='2') | dict2items }}",
     "loop_control": {"label": "{{ item.key }}"},
     "delegate_to": "localhost", "run_once": True},
    {"name": "STIG Viewer 2 checklists",
     "ansible.builtin.copy": {"dest": OUTPUT + "/{{ item.key }}.ckl", "content": "{{ item.value }}", "mode": "0644"},
     "loop": "{{ judged_rows | wsman.winrm.stig_checklist('ckl', targets=stig_targets) | dict2items }}",
     "loop_control": {"label": "{{ item.key }}"},
     "delegate_to": "localhost", "run_once": True},
    {"name": "JUnit for the CI system",
     "ansible.builtin.copy": {"dest": OUTPUT + "/junit.xml", "mode": "0644",
                              "content": "{{ judged_rows | wsman.winrm.compliance_junit(provenance={"
                                         "'generated': now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ'), "
                                         "'ansible_core': ansible_version.full, 'playbook': 'test_audit_evidence'}) }}"},
     "delegate_to": "localhost", "run_once": True},
]
# Run-level tasks see every judged host's rows; the expressions users write for that.
RUN_VARS = {
    "judged": "{{ ansible_play_hosts | map('extract', hostvars) | selectattr('winrm_compliance', 'defined')"
              " | map(attribute='inventory_hostname') | list }}",
    "judged_rows": "{{ dict(judged | zip(judged | map('extract', hostvars, 'winrm_compliance'))) }}",
    "stig_targets": "{{ dict(judged | zip(judged | map('extract', hostvars, 'winrm_stig_target'))) }}",
    "unread": "{{ ansible_play_hosts | map('extract', hostvars) | selectattr('winrm_not_assessed', 'defined')"
              " | map(attribute='inventory_hostname') | list }}",
    "not_assessed": "{{ dict(unread | zip(unread | map('extract', hostvars, 'winrm_not_assessed'))) }}",
}
for _task in TASKS[3:]:
    _task["vars"] = RUN_VARS


@pytest.fixture(scope="module")
def evidence(fleet, tmp_path_factory):
    shutil.rmtree(OUTPUT, ignore_errors=True)
    os.makedirs(OUTPUT)
    run = run_tasks(fleet, TASKS, tmp_path=tmp_path_factory.mktemp("evidence"))
    rows, failed = {}, {}
    for host, results in run.results.items():
        info, judged = results[0], results[1]
        if info.get("failed") or info.get("unreachable"):
            failed[host] = info["msg"]
        else:
            assert not judged.get("failed"), judged.get("msg")
            rows[host] = judged["ansible_facts"]["winrm_compliance"]
    for index in range(3, len(TASKS)):
        outcome = next(iter(run.results.values()))[index]
        assert not outcome.get("failed"), (TASKS[index]["name"], outcome.get("msg"), run.stdout[-3000:])
    profiles = {host: fleet.hosts()[host]["wsman_winrm_sim_profile"] for host in run.results}
    assert sorted(profiles[h] for h in rows) == ["gpo", "server2022", "upgraded11", "winrm11"], (rows, failed)
    assert [profiles[h] for h in failed] == ["workstation"]
    return {"rows": rows, "failed": failed, "profiles": profiles, "fleet": fleet}


def statuses_of(rows):
    return {row["id"]: row["status"] for row in rows}


def test_the_fleet_shows_every_status(evidence):
    seen = {row["status"] for rows in evidence["rows"].values() for row in rows}
    assert seen == {"pass", "fail", "deviation", "not_applicable", "unknown"}


# ---------------------------------------------------------------------------------------------------
# The dashboard in a real browser
# ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        pytest.skip("chromium is not installed (Debian packages chromium, chromium-driver: make system-deps)")
    with Chromium(width=1500, height=1100) as chromium:
        yield chromium


def rows_shown(browser):
    browser.wait_for("document.body.getAttribute('data-ready') === 'true'")
    return browser.evaluate("Array.from(document.querySelectorAll('#grid tbody tr th.host')).map(e => e.textContent)")


def test_dashboard_in_headless_chromium(evidence, browser):
    rows = evidence["rows"]
    page = os.path.join(OUTPUT, "dashboard.html")
    url = "file://" + page
    browser.open(url)
    browser.wait_for("document.body.getAttribute('data-ready') === 'true'")

    # Every judged host and every control in the grid; the host that could not be read is listed.
    assert sorted(rows_shown(browser)) == sorted(rows)
    controls = browser.evaluate("Array.from(document.querySelectorAll('#grid th.control')).map(e => e.textContent)")
    assert sorted(controls) == sorted(statuses_of(next(iter(rows.values()))))
    cells = browser.evaluate("Array.from(document.querySelectorAll('#grid tbody tr')).map(tr => "
                             "[tr.querySelector('th').textContent, Array.from(tr.querySelectorAll('td'))"
                             ".map(td => td.className)])")
    for host, classes in cells:
        assert sorted(classes) == sorted("s-" + row["status"] for row in rows[host]), host
    unassessed = browser.evaluate("document.getElementById('not-assessed').textContent")
    # A workstation without WinRM: its firewall drops the connection, so the reason says it timed out.
    host, reason = next(iter(evidence["failed"].items()))
    assert host in unassessed and "timed out" in reason and reason[:60] in unassessed
    # Worst host first: the most failed controls.
    fails = {host: sum(r["status"] == "fail" for r in host_rows) for host, host_rows in rows.items()}
    assert fails[rows_shown(browser)[0]] == max(fails.values())
    browser.screenshot(os.path.join(OUTPUT, "dashboard.png"))

    # A status filter narrows the grid to the hosts with a control in that status.
    browser.click('button.status[data-status="unknown"]')
    with_unknown = sorted(h for h, host_rows in rows.items() if any(r["status"] == "unknown" for r in host_rows))
    assert 0 < len(with_unknown) < len(rows)
    assert sorted(rows_shown(browser)) == with_unknown
    browser.click('button.status[data-status="unknown"]')
    assert len(rows_shown(browser)) == len(rows)

    # A click on a column keeps that control only; the group list narrows to a group's hosts.
    browser.click('#grid th.control[data-control="service_basic"]')
    assert browser.evaluate("document.querySelectorAll('#grid th.control').length") == 1
    browser.click("#filter-reset")
    gpo_host = next(h for h in rows if evidence["profiles"][h] == "gpo")
    browser.evaluate("(function(){var s=document.getElementById('filter-group'); s.value='sim_gpo';"
                     "s.dispatchEvent(new Event('change'));})()")
    assert rows_shown(browser) == [gpo_host]
    browser.click("#filter-reset")

    # Drill-down: the host's controls with their evidence, as the rows say.
    server = next(h for h in rows if evidence["profiles"][h] == "server2022")
    browser.click('#grid tbody tr[data-host="%d"] th.host' % rows_shown(browser).index(server))
    assert browser.evaluate("document.getElementById('drilldown').hidden") is False
    panel = browser.evaluate("document.getElementById('drilldown').innerText")
    assert server in panel
    basic = next(r for r in rows[server] if r["id"] == "service_basic")
    for item in basic["evidence"]:
        assert item["setting"] in panel and item["source"] in panel
    assert "WN22-CC-000500" in panel and basic["reason"] in panel
    # A failed control's fix is in the panel, as the row says it.
    assert basic["status"] == "fail" and basic["fix"] and "Fix: " + basic["fix"] in panel
    browser.screenshot(os.path.join(OUTPUT, "dashboard-drilldown.png"))

    # Opened from the file alone: nothing but the page itself was requested, nothing complained.
    assert browser.requests() and set(browser.requests()) == {url}, browser.requests()
    assert browser.console_problems() == []


def test_dashboard_draws_a_large_fleet_in_chunks(evidence, browser):
    """500 hosts (the simulated hosts' real info results, judged again under other names): the first
    rows come at once, the rest in chunks; a filter changed while drawing starts over."""
    infos = {}
    for path in ("server2022", "gpo"):
        with open(os.path.join(ROOT, "tests", "unit", "fixtures", "info_%s.json" % path), encoding="utf-8") as handle:
            infos[path] = json.load(handle)
    rows = {"WIN-%04d" % i: controls.evaluate(infos["gpo" if i % 3 else "server2022"], "workgroup_https")
            for i in range(500)}
    page = os.path.join(OUTPUT, "dashboard-500.html")
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(compliance_dashboard(rows, groups={"thirds": ["WIN-%04d" % i for i in range(0, 500, 3)]}))
    browser.open("file://" + page)
    assert len(rows_shown(browser)) == 500
    browser.evaluate("(function(){var s=document.getElementById('filter-group'); s.value='thirds';"
                     "s.dispatchEvent(new Event('change')); document.getElementById('filter-reset').click();"
                     "s.value='thirds'; s.dispatchEvent(new Event('change'));})()")
    assert sorted(rows_shown(browser)) == ["WIN-%04d" % i for i in range(0, 500, 3)]
    assert browser.console_problems() == []


# ---------------------------------------------------------------------------------------------------
# STIG Viewer checklists
# ---------------------------------------------------------------------------------------------------

def stig_rows(rows):
    return [row for row in rows if row["references"].get("stig")]


def test_cklb_checklists_match_the_published_format(evidence):
    for host, rows in evidence["rows"].items():
        with open(os.path.join(OUTPUT, host + ".cklb"), encoding="utf-8") as handle:
            document = json.load(handle)
        checklist_formats.validate_cklb(document)
        assert document["target_data"]["host_name"] == host
        assert document["target_data"]["ip_address"] == evidence["fleet"].hosts()[host]["ansible_host"]
        assert document["target_data"]["role"] == "Member Server"
        stig = document["stigs"][0]
        assert stig["stig_id"] == "MS_Windows_Server_2022_STIG" and stig["release_info"].startswith("Release: 1")
        expected = stig_rows(rows)
        assert [rule["rule_version"] for rule in stig["rules"]] == [row["references"]["stig"] for row in expected]
        # Round trip: every status comes back, finding details carry the evidence.
        assert checklist_formats.cklb_statuses(document) == {row["references"]["stig"]: row["status"] for row in expected}
        for rule, row in zip(stig["rules"], expected):
            for item in row["evidence"]:
                assert item["setting"] in rule["finding_details"]
            if row["status"] == "deviation":
                assert DEVIATION_REASON in rule["comments"]


def test_ckl_checklists_match_the_published_schema(evidence):
    for host, rows in evidence["rows"].items():
        root = ET.parse(os.path.join(OUTPUT, host + ".ckl")).getroot()
        checklist_formats.validate_ckl(root)
        assert root.findtext("ASSET/HOST_NAME") == host and root.findtext("ASSET/ROLE") == "Member Server"
        expected = stig_rows(rows)
        assert checklist_formats.ckl_statuses(root) == {row["references"]["stig"]: row["status"] for row in expected}


def test_junit_one_testcase_per_host_and_control(evidence):
    root = ET.parse(os.path.join(OUTPUT, "junit.xml")).getroot()
    cases = {case.get("classname"): case for case in root.iter("testcase")}
    expected = {"%s.%s" % (host, row["id"]): row for host, rows in evidence["rows"].items() for row in rows}
    assert set(cases) == set(expected)
    for classname, row in expected.items():
        case = cases[classname]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["severity"] == row["severity"] and properties["status"] == row["status"]
        outcome = {"fail": "failure", "unknown": "error"}.get(row["status"])
        if outcome:
            assert case.find(outcome).get("type") == row["status"]
        elif row["status"] == "pass":
            assert case.find("failure") is None and case.find("skipped") is None
        else:
            assert case.find("skipped").get("message").startswith(row["status"])
    assert int(root.get("tests")) == len(expected)
    assert int(root.get("failures")) == sum(r["status"] == "fail" for r in expected.values())
    # Each host's testsuite says when (UTC, no zone, as Ant writes it) and by what it was made.
    for suite in root.iter("testsuite"):
        properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert properties["ansible_core"] == ansible_core_version and properties["playbook"] == "test_audit_evidence"
        generated = datetime.datetime.fromisoformat(properties["generated"])
        assert generated.utcoffset() == datetime.timedelta(0)
        assert suite.get("timestamp") == generated.strftime("%Y-%m-%dT%H:%M:%S")
