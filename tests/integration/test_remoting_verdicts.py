"""Each security verdict from a simulated host built for it, and the secure_baseline apply moving each
host to the best verdict its situation allows, with the profile chosen per host and the report saying
so: a workgroup host with NTLM over HTTP (HTTPS recommended), Basic with AllowUnencrypted on
(insecure), and a domain member reached with Kerberos (a real MIT KDC on loopback).

Rules: Microsoft Learn, "PowerShell Remoting Security Considerations"; FoxDeploy, "Is WinRM Secure or
do I need HTTPs?". The verdict after the apply is read again by wsman.winrm.info over the new endpoint.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from harness import Fleet, FleetProcess, installed_collections
from kdc import TestKDC, missing_binaries, resolver_environment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "secure_baseline.yml")
HTTPS_PORT = "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"


def run(inventory: str, playbook: list | str, tmp_path, extra_vars=None, env=None, check=False):
    tmp_path.mkdir(parents=True, exist_ok=True)
    if not isinstance(playbook, str):
        path = tmp_path / "play.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        playbook = str(path)
    command = ["ansible-playbook", "-i", inventory, playbook, "-e", json.dumps(extra_vars or {})]
    if check:
        command.append("--check")
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_FORCE_COLOR="0", **(env or {}))
    completed = subprocess.run(command, env=environment, capture_output=True, text=True,
                               timeout=600, check=False, cwd=tmp_path)
    (tmp_path / "ansible-playbook.out").write_text(completed.stdout + completed.stderr)
    return completed


def verdict_play(hosts: str, results: str, connection: dict | None = None) -> list:
    return [{"name": "Read the verdict", "hosts": hosts, "gather_facts": False, "vars": connection or {}, "tasks": [
        {"name": "Verdict", "wsman.winrm.info": {"gather": ["verdict"]}, "register": "read"},
        {"name": "Keep it", "delegate_to": "localhost", "ansible.builtin.copy": {
            "dest": results + "/{{ inventory_hostname }}.json", "content": "{{ read | to_json }}", "mode": "0644"}}]}]


def verdicts_read(inventory, tmp_path, connection=None, env=None, hosts="windows"):
    results = tmp_path / "results"
    results.mkdir(parents=True, exist_ok=True)
    completed = run(inventory, verdict_play(hosts, str(results), connection), tmp_path, env=env)
    found = {path.stem: json.loads(path.read_text()) for path in results.iterdir()}
    assert found, completed.stdout[-3000:]
    for name, result in found.items():
        assert not result.get("failed"), (name, result.get("msg"))
    return {name: result["verdict"] for name, result in found.items()}


def apply_baseline(inventory, tmp_path, env=None, check=False, **variables):
    variables = dict({"secure_baseline_hosts": "windows", "secure_baseline_https_connection_port": HTTPS_PORT,
                      "secure_baseline_report_dir": str(tmp_path / "reports")}, **variables)
    completed = run(inventory, PLAYBOOK, tmp_path, extra_vars=variables, env=env, check=check)
    assert completed.returncode == 0, completed.stdout[-4000:]
    return {path.stem: json.loads(path.read_text()) for path in (tmp_path / "reports").glob("*.json")
            if path.stem != "secure_baseline"}


# ---- workgroup hosts -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workgroup(tmp_path_factory):
    process = FleetProcess(str(tmp_path_factory.mktemp("verdict-fleet")), hosts=2,
                           profiles="server2022,basic_unencrypted", base_address="127.0.219.1").start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


def test_workgroup_hosts_move_to_https_and_the_report_says_why(workgroup, tmp_path):
    profile_of = {name: hv["wsman_winrm_sim_profile"] for name, hv in workgroup.hosts().items()}
    before = verdicts_read(workgroup.inventory_path, tmp_path / "before")
    by_profile = {profile_of[name]: v for name, v in before.items()}
    assert by_profile["server2022"]["verdict"] == "https_recommended"
    assert by_profile["basic_unencrypted"]["verdict"] == "insecure"
    assert {v["recommended_profile"] for v in before.values()} == {"workgroup_https"}

    audit = apply_baseline(workgroup.inventory_path, tmp_path / "audit", check=True)
    applied = apply_baseline(workgroup.inventory_path, tmp_path / "apply")
    for name, record in applied.items():
        assert record["profile"] == "workgroup_https", record
        verdict = record["verdict"]
        assert verdict["before"]["verdict"] == before[name]["verdict"]
        assert verdict["after"]["verdict"] == "secure_https", verdict
        assert audit[name]["verdict"]["predicted"]["verdict"] == "secure_https"     # the audit said so
        assert "workgroup host" in verdict["profile_reason"] and "reaches secure_https" in verdict["profile_reason"]
        row = next(r for r in record["after"] if r["id"] == "security_verdict")
        assert row["status"] == "pass" and "the workgroup_https profile is the one that reaches" in row["reason"]
        failed = next(r for r in record["before"] if r["id"] == "security_verdict")
        assert failed["status"] == "fail" and failed["evidence"], failed
    markdown = (tmp_path / "apply" / "reports" / (next(iter(applied)) + ".md")).read_text()
    assert "security_verdict" in markdown
    # Read again, independently, over the endpoint the hosts moved to.
    https = {"ansible_winrm_scheme": "https", "ansible_port": HTTPS_PORT}
    after = verdicts_read(workgroup.inventory_path, tmp_path / "after", connection=https)
    assert {v["verdict"] for v in after.values()} == {"secure_https"}


# ---- a domain member ------------------------------------------------------------------------------

DOMAIN_PROFILES = ("basic_unencrypted", "server2022")     # host names SIM-BASIC-01, SIM-2022-02


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip("MIT Kerberos programs missing (%s): make system-deps" % ", ".join(missing))
    gss = pytest.importorskip("spnego._gss")
    if not gss.HAS_GSSAPI:
        pytest.skip("pyspnego has no Kerberos here: %s" % gss.GSSAPI_IMP_ERR)
    with TestKDC(str(tmp_path_factory.mktemp("kdc")), hosts=["SIM-BASIC-01", "SIM-2022-02"]) as kdc:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in kdc.client_env().items():
                patch.setenv(name, value)
            with FleetProcess(str(tmp_path_factory.mktemp("verdict-domain")), hosts=len(DOMAIN_PROFILES),
                              profiles=",".join(DOMAIN_PROFILES), base_address="127.0.%d.1" % (180 + os.getpid() % 20),
                              extra_args=["--keytab", kdc.keytab, "--realm", kdc.realm]) as running:
                yield kdc, running


def kerberos_inventory(domain, profile: str, tmp_path):
    """An ansible.builtin.winrm inventory reaching the simulated domain member of ``profile`` by its
    DNS name with Kerberos, as an admin writes it; and the environment that resolves that name."""
    kdc, fleet = domain
    (sim,) = [h for h in fleet.hosts().values() if h["wsman_winrm_sim_profile"] == profile]
    fqdn = sim["wsman_winrm_sim_fqdn"]
    tmp_path.mkdir(parents=True, exist_ok=True)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"windows": {"hosts": {fqdn: {
        "ansible_connection": "winrm", "ansible_port": 5985, "ansible_user": kdc.user_principal,
        "ansible_password": kdc.password, "ansible_winrm_transport": "kerberos",
        "ansible_winrm_ca_trust_path": sim["ansible_winrm_ca_trust_path"],
        "wsman_winrm_sim_ports": sim["wsman_winrm_sim_ports"],
        "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}}))
    return str(inventory), dict(kdc.client_env(), **resolver_environment({fqdn: sim["ansible_host"]}))


def test_a_new_domain_member_with_kerberos_is_secure_over_http_before_any_change(domain, tmp_path):
    # A new Server 2022 install joined to the domain: Kerberos with message encryption over HTTP 5985,
    # Basic off, AllowUnencrypted false - nothing to change for the verdict.
    inventory, env = kerberos_inventory(domain, "server2022", tmp_path)
    (before,) = verdicts_read(inventory, tmp_path / "before", env=env).values()
    assert (before["verdict"], before["summary"]) == (
        "secure_http", "secure over HTTP: domain member, Kerberos with message encryption"), before
    assert before["facts"]["domain_member"] is True and before["facts"]["allow_unencrypted"] is False
    assert before["best_possible"] == "secure_http" and before["recommended_profile"] == "domain_kerberos"


def test_a_domain_member_with_kerberos_keeps_http_and_reaches_secure_http(domain, tmp_path):
    inventory, env = kerberos_inventory(domain, "basic_unencrypted", tmp_path)
    (before,) = verdicts_read(inventory, tmp_path / "before", env=env).values()
    assert before["verdict"] == "insecure" and before["facts"]["domain_member"] is True
    assert before["recommended_profile"] == "domain_kerberos" and before["best_possible"] == "secure_http"
    # Kerberos secures HTTP on a domain member: the profile's HTTPS listener is left out here (the
    # verdict does not need it, and the simulated certificate names the computer, not its DNS name).
    (record,) = apply_baseline(inventory, tmp_path / "apply", env=env,
                               secure_baseline_https_listener=False).values()
    assert record["profile"] == "domain_kerberos", record
    assert record["verdict"]["before"]["verdict"] == "insecure"
    assert record["verdict"]["after"]["verdict"] == "secure_http", record["verdict"]
    assert "domain member" in record["verdict"]["profile_reason"]
    (after,) = verdicts_read(inventory, tmp_path / "after", env=env).values()
    assert (after["verdict"], after["summary"]) == (
        "secure_http", "secure over HTTP: domain member, Kerberos with message encryption")
    assert after["facts"]["allow_unencrypted"] is False and after["facts"]["auth"]["basic"] is False
