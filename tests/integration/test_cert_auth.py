"""roles/cert_auth through ansible-playbook against a simulated Windows Server 2022.

Read back with plain pypsrp: the auth switches, the CertMapping entry, a certificate logon made by pypsrp
itself (not the collection), and the refusal of a password logon once the host is certificate-only.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml
from pypsrp.exceptions import AuthenticationError
from pypsrp.wsman import WSMan

from harness import base_address, CONFIG, Fleet, installed_collections
from winrm_sim.cli import FleetProcess

FLEET_PROFILES = "server2022_https"
SUBJECT = "ansible-client@localhost"   # the simulator's client certificate (winrm_sim/pki.py: UPN SAN)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """This module's own /24 of this run's addresses (harness.base_address)."""
    process = FleetProcess(str(tmp_path_factory.mktemp("fleet")), hosts=1, profiles=FLEET_PROFILES,
                           base_address=base_address(13)).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def host(fleet):
    return fleet.host("server2022_https")


def role_vars(**extra) -> dict:
    values = {
        "cert_auth_subject": SUBJECT,
        "cert_auth_issuer": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}",
        "cert_auth_username": "Administrator",
        "cert_auth_password": "{{ ansible_password }}",
        "cert_auth_client_cert_pem": "{{ wsman_winrm_sim_client_cert_pem }}",
        "cert_auth_client_key_pem": "{{ wsman_winrm_sim_client_key_pem }}",
        "cert_auth_certificate_thumbprint": "{{ wsman_winrm_sim_thumbprint }}",
        "cert_auth_hostname": "{{ inventory_hostname }}",
    }
    values.update(extra)
    return values


def run_role(fleet, tmp_path, variables: dict, check: bool = False, verbosity: int = 0):
    playbook = [{"name": "Certificate auth", "hosts": "windows", "gather_facts": False, "tasks": [
        {"name": "Apply the role", "ansible.builtin.include_role": {"name": "wsman.winrm.cert_auth"},
         "vars": variables}]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    command = ["ansible-playbook", "-i", fleet.inventory_path, str(path)]
    if check:
        command.append("--check")
    if verbosity:
        command.append("-" + "v" * verbosity)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    (tmp_path / "ansible-playbook.out").write_text(completed.stdout + completed.stderr)
    return completed


def changed(completed) -> int:
    line = completed.stdout.split("PLAY RECAP", 1)[1].splitlines()[1]
    return int(line.split("changed=")[1].split()[0])


def certificate_client(host_vars: dict) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=host_vars["wsman_winrm_sim_ports"][5986], ssl=True,
                 auth="certificate", certificate_pem=host_vars["wsman_winrm_sim_client_cert_pem"],
                 certificate_key_pem=host_vars["wsman_winrm_sim_client_key_pem"],
                 cert_validation=host_vars["ansible_winrm_ca_trust_path"], no_proxy=True,
                 operation_timeout=10, read_timeout=20)


def password_client(host_vars: dict) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=host_vars["wsman_winrm_sim_ports"][5985], ssl=False, auth="ntlm",
                 username=host_vars["ansible_user"], password=host_vars["ansible_password"], cert_validation=False,
                 no_proxy=True, operation_timeout=10, read_timeout=20)


def service_auth(client: WSMan) -> dict[str, str]:
    with client as session:
        reply = session.get(CONFIG + "/service/auth")
    return {e.tag.rsplit("}", 1)[-1]: e.text or "" for e in reply.iter() if len(e) == 0}


def mappings(client: WSMan) -> list[dict]:
    request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
    ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
    ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements").text = "100"
    with client as session:
        reply = session.enumerate(CONFIG + "/service/certmapping", request)
    return [{c.tag.rsplit("}", 1)[-1]: c.text or "" for c in item}
            for item in reply.iter() if item.tag.endswith("}CertMapping")]


def test_check_mode_changes_nothing(fleet, host, tmp_path):
    name, host_vars = host
    completed = run_role(fleet, tmp_path, role_vars(), check=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert changed(completed) == 2        # Certificate auth on, the mapping (the HTTPS listener exists)
    assert service_auth(password_client(host_vars))["Certificate"] == "false"
    assert mappings(password_client(host_vars)) == []


def test_require_listener_fails_before_changing_anything(fleet, host, tmp_path):
    name, host_vars = host
    completed = run_role(fleet, tmp_path, role_vars(cert_auth_https_listener="require", cert_auth_https_port=6986))
    assert completed.returncode != 0
    assert "no enabled HTTPS listener on port 6986" in completed.stdout
    assert service_auth(password_client(host_vars))["Certificate"] == "false"


def test_enable_prove_and_rerun(fleet, host, tmp_path):
    name, host_vars = host
    completed = run_role(fleet, tmp_path, role_vars(), verbosity=3)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert host_vars["ansible_password"] not in completed.stdout + completed.stderr   # -vvv included
    assert "Prove the certificate logon" in completed.stdout
    entries = mappings(password_client(host_vars))
    assert [(e["Subject"], e["Issuer"], e["UserName"], e["Enabled"]) for e in entries] == [
        (SUBJECT, host_vars["wsman_winrm_sim_ca_issuer_thumbprint"].upper(), "Administrator", "true")]
    # pypsrp itself logs on with the certificate
    assert service_auth(certificate_client(host_vars))["Certificate"] == "true"
    rerun = run_role(fleet, tmp_path, role_vars())
    assert rerun.returncode == 0 and changed(rerun) == 0, rerun.stdout[-3000:]


def test_certificate_only(fleet, host, tmp_path):
    name, host_vars = host
    check = run_role(fleet, tmp_path, role_vars(cert_auth_certificate_only=True), check=True)
    assert check.returncode == 0 and changed(check) == 1, check.stdout[-3000:]
    assert service_auth(password_client(host_vars))["Negotiate"] == "true"      # check mode changed nothing

    completed = run_role(fleet, tmp_path, role_vars(cert_auth_certificate_only=True))
    assert completed.returncode == 0, completed.stdout[-3000:]
    auth = service_auth(certificate_client(host_vars))
    assert (auth["Certificate"], auth["Negotiate"], auth["Kerberos"], auth["Basic"], auth["CredSSP"]) == \
        ("true", "false", "false", "false", "false")
    with pytest.raises(AuthenticationError):
        service_auth(password_client(host_vars))
    # The inventory still says NTLM: the rerun finds the host with the certificate and changes nothing.
    rerun = run_role(fleet, tmp_path, role_vars(cert_auth_certificate_only=True))
    assert rerun.returncode == 0 and changed(rerun) == 0, rerun.stdout[-3000:]
