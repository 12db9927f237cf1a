"""The report filters on rows judged from real wsman.winrm.info results (tests/unit/fixtures, captured
from winrm-sim): compliance_junit, stig_checklist (checked against the STIG Viewer formats in
tests/checklist_formats.py) and compliance_dashboard (its HTML, without a browser; the browser test
is tests/integration/test_audit_evidence.py)."""

from __future__ import annotations

import copy
import datetime
import html.parser
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

import checklist_formats
from ansible_collections.wsman.winrm.plugins.filter.compliance import compliance_junit
from ansible_collections.wsman.winrm.plugins.filter.compliance_dashboard import _sha256, compliance_dashboard
from ansible_collections.wsman.winrm.plugins.filter.stig_checklist import stig_checklist
from ansible_collections.wsman.winrm.plugins.module_utils import controls

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTILE = "</script><img src=x onerror=alert(1)>\x00\x07 ]]> & \u2028"


def judged(fixture: str, **options) -> list[dict]:
    with open(os.path.join(HERE, "fixtures", "info_%s.json" % fixture), encoding="utf-8") as handle:
        return controls.evaluate(json.load(handle), **options)


@pytest.fixture(name="fleet")
def fleet_rows() -> dict[str, list[dict]]:
    return {"WIN-2022": judged("server2022", profile="workgroup_https"),
            "WIN-GPO": judged("gpo", profile="domain_kerberos", deviations={"root_sddl_admins_only": "monitoring"})}


def every_status(rows: list[dict]) -> list[dict]:
    """The STIG rows of a host, each status of the vocabulary on at least one of them."""
    rows = copy.deepcopy(rows)
    stig = [row for row in rows if row["references"]["stig"]]
    assert len(stig) >= len(controls.STATUSES)
    for row, status in zip(stig, controls.STATUSES):
        row["status"] = status
    return rows


# -- JUnit -------------------------------------------------------------------------------------------

def test_junit_types_each_outcome_and_carries_severity(fleet):
    root = ET.fromstring(compliance_junit({"WIN-2022": every_status(fleet["WIN-2022"])}).encode())
    cases = {case.get("classname").split(".", 1)[1]: case for case in root.iter("testcase")}
    for row in every_status(fleet["WIN-2022"]):
        case = cases[row["id"]]
        properties = {p.get("name"): p.get("value") for p in case.find("properties")}
        assert properties["severity"] == row["severity"]
        assert properties.get("stig") == row["references"]["stig"]
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        assert kinds == {"pass": [], "fail": ["failure"], "unknown": ["error"]}.get(row["status"], ["skipped"])
        if kinds and kinds[0] != "skipped":
            assert case.find(kinds[0]).get("type") == row["status"]
    suite = root.find("testsuite")
    assert suite.get("hostname") == "WIN-2022" and int(suite.get("tests")) == len(cases)


def test_junit_unknown_as_skipped_and_bad_input(fleet):
    root = ET.fromstring(compliance_junit({"h": every_status(fleet["WIN-2022"])}, unknown_as="skipped").encode())
    assert root.get("errors") == "0" and int(root.get("skipped")) >= 3
    with pytest.raises(AnsibleFilterError, match=r"host 'h', control result 0 \(client_basic\): 'status' is 'open'"):
        compliance_junit({"h": [dict(fleet["WIN-2022"][0], status="open")]})
    with pytest.raises(AnsibleFilterError, match="unknown_as must be 'error' or 'skipped', got 'fail'"):
        compliance_junit(fleet, unknown_as="fail")


def test_junit_suites_say_when_and_by_what_they_were_made(fleet):
    run = {"generated": "2026-01-31T12:00:05Z", "collection": "wsman.winrm 0.1.0", "ansible_core": "2.19.4",
           "benchmark": {"id": "cis_ws2022_v3", "title": "CIS Microsoft Windows Server 2022 Benchmark v3.0.0"},
           "stig": {}, "system": None}
    gpo = {"generated": "2026-01-31T14:30:00+02:00", "stig": {"version": "ws2019", "source": "detected"},
           "system": {"os_caption": "Microsoft Windows Server 2019 Standard", "domain_role": 3, "domain": None}}
    root = ET.fromstring(compliance_junit(fleet, provenance=run, host_provenance={"WIN-GPO": gpo}).encode())
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    made = {host: [(p.get("name"), p.get("value")) for p in suite.find("properties")] for host, suite in suites.items()}
    # The properties come before the testcases (the JUnit schema's order); a host's values replace the run's.
    assert all(list(suite)[0].tag == "properties" for suite in suites.values())
    assert suites["WIN-2022"].get("timestamp") == "2026-01-31T12:00:05"
    assert made["WIN-2022"] == [("generated", run["generated"]), ("collection", "wsman.winrm 0.1.0"),
                                ("ansible_core", "2.19.4"), ("benchmark_id", "cis_ws2022_v3"),
                                ("benchmark_title", "CIS Microsoft Windows Server 2022 Benchmark v3.0.0")]
    assert suites["WIN-GPO"].get("timestamp") == "2026-01-31T12:30:00"  # in UTC, without a zone
    assert dict(made["WIN-GPO"]) == dict(made["WIN-2022"], generated=gpo["generated"], stig_version="ws2019",
                                         stig_source="detected", system_domain_role="3",
                                         system_os_caption="Microsoft Windows Server 2019 Standard")

    # Without provenance, the timestamp is the time the filter ran, and no suite has empty properties.
    plain = ET.fromstring(compliance_junit(fleet).encode())
    for suite in plain.iter("testsuite"):
        assert datetime.datetime.strptime(suite.get("timestamp"), "%Y-%m-%dT%H:%M:%S").year >= 2026
        assert suite.find("properties") is None
    with pytest.raises(AnsibleFilterError, match="provenance generated 'yesterday' is not an ISO 8601 time"):
        compliance_junit(fleet, provenance={"generated": "yesterday"})
    with pytest.raises(AnsibleFilterError, match="host_provenance must be a dict, got list"):
        compliance_junit(fleet, host_provenance=["WIN-GPO"])
    with pytest.raises(AnsibleFilterError, match=r"host_provenance\['WIN-GPO'\] must be a dict, got str"):
        compliance_junit(fleet, host_provenance={"WIN-GPO": "2019"})


def test_junit_stays_xml_with_control_characters_from_a_host(fleet):
    rows = copy.deepcopy(fleet["WIN-2022"])
    rows[0]["reason"] = HOSTILE
    root = ET.fromstring(compliance_junit({"h": rows}).encode())
    assert "onerror" in root.find(".//failure").get("message")


# -- STIG Viewer checklists --------------------------------------------------------------------------

def test_checklists_round_trip_every_status_in_both_formats(fleet):
    rows = {"WIN-2022": every_status(fleet["WIN-2022"])}
    expected = {row["references"]["stig"]: row["status"] for row in rows["WIN-2022"] if row["references"]["stig"]}
    assert set(expected.values()) == set(controls.STATUSES)
    cklb = json.loads(stig_checklist(rows, "cklb")["WIN-2022"])
    checklist_formats.validate_cklb(cklb)
    assert checklist_formats.cklb_statuses(cklb) == expected
    ckl = ET.fromstring(stig_checklist(rows, "ckl")["WIN-2022"].encode())
    checklist_formats.validate_ckl(ckl)
    assert checklist_formats.ckl_statuses(ckl) == expected


def test_checklist_ids_target_and_provenance(fleet):
    documents = stig_checklist(fleet, "cklb", release_info="Release: 3 Benchmark Date: 30 Jan 2025", version="2",
                               targets={"WIN-2022": {"ansible_host": "192.0.2.10", "domain_role": 5, "comments": "DMZ"},
                                        "WIN-GPO": {"fqdn": "gpo.example.com", "role": "member server"}},
                               provenance={"collection": "wsman.winrm 0.1.0"},
                               rule_ids={"WN22-CC-000500": {"vuln": "V-254381", "rule": "SV-254381r1_rule"}})
    first = json.loads(documents["WIN-2022"])
    assert first["target_data"]["ip_address"] == "192.0.2.10" and first["target_data"]["role"] == "Domain Controller"
    assert first["target_data"]["comments"] == "DMZ"
    assert json.loads(documents["WIN-GPO"])["target_data"]["role"] == "Member Server"
    rule = next(r for r in first["stigs"][0]["rules"] if r["rule_version"] == "WN22-CC-000500")
    ids = (rule["group_id"], rule["rule_id_src"], rule["rule_id"])
    assert ids == ("V-254381", "SV-254381r1_rule", "SV-254381r1")
    assert "collection: wsman.winrm 0.1.0" in rule["comments"] and "generated: " in rule["comments"]
    assert first["stigs"][0]["release_info"].startswith("Release: 3")
    # Exporting again names the same checklist, STIG and rules, so STIG Viewer updates rather than duplicates.
    again = json.loads(stig_checklist(fleet, "cklb")["WIN-2022"])
    assert again["id"] == first["id"] and again["stigs"][0]["uuid"] == first["stigs"][0]["uuid"]
    assert [r["uuid"] for r in again["stigs"][0]["rules"]] == [r["uuid"] for r in first["stigs"][0]["rules"]]


def test_checklist_only_holds_stig_rules_of_one_stig_version(fleet):
    for stig in controls.STIGS:
        rows = judged("gpo", stig=stig)
        document = json.loads(stig_checklist({"h": rows})["h"])
        checklist_formats.validate_cklb(document)
        assert [r["rule_version"] for r in document["stigs"][0]["rules"]] == [
            row["references"]["stig"] for row in rows if row["references"]["stig"]]
    mixed = judged("gpo", stig="ws2019")[:3] + judged("gpo", stig="ws2022")[3:]
    with pytest.raises(AnsibleFilterError, match="host 'h': the STIG IDs come from ws2019, ws2022; one checklist"):
        stig_checklist({"h": mixed})
    with pytest.raises(AnsibleFilterError, match="no control result carries a STIG ID"):
        stig_checklist({"h": [row for row in fleet["WIN-2022"] if not row["references"]["stig"]]})


def test_checklist_rejects_bad_options(fleet):
    with pytest.raises(AnsibleFilterError, match="format must be one of cklb, ckl, got 'xccdf'"):
        stig_checklist(fleet, "xccdf")
    with pytest.raises(AnsibleFilterError, match=r"targets\['WIN-2022'\].role is 'web server'; expected one of None"):
        stig_checklist(fleet, targets={"WIN-2022": {"role": "web server"}})
    with pytest.raises(AnsibleFilterError, match=r"targets\['WIN-2022'\].domain_role is 9; expected 0-5"):
        stig_checklist(fleet, targets={"WIN-2022": {"domain_role": 9}})
    with pytest.raises(AnsibleFilterError, match=r"rule_ids\['WN22-CC-000500'\] must be \{vuln: V-"):
        stig_checklist(fleet, rule_ids={"WN22-CC-000500": "V-254381"})


def test_ckl_stays_valid_xml_with_hostile_text(fleet):
    rows = copy.deepcopy(fleet["WIN-2022"])
    rows[0]["evidence"][0]["value"] = HOSTILE
    root = ET.fromstring(stig_checklist({"h": rows}, "ckl")["h"].encode())
    checklist_formats.validate_ckl(root)
    assert "<img src=x onerror=alert(1)>" in root.find(".//FINDING_DETAILS").text


def test_checklist_checks_are_the_published_files(fleet):
    """The checks the checklists pass are DISA's schema and a checklist STIG Viewer 3 saved
    (tests/fixtures/checklists): they accept that checklist and turn down what STIG Viewer would not read."""
    sample = checklist_formats.cklb_sample()
    checklist_formats.validate_cklb(sample, whole=False)
    assert checklist_formats.ckl_roles() == ("None", "Workstation", "Member Server", "Domain Controller")
    ckl = ET.fromstring(stig_checklist({"h": fleet["WIN-2022"]}, "ckl")["h"].encode())
    checklist_formats.validate_ckl(ckl)
    wrong_root = ET.Element("CHECKLISTS")
    wrong_root.extend(list(ckl))
    with_attribute = copy.deepcopy(ckl)
    with_attribute.find("ASSET/HOST_NAME").set("fqdn", "h.example.com")
    reordered = copy.deepcopy(ckl)
    vuln = reordered.find(".//VULN")
    status = vuln.find("STATUS")
    vuln.remove(status)
    vuln.insert(0, status)
    bad_boolean = copy.deepcopy(ckl)
    bad_boolean.find("ASSET/WEB_OR_DATABASE").text = "no"
    for broken, where in ((wrong_root, "CHECKLISTS"), (with_attribute, "HOST_NAME"), (reordered, "VULN"),
                          (bad_boolean, "WEB_OR_DATABASE")):
        with pytest.raises(AssertionError, match=where):
            checklist_formats.validate_ckl(broken)

    cklb = json.loads(stig_checklist({"h": fleet["WIN-2022"]}, "cklb")["h"])
    checklist_formats.validate_cklb(cklb)
    missing, extra, retyped = copy.deepcopy(cklb), copy.deepcopy(cklb), copy.deepcopy(cklb)
    del missing["stigs"][0]["rules"][0]["group_id_src"]
    extra["stigs"][0]["rules"][0]["createdAt"] = "2026-01-01T00:00:00.000Z"
    retyped["stigs"][0]["size"] = str(retyped["stigs"][0]["size"])
    for broken, where in ((missing, r"/stigs/0/rules/0: keys missing \['group_id_src'\]"),
                          (extra, r"does not write \['createdAt'\]"), (retyped, "/stigs/0/size: string")):
        with pytest.raises(AssertionError, match=where):
            checklist_formats.validate_cklb(broken)


# -- the dashboard's HTML ----------------------------------------------------------------------------

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.policy, self._script = [], [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = [attrs.get("type"), ""]
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            self.policy = attrs["content"]

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(tuple(self._script))
            self._script = None


def test_dashboard_is_self_contained_and_inert(fleet):
    rows = copy.deepcopy(fleet)
    rows["WIN-2022"][0]["reason"] = HOSTILE
    rows[HOSTILE] = rows.pop("WIN-GPO")
    page = Page()
    page.feed(compliance_dashboard(rows, groups={"all": list(rows), "dmz": ["WIN-2022", "not-in-the-fleet"]},
                                   not_assessed={"WIN-OFF": "connection refused"}, provenance={"run": HOSTILE}))
    # No element came from a host's text; nothing is loaded from anywhere.
    assert not [tag for tag, _attrs in page.tags if tag == "img"]
    links = [attrs.get("src") or attrs.get("href") for _tag, attrs in page.tags if attrs.get("src") or attrs.get("href")]
    assert links and all(link == "data:," or link.startswith("#") for link in links), links
    (data_type, data_text), (code_type, code_text) = page.scripts
    assert data_type == "application/json" and code_type is None
    assert "default-src 'none'" in page.policy and _sha256(code_text) in page.policy
    data = json.loads(data_text)
    assert {h["name"] for h in data["hosts"]} == {"WIN-2022", HOSTILE}
    assert data["groups"] == {"dmz": ["WIN-2022"]}
    assert data["not_assessed"] == [{"name": "WIN-OFF", "reason": "connection refused"}]
    host = next(h for h in data["hosts"] if h["name"] == "WIN-2022")
    column = [c["id"] for c in data["controls"]].index(rows["WIN-2022"][0]["id"])
    assert dict(data["controls"][column], **host["rows"][column])["reason"] == HOSTILE
    assert data["summary"]["hosts"] == 2 and data["summary"]["not_assessed"] == 1


def test_dashboard_orders_worst_first_and_counts(fleet):
    data = json.loads(re.search(r'<script type="application/json" id="fleet-data">(.*?)</script>',
                                compliance_dashboard(fleet), re.S).group(1))
    fails = {h: sum(r["status"] == "fail" for r in rows) for h, rows in fleet.items()}
    assert [h["name"] for h in data["hosts"]] == sorted(fails, key=lambda h: -fails[h])
    fail_index = data["statuses"].index("fail")
    per_control = [sum(h["cells"][i] == fail_index for h in data["hosts"]) for i in data["order"]]
    assert per_control == sorted(per_control, reverse=True)
    assert sum(data["summary"]["counts"].values()) == sum(len(rows) for rows in fleet.values())


def test_dashboard_template_override_and_errors(fleet, tmp_path):
    template = tmp_path / "mine.html.j2"
    template.write_text("<p>{{ title }}: {{ data.summary.hosts }} hosts</p>")
    assert compliance_dashboard(fleet, title="Q3 <audit>", template=str(template)) == "<p>Q3 &lt;audit&gt;: 2 hosts</p>"
    with pytest.raises(AnsibleFilterError, match="template '/nowhere.j2' is not a file"):
        compliance_dashboard(fleet, template="/nowhere.j2")
    with pytest.raises(AnsibleFilterError, match="groups must be a dict, got list"):
        compliance_dashboard(fleet, groups=["dmz"])
    with pytest.raises(AnsibleFilterError, match=r"the value for host 'h' is a str, not a list"):
        compliance_dashboard({"h": "rows"})


def test_report_templates_name_a_bad_template(tmp_path):
    from ansible_collections.wsman.winrm.plugins.plugin_utils import report_files

    context = report_files.report_context({"h": []}, None, "t", {}, {})
    with pytest.raises(ValueError, match=r"markdown_template '/nowhere.j2' is not a file; .*templates/compliance_report.md.j2"):
        report_files.render("markdown", context, "/nowhere.j2")
    broken = tmp_path / "broken.html.j2"
    broken.write_text("{% for host in hosts %}")
    with pytest.raises(ValueError, match="html_template .*broken.html.j2: "):
        report_files.render("html", context, str(broken))
    mine = tmp_path / "mine.html.j2"
    mine.write_text("<p>{{ title }}</p>")
    assert report_files.render("html", dict(context, title="<b>"), str(mine)) == "<p>&lt;b&gt;</p>"


def test_side_by_side_runs_the_side_job_in_another_process_and_returns_both_results(tmp_path):
    from ansible_collections.wsman.winrm.plugins.plugin_utils.report_files import side_by_side

    def side():
        (tmp_path / "side.txt").write_text("written by the child")
        return os.getpid(), ["side.txt"]

    (child_pid, written), main = side_by_side(side, os.getpid)
    assert main == os.getpid() and child_pid != os.getpid()
    assert written == ["side.txt"] and (tmp_path / "side.txt").read_text() == "written by the child"


def test_side_by_side_carries_a_failure_of_the_side_job_as_its_text():
    from ansible_collections.wsman.winrm.plugins.plugin_utils.report_files import side_by_side

    def side():
        raise OSError(28, "No space left on device")

    with pytest.raises(RuntimeError, match=r"OSError: \[Errno 28\] No space left on device"):
        side_by_side(side, lambda: None)

    # The main job's own failure wins, after the child is reaped.
    def main():
        raise ValueError("bad template")

    with pytest.raises(ValueError, match="bad template"):
        side_by_side(lambda: 1, main)
