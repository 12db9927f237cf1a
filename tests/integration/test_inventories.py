"""The inventories Windows admins already keep, over real HTTP against the simulator: for each
shape, the endpoint the ``wsman.winrm.endpoint`` filter reports is the one the modules used and the
one the ``wsman.winrm.winrm`` connection plugin used.

What each used is read from ansible-playbook's own -vvv output (the modules print
``wsman.winrm endpoint <url>``, the connection plugin ``WSMAN ENDPOINT <url>``) and each task must
have worked against that endpoint; the filter's answer is the task result. One play runs every
shape, one inventory host per shape, each on its own simulated host.

The Kerberos shape runs against a real MIT KDC (tests/integration/kdc.py) with the inventory a
domain admin writes: the computer's FQDN as inventory name, ``ansible_port: 5985``, a domain
account, nothing else; the simulator's log shows Kerberos was what authenticated.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from harness import base_address, installed_collections
from kdc import TestKDC, missing_binaries, resolver_environment
from winrm_sim.cli import FleetProcess
from winrm_sim.profiles import PROFILES

PASSWORD = "Inventory-Pa55-w0rd"
# H3 makes server2022 a true new install (HTTP only) and adds an HTTPS-ready profile beside it.
HTTPS_PROFILE = "server2022_https" if "server2022_https" in PROFILES else "server2022"

pytestmark = pytest.mark.timeout(600)

# id: (simulated host profile, the host's variables as an admin writes them, expected URL (port, scheme),
#      whether to run a shell through wsman.winrm.winrm with the same variables)
HTTP_NTLM = {"ansible_winrm_transport": "ntlm"}
SHAPES = {
    "winrm_http_scheme_no_port": (HTTPS_PROFILE, {"ansible_connection": "winrm", "ansible_winrm_scheme": "http",
                                                  **HTTP_NTLM}, "http://{address}:5985/wsman", "ntlm", True),
    "winrm_port_5985_no_scheme": (HTTPS_PROFILE, {"ansible_connection": "winrm", "ansible_port": 5985, **HTTP_NTLM},
                                  "http://{address}:5985/wsman", "ntlm", True),
    "winrm_nothing_is_https": (HTTPS_PROFILE, {"ansible_connection": "winrm", "ansible_winrm_transport": "ntlm",
                                               "ansible_winrm_ca_trust_path": "{ca}"},
                               "https://{address}:5986/wsman", "ntlm", True),
    "winrm_negotiate_https_port_5986": (HTTPS_PROFILE, {"ansible_connection": "winrm", "ansible_port": 5986,
                                                        "ansible_winrm_ca_trust_path": "{ca}"},
                                        "https://{address}:5986/wsman", "ntlm", True),
    "winrm_legacy_ports": ("winrm11", {"ansible_connection": "winrm", "ansible_winrm_scheme": "http",
                                       "wsman_winrm_legacy_ports": True, **HTTP_NTLM},
                           "http://{address}:80/wsman", "ntlm", True),
    "winrm_connection_uri_no_port": ("winrm11", {"ansible_connection": "winrm",
                                                 "wsman_winrm_connection_uri": "http://{address}/wsman", **HTTP_NTLM},
                                     "http://{address}:80/wsman", "ntlm", True),
    "psrp_protocol_http": (HTTPS_PROFILE, {"ansible_connection": "psrp", "ansible_psrp_protocol": "http",
                                           "ansible_psrp_auth": "ntlm"}, "http://{address}:5985/wsman", "ntlm", False),
    "psrp_port_5985_no_protocol": (HTTPS_PROFILE, {"ansible_connection": "ansible.builtin.psrp", "ansible_port": 5985},
                                   "http://{address}:5985/wsman", "ntlm", False),
    "psrp_https_ca_cert": (HTTPS_PROFILE, {"ansible_connection": "psrp", "ansible_psrp_ca_cert": "{ca}",
                                           "ansible_psrp_auth": "negotiate"}, "https://{address}:5986/wsman", "ntlm",
                           False),
    "wsman_plugin_port_5985": (HTTPS_PROFILE, {"ansible_connection": "wsman.winrm.winrm", "ansible_port": 5985,
                                               **HTTP_NTLM}, "http://{address}:5985/wsman", "ntlm", True),
    "wsman_plugin_nothing_is_https": (HTTPS_PROFILE, {"ansible_connection": "wsman.winrm.winrm",
                                                      "ansible_winrm_ca_trust_path": "{ca}"},
                                      "https://{address}:5986/wsman", "ntlm", True),
}

PLAY = [{
    "name": "Inventory shapes",
    "hosts": "windows",
    "gather_facts": False,
    "tasks": [
        {"name": "What the filter resolves",
         "ansible.builtin.set_fact": {
             "by_filter": "{{ hostvars[inventory_hostname] | wsman.winrm.endpoint }}",
             "by_filter_for_plugin": "{{ hostvars[inventory_hostname] | wsman.winrm.endpoint('wsman.winrm.winrm') }}"}},
        {"name": "A module reads the host", "wsman.winrm.info": {"gather": ["config"]}, "register": "info"},
        {"name": "Another module, in check mode", "wsman.winrm.client": {"allow_unencrypted": False}, "check_mode": True,
         "register": "client"},
        {"name": "A shell through the connection plugin, same variables", "ansible.builtin.raw": "echo hello",
         "vars": {"ansible_connection": "wsman.winrm.winrm"}, "register": "shell",
         "when": "shell_through_plugin | default(true)"},
        {"name": "Keep the results", "delegate_to": "localhost",
         "ansible.builtin.copy": {
             "dest": "{{ results_dir }}/{{ inventory_hostname }}.json", "mode": "0644",
             "content": "{{ {'filter': by_filter, 'filter_for_plugin': by_filter_for_plugin, 'info': info,"
                        " 'client': client, 'shell': shell} | to_json }}"}},
    ],
}]

MODULE_LINE = re.compile(r"^<(?P<host>[^>]+)> wsman\.winrm endpoint (?P<url>\S+) auth=(?P<auth>\S+)", re.M)
PLUGIN_LINE = re.compile(r"^<(?P<host>[^>]+)> WSMAN ENDPOINT (?P<url>\S+) auth=(?P<auth>\S+)", re.M)


def run_play(inventory: dict, work, extra_env: dict | None = None) -> tuple[dict, str]:
    results_dir = work / "results"
    results_dir.mkdir()
    inventory_path, playbook_path = work / "inventory.yml", work / "play.yml"
    inventory_path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    playbook_path.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               **(extra_env or {}))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", str(inventory_path),
               str(playbook_path), "-e", "results_dir=%s" % results_dir]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=500, check=False)
    output = completed.stdout + completed.stderr
    (work / "ansible-playbook.out").write_text(output)  # kept beside the inventory for a failing run
    results = {path.stem: json.loads(path.read_text()) for path in results_dir.iterdir()}
    return results, output


def used(pattern: re.Pattern, output: str, host: str) -> set[tuple[str, str]]:
    return {(m.group("url"), m.group("auth")) for m in pattern.finditer(output) if m.group("host") == host}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    profiles = [shape[0] for shape in SHAPES.values()]
    base = base_address(23)
    with FleetProcess(str(tmp_path_factory.mktemp("sim-inventories")), hosts=len(profiles),
                      profiles=",".join(profiles), base_address=base, password=PASSWORD) as running:
        yield running


def test_every_inventory_shape_resolves_the_same_endpoint_everywhere(fleet, tmp_path):
    sim_hosts = sorted(fleet.hosts().values(), key=lambda h: tuple(int(p) for p in h["ansible_host"].split(".")))
    hosts, expected = {}, {}
    for (shape, (profile, variables, url, auth, through_plugin)), sim in zip(SHAPES.items(), sim_hosts):
        assert sim["wsman_winrm_sim_profile"] == profile
        if profile == "winrm11" and sim["wsman_winrm_sim_ports"].get(80) != 80:
            pytest.skip("the simulator could not bind port 80 here: %r" % sim["wsman_winrm_sim_ports"])
        fill = {"address": sim["ansible_host"], "ca": sim["ansible_winrm_ca_trust_path"]}
        host_vars = {name: value.format(**fill) if isinstance(value, str) else value
                     for name, value in variables.items()}
        host_vars["ansible_host"] = sim["ansible_host"]
        if not through_plugin:
            host_vars["shell_through_plugin"] = False
        hosts[shape] = host_vars
        expected[shape] = (url.format(**fill), auth, through_plugin)
    subnet = ".".join(sim_hosts[0]["ansible_host"].split(".")[:3]) + ".*"
    inventory = {"all": {"children": {"windows": {"hosts": hosts, "vars": {
        "ansible_user": "Administrator", "ansible_password": PASSWORD,
        # NTLM over HTTP to these addresses, trusted for the whole group as TrustedHosts would
        "wsman_winrm_trusted_hosts": subnet,
        "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}

    results, output = run_play(inventory, tmp_path)
    assert PASSWORD not in output
    assert sorted(results) == sorted(SHAPES), output[-3000:]
    for shape, (url, auth, through_plugin) in expected.items():
        result = results[shape]
        assert result["filter"]["url"] == url, (shape, result["filter"]["decisions"])
        assert result["filter"]["auth"] == auth, shape
        assert not result["info"].get("failed"), (shape, result["info"].get("msg"))
        assert not result["client"].get("failed"), (shape, result["client"].get("msg"))
        assert used(MODULE_LINE, output, shape) == {(url, auth)}, shape      # both modules, the same endpoint
        if through_plugin:
            assert result["filter_for_plugin"]["url"] == url, shape
            assert result["shell"].get("rc") == 0, (shape, result["shell"].get("msg"))
            assert used(PLUGIN_LINE, output, shape) == {(url, auth)}, shape


# -- a domain inventory over HTTP 5985: Kerberos, message encryption, nothing else ---------------------

@pytest.fixture(scope="module")
def kerberos_fleet(tmp_path_factory):
    missing = missing_binaries()
    if missing:
        pytest.skip("MIT Kerberos programs missing (%s): make system-deps" % ", ".join(missing))
    gss = pytest.importorskip("spnego._gss")
    if not gss.HAS_GSSAPI:
        pytest.skip("pyspnego has no Kerberos here: %s" % gss.GSSAPI_IMP_ERR)
    with TestKDC(str(tmp_path_factory.mktemp("kdc")), hosts=["SIM-2022-01"]) as kdc:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in kdc.client_env().items():
                patch.setenv(name, value)
            patch.setenv("WINRM_SIM_LOG", "INFO")
            base = base_address(24)
            with FleetProcess(str(tmp_path_factory.mktemp("sim-kerberos-inventory")), hosts=1, profiles="server2022",
                              base_address=base, password=PASSWORD,
                              extra_args=["--keytab", kdc.keytab, "--realm", kdc.realm]) as running:
                yield kdc, running


def test_a_domain_inventory_over_http_uses_kerberos_with_no_extra_variable(kerberos_fleet, tmp_path):
    kdc, fleet = kerberos_fleet
    (sim,) = fleet.hosts().values()
    fqdn = sim["wsman_winrm_sim_fqdn"]
    inventory = {"all": {"children": {"windows": {
        "hosts": {fqdn: {}},
        "vars": {"ansible_connection": "winrm", "ansible_port": 5985, "ansible_user": kdc.user_principal,
                 "ansible_password": kdc.password,
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}
    # What a controller joined to the realm has: krb5.conf (kinit, run by the connection plugin,
    # gets only the variables ansible.cfg lists) and names that resolve (here: in the
    # ansible-playbook process only, through tests/integration/kdc.py's resolver shim).
    config = tmp_path / "ansible.cfg"
    config.write_text("[winrm]\nkinit_env_vars = KRB5_CONFIG\n")
    env = dict(kdc.client_env(), ANSIBLE_CONFIG=str(config),
               **resolver_environment({fqdn: sim["ansible_host"]}))
    results, output = run_play(inventory, tmp_path, env)
    url = "http://%s:5985/wsman" % fqdn
    result = results[fqdn]
    assert (result["filter"]["url"], result["filter"]["auth"], result["filter"]["encryption"]) == (
        url, "kerberos", "always"), result["filter"]["decisions"]
    assert not result["info"].get("failed"), result["info"].get("msg")
    assert used(MODULE_LINE, output, fqdn) == {(url, "kerberos")}
    assert result["shell"].get("rc") == 0, result["shell"].get("msg")
    assert used(PLUGIN_LINE, output, fqdn) == {(url, "kerberos")}
    with open(fleet.stderr_path, encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    assert "%s authenticated as Administrator with kerberos" % kdc.user_principal in log
    assert "Administrator authenticated as Administrator with ntlm" not in log
    assert kdc.password not in output


# -- a host that cannot be reached is unreachable, as Ansible users expect -----------------------------

def test_unreachable_hosts_are_unreachable(fleet, tmp_path):
    sim = sorted(fleet.hosts().values(), key=lambda h: h["ansible_host"])[0]
    silent = ".".join(sim["ansible_host"].split(".")[:3]) + ".200"   # nothing listens there
    hosts = {
        "refused": {"ansible_host": silent, "ansible_port": 5985},
        "untrusted_certificate": {"ansible_host": sim["ansible_host"], "ansible_port": 5986},  # no CA given
        "reachable": {"ansible_host": sim["ansible_host"], "ansible_port": 5985},
    }
    inventory = {"all": {"children": {"windows": {"hosts": hosts, "vars": {
        "ansible_connection": "winrm", "ansible_user": "Administrator", "ansible_password": PASSWORD,
        "ansible_winrm_transport": "ntlm", "wsman_winrm_trusted_hosts": ".".join(silent.split(".")[:3]) + ".*",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}
    play = [
        {"name": "Kept in the play", "hosts": "windows", "gather_facts": False, "tasks": [
            {"name": "Read", "wsman.winrm.info": {"gather": ["config"]}, "ignore_unreachable": True, "register": "read"},
            {"name": "Keep it", "delegate_to": "localhost", "ansible.builtin.copy": {
                "dest": "%s/{{ inventory_hostname }}.json" % tmp_path, "content": "{{ read | to_json }}",
                "mode": "0644"}}]},
        {"name": "Dropped from the play", "hosts": "windows", "gather_facts": False, "tasks": [
            {"name": "Read again", "wsman.winrm.info": {"gather": ["config"]}},
            {"name": "Only the reachable host gets here", "ansible.builtin.debug": {"msg": "still here"}}]},
    ]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                                str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 4, completed.stdout[-3000:]   # ansible-playbook's code for unreachable hosts
    results = {name: json.loads((tmp_path / ("%s.json" % name)).read_text()) for name in hosts}
    assert results["refused"]["unreachable"] and "connection refused" in results["refused"]["msg"]
    assert results["untrusted_certificate"]["unreachable"] and "TLS" in results["untrusted_certificate"]["msg"]
    assert not results["reachable"].get("unreachable") and not results["reachable"].get("failed")
    recap = {line.split()[0]: line for line in completed.stdout.splitlines() if " : ok=" in line}
    assert "unreachable=1" in recap["refused"] and "failed=0" in recap["refused"]
    assert "unreachable=1" in recap["untrusted_certificate"]
    assert "unreachable=0" in recap["reachable"] and completed.stdout.count("still here") == 1


# -- REQUESTS_CA_BUNDLE: one rule for the modules and the connection plugin ---------------------------

def test_requests_ca_bundle_is_read_by_neither_the_modules_nor_the_connection_plugin(fleet, tmp_path, monkeypatch):
    """The documented rule (docs/endpoint-resolution.md, "One rule for REQUESTS_CA_BUNDLE"): the CA comes
    from ansible_winrm_ca_trust_path / ansible_psrp_ca_cert only. With the simulator's CA in
    REQUESTS_CA_BUNDLE alone, a module and a raw command through wsman.winrm.winrm both refuse the server
    certificate, the same way; the same CA given as ansible_winrm_ca_trust_path lets both through."""
    import requests

    sim = next(h for h in sorted(fleet.hosts().values(), key=lambda h: h["ansible_host"])
               if h["wsman_winrm_sim_profile"] == HTTPS_PROFILE)
    url = "https://%s:5986/wsman" % sim["ansible_host"]
    ca = sim["ansible_winrm_ca_trust_path"]
    # The bundle really is the one that validates this server: a client reading the variable accepts it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca)
    with requests.Session() as reads_the_environment:
        answer = reads_the_environment.post(url, data=b"", timeout=30)
    assert answer.status_code == 401  # TLS accepted, then Windows asks for credentials

    https = {"ansible_host": sim["ansible_host"], "ansible_port": 5986, "ansible_winrm_scheme": "https"}
    hosts = {"ca_from_environment_only": dict(https),
             "ca_from_inventory": dict(https, ansible_winrm_ca_trust_path=ca)}
    inventory = {"all": {"children": {"windows": {"hosts": hosts, "vars": {
        "ansible_connection": "winrm", "ansible_user": "Administrator", "ansible_password": PASSWORD,
        "ansible_winrm_transport": "ntlm", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}
    play = [{"name": "HTTPS, the CA where requests would look", "hosts": "windows", "gather_facts": False, "tasks": [
        {"name": "A module reads the host", "wsman.winrm.info": {"gather": ["config"]}, "register": "info",
         "ignore_unreachable": True, "ignore_errors": True},
        {"name": "A shell through the connection plugin", "ansible.builtin.raw": "echo hello",
         "vars": {"ansible_connection": "wsman.winrm.winrm"}, "register": "shell",
         "ignore_unreachable": True, "ignore_errors": True},
        {"name": "Keep the results", "delegate_to": "localhost", "ansible.builtin.copy": {
            "dest": "%s/{{ inventory_hostname }}.json" % tmp_path, "mode": "0644",
            "content": "{{ {'info': info, 'shell': shell} | to_json }}"}}]}]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    # requests reads both variables (REQUESTS_CA_BUNDLE first); the system store is left as it is.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               REQUESTS_CA_BUNDLE=ca, CURL_CA_BUNDLE=ca)
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                                str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    output = completed.stdout + completed.stderr
    results = {name: json.loads((tmp_path / ("%s.json" % name)).read_text()) for name in hosts}

    refused = results["ca_from_environment_only"]
    for task in ("info", "shell"):
        result = refused[task]
        assert result.get("unreachable") is True, (task, result)   # both: unreachable, nothing ran
        message = result["msg"]
        assert "TLS" in message and "certificate" in message, (task, message)
        assert "ansible_winrm_ca_trust_path" in message and "never" in message and "REQUESTS_CA_BUNDLE" in message, \
            (task, message)
    assert "hello" not in json.dumps(refused["shell"])

    accepted = results["ca_from_inventory"]
    assert not accepted["info"].get("failed") and not accepted["info"].get("unreachable"), accepted["info"]
    assert accepted["shell"].get("rc") == 0 and "hello" in accepted["shell"]["stdout"], accepted["shell"]
    assert PASSWORD not in output
