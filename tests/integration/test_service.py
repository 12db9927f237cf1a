"""wsman.winrm.service through ansible-playbook against simulated hosts; every result is read back with
a plain pypsrp client, independently of the module.

Hosts: SIM-2022-01 (changed and restored by each test), SIM-2022-02 (the destructive test filters its
own address out for good), SIM-GPO-03 (WinRM Group Policy applied).
"""
from __future__ import annotations

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError
from pypsrp.wsman import WSMan

from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022,server2022,gpo"

pytestmark = pytest.mark.timeout(600)

ADMINS_ONLY_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
DEFAULT_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
# Basic over HTTP for the task (the endpoint resolver needs both switches) - the anti-lockout case.
BASIC_OVER_HTTP = {"ansible_winrm_transport": "basic", "wsman_winrm_allow_basic_http": True,
                   "wsman_winrm_allow_unencrypted": True}


def hosts_of(fleet, profile: str) -> list[tuple[str, dict]]:
    return sorted((name, vars_) for name, vars_ in fleet.hosts().items()
                  if vars_["wsman_winrm_sim_profile"] == profile)


@pytest.fixture(scope="module")
def main_host(fleet):
    return hosts_of(fleet, "server2022")[0]


@pytest.fixture(scope="module")
def sacrificial_host(fleet):
    return hosts_of(fleet, "server2022")[1]


@pytest.fixture(scope="module")
def gpo_host(fleet):
    return hosts_of(fleet, "gpo")[0]


def plain_get(fleet, host_vars: dict, resource: str):
    """A plain pypsrp Get (NTLM, the inventory's account); the resource element of the reply body."""
    with fleet.client(host_vars) as client:
        return client.get(f"{CONFIG}/{resource}")[0]


def read_service(fleet, host_vars: dict) -> dict[str, str]:
    """winrm/config/service as raw Windows strings; nested sections as "Section/Leaf"."""
    values = {}
    for child in plain_get(fleet, host_vars, "service"):
        name = child.tag.rsplit("}", 1)[-1]
        if len(child):
            values.update({f"{name}/{leaf.tag.rsplit('}', 1)[-1]}": leaf.text or "" for leaf in child})
        else:
            values[name] = child.text or ""
    return values


def basic_http_client(host_vars: dict) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=host_vars["wsman_winrm_sim_ports"][5985], ssl=False, auth="basic",
                 encryption="never", username=host_vars["ansible_user"], password=host_vars["ansible_password"],
                 no_proxy=True, operation_timeout=10, read_timeout=20)


def test_change_check_mode_diff_and_idempotence(fleet, main_host, tmp_path):
    name, host_vars = main_host
    thumbprint = host_vars["wsman_winrm_sim_thumbprint"]
    spaced = " ".join(thumbprint[i:i + 2] for i in range(0, 40, 2)).lower()  # as a certificate viewer shows it
    task = {"wsman.winrm.service": {
        "max_connections": 250, "max_concurrent_operations_per_user": 100, "enumeration_timeout_ms": 120000,
        "max_packet_retrieval_time_seconds": 60, "root_sddl": ADMINS_ONLY_SDDL,
        "certificate_thumbprint": spaced, "ipv4_filter": "127.0.0.1-127.255.255.254",
        "default_ports": {"https": 15986}, "allow_unencrypted": False, "allow_remote_access": True}}

    (predicted,) = run_tasks(fleet, [task], limit=name, check=True, diff=True, tmp_path=tmp_path / "check")[name]
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] is True
    assert read_service(fleet, host_vars)["MaxConnections"] == "300"  # check mode sent nothing

    real, again = run_tasks(fleet, [task, task], limit=name, diff=True, tmp_path=tmp_path / "real")[name]
    assert not real.get("failed"), real.get("msg")
    assert real["changed"] is True
    assert real["service"] == predicted["service"]
    assert real["changes"] == predicted["changes"] == [
        "service.certificate_thumbprint", "service.default_ports.https", "service.enumeration_timeout_ms",
        "service.ipv4_filter", "service.max_concurrent_operations_per_user", "service.max_connections",
        "service.max_packet_retrieval_time_seconds", "service.root_sddl"]
    assert real["service"]["certificate_thumbprint"] == thumbprint
    assert real["service"]["auth"]["negotiate"] is True  # the whole service dict, as info returns it
    assert real["before"]["max_connections"] == 300 and real["service"]["max_connections"] == 250
    assert real["diff"]["before"]["root_sddl"] == DEFAULT_SDDL
    assert real["diff"]["after"]["root_sddl"] == ADMINS_ONLY_SDDL
    assert real["diff"]["after_header"] == "service"
    assert "warnings" not in real
    assert again["changed"] is False and again["changes"] == []

    back = read_service(fleet, host_vars)
    assert back["MaxConnections"] == "250" and back["MaxConcurrentOperationsPerUser"] == "100"
    assert back["EnumerationTimeoutms"] == "120000" and back["MaxPacketRetrievalTimeSeconds"] == "60"
    assert back["RootSDDL"] == ADMINS_ONLY_SDDL and back["CertificateThumbprint"] == thumbprint
    assert back["IPv4Filter"] == "127.0.0.1-127.255.255.254"
    assert back["DefaultPorts/HTTPS"] == "15986" and back["DefaultPorts/HTTP"] == "5985"

    (restored,) = run_tasks(fleet, [{"wsman.winrm.service": {
        "max_connections": 300, "max_concurrent_operations_per_user": 1500, "enumeration_timeout_ms": 240000,
        "max_packet_retrieval_time_seconds": 120, "root_sddl": DEFAULT_SDDL, "certificate_thumbprint": "",
        "ipv4_filter": "*", "default_ports": {"https": 5986}}}], limit=name, tmp_path=tmp_path / "restore")[name]
    assert restored["changed"] is True and not restored.get("failed")
    back = read_service(fleet, host_vars)
    assert back["RootSDDL"] == DEFAULT_SDDL and back["IPv4Filter"] == "*" and back["CertificateThumbprint"] == ""


def test_bad_inputs_fail_before_anything_is_sent(fleet, main_host, tmp_path):
    name, host_vars = main_host
    before = read_service(fleet, host_vars)
    cases = [
        ({"ipv4_filter": "10.0.0.1"}, ["ipv4_filter", "IP1-IP2", "0x803380EC"]),
        ({"ipv4_filter": "10.0.0.9-10.0.0.1"}, ["ipv4_filter", "larger address first"]),
        ({"ipv4_filter": "10.0.0.1-10.0.0.x"}, ["ipv4_filter", "two IPv4 addresses"]),
        ({"ipv4_filter": "*,10.0.0.1-10.0.0.2"}, ["ipv4_filter", "* must stand alone"]),
        ({"ipv6_filter": "10.0.0.1-10.0.0.2"}, ["ipv6_filter", "not an IPv6 range"]),
        ({"default_ports": {"http": 70000}}, ["default_ports.http", "1 and 65535"]),
        ({"default_ports": {"https": 0}}, ["default_ports.https", "1 and 65535"]),
        ({"root_sddl": "D:P(A;;GA;;;BA)"}, ["root_sddl", "O:"]),
        ({"root_sddl": "O:NSG:BA"}, ["root_sddl", "DACL"]),
        ({"root_sddl": "O:NSG:BAD:P(A;;GA;;;BA)garbage"},
         ["root_sddl", "after the DACL", "'garbage'", "0x8033815C"]),
        ({"certificate_thumbprint": "XYZ"}, ["certificate_thumbprint", "40 hexadecimal"]),
        ({"max_connections": 0}, ["max_connections", "between 1"]),
        ({"enumeration_timeout_ms": 100}, ["enumeration_timeout_ms", "between 500"]),
        ({"max_connections": "many"}, ["max_connections"]),
    ]
    # A valid change rides along with every bad value: a failure must leave it unsent too.
    tasks = [{"wsman.winrm.service": dict(bad, max_packet_retrieval_time_seconds=99)} for bad, _expected in cases]
    results = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path)[name]
    for (bad, expected), result in zip(cases, results):
        assert result.get("failed"), bad
        for text in expected:
            assert text in result["msg"], (bad, result["msg"])
    assert read_service(fleet, host_vars) == before


def test_allow_unencrypted_lockout_warning_and_force(fleet, main_host, tmp_path):
    name, host_vars = main_host
    run = run_tasks(fleet, [
        {"wsman.winrm.auth": {"scope": "service", "basic": True}},
        {"wsman.winrm.service": {"allow_unencrypted": True}},
    ], limit=name, tmp_path=tmp_path / "open")
    _auth_result, opened = run[name]
    assert opened["changed"] is True
    assert any("WN22-CC-000510" in warning for warning in opened["warnings"])
    with basic_http_client(host_vars) as basic:  # Basic over plain HTTP really works now
        basic.get(CONFIG + "/service")

    close = {"wsman.winrm.service": {"allow_unencrypted": False}, "vars": BASIC_OVER_HTTP}
    (checked,) = run_tasks(fleet, [close], limit=name, check=True, tmp_path=tmp_path / "check")[name]
    (refused,) = run_tasks(fleet, [close], limit=name, tmp_path=tmp_path / "refused")[name]
    for result in (checked, refused):
        assert result["failed"]
        assert "lock this controller out" in result["msg"] and "unencrypted" in result["msg"]
    assert read_service(fleet, host_vars)["AllowUnencrypted"] == "true"

    forced_task = {"wsman.winrm.service": {"allow_unencrypted": False, "force": True}, "vars": BASIC_OVER_HTTP}
    (forced,) = run_tasks(fleet, [forced_task], limit=name, tmp_path=tmp_path / "forced")[name]
    assert not forced.get("failed"), forced.get("msg")
    assert forced["changed"] is True and forced["service"]["allow_unencrypted"] is False
    assert any("force: true" in warning for warning in forced["warnings"])
    with pytest.raises(AuthenticationError):  # Basic over HTTP is now refused (401)
        with basic_http_client(host_vars) as basic:
            basic.get(CONFIG + "/service")
    assert read_service(fleet, host_vars)["AllowUnencrypted"] == "false"  # NTLM, encrypted, still fine

    (basic_off,) = run_tasks(fleet, [{"wsman.winrm.auth": {"scope": "service", "basic": False}}],
                             limit=name, tmp_path=tmp_path / "restore")[name]
    assert basic_off["changed"] is True


def test_remote_access_and_filter_lockouts_are_refused(fleet, main_host, tmp_path):
    name, host_vars = main_host
    tasks = [
        {"wsman.winrm.service": {"allow_remote_access": False}},
        {"wsman.winrm.service": {"ipv4_filter": "10.0.0.1-10.0.0.254"}},
        {"wsman.winrm.service": {"ipv4_filter": ""}},
        # IPv6 filter off while the task connects over IPv4: nothing of this connection is cut.
        {"wsman.winrm.service": {"ipv6_filter": ""}},
        {"wsman.winrm.service": {"ipv6_filter": "*"}},
    ]
    remote, filtered, empty, ipv6_off, ipv6_back = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path)[name]
    assert remote["failed"] and "AllowRemoteAccess" in remote["msg"] and "force: true" in remote["msg"]
    for result in (filtered, empty):
        assert result["failed"] and "ipv4_filter" in result["msg"] and host_vars["ansible_host"] in result["msg"]
    assert not ipv6_off.get("failed"), ipv6_off.get("msg")
    assert ipv6_off["changed"] is True and ipv6_back["changed"] is True
    back = read_service(fleet, host_vars)
    assert back["AllowRemoteAccess"] == "true" and back["IPv4Filter"] == "*" and back["IPv6Filter"] == "*"


def test_forced_filter_cuts_the_host_off(fleet, sacrificial_host, tmp_path):
    name, host_vars = sacrificial_host
    (forced,) = run_tasks(fleet, [{"wsman.winrm.service": {"ipv4_filter": "10.0.0.1-10.0.0.254", "force": True}}],
                          limit=name, tmp_path=tmp_path)[name]
    assert not forced.get("failed"), forced.get("msg")
    assert forced["changed"] is True and forced["service"]["ipv4_filter"] == "10.0.0.1-10.0.0.254"
    assert any("force: true" in warning and "ipv4_filter" in warning for warning in forced["warnings"])
    # The service no longer listens on the address the controller uses.
    with pytest.raises((WinRMTransportError, requests.exceptions.ConnectionError, OSError)):
        plain_get(fleet, host_vars, "service")


def test_group_policy_refusal_and_skip(fleet, gpo_host, tmp_path):
    name, host_vars = gpo_host
    unencrypted = next(child for child in plain_get(fleet, host_vars, "service")
                       if child.tag.endswith("}AllowUnencrypted"))
    assert unencrypted.get("Source") == "GPO" and unencrypted.text == "false"

    task = {"wsman.winrm.service": {"allow_unencrypted": True, "max_connections": 200}}
    (checked,) = run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check")[name]
    (refused,) = run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "real")[name]
    for result in (checked, refused):
        assert result["failed"]
        assert "service.allow_unencrypted" in result["msg"] and "Service\\AllowUnencryptedTraffic" in result["msg"]
        assert "wsman.winrm.policy" in result["msg"]
    assert read_service(fleet, host_vars)["MaxConnections"] == "300"

    skip = {"wsman.winrm.service": {"allow_unencrypted": True, "max_connections": 200, "policy_controlled": "skip"}}
    (predicted,) = run_tasks(fleet, [skip], limit=name, check=True, diff=True, tmp_path=tmp_path / "skip-check")[name]
    skipped, again = run_tasks(fleet, [skip, skip], limit=name, diff=True, tmp_path=tmp_path / "skip")[name]
    for result in (predicted, skipped):
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True and result["changes"] == ["service.max_connections"]
        assert result["policy_skipped"] == ["service.allow_unencrypted"]
        assert result["service"]["allow_unencrypted"] is False
        assert not any("WN22-CC-000510" in warning for warning in result["warnings"])  # it stayed off
    assert predicted["service"] == skipped["service"]
    assert again["changed"] is False
    back = read_service(fleet, host_vars)
    assert back["MaxConnections"] == "200" and back["AllowUnencrypted"] == "false"
