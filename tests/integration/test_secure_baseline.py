"""wsman.winrm.secure_baseline with ansible-playbook against simulated hosts of every profile.

The check-mode audit changes nothing and predicts, per host and per step, exactly what the apply
then changes; the apply moves the hosts to HTTPS and a rerun changes nothing; Group Policy is never
fought by default; a failed HTTPS proof puts everything back, an HTTPS listener on another port
included; the reports go under the directory ansible-playbook runs in. Results are read back with
plain pypsrp (faultproxy.plain_state).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from faultproxy import plain_state
from harness import base_address, Fleet, FleetProcess, installed_collections

FLEET_PROFILES = "server2022,winrm11,upgraded11,gpo,server2022,winrm11"
PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "playbooks", "secure_baseline.yml")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Its own loopback /24, away from the harness' shared counter (127.<per process>.40.x and up), and
    per pytest process, so two runs at once do not bind each other's 5986 (a port the firewall filters)."""
    process = FleetProcess(str(tmp_path_factory.mktemp("baseline-fleet")), hosts=6, profiles=FLEET_PROFILES,
                           base_address=base_address(19)).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


def hosts_of(fleet, profile):
    return [(name, host_vars) for name, host_vars in sorted(fleet.hosts().items())
            if host_vars["wsman_winrm_sim_profile"] == profile]


def run_role(fleet, tmp_path, check=False, limit=None, extra_vars=None, report_dir=True):
    """The shipped playbook, run from ``tmp_path``; returns (completed, recap per host, report dir)."""
    variables = {"secure_baseline_hosts": "windows",
                 # the simulator's bound port for Windows' 5986 (it differs when 5986 is taken)
                 "secure_baseline_https_connection_port": "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"}
    if report_dir:
        variables["secure_baseline_report_dir"] = str(tmp_path / "reports")
    variables.update(extra_vars or {})
    command = ["ansible-playbook", "-i", fleet.inventory_path, PLAYBOOK, "-e", json.dumps(variables)]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", limit]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_FORCE_COLOR="0")
    tmp_path.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False,
                               cwd=tmp_path)
    recap = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", completed.stdout, re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return completed, recap, tmp_path / ("reports" if report_dir else "compliance")


def report_of(reports, name):
    return json.loads((reports / f"{name}.json").read_text())


def test_audit_predicts_the_apply_step_by_step_and_a_rerun_changes_nothing(fleet, tmp_path):
    names = [name for profile in ("server2022", "winrm11", "upgraded11", "gpo") for name, _hv in hosts_of(fleet, profile)[:1]]
    limit = ":".join(names)
    before = {name: plain_state(fleet.hosts()[name]) for name in names}

    audit, recap, reports = run_role(fleet, tmp_path / "audit", check=True, limit=limit)
    assert audit.returncode == 0, audit.stdout[-3000:]
    predicted = {}
    for name in names:
        assert plain_state(fleet.hosts()[name]) == before[name], name  # an audit changes nothing
        report = report_of(reports, name)
        assert report["mode"] == "audit" and report["changed"] is True
        statuses = {c["id"]: c["status"] for c in report["after"]}
        assert statuses["service_auto_config"] == "deviation"
        predicted[name] = report["steps"]
    assert "policy values" in report_of(reports, names[0])["changed_steps"]
    assert (reports / "secure_baseline.xml").read_text().startswith("<?xml")

    applied, recap, reports = run_role(fleet, tmp_path / "apply", limit=limit)
    assert applied.returncode == 0, applied.stdout[-4000:]
    for name in names:
        profile = fleet.hosts()[name]["wsman_winrm_sim_profile"]
        report = report_of(reports, name)
        # check mode predicted exactly, per host and per step, what the apply changed
        assert report["steps"] == predicted[name], name
        assert report["mode"] == "apply" and report["changed"] is True and report["host_state"] == "after"
        assert report["endpoint"]["scheme"] == "https"  # the play's connection survived the HTTP removal
        state = plain_state(fleet.hosts()[name], https=True)
        transports = [dict(item)["Transport"] for item in state["listeners"] if dict(item)["Source"] != "Compatibility"]
        assert transports == ["HTTPS"], (name, state["listeners"])
        assert state["config"]["/Service/Auth/CbtHardeningLevel"][0] == "Strict"
        failing = {c["id"]: c["reason"] for c in report["after"] if c["status"] == "fail"}
        if profile == "upgraded11":
            # Never fight Group Policy by default: the policy turns the compatibility listeners on, and
            # Windows' port-80 rule admits any address on public networks to the listener kept on 80.
            assert sorted(failing) == ["compatibility_listeners_off", "firewall_public_local_subnet"], failing
            assert "WINRM-HTTP-Compat-In-TCP (Any)" in failing["firewall_public_local_subnet"]
            assert "Turn On Compatibility HTTP Listener" in failing["compatibility_listeners_off"]
            assert "Windows Remote Management (WinRM) > WinRM Service" in failing["compatibility_listeners_off"]
            assert state["policy"][r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\HttpCompatibilityListener"] == "1"
        else:
            assert not failing, (name, failing)
    markdown = (reports / "secure_baseline.md").read_text()
    assert names[1] in markdown and "| deviation | service_auto_config" in markdown
    assert "Compliance reports of 4 host(s) in %s" % reports in applied.stdout

    again, recap, reports = run_role(fleet, tmp_path / "rerun", limit=limit)
    assert again.returncode == 0, again.stdout[-3000:]
    assert recap and all(counts["changed"] == 0 for counts in recap.values()), recap
    for name in names:
        assert report_of(reports, name)["steps"] == []


def test_override_conflicting_policy_is_a_choice(fleet, tmp_path):
    name, host_vars = hosts_of(fleet, "upgraded11")[0]
    completed, recap, reports = run_role(fleet, tmp_path, limit=name,
                                         extra_vars={"secure_baseline_override_conflicting_policy": True})
    assert completed.returncode == 0, completed.stdout[-3000:]
    state = plain_state(host_vars, https=True)
    assert state["policy"][r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\HttpCompatibilityListener"] == "0"
    assert state["config"]["/Service/EnableCompatibilityHttpListener"] == ("false", "GPO")
    assert not [c for c in report_of(reports, name)["after"] if c["status"] == "fail"]


def _thumbprint(path):
    with open(path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()


@pytest.mark.parametrize("profile", ["server2022", "winrm11"])
def test_a_failed_https_proof_puts_everything_back(fleet, tmp_path, profile):
    """The proof fails (the listener serves a certificate the controller does not trust): every
    change is undone, the HTTPS listener included - on winrm11 it was on port 443 and goes back
    there with its certificate, never deleted."""
    name, host_vars = hosts_of(fleet, profile)[-1]
    state_dir = os.path.dirname(os.path.dirname(host_vars["ansible_winrm_ca_trust_path"]))
    untrusted = _thumbprint(os.path.join(state_dir, "pki", "hosts", name, "untrusted.pem"))
    before = plain_state(host_vars)
    completed, recap, reports = run_role(fleet, tmp_path, limit=name,
                                         extra_vars={"secure_baseline_certificate_thumbprint": untrusted})
    assert completed.returncode != 0
    assert recap[name]["failed"] == 1
    assert "HTTPS proof failed" in completed.stdout and "TLS" in completed.stdout  # the cause, kept
    assert "the host holds its configuration from before this task" in completed.stdout
    assert plain_state(host_vars) == before  # everything put back, reachable as before
    if profile == "winrm11":
        https = [dict(item) for item in before["listeners"] if dict(item)["Transport"] == "HTTPS"]
        assert https and https[0]["Port"] == "443"  # the listener that moved came back to its port


def test_reports_go_where_the_user_runs_the_playbook(fleet, tmp_path):
    name, _hv = hosts_of(fleet, "gpo")[0]
    completed, recap, reports = run_role(fleet, tmp_path, check=True, limit=name, report_dir=False)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert reports == tmp_path / "compliance"
    formats = ("json", "md", "html", "xml")
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [f"{name}.{ext}" for ext in formats] + [f"secure_baseline.{ext}" for ext in formats]
        + ["secure_baseline_dashboard.html", "checklists"])
    assert sorted(p.name for p in (reports / "checklists").iterdir()) == [f"{name}.ckl", f"{name}.cklb"]
    assert f"in {reports}: secure_baseline" in completed.stdout


def test_the_playbook_takes_the_users_group(fleet, tmp_path):
    name, host_vars = hosts_of(fleet, "gpo")[0]
    inventory = tmp_path / "inventory.yml"
    original = yaml.safe_load(open(fleet.inventory_path, encoding="utf-8"))
    windows = original["all"]["children"]["windows"]
    inventory.write_text(yaml.safe_dump({"all": {"children": {"dmz_servers": {
        "vars": windows["vars"], "hosts": {name: host_vars}}}}}))
    fleet_copy = type("Inventory", (), {"inventory_path": str(inventory)})()
    completed, recap, _reports = run_role(fleet_copy, tmp_path, check=True,
                                          extra_vars={"secure_baseline_hosts": "dmz_servers"})
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert name in recap and recap[name]["failed"] == 0


def test_the_baseline_opens_the_https_port_scoped_as_windows_scopes_5985(fleet, tmp_path):
    """A new install filters 5986 (no rule Windows ships admits it); the audit predicts the two rules,
    the apply creates them, enabled and scoped like WINRM-HTTP-In-TCP(-PUBLIC), and the HTTPS listener
    answers through them. Read back with plain pypsrp and raw sockets."""
    from test_sim_firewall import reach

    name, host_vars = hosts_of(fleet, "server2022")[-1]
    address = host_vars["ansible_host"]
    assert reach(address, 5986) == "filtered"                  # before: the SYN is dropped, the attempt times out
    assert not {"WINRM-HTTPS-In-TCP", "WINRM-HTTPS-In-TCP-PUBLIC"} & set(plain_state(host_vars)["firewall"])

    audit, _recap, reports = run_role(fleet, tmp_path / "audit", check=True, limit=name)
    assert audit.returncode == 0, audit.stdout[-3000:]
    steps = report_of(reports, name)["steps"]
    assert {"name": "firewall rule WINRM-HTTPS-In-TCP created", "changes": ["WINRM-HTTPS-In-TCP.state"]} in steps
    assert "HTTPS firewall rules" in report_of(reports, name)["changed_steps"]
    assert reach(address, 5986) == "filtered"                  # the audit sent nothing

    applied, _recap, reports = run_role(fleet, tmp_path / "apply", limit=name)
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert report_of(reports, name)["steps"] == steps
    firewall = plain_state(host_vars, https=True)["firewall"]
    # (Enabled, Profiles, Action, LocalPort, RemoteAddress): Domain+Private from Any, Public from the local subnet
    assert firewall["WINRM-HTTPS-In-TCP"] == ("1", "3", "2", ("5986",), ("Any",))
    assert firewall["WINRM-HTTPS-In-TCP-PUBLIC"] == ("1", "4", "2", ("5986",), ("LocalSubnet",))
    assert reach(address, 5986) == "open"


def test_the_https_rule_takes_the_users_addresses(fleet, tmp_path):
    name, host_vars = hosts_of(fleet, "upgraded11")[0]
    completed, _recap, _reports = run_role(fleet, tmp_path, limit=name, extra_vars={
        "secure_baseline_https_firewall_remote_addresses": ["127.0.0.0/8", "10.20.0.0/16"]})
    assert completed.returncode == 0, completed.stdout[-3000:]
    firewall = plain_state(host_vars, https=True)["firewall"]
    for rule in ("WINRM-HTTPS-In-TCP", "WINRM-HTTPS-In-TCP-PUBLIC"):
        assert firewall[rule][4] == ("127.0.0.0/255.0.0.0", "10.20.0.0/255.255.0.0"), firewall[rule]
