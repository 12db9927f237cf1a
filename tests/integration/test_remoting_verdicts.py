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

from harness import base_address, Fleet, FleetProcess, installed_collections
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
                           profiles="server2022,basic_unencrypted", base_address=base_address(17)).start()
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
                              profiles=",".join(DOMAIN_PROFILES), base_address=base_address(18),
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


def audit_certificate_choice(inventory, tmp_path, env):
    """The role's converge task in check mode, its registered result kept: what it would bind."""
    kept = tmp_path / "result.json"
    play = [{"name": "Audit", "hosts": "windows", "gather_facts": False, "tasks": [
        {"name": "Secure WinRM baseline", "ansible.builtin.import_role": {
            "name": "wsman.winrm.secure_baseline", "tasks_from": "run"}, "ignore_errors": True},
        {"name": "Keep the result", "delegate_to": "localhost", "check_mode": False, "ansible.builtin.copy": {
            "dest": str(kept), "content": "{{ secure_baseline_result | to_json }}", "mode": "0644"}}]}]
    variables = {"secure_baseline_https_connection_port": HTTPS_PORT, "secure_baseline_report": False}
    completed = run(inventory, play, tmp_path, extra_vars=variables, env=env, check=True)
    assert kept.exists(), completed.stdout[-4000:]
    return json.loads(kept.read_text())


def test_a_domain_member_binds_only_a_certificate_the_controller_accepts_for_its_fqdn(domain, tmp_path):
    _kdc, fleet = domain
    ((name, sim),) = [(n, h) for n, h in fleet.hosts().items() if h["wsman_winrm_sim_profile"] == "basic_unencrypted"]
    fqdn = sim["wsman_winrm_sim_fqdn"]
    inventory, env = kerberos_inventory(domain, "basic_unencrypted", tmp_path)
    # From the trusted CA, valid longest, issued to the computer name and its address, not to the
    # FQDN the controller connects to: Windows would serve it, the controller would refuse it.
    netbios_only = fleet.cert(name, "issue", days=2000, dns="%s,%s" % (name, name.lower()))["thumbprint"]
    # Without the machine certificate that names the FQDN, no certificate qualifies: the audit fails
    # and says why for each one, before anything is sent.
    fleet.cert(name, "remove", thumbprint=sim["wsman_winrm_sim_thumbprint"])
    refused = audit_certificate_choice(inventory, tmp_path / "none", env)
    assert refused.get("failed") and "no certificate of LocalMachine\\My can serve" in refused["msg"], refused
    line = next(line for line in refused["msg"].splitlines() if line.startswith("- " + netbios_only))
    assert "the controller would refuse it for %s" % fqdn in line, refused["msg"]
    # Enrolled again (its FQDN in the SAN, as autoenrollment issues it): chosen, though the other
    # one is valid longer.
    enrolled = fleet.cert(name, "issue", days=1000)["thumbprint"]
    chosen = audit_certificate_choice(inventory, tmp_path / "chosen", env)
    assert not chosen.get("failed"), chosen.get("msg")
    assert chosen["certificate"]["thumbprint"] == enrolled and chosen["certificate"]["action"] == "selected", chosen
    assert chosen["verdict"]["predicted"]["verdict"] == "secure_https"


def test_a_domain_member_with_kerberos_keeps_http_and_gets_an_https_listener_the_controller_validates(domain, tmp_path):
    inventory, env = kerberos_inventory(domain, "basic_unencrypted", tmp_path)
    (before,) = verdicts_read(inventory, tmp_path / "before", env=env).values()
    assert before["verdict"] == "insecure" and before["facts"]["domain_member"] is True
    assert before["recommended_profile"] == "domain_kerberos" and before["best_possible"] == "secure_http"
    # The role's defaults as they are: its HTTPS listener too, with the machine certificate that
    # names the FQDN the controller connects to (autoenrollment puts it in the SAN).
    (record,) = apply_baseline(inventory, tmp_path / "apply", env=env).values()
    assert record["profile"] == "domain_kerberos", record
    assert record["verdict"]["before"]["verdict"] == "insecure"
    # Kerberos already secures HTTP here; the HTTPS listener, proven by the controller with the
    # certificate it validates, makes it secure_https.
    assert "HTTPS listener" in record["changed_steps"] and not record.get("failed"), record
    assert record["verdict"]["predicted"]["verdict"] == "secure_https", record["verdict"]
    assert record["verdict"]["after"]["verdict"] == "secure_https", record["verdict"]
    assert "domain member" in record["verdict"]["profile_reason"]
    (after,) = verdicts_read(inventory, tmp_path / "after", env=env).values()
    # Read again over HTTP with Kerberos (kept by the profile): the controller's own TLS handshake
    # with the HTTPS listener validates its certificate for the FQDN.
    assert (after["verdict"], after["summary"]) == (
        "secure_https", "secure: HTTPS with a certificate the controller validates")
    assert after["facts"]["https_certificate_validated"] is True
    assert {item["transport"] for item in after["facts"]["listeners"]} == {"HTTP", "HTTPS"}
    assert after["facts"]["allow_unencrypted"] is False and after["facts"]["auth"]["basic"] is False
