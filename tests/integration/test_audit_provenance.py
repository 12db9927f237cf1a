"""Audit evidence an assessor accepts, through the shipped secure_baseline playbook against simulated
hosts: every report says when, by what and against which Windows it was made (read over WMI, which
also chooses the STIG), every control row names the Windows setting, the evidence and the fix, an
audit's rows say what the apply then changes, a user's own templates write the Markdown and the HTML, and
the JUnit reports carry the same provenance.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import markupsafe
import pytest

import checklist_formats
from harness import base_address, Fleet, FleetProcess, run_tasks
from test_secure_baseline import run_role

PROFILES = "server2022,winrm11,gpo"
# The listeners stay as they are: the shipped firewall rules of these profiles admit HTTP only, so the
# HTTPS proof would time out (as on Windows) and the apply be rolled back; the policy values and the
# settings are what this test follows from the audit to the apply.
KEEP_LISTENERS = {"secure_baseline_https_listener": False}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    process = FleetProcess(str(tmp_path_factory.mktemp("provenance-fleet")), hosts=3, profiles=PROFILES,
                           base_address=base_address(16)).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


def by_profile(fleet):
    return {host_vars["wsman_winrm_sim_profile"]: name for name, host_vars in sorted(fleet.hosts().items())}


def test_provenance_rows_and_the_users_template(fleet, tmp_path):
    names = by_profile(fleet)
    template = tmp_path / "mine.md.j2"
    template.write_text("# Our audit: {{ title }}\n{% for host in hosts %}{{ host.name }} "
                        "{{ host.provenance.stig.version }} {{ host.counts.fail }}\n{% endfor %}")
    # The rows' fixes are the host's values in this page; one holds "<server1>", which must stay text.
    html_template = tmp_path / "mine.html.j2"
    html_template.write_text("<p>Our HTML audit: {{ title }}</p>\n{% for host in hosts %}<h2>{{ host.name }}</h2>\n"
                             "{% for row in host.rows %}<p>{{ row.id }}: {{ row.fix }}</p>\n{% endfor %}{% endfor %}")
    audit, _recap, reports = run_role(fleet, tmp_path / "audit", check=True,
                                      extra_vars=dict(KEEP_LISTENERS,
                                                      secure_baseline_report_markdown_template=str(template),
                                                      secure_baseline_report_html_template=str(html_template)))
    assert audit.returncode == 0, audit.stdout[-3000:]
    audited = {profile: json.loads((reports / f"{name}.json").read_text()) for profile, name in names.items()}

    # Provenance: the time, the versions, the benchmark, and the OS and role read over WMI choose the STIG.
    with open("galaxy.yml", encoding="utf-8") as handle:
        version = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("version:"))
    for profile, report in audited.items():
        provenance = report["provenance"]
        assert provenance["generated"].endswith("Z") and provenance["collection"] == "wsman.winrm " + version
        assert provenance["ansible_core"][0].isdigit()
        assert provenance["benchmark"] == {"id": "cis_ws2022_v3",
                                           "title": "CIS Microsoft Windows Server 2022 Benchmark v3.0.0"}
    server = audited["server2022"]["provenance"]
    assert server["system"]["os_caption"] == "Microsoft Windows Server 2022 Datacenter"
    assert server["system"]["domain_role"] == 2  # a standalone server: the member-server rules apply
    assert server["stig"]["version"] == "ws2022" and server["stig"]["source"] == "detected"
    assert server["stig"]["role"] == "member_server"
    old = audited["winrm11"]["provenance"]
    assert old["system"]["os_version"] == "6.0.6002"
    assert old["stig"]["source"] == "default" and "no STIG of the catalog covers it" in old["stig"]["reason"]
    rows = {row["id"]: row for row in audited["server2022"]["after"]}
    assert rows["local_account_token_filter"]["references"]["stig"] == "WN22-MS-000020"

    # Every row: the setting as an admin knows it, the evidence and the fix; the audit says what changes.
    basic = rows["service_basic"]
    assert basic["setting"]["group_policy"] == ("Computer Configuration > Administrative Templates > Windows "
                                                "Components > Windows Remote Management (WinRM) > WinRM Service > "
                                                "Allow Basic authentication")
    assert basic["setting"]["registry"].startswith(r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\AllowBasic")
    assert basic["setting"]["winrm"] == "winrm/config/Service/Auth Basic"
    assert "to Disabled" in basic["fix"]
    assert all(row["setting"] and row["fix"] and "evidence" in row for row in rows.values())
    assert basic["status"] == "fail" and basic["change"]["applied"] is False
    assert basic["change"]["status"] == {"from": "fail", "to": "pass"}
    assert {"setting": "policy:Service\\AllowBasic", "from": None, "to": 0} in basic["change"]["settings"]

    # The user's template wrote the Markdown, per host and for the run.
    assert (reports / f"{names['server2022']}.md").read_text().startswith("# Our audit: ")
    run_markdown = (reports / "secure_baseline.md").read_text()
    assert "%s ws2022 " % names["server2022"] in run_markdown

    # The user's HTML template wrote the HTML, per host and for the run, every value escaped.
    trusted_hosts_fix = rows["trusted_hosts_not_wildcard"]["fix"]
    assert "<server1>" in trusted_hosts_fix
    for page_name in (names["server2022"], "secure_baseline"):
        page = (reports / f"{page_name}.html").read_text()
        assert page.startswith("<p>Our HTML audit: WinRM compliance "), page[:200]
        assert "<server1>" not in page and str(markupsafe.escape(trusted_hosts_fix)) in page
        assert "<h2>%s</h2>" % names["server2022"] in page

    # JUnit, per host and for the run: each testsuite's timestamp and properties give the same provenance.
    for report_name in (names["server2022"], "secure_baseline"):
        suites = {suite.get("name"): suite for suite in ET.parse(reports / f"{report_name}.xml").getroot()}
        assert set(suites) == ({names["server2022"]} if report_name != "secure_baseline" else set(names.values()))
        for host, suite in suites.items():
            made = next(report for report in audited.values() if report["host"] == host)["provenance"]
            assert suite.get("timestamp") == made["generated"].rstrip("Z"), report_name
            properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
            assert properties["collection"] == "wsman.winrm " + version
            assert properties["ansible_core"] == made["ansible_core"]
            assert properties["benchmark_id"] == "cis_ws2022_v3"
            assert properties["stig_version"] == made["stig"]["version"]
            assert properties["system_os_caption"] == made["system"]["os_caption"]
            assert properties["system_domain_role"] == str(made["system"]["domain_role"])

    # The apply then changes exactly what the audit said.
    applied, _recap, reports = run_role(fleet, tmp_path / "apply", extra_vars=KEEP_LISTENERS)
    assert applied.returncode == 0, applied.stdout[-3000:]
    for profile, name in names.items():
        report = json.loads((reports / f"{name}.json").read_text())
        now = {row["id"]: row for row in report["after"]}
        for row in audited[profile]["after"]:
            if not row.get("change"):
                continue
            assert now[row["id"]]["status"] == row["change"]["status"]["to"], (profile, row["id"])
            values = {item["setting"]: item["value"] for item in now[row["id"]]["evidence"]}
            for item in row["change"]["settings"]:
                if item["setting"] != "listeners":  # the listener labels carry the simulator's ports
                    assert values[item["setting"]] == item["to"], (profile, row["id"], item)
            assert now[row["id"]]["change"]["applied"] is True
    markdown = (reports / f"{names['server2022']}.md").read_text()
    assert "## Before and after" in markdown and "- Windows: Microsoft Windows Server 2022 Datacenter" in markdown
    assert "STIG: Microsoft Windows Server 2022 STIG (detected:" in markdown

    # The run task wrote its HTML report from the collection's template (the apply passes none), the fleet
    # dashboard and one checklist per host in both formats; the checklists hold every STIG rule's status as
    # the report has it, with the host's role read over WMI.
    page = (reports / "secure_baseline.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and all(name in page for name in names.values())
    assert "Microsoft Windows Server 2022 Datacenter" in page
    dashboard = (reports / "secure_baseline_dashboard.html").read_text()
    assert dashboard.startswith("<!DOCTYPE html>") and all(name in dashboard for name in names.values())
    for profile, name in names.items():
        report = json.loads((reports / f"{name}.json").read_text())
        expected = {row["references"]["stig"]: row["status"] for row in report["after"] if row["references"]["stig"]}
        document = json.loads((reports / "checklists" / f"{name}.cklb").read_text())
        checklist_formats.validate_cklb(document)
        assert checklist_formats.cklb_statuses(document) == expected, profile
        assert document["target_data"]["role"] == "Member Server"
        root = ET.parse(reports / "checklists" / f"{name}.ckl").getroot()
        checklist_formats.validate_ckl(root)
        assert checklist_formats.ckl_statuses(root) == expected, profile
    assert "checklists/<host>.{cklb,ckl}" in applied.stdout


def test_the_run_report_written_on_two_cores_and_a_bad_dashboard_template_named(fleet, tmp_path):
    """The run's report task writes its JUnit report, dashboard and checklists in a forked child of
    the Ansible worker: they arrive with the rest, and a failure there fails the task, named."""
    names = by_profile(fleet)
    audit, _recap, reports = run_role(fleet, tmp_path / "audit", check=True, extra_vars=KEEP_LISTENERS)
    assert audit.returncode == 0, audit.stdout[-3000:]
    first = sorted(names.values())[0]
    report = {"wsman.winrm.compliance_report": {"dir": str(reports), "name": "again",
                                                "hosts": sorted(names.values())}}
    broken = {"wsman.winrm.compliance_report": dict(report["wsman.winrm.compliance_report"], name="broken",
                                                    dashboard_template=str(tmp_path / "missing.html.j2"))}
    run = run_tasks(fleet, [report, broken], limit=first, tmp_path=tmp_path / "play")
    written, failed = run[first]
    assert not written.get("failed"), written
    assert written["files"][:4] == [str(reports / ("again" + ext)) for ext in (".json", ".md", ".html", ".xml")]
    suites = ET.parse(reports / "again.xml").getroot().findall("testsuite")
    assert sorted(suite.get("name") for suite in suites) == sorted(names.values())
    assert (reports / "again_dashboard.html").is_file()
    server = names["server2022"]  # a host the STIG catalog covers has a checklist in both formats
    assert all((reports / "checklists" / f"{server}.{form}").is_file() for form in ("cklb", "ckl"))
    assert failed.get("failed")
    assert failed["msg"].startswith("compliance_report: wsman.winrm.compliance_dashboard: template ")
    assert "is not a file" in failed["msg"] and not (reports / "broken_dashboard.html").exists()
