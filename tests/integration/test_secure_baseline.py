"""wsman.winrm.secure_baseline with ansible-playbook against simulated hosts: the check-mode audit
changes nothing, the apply moves the hosts to HTTPS and a rerun changes nothing, the rescue path
leaves the HTTP listener in place. Results are read back with plain pypsrp (harness.Fleet)."""

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
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

from harness import CONFIG, Fleet, FleetProcess, installed_collections, value_of

FLEET_PROFILES = "server2022,winrm11,upgraded11,server2022"
LISTENER = f"{CONFIG}/Listener"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Its own loopback /24, away from the harness' shared counter (other test runs use 127.0.40.x)."""
    process = FleetProcess(str(tmp_path_factory.mktemp("baseline-fleet")), hosts=4, profiles=FLEET_PROFILES,
                           base_address="127.0.217.1").start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


def run_role(fleet, tmp_path, check=False, limit=None, extra_vars=None):
    """ansible-playbook with the role; returns (completed process, {host: {ok, changed, failed}})."""
    report_dir = tmp_path / "compliance"
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Secure baseline", "hosts": "windows", "gather_facts": False,
        "roles": [{"role": "wsman.winrm.secure_baseline"}],
    }]))
    variables = {"secure_baseline_report_dir": str(report_dir),
                 # the simulator's bound port for Windows' 5986 (it differs when 5986 is taken)
                 "secure_baseline_https_connection_port": "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"}
    variables.update(extra_vars or {})
    command = ["ansible-playbook", "-i", fleet.inventory_path, str(playbook), "-e", json.dumps(variables)]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", limit]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_FORCE_COLOR="0")
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    recap = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", completed.stdout, re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return completed, recap, report_dir


def plain_get(fleet, host_vars, resource, selectors=None, https=True):
    """A Get with a plain pypsrp client (not the collection), over HTTPS or HTTP."""
    selector_set = None
    if selectors:
        selector_set = SelectorSet()
        for name, value in selectors.items():
            selector_set.add_option(name, value)
    with fleet.client(host_vars, https=https) as client:
        return client.get(resource, selector_set=selector_set)


def service_settings(fleet, host_vars, https=True):
    """The Service element of winrm/config (the sim serves the whole tree in one Get)."""
    config = plain_get(fleet, host_vars, CONFIG, https=https)
    return next(e for e in config.iter() if e.tag.rsplit("}", 1)[-1] == "Service")


def http_listener_exists(fleet, host_vars, port):
    try:
        plain_get(fleet, host_vars, LISTENER, {"Address": "*", "Transport": "HTTP"})
        return True
    except WSManFaultError:
        return False


def test_check_mode_is_an_audit(fleet, tmp_path):
    completed, recap, reports = run_role(fleet, tmp_path, check=True, limit="sim_server2022,sim_upgraded11")
    assert completed.returncode == 0, completed.stdout[-3000:]
    for name, host_vars in fleet.hosts().items():
        if host_vars["wsman_winrm_sim_profile"] == "winrm11":
            continue
        # Nothing changed: HTTP listener still there, CBT still Relaxed, Basic policy not written.
        assert http_listener_exists(fleet, host_vars, 5985)
        assert value_of(service_settings(fleet, host_vars, https=False), "CbtHardeningLevel") == "Relaxed"
        report = json.loads((reports / f"{name}.json").read_text())
        assert report["mode"] == "audit"
        statuses = {c["id"]: c["status"] for c in report["after"]}
        assert statuses["service_basic"] == "fail" and statuses["service_auto_config"] == "deviation"
        assert "policy values" in report["changed_steps"]
    assert (reports / "secure_baseline.xml").read_text().startswith("<?xml")


def test_apply_moves_to_https_and_rerun_changes_nothing(fleet, tmp_path):
    limit = "sim_server2022:sim_winrm11:sim_upgraded11:!SIM-2022-04"
    completed, recap, reports = run_role(fleet, tmp_path, limit=limit)
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert sum(counts["changed"] for counts in recap.values()) > 0
    for name, host_vars in fleet.hosts().items():
        if name == "SIM-2022-04":
            continue
        assert not http_listener_exists(fleet, host_vars, 5985), name
        https = plain_get(fleet, host_vars, LISTENER, {"Address": "*", "Transport": "HTTPS"})
        assert value_of(https, "Port") in ("5986", "443")
        service = service_settings(fleet, host_vars)
        assert value_of(service, "CbtHardeningLevel") == "Strict"
        assert value_of(service, "Basic") == "false"
        assert value_of(service, "EnableCompatibilityHttpListener") == "false"
        report = json.loads((reports / f"{name}.json").read_text())
        # The play's connection survived the HTTP removal: the last read went over HTTPS.
        assert report["endpoint"]["scheme"] == "https"
        assert report["changed"] is True
        assert not [c for c in report["after"] if c["status"] == "fail"], report["after"]
    markdown = (reports / "secure_baseline.md").read_text()
    assert "SIM-W11-02" in markdown and "| deviation | service_auto_config" in markdown

    again, recap2, _report_dir = run_role(fleet, tmp_path, limit=limit)
    assert again.returncode == 0, again.stdout[-3000:]
    assert recap2 and all(counts["changed"] == 0 for counts in recap2.values()), recap2


def _thumbprint(path):
    with open(path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()


def test_failed_https_proof_keeps_http(fleet, tmp_path):
    name = "SIM-2022-04"
    host_vars = fleet.hosts()[name]
    state_dir = os.path.dirname(os.path.dirname(host_vars["ansible_winrm_ca_trust_path"]))
    untrusted = _thumbprint(os.path.join(state_dir, "pki", "hosts", name, "untrusted.pem"))
    before = plain_get(fleet, host_vars, LISTENER, {"Address": "*", "Transport": "HTTPS"}, https=False)
    completed, recap, _report_dir = run_role(fleet, tmp_path, limit=name,
                                             extra_vars={"secure_baseline_certificate_thumbprint": untrusted})
    assert completed.returncode != 0
    assert recap[name]["failed"] == 1 and recap[name]["rescued"] == 1
    assert "secure_baseline stopped moving SIM-2022-04 to HTTPS" in completed.stdout
    assert "No HTTP listener was removed" in completed.stdout
    # HTTP still answers (plain pypsrp over HTTP) and the HTTPS certificate is the one from before.
    listener = plain_get(fleet, host_vars, LISTENER, {"Address": "*", "Transport": "HTTP"}, https=False)
    assert value_of(listener, "Port") == "5985"
    after = plain_get(fleet, host_vars, LISTENER, {"Address": "*", "Transport": "HTTPS"}, https=False)
    assert value_of(after, "CertificateThumbprint") == value_of(before, "CertificateThumbprint")
