"""The control catalog and its evaluation (module_utils/controls.py) and the compliance filters.

The fixtures are real wsman.winrm.info results from winrm-sim (profiles server2022 and gpo), with
only the endpoint block trimmed."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wsman.winrm.plugins.filter.compliance import (
    FilterModule,
    compliance,
    compliance_junit,
    compliance_markdown,
)
from ansible_collections.wsman.winrm.plugins.module_utils import controls

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Judged from info's certificates part, which these fixtures lack (their listeners include HTTPS): unknown.
CERTIFICATE_CONTROLS = ("listener_certificate_present", "listener_certificate_expiry", "listener_certificate_hostname",
                        "listener_certificate_issuer")
SIX = ("client_basic", "client_unencrypted", "client_digest", "service_basic", "service_unencrypted",
       "service_runas")
CIS_L2 = ("service_auto_config", "remote_shell_access")


def load(profile: str) -> dict:
    with open(os.path.join(HERE, "fixtures", "info_%s.json" % profile), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture
def server2022():
    return load("server2022")


@pytest.fixture
def gpo():
    return load("gpo")


def by_id(results):
    return {result["id"]: result for result in results}


# ---- the catalog ---------------------------------------------------------------------------

def test_catalog_is_complete_and_ids_unique():
    ids = [control.id for control in controls.CONTROLS]
    assert len(ids) == len(set(ids))
    assert set(SIX) | set(CIS_L2) | {
        "https_listener", "http_listener_removed", "compatibility_listeners_off", "cbt_hardening_strict",
        "credssp_off", "trusted_hosts_not_wildcard", "local_account_token_filter", "root_sddl_admins_only",
        "security_verdict", "firewall_public_local_subnet",
    } | set(CERTIFICATE_CONTROLS) == set(ids)
    for control in controls.CONTROLS:
        assert control.rule in controls.RULES
        assert control.severity in ("high", "medium", "low")
        for path in control.settings + control.evidence:
            if path.startswith("policy:"):
                key = path[len("policy:"):].rpartition("\\")[0]
                assert key.lower() in controls._POLICY_KEYS, path


def test_policy_keys_match_the_model():
    """controls.py keeps its own copy of the policy keys (it must stay free of pypsrp)."""
    from ansible_collections.wsman.winrm.plugins.module_utils import resources

    paths = {setting.path for setting in resources.POLICY_SETTINGS}
    assert set(controls._POLICY_KEYS.values()) <= paths
    for control in controls.CONTROLS:
        for path in control.settings + control.evidence:
            if path.startswith("policy:"):
                key, _sep, name = path[len("policy:"):].rpartition("\\")
                resources.policy_setting(key, name)  # KeyError if the model does not read it


@pytest.mark.parametrize("benchmark, client_basic, service_runas, auto_config, shell, latfp", [
    ("cis_ws2019_v1_2_1", "18.9.97.1.1", "18.9.97.2.4", "18.9.97.2.2", "18.9.98.1", None),
    ("cis_ws2019_v1_3_0", "18.9.102.1.1", "18.9.102.2.4", "18.9.102.2.2", "18.9.103.1", None),
    ("cis_ws2019_v2", "18.10.89.1.1", "18.10.89.2.4", "18.10.89.2.2", "18.10.90.1", "18.4.1"),
    ("cis_ws2022_v2", "18.10.89.1.1", "18.10.89.2.4", "18.10.89.2.2", "18.10.90.1", "18.4.1"),
    ("cis_ws2022_v3", "18.10.89.1.1", "18.10.89.2.4", "18.10.89.2.2", "18.10.90.1", "18.4.1"),
    ("cis_ws2022_v4", "18.10.89.1.1", "18.10.89.2.4", "18.10.89.2.2", "18.10.90.1", "18.4.1"),
    ("cis_win11_v3", "18.10.88.1.1", "18.10.88.2.4", "18.10.88.2.2", "18.10.89.1", None),
])
def test_cis_references_per_benchmark_version(benchmark, client_basic, service_runas, auto_config, shell, latfp):
    rows = {row["id"]: row["references"] for row in controls.catalog(benchmark=benchmark)}
    assert rows["client_basic"]["cis"] == client_basic and rows["client_basic"]["cis_level"] == "L1"
    assert rows["service_runas"]["cis"] == service_runas
    assert rows["service_auto_config"]["cis"] == auto_config and rows["service_auto_config"]["cis_level"] == "L2"
    assert rows["remote_shell_access"]["cis"] == shell
    assert rows["local_account_token_filter"]["cis"] == latfp
    assert rows["https_listener"]["cis"] is None and rows["https_listener"]["cis_level"] is None
    assert {r["cis_benchmark"] for r in rows.values()} == {benchmark}


@pytest.mark.parametrize("stig, ids", [
    ("win10", ["WN10-CC-000330", "WN10-CC-000335", "WN10-CC-000360", "WN10-CC-000345", "WN10-CC-000350",
               "WN10-CC-000355"]),
    ("ws2016", ["WN16-CC-000500", "WN16-CC-000510", "WN16-CC-000520", "WN16-CC-000530", "WN16-CC-000540",
                "WN16-CC-000550"]),
    ("ws2019", ["WN19-CC-000470", "WN19-CC-000480", "WN19-CC-000490", "WN19-CC-000500", "WN19-CC-000510",
                "WN19-CC-000520"]),
    ("ws2022", ["WN22-CC-000470", "WN22-CC-000480", "WN22-CC-000490", "WN22-CC-000500", "WN22-CC-000510",
                "WN22-CC-000520"]),
])
def test_stig_references_per_windows_version(stig, ids):
    rows = {row["id"]: row["references"] for row in controls.catalog(stig=stig)}
    assert [rows[control]["stig"] for control in SIX] == ids
    assert [rows[control]["stig_severity"] for control in SIX] == ["CAT I", "CAT II", "CAT II", "CAT I", "CAT II", "CAT II"]
    assert rows["service_auto_config"]["stig"] is None  # CIS only


def test_unknown_choices_are_refused(server2022):
    with pytest.raises(ValueError, match="benchmark"):
        controls.catalog(benchmark="cis_ws2025_v9")
    with pytest.raises(ValueError, match="STIG"):
        controls.evaluate(server2022, "domain_kerberos", stig="ws2003")
    with pytest.raises(ValueError, match="profile"):
        controls.evaluate(server2022, "everything_open")
    with pytest.raises(ValueError, match="unknown controls: no_such_control"):
        controls.evaluate(server2022, "domain_kerberos", deviations={"no_such_control": "why"})


def test_controls_doc_matches_the_catalog():
    completed = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "generate_controls.py"), "--check"],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_controls_module_is_pure():
    """Standard library only: no Ansible, no pypsrp, nothing of the collection but the policy table,
    the verdict rules and the SDDL parser, all pure (the filters and the docs script load it alone)."""
    allowed = {"ansible_collections", "ansible_collections.wsman", "ansible_collections.wsman.winrm",
               "ansible_collections.wsman.winrm.plugins", "ansible_collections.wsman.winrm.plugins.module_utils",
               "ansible_collections.wsman.winrm.plugins.module_utils.controls",
               "ansible_collections.wsman.winrm.plugins.module_utils.policy",
               "ansible_collections.wsman.winrm.plugins.module_utils.sddl",
               "ansible_collections.wsman.winrm.plugins.module_utils.verdict"}
    code = ("import sys; sys.path.insert(0, %r); sys.path.insert(0, %r); import generate_controls; "
            "generate_controls.load_controls(); "
            "bad = [n for n in sys.modules if n.split('.')[0] in ('ansible', 'pypsrp', 'requests') "
            "or (n.startswith('ansible_collections') and n not in %r)]; print(bad); sys.exit(1 if bad else 0)"
            % (os.path.join(ROOT, "docs"), os.path.join(ROOT, "docs"), allowed))
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


# ---- evaluation against real info results ----------------------------------------------------

def test_server2022_fails_the_six_policy_controls(server2022):
    results = by_id(controls.evaluate(server2022, "domain_kerberos"))
    for control in SIX:
        assert results[control]["status"] == "fail", control
        assert results[control]["actual"] == "not configured"
    # the effective value is evidence: Basic is off in winrm/config, but the scanner's finding stays open
    evidence = {item["setting"]: item for item in results["service_basic"]["evidence"]}
    assert evidence[r"policy:Service\AllowBasic"] == {"setting": r"policy:Service\AllowBasic", "value": None,
                                                      "source": "not configured"}
    assert evidence["service.auth.basic"] == {"setting": "service.auth.basic", "value": False, "source": "local"}


def test_gpo_passes_the_six_policy_controls_with_gpo_evidence(gpo):
    results = by_id(controls.evaluate(gpo, "domain_kerberos"))
    for control in SIX:
        assert results[control]["status"] == "pass", control
        assert results[control]["reason"] == ""
    assert results["service_runas"]["actual"] == 1 and results["service_basic"]["actual"] == 0
    evidence = {item["setting"]: item for item in results["client_basic"]["evidence"]}
    assert evidence[r"policy:Client\AllowBasic"]["source"] == "policy"
    assert evidence["client.auth.basic"] == {"setting": "client.auth.basic", "value": False, "source": "GPO"}
    assert results["client_basic"]["references"] == {
        "cis": "18.10.89.1.1", "cis_level": "L1", "cis_benchmark": "cis_ws2022_v3",
        "stig": "WN22-CC-000470", "stig_severity": "CAT I", "stig_version": "ws2022"}


@pytest.mark.parametrize("fixture", ["server2022", "gpo"])
@pytest.mark.parametrize("profile", controls.PROFILES)
def test_cis_level2_controls_are_always_deviations(fixture, profile):
    info = load(fixture)
    results = by_id(controls.evaluate(info, profile))
    for control in CIS_L2:
        assert results[control]["status"] == "deviation"
        assert results[control]["reason"] == "managed over WinRM"
        assert "not applied" in results[control]["expected"]
    # the same whatever value the policy has: never judged as pass or fail of the opposite value
    for value in (0, 1):
        changed = copy.deepcopy(info)
        changed["policy"].append({"path": r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS",
                                  "name": "AllowRemoteShellAccess", "type": "DWORD", "value": value})
        result = by_id(controls.evaluate(changed, profile))["remote_shell_access"]
        assert result["status"] == "deviation" and result["actual"] == value


def test_beyond_controls_per_profile(server2022):
    domain = by_id(controls.evaluate(server2022, "domain_kerberos"))
    workgroup = by_id(controls.evaluate(server2022, "workgroup_https"))
    certificate = by_id(controls.evaluate(server2022, "certificate_only"))

    assert domain["https_listener"]["status"] == "not_applicable"
    assert domain["http_listener_removed"]["status"] == "not_applicable"
    assert workgroup["https_listener"]["status"] == "pass"  # the simulator adds an HTTPS listener
    assert workgroup["http_listener_removed"]["status"] == "fail"
    assert "HTTP:5985" in workgroup["http_listener_removed"]["reason"]
    assert certificate["http_listener_removed"]["status"] == "fail"

    for results in (domain, workgroup, certificate):
        assert results["compatibility_listeners_off"]["status"] == "pass"
        assert results["credssp_off"]["status"] == "pass"
        assert results["trusted_hosts_not_wildcard"]["status"] == "pass"
        assert results["cbt_hardening_strict"]["status"] == "fail"  # Relaxed, with an HTTPS listener
        assert results["cbt_hardening_strict"]["actual"] == "Relaxed"
        assert results["local_account_token_filter"]["status"] == "pass"  # absent = filtered
        assert results["root_sddl_admins_only"]["status"] == "fail"  # default SDDL: IU read
        assert "IU" in results["root_sddl_admins_only"]["reason"]


def test_cbt_in_the_domain_profile_needs_strict_only_with_https(server2022):
    http_only = copy.deepcopy(server2022)
    http_only["listeners"] = [l for l in http_only["listeners"] if l["transport"] == "HTTP"]
    result = by_id(controls.evaluate(http_only, "domain_kerberos"))["cbt_hardening_strict"]
    assert result["status"] == "not_applicable" and "TLS" in result["reason"]
    strict = copy.deepcopy(server2022)
    strict["service"]["auth"]["cbt_hardening_level"] = "Strict"
    assert by_id(controls.evaluate(strict, "domain_kerberos"))["cbt_hardening_strict"]["status"] == "pass"


def test_insecure_host_fails_the_beyond_controls(server2022):
    insecure = copy.deepcopy(server2022)
    insecure["client"]["trusted_hosts"] = ["*"]
    insecure["client"]["auth"]["credssp"] = True
    insecure["service"]["enable_compatibility_http_listener"] = True
    insecure["listeners"] = [l for l in insecure["listeners"] if l["transport"] == "HTTP"]
    insecure["policy"].append({"path": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
                               "name": "LocalAccountTokenFilterPolicy", "type": "DWORD", "value": 1})
    domain = by_id(controls.evaluate(insecure, "domain_kerberos"))
    workgroup = by_id(controls.evaluate(insecure, "workgroup_https"))
    assert domain["trusted_hosts_not_wildcard"]["status"] == "fail"
    assert domain["credssp_off"]["status"] == "fail" and "client.auth.credssp" in domain["credssp_off"]["reason"]
    assert domain["compatibility_listeners_off"]["status"] == "fail"
    assert workgroup["https_listener"]["status"] == "fail"
    # LocalAccountTokenFilterPolicy=1: a failure in a domain, a documented deviation in a workgroup
    assert domain["local_account_token_filter"]["status"] == "fail"
    assert workgroup["local_account_token_filter"]["status"] == "deviation"
    assert "local administrators" in workgroup["local_account_token_filter"]["reason"]


def _root_sddl_verdict(root_sddl, **options):
    info = load("gpo")
    info["service"]["root_sddl"] = root_sddl
    return by_id(controls.evaluate(info, "domain_kerberos", **options))["root_sddl_admins_only"]


@pytest.mark.parametrize("allowed", [["S-1-5-32-580"], ["RM"], ["BUILTIN\\Remote Management Users"], ["s-1-5-32-580"]])
def test_root_sddl_allowed_trustees_are_sids_aliases_or_names(allowed):
    root_sddl = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)"
    assert "BUILTIN\\Remote Management Users (RM)" in _root_sddl_verdict(root_sddl)["reason"]
    assert _root_sddl_verdict(root_sddl, allowed_sddl_trustees=allowed)["status"] == "pass"
    # Administrators spelt as a SID in the descriptor is still Administrators.
    assert _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;S-1-5-32-544)")["status"] == "pass"


def test_root_sddl_ace_after_a_conditional_ace_is_seen():
    # The condition's parentheses end no ACE: the RM allow after it is read, and the conditional allow
    # itself grants access when its condition holds.
    conditional = '(XA;;GX;;;AU;(@User.department == "ops"))'
    verdict = _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;BA)%s(A;;GR;;;RM)S:P(AU;FA;GA;;;WD)" % conditional)
    assert verdict["status"] == "fail"
    assert "NT AUTHORITY\\Authenticated Users (AU)" in verdict["reason"]
    assert "BUILTIN\\Remote Management Users (RM)" in verdict["reason"]
    allowed = _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;BA)%s(A;;GR;;;RM)" % conditional, allowed_sddl_trustees=["AU"])
    assert allowed["status"] == "fail" and "Authenticated Users" not in allowed["reason"], allowed


def test_root_sddl_allow_ace_without_rights_grants_nothing():
    assert _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;BA)(A;;0x0;;;IU)S:P(AU;FA;GA;;;WD)")["status"] == "pass"
    # Nor does an allow its own deny cancels.
    assert _root_sddl_verdict("O:NSG:BAD:P(D;;GA;;;IU)(A;;GA;;;BA)(A;;GR;;;IU)")["status"] == "pass"


def test_root_sddl_bad_input():
    broken = _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;BA")
    assert broken["status"] == "fail" and "not a security descriptor Windows accepts" in broken["reason"]
    with pytest.raises(ValueError, match="allowed_sddl_trustees: trustee 'CONTOSO.+neither a SID"):
        _root_sddl_verdict("O:NSG:BAD:P(A;;GA;;;BA)", allowed_sddl_trustees=["CONTOSO\\WinRM Admins"])


def test_root_sddl_named_groups():
    info = load("gpo")
    info["service"]["root_sddl"] = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;S-1-5-21-1-2-3-1109)S:P(AU;FA;GA;;;WD)"
    assert by_id(controls.evaluate(info, "domain_kerberos"))["root_sddl_admins_only"]["status"] == "fail"
    allowed = controls.evaluate(info, "domain_kerberos", allowed_sddl_trustees=["S-1-5-21-1-2-3-1109"])
    assert by_id(allowed)["root_sddl_admins_only"]["status"] == "pass"


def test_declared_deviations(server2022):
    results = by_id(controls.evaluate(server2022, "workgroup_https", deviations={
        "cbt_hardening_strict": "Windows 7 clients without CBT",  # by control id
        "WN22-CC-000470": "client Basic handled by the domain GPO",  # by STIG id
        "18.10.89.2.4": "RunAs needed by a plugin",  # by CIS id
        "credssp_off": "passes anyway",
    }))
    assert results["cbt_hardening_strict"]["status"] == "deviation"
    assert results["cbt_hardening_strict"]["reason"] == "Windows 7 clients without CBT"
    assert results["cbt_hardening_strict"]["evaluated_status"] == "fail"
    assert results["client_basic"]["status"] == "deviation"
    assert results["service_runas"]["status"] == "deviation"
    assert results["credssp_off"]["status"] == "pass" and "evaluated_status" not in results["credssp_off"]


def test_unknown_when_parts_were_not_gathered(server2022):
    listeners_only = {key: server2022[key] for key in ("endpoint", "listeners", "gpo_controlled", "security_summary")}
    results = by_id(controls.evaluate(listeners_only, "workgroup_https"))
    for control in SIX + ("compatibility_listeners_off", "cbt_hardening_strict", "credssp_off",
                          "trusted_hosts_not_wildcard", "local_account_token_filter", "root_sddl_admins_only"):
        assert results[control]["status"] == "unknown", control
        assert "not gathered" in results[control]["reason"]
    assert results["https_listener"]["status"] == "pass"
    assert results["service_auto_config"]["status"] == "deviation"  # always
    evidence = {item["setting"]: item for item in results["service_basic"]["evidence"]}
    assert evidence["service.auth.basic"]["source"] == "not gathered"

    config_only = {key: value for key, value in server2022.items() if key != "listeners"}
    results = by_id(controls.evaluate(config_only, "domain_kerberos"))
    assert results["cbt_hardening_strict"]["status"] == "unknown"
    assert results["credssp_off"]["status"] == "pass"


def test_summarize(server2022, gpo):
    assert controls.summarize(controls.evaluate(server2022, "domain_kerberos")) == {
        "pass": 5, "fail": 8, "deviation": 2, "not_applicable": 2, "unknown": 4, "total": 21}
    assert controls.summarize(controls.evaluate(gpo, "workgroup_https")) == {
        "pass": 11, "fail": 4, "deviation": 2, "not_applicable": 0, "unknown": 4, "total": 21}
    assert controls.summarize([]) == {"pass": 0, "fail": 0, "deviation": 0, "not_applicable": 0, "unknown": 0,
                                      "total": 0}


def test_results_are_plain_json(server2022):
    results = controls.evaluate(server2022, "certificate_only")
    assert json.loads(json.dumps(results)) == results
    assert set(results[0]) == {"id", "title", "severity", "references", "expected", "actual", "status", "reason",
                               "evidence", "setting", "fix"}


# ---- the filters -----------------------------------------------------------------------------

def test_filters_registered():
    assert FilterModule().filters() == {"compliance": compliance, "compliance_markdown": compliance_markdown,
                                        "compliance_junit": compliance_junit}


def test_compliance_filter(gpo):
    assert compliance(gpo, "workgroup_https") == controls.evaluate(gpo, "workgroup_https")
    with pytest.raises(AnsibleFilterError, match="profile"):
        compliance(gpo, "nope")
    with pytest.raises(AnsibleFilterError, match="info task failed: refused"):
        compliance({"failed": True, "msg": "refused"})
    with pytest.raises(AnsibleFilterError, match="dict"):
        compliance(["not", "a", "result"])


def test_junit_parses_with_the_right_counts(server2022, gpo):
    per_host = {"win-a": compliance(server2022, "workgroup_https"), "win-b": compliance(gpo, "workgroup_https")}
    root = ET.fromstring(compliance_junit(per_host))
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert set(suites) == {"win-a", "win-b"}
    for host, suite in suites.items():
        counts = controls.summarize(per_host[host])
        cases = suite.findall("testcase")
        assert len(cases) == int(suite.get("tests")) == counts["total"]
        assert len(suite.findall("testcase/failure")) == int(suite.get("failures")) == counts["fail"]
        assert len(suite.findall("testcase/skipped")) == int(suite.get("skipped")) \
            == counts["deviation"] + counts["not_applicable"]
        assert int(suite.get("errors")) == counts["unknown"] == len(CERTIFICATE_CONTROLS)
    assert int(root.get("tests")) == 42 and int(root.get("failures")) == 9 + 4
    case = suites["win-a"].find("testcase[@classname='win-a.service_basic']")
    assert case.find("failure").get("message").startswith("policy not configured")
    assert "WN22-CC-000500" in case.find("failure").text
    skipped = suites["win-b"].find("testcase[@classname='win-b.remote_shell_access']/skipped")
    assert skipped.get("message") == "deviation: managed over WinRM"


def test_junit_unknown_and_escaping(server2022):
    partial = compliance({"listeners": server2022["listeners"], "gpo_controlled": []}, "workgroup_https")
    partial[0]["reason"] = 'odd <reason> & "quotes"'
    partial[0]["status"] = "fail"
    root = ET.fromstring(compliance_junit({"h<1>": partial}))
    unknown = sum(1 for r in partial if r["status"] == "unknown")
    assert unknown and int(root.get("errors")) == unknown
    assert root.find("testsuite").get("name") == "h<1>"
    assert root.find(".//failure").get("message") == 'odd <reason> & "quotes"'
    root = ET.fromstring(compliance_junit({"h": partial}, unknown_as="skipped"))
    assert int(root.get("errors")) == 0 and int(root.get("skipped")) >= unknown
    with pytest.raises(AnsibleFilterError):
        compliance_junit({"h": partial}, unknown_as="ignore")
    with pytest.raises(AnsibleFilterError, match="not a list of control results"):
        compliance_junit({"h": [{"nope": 1}]})


def test_markdown_report(server2022, gpo):
    report = compliance_markdown({"win-a": compliance(server2022, "workgroup_https"),
                                  "win-b": compliance(gpo, "workgroup_https")})
    lines = report.splitlines()
    assert lines[0] == "# WinRM compliance report"
    assert "| host | pass | FAIL | deviation | n/a | unknown | total |" in lines
    assert "| win-a | 6 | 9 | 2 | 0 | 4 | 21 |" in lines
    assert "| win-b | 11 | 4 | 2 | 0 | 4 | 21 |" in lines
    assert "| **all hosts** | 17 | 13 | 4 | 0 | 8 | 42 |" in lines
    assert "## win-a" in lines and "## win-b" in lines
    header = "| status | control | title | CIS | STIG | severity | expected | actual | reason |"
    assert lines.count(header) == 2
    row = next(line for line in lines if line.startswith("| FAIL | service_basic |"))
    assert "18.10.89.2.1" in row and "WN22-CC-000500" in row
    # every table row has the header's number of cells (pipes in values are escaped)
    for line in lines:
        if line.startswith("| ") and line.count(" | ") >= 8 and not line.startswith("| host"):
            assert len(line.replace("\\|", "").split(" | ")) == 9, line
    assert "Before and after" not in report


def test_markdown_before_after(server2022, gpo):
    before = {"win-a": compliance(server2022, "domain_kerberos")}
    after = {"win-a": compliance(gpo, "domain_kerberos")}
    report = compliance_markdown(after, before=before, title="Baseline run")
    lines = report.splitlines()
    assert lines[0] == "# Baseline run"
    assert "## Before and after" in lines
    assert "| win-a | 8 | 3 | 5 | 10 |" in lines
    assert "| win-a | service_basic | FAIL | pass |" in lines
    assert not any("| win-a | remote_shell_access |" in line for line in lines)  # unchanged
    unchanged = compliance_markdown(after, before=after)
    assert "No control changed status." in unchanged
    # a bare list is one host
    assert "## host" in compliance_markdown(after["win-a"]).splitlines()


# ---- the STIG per host, the setting as an admin knows it, the change -------------------------

def system(caption, version, domain_role, product_type):
    """The ``system`` part of wsman.winrm.info as Win32_OperatingSystem/Win32_ComputerSystem give it."""
    return {"os_caption": caption, "os_version": version, "build_number": version.rsplit(".", 1)[-1],
            "domain_role": domain_role, "product_type": product_type}


@pytest.mark.parametrize("host, stig, role", [
    (system("Microsoft Windows Server 2016 Standard", "10.0.14393", 3, 3), "ws2016", "member_server"),
    (system("Microsoft Windows Server 2019 Datacenter", "10.0.17763", 2, 3), "ws2019", "member_server"),
    (system("Microsoft Windows Server 2022 Datacenter", "10.0.20348", 5, 2), "ws2022", "domain_controller"),
    (system("Microsoft Windows Server 2025 Datacenter", "10.0.26100", 3, 3), "ws2025", "member_server"),
    (system("Microsoft Windows 10 Enterprise", "10.0.19045", 1, 1), "win10", "workstation"),
    (system("Microsoft Windows 11 Enterprise", "10.0.22631", 0, 1), "win11", "workstation"),
])
def test_the_stig_follows_the_windows_version_and_role(host, stig, role):
    chosen = controls.choose_stig("auto", host)
    assert (chosen["version"], chosen["role"], chosen["source"]) == (stig, role, "detected")
    assert chosen["title"] == controls.STIGS[stig]


def test_a_pinned_or_uncovered_stig_says_why():
    old = system("Microsoft Windows Server 2008 Standard", "6.0.6002", 2, 3)
    chosen = controls.choose_stig("auto", old)
    assert chosen["version"] == controls.DEFAULT_STIG and chosen["source"] == "default"
    assert "Windows Server 2008 Standard (6.0.6002): no STIG of the catalog covers it" in chosen["reason"]
    pinned = controls.choose_stig("ws2019", system("Microsoft Windows Server 2022 Datacenter", "10.0.20348", 3, 3))
    assert (pinned["version"], pinned["source"], pinned["role"]) == ("ws2019", "pinned", "member_server")
    with pytest.raises(ValueError, match="unknown STIG 'ws2003'"):
        controls.choose_stig("ws2003", None)


def test_a_domain_controller_has_no_member_server_rule(server2022):
    member = {r["id"]: r for r in controls.evaluate(server2022, stig="ws2022", stig_role="member_server")}
    controller = {r["id"]: r for r in controls.evaluate(server2022, stig="ws2022", stig_role="domain_controller")}
    assert member["local_account_token_filter"]["references"]["stig"] == "WN22-MS-000020"
    assert controller["local_account_token_filter"]["references"]["stig"] is None
    assert controller["service_basic"]["references"]["stig"] == "WN22-CC-000500"
    ws2025 = {r["id"]: r for r in controls.evaluate(server2022, stig="ws2025")}
    assert ws2025["service_basic"]["references"]["stig"] == "WN25-CC-000500"
    assert ws2025["service_basic"]["references"]["stig_vuln"] == "V-278128"


def test_rows_name_the_group_policy_the_registry_value_and_the_winrm_setting(server2022):
    rows = {r["id"]: r for r in controls.evaluate(server2022, "workgroup_https")}
    digest = rows["client_digest"]
    assert digest["setting"] == {
        "group_policy": "Computer Configuration > Administrative Templates > Windows Components > Windows Remote "
                        "Management (WinRM) > WinRM Client > Disallow Digest authentication",
        "registry": r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client\AllowDigest (REG_DWORD)",
        "winrm": "winrm/config/Client/Auth Digest"}
    # "Disallow Digest authentication" Enabled writes AllowDigest = 0.
    assert "'Disallow Digest authentication'" in digest["fix"] and "to Enabled" in digest["fix"]
    assert "to Disabled" in rows["service_basic"]["fix"]
    assert 'winrm set winrm/config/Service/Auth @{CbtHardeningLevel="Strict"}' in rows["cbt_hardening_strict"]["fix"]
    assert "Apply UAC restrictions to local accounts on network logons" in rows["local_account_token_filter"]["fix"]


def test_with_changes_says_what_an_apply_changes(server2022, gpo):
    before = controls.evaluate(server2022, "workgroup_https")
    after = controls.evaluate(gpo, "workgroup_https")
    rows = {r["id"]: r for r in controls.with_changes(before, before, after, applied=False)}
    changed = [row for row in rows.values() if "change" in row]
    assert changed, "the gpo fixture differs from server2022"
    for row in changed:
        target = next(r for r in after if r["id"] == row["id"])
        assert row["change"]["status"] == {"from": row["status"], "to": target["status"]}
        values = {item["setting"]: item["value"] for item in target["evidence"]}
        assert all(values[item["setting"]] == item["to"] for item in row["change"]["settings"])
    assert all("change" not in row for row in controls.with_changes(before, before, before, applied=False))


def test_the_public_profile_firewall_rule_beyond_the_local_subnet_fails(server2022, gpo):
    """Microsoft's remoting guidance: on public networks the WinRM rule admits the local subnet only."""
    shipped = by_id(controls.evaluate(server2022, "workgroup_https"))["firewall_public_local_subnet"]
    assert shipped["status"] == "pass"
    assert "WINRM-HTTP-In-TCP-PUBLIC: TCP 5985, public, from LocalSubnet" in shipped["actual"]
    assert not any(item.startswith("WINRM-HTTP-Compat-In-TCP") for item in shipped["actual"])  # disabled
    opened = by_id(controls.evaluate(gpo, "workgroup_https"))["firewall_public_local_subnet"]
    assert opened["status"] == "fail"
    assert opened["reason"] == ("open beyond the local subnet on public networks: "
                                "WINRM-HTTP-In-TCP-GPO (10.0.0.0/255.0.0.0)")
    any_profile = dict(server2022, firewall=[dict(rule, profiles=["any"], remote_addresses=["Any"])
                                             for rule in server2022["firewall"][:1]])
    assert by_id(controls.evaluate(any_profile, "domain_kerberos"))["firewall_public_local_subnet"]["status"] == "fail"
    # A rule for a port no listener uses exposes nothing of WinRM's (port 80 without the compatibility listener).
    port_80 = dict(server2022, firewall=[dict(rule, enabled=True, profiles=["any"], remote_addresses=["Any"])
                                         for rule in server2022["firewall"] if rule["local_ports"] == ["80"]])
    assert by_id(controls.evaluate(port_80, "domain_kerberos"))["firewall_public_local_subnet"]["status"] == "pass"
    unread = {key: value for key, value in server2022.items() if key != "firewall"}
    result = by_id(controls.evaluate(unread, "domain_kerberos"))["firewall_public_local_subnet"]
    assert result["status"] == "unknown" and "gather: [firewall]" in result["reason"]
