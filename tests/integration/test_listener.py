"""wsman.winrm.listener through ansible-playbook against simulated hosts.

Every result is read back with a plain pypsrp request (fleet.get / a WSMan client on the
listener's own port), not through the module under test.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet, WSMan

from ansible_collections.wsman.winrm.plugins.module_utils import resources
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session
from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022,server2022,upgraded11,gpo"
NOT_FOUND = 2150858752


# ---- helpers ---------------------------------------------------------------------------------------

def hosts_of(fleet, profile: str) -> list[tuple[str, dict]]:
    return sorted((name, hv) for name, hv in fleet.hosts().items() if hv["wsman_winrm_sim_profile"] == profile)


def only_result(run) -> list[dict]:
    (results,) = run.results.values()
    return results


def listener_task(**options) -> dict:
    return {"wsman.winrm.listener": options}


def read_listener(fleet, hv, address: str, transport: str) -> dict | None:
    """The listener as a plain pypsrp Get returns it; None when Windows says it does not exist."""
    # fleet.get() looks for the SOAP Body inside the Body pypsrp already returns; read it here.
    selectors = SelectorSet()
    selectors.add_option("Address", address)
    selectors.add_option("Transport", transport.upper())
    try:
        with fleet.client(hv) as client:
            element = client.get(CONFIG + "/listener", selector_set=selectors)[0]
    except WSManFaultError as error:
        if error.code == NOT_FOUND:
            return None
        raise
    return resources.Listener.from_xml(element).to_dict()


def enumerate_listeners(fleet, hv) -> list[dict]:
    """Every listener, compatibility ones included, from one optimized plain pypsrp Enumerate."""
    import xml.etree.ElementTree as ET

    wsen, wsman = "http://schemas.xmlsoap.org/ws/2004/09/enumeration", "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
    request = ET.Element("{%s}Enumerate" % wsen)
    ET.SubElement(request, "{%s}OptimizeEnumeration" % wsman)
    ET.SubElement(request, "{%s}MaxElements" % wsman).text = "100"
    with fleet.client(hv) as client:
        body = client.enumerate(CONFIG + "/listener", request)
    items = body.find(".//{%s}Items" % wsman)
    assert body.find(".//{%s}EndOfSequence" % wsman) is not None
    return [resources.Listener.from_xml(item).to_dict() for item in (items if items is not None else [])]


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def bound_port(fleet, name: str, windows_port: int) -> int | None:
    """The port the simulator serves a Windows port on (the inventory is rewritten on changes)."""
    return fleet.hosts()[name]["wsman_winrm_sim_ports"].get(windows_port)


def answers(fleet, name: str, windows_port: int, https: bool = False, path: str = "wsman") -> bool:
    """A plain pypsrp Get of winrm/config through the listener on this Windows port."""
    if not wait_for(lambda: bound_port(fleet, name, windows_port) is not None):
        return False
    hv = fleet.hosts()[name]
    client = WSMan(hv["ansible_host"], port=bound_port(fleet, name, windows_port), path=path, ssl=https,
                   auth="ntlm", username=hv["ansible_user"], password=hv["ansible_password"],
                   cert_validation=hv["ansible_winrm_ca_trust_path"] if https else False,
                   no_proxy=True, operation_timeout=10, read_timeout=20)
    with client:
        reply = client.get(CONFIG)
    return reply is not None


def refuses(address: str, port: int, timeout: float = 5.0) -> bool:
    """The port refuses connections (within a moment: the simulator closes sockets asynchronously)."""
    def refused() -> bool:
        try:
            with socket.create_connection((address, port), timeout=3):
                return False
        except ConnectionRefusedError:
            return True
    return wait_for(refused, timeout)


def certificate_thumbprint(fleet, name: str, role: str) -> str:
    """Thumbprint of one of the host's machine certificates (pki.py: server, expired, noeku)."""
    path = os.path.join(fleet.process.state_dir, "pki", "hosts", name, f"{role}.pem")
    with open(path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return cert.fingerprint(hashes.SHA1()).hex().upper()


# ---- create, change, delete ----------------------------------------------------------------------------

# The ports these tests give listeners. No rule Windows ships admits them, so the firewall filters them
# until a rule does: open them first, the way an administrator does before adding such a listener.
TEST_PORTS = ["8085", "8086", "8443", "8444", "8445", "5990"]


@pytest.fixture(scope="module", autouse=True)
def firewall_open(fleet, tmp_path_factory):
    names = ":".join(name for name, _hv in hosts_of(fleet, "server2022"))
    opened = run_tasks(fleet, [{"wsman.winrm.firewall_rule": {
        "name": "WinRM-Listener-Test-Ports", "display_name": "WinRM listeners on test ports",
        "local_ports": TEST_PORTS, "remote_addresses": ["LocalSubnet"]}}], limit=names,
        tmp_path=tmp_path_factory.mktemp("firewall"))
    for name, _hv in hosts_of(fleet, "server2022"):
        (result,) = opened[name]
        assert result["changed"] is True and not result.get("failed"), result.get("msg")


def test_a_listener_on_a_port_no_rule_admits_is_filtered(fleet, tmp_path):
    """Windows Firewall: the listener is there, but the SYN to its port is dropped (the attempt times out)."""
    from test_sim_firewall import reach

    name, hv = hosts_of(fleet, "server2022")[0]
    address = "IP:" + hv["ansible_host"]
    (created,) = only_result(run_tasks(fleet, [listener_task(address=address, transport="http", port=8099)],
                                       limit=name, tmp_path=tmp_path / "c"))
    assert created["changed"] is True and read_listener(fleet, hv, address, "http")["port"] == 8099
    try:
        assert reach(hv["ansible_host"], bound_port(fleet, name, 8099)) == "filtered"
    finally:
        run_tasks(fleet, [listener_task(address=address, transport="http", state="absent")], limit=name,
                  tmp_path=tmp_path / "d")


def test_http_listener_create_change_delete(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[0]
    address = "IP:" + hv["ansible_host"]
    create = listener_task(address=address, transport="http", port=8085)

    (predicted,) = only_result(run_tasks(fleet, [create], limit=name, check=True, diff=True, tmp_path=tmp_path / "c1"))
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] is True and predicted["before"] is None and predicted["replaced"] is False
    assert read_listener(fleet, hv, address, "http") is None  # check mode sent nothing

    (created, again) = only_result(run_tasks(fleet, [create, create], limit=name, diff=True, tmp_path=tmp_path / "r1"))
    assert not created.get("failed"), created.get("msg")
    assert created["changed"] is True and created["changes"] == ["listener"]
    assert created["listener"] == predicted["listener"]
    assert created["diff"]["before"] == {} and created["diff"]["after"] == created["listener"]
    read = read_listener(fleet, hv, address, "http")
    assert read == created["listener"]
    assert read["port"] == 8085 and read["enabled"] is True and read["url_prefix"] == "wsman" and read["source"] == ""
    assert answers(fleet, name, 8085)
    assert again["changed"] is False and not again.get("failed")
    old_port = bound_port(fleet, name, 8085)

    move = listener_task(address=address, transport="http", port=8086)
    (predicted,) = only_result(run_tasks(fleet, [move], limit=name, check=True, diff=True, tmp_path=tmp_path / "c2"))
    assert predicted["changed"] is True and predicted["changes"] == ["port"]
    assert read_listener(fleet, hv, address, "http")["port"] == 8085
    (moved, again) = only_result(run_tasks(fleet, [move, move], limit=name, diff=True, tmp_path=tmp_path / "r2"))
    assert moved["changed"] is True and moved["listener"] == predicted["listener"]
    assert moved["diff"]["before"]["port"] == 8085 and moved["diff"]["after"]["port"] == 8086
    assert read_listener(fleet, hv, address, "http") == moved["listener"]
    assert answers(fleet, name, 8086)
    assert wait_for(lambda: bound_port(fleet, name, 8085) is None) and refuses(hv["ansible_host"], old_port)
    assert again["changed"] is False

    delete = listener_task(address=address, transport="http", state="absent")
    (predicted,) = only_result(run_tasks(fleet, [delete], limit=name, check=True, tmp_path=tmp_path / "c3"))
    assert predicted["changed"] is True and predicted["listener"] is None
    assert read_listener(fleet, hv, address, "http") is not None
    port = bound_port(fleet, name, 8086)
    (deleted, again) = only_result(run_tasks(fleet, [delete, delete], limit=name, diff=True, tmp_path=tmp_path / "r3"))
    assert deleted["changed"] is True and deleted["listener"] is None and deleted["before"]["port"] == 8086
    assert deleted["diff"]["after"] == {}
    assert read_listener(fleet, hv, address, "http") is None
    assert refuses(hv["ansible_host"], port)
    assert again["changed"] is False and not again.get("failed")


def test_bad_input_is_refused_before_anything_is_sent(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[0]
    before = enumerate_listeners(fleet, hv)
    cases = [
        ({"address": "10.0.0.1", "transport": "http"}, "address"),
        ({"address": "IP:300.1.1.1", "transport": "http"}, "address"),
        ({"address": "MAC:zz-11-22-33-44-55", "transport": "http"}, "address"),
        ({"transport": "http", "port": 0}, "port"),
        ({"transport": "http", "port": 70000}, "port"),
        ({"transport": "http", "certificate_thumbprint": "A" * 40}, "certificate_thumbprint"),
        ({"transport": "https", "certificate_thumbprint": "ABC123"}, "certificate_thumbprint"),
        ({"transport": "https", "certificate_thumbprint": "Z" * 40}, "certificate_thumbprint"),
        ({"transport": "http", "url_prefix": "/wsman"}, "url_prefix"),
        ({"transport": "http", "url_prefix": "ws man"}, "url_prefix"),
        ({"transport": "http", "url_prefix": ""}, "url_prefix"),
        ({"transport": "ftp"}, "transport"),
    ]
    results = only_result(run_tasks(fleet, [listener_task(**options) for options, _field in cases], limit=name,
                                    tmp_path=tmp_path))
    for (options, field), result in zip(cases, results):
        assert result.get("failed"), options
        assert field in result["msg"], (options, result["msg"])
        assert "fault_code" not in result, (options, result)  # refused locally, no WS-Man fault
    assert enumerate_listeners(fleet, hv) == before


# ---- HTTPS and certificates -------------------------------------------------------------------------

def test_https_listener_certificate_faults_leave_nothing(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[0]
    address = "IP:" + hv["ansible_host"]
    base = {"address": address, "transport": "https", "port": 8443}
    cases = [
        (dict(base, certificate_thumbprint="0" * 40), 2150858882),                       # not in the store
        (dict(base, certificate_thumbprint=certificate_thumbprint(fleet, name, "noeku")), 2150858990),
        (dict(base, certificate_thumbprint=certificate_thumbprint(fleet, name, "expired")), 2150859029),
        (dict(base, certificate_thumbprint=hv["wsman_winrm_sim_thumbprint"], hostname="other.example.com"),
         2150858985),                                                                       # CN != Hostname
    ]
    results = only_result(run_tasks(fleet, [listener_task(**options) for options, _code in cases], limit=name,
                                    tmp_path=tmp_path))
    for (options, code), result in zip(cases, results):
        assert result.get("failed"), options
        assert result["fault_code"] == code, result["msg"]
        assert str(code) in result["msg"]
    assert read_listener(fleet, hv, address, "https") is None
    assert bound_port(fleet, name, 8443) is None


def test_https_listener_with_certificate_and_a_refused_change(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[0]
    address = "IP:" + hv["ansible_host"]
    thumbprint = hv["wsman_winrm_sim_thumbprint"]
    # As copied from the certificate dialog: lower case, spaces, a left-to-right mark.
    pasted = "\u200e" + " ".join(thumbprint[i:i + 2] for i in range(0, 40, 2)).lower()
    create = listener_task(address=address, transport="https", port=8443, hostname=name,
                           certificate_thumbprint=pasted)
    (predicted,) = only_result(run_tasks(fleet, [create], limit=name, check=True, tmp_path=tmp_path / "c"))
    (created, again) = only_result(run_tasks(fleet, [create, create], limit=name, tmp_path=tmp_path / "r"))
    assert not created.get("failed"), created.get("msg")
    assert created["changed"] is True and created["listener"] == predicted["listener"]
    assert created["listener"]["certificate_thumbprint"] == thumbprint
    assert read_listener(fleet, hv, address, "https") == created["listener"]
    assert answers(fleet, name, 8443, https=True)
    assert again["changed"] is False

    # Changes Windows refuses: a certificate without the Server Authentication EKU, a Hostname its
    # certificate does not carry. Each fails with the fault, and the listener stays as it was.
    refused = only_result(run_tasks(fleet, [
        listener_task(address=address, transport="https",
                      certificate_thumbprint=certificate_thumbprint(fleet, name, "noeku")),
        listener_task(address=address, transport="https", hostname="other.example.com"),
        listener_task(address=address, transport="https", port=8444, certificate_thumbprint="0" * 40),
    ], limit=name, tmp_path=tmp_path / "refused"))
    assert [result.get("fault_code") for result in refused] == [2150858990, 2150858985, 2150858882]
    assert read_listener(fleet, hv, address, "https") == created["listener"]
    assert answers(fleet, name, 8443, https=True)
    assert bound_port(fleet, name, 8444) is None

    (deleted,) = only_result(run_tasks(fleet, [listener_task(address=address, transport="https", state="absent")],
                                       limit=name, tmp_path=tmp_path / "d"))
    assert deleted["changed"] is True and read_listener(fleet, hv, address, "https") is None


def test_https_listener_without_thumbprint_takes_the_machine_certificate(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[0]
    address = "IP:" + hv["ansible_host"]
    create = listener_task(address=address, transport="https", port=8445, hostname=name)
    (predicted,) = only_result(run_tasks(fleet, [create], limit=name, check=True, tmp_path=tmp_path / "c"))
    assert predicted["changed"] is True and predicted["listener"]["certificate_thumbprint"] is None
    (created,) = only_result(run_tasks(fleet, [create], limit=name, tmp_path=tmp_path / "r"))
    assert not created.get("failed"), created.get("msg")
    assert created["listener"]["certificate_thumbprint"] == hv["wsman_winrm_sim_thumbprint"]
    assert {k: v for k, v in created["listener"].items() if k != "certificate_thumbprint"} == \
        {k: v for k, v in predicted["listener"].items() if k != "certificate_thumbprint"}
    assert read_listener(fleet, hv, address, "https")["certificate_thumbprint"] == hv["wsman_winrm_sim_thumbprint"]
    assert answers(fleet, name, 8445, https=True)
    run_tasks(fleet, [listener_task(address=address, transport="https", state="absent")], limit=name,
              tmp_path=tmp_path / "d")
    assert read_listener(fleet, hv, address, "https") is None


# ---- anti-lockout ------------------------------------------------------------------------------------

def test_the_listener_in_use_is_protected(fleet, tmp_path):
    name, hv = hosts_of(fleet, "server2022")[1]
    before = read_listener(fleet, hv, "*", "http")
    assert hv["ansible_port"] == bound_port(fleet, name, 5985)  # the task comes in through */HTTP on 5985
    cutting = [
        {"transport": "http", "state": "absent"},
        {"transport": "http", "enabled": False},
        {"transport": "http", "port": 5990},
        {"transport": "http", "url_prefix": "other"},
    ]
    for check in (True, False):
        results = only_result(run_tasks(fleet, [listener_task(**options) for options in cutting], limit=name,
                                        check=check, tmp_path=tmp_path / f"refused-{check}"))
        for options, result in zip(cutting, results):
            assert result.get("failed"), options
            assert "lock this controller out" in result["msg"] and "force" in result["msg"], result["msg"]
    assert read_listener(fleet, hv, "*", "http") == before
    assert answers(fleet, name, 5985)
    old_port = bound_port(fleet, name, 5985)

    # force: the listener moves and the task's own connection goes with it.
    (moved,) = only_result(run_tasks(fleet, [listener_task(transport="http", port=5990, force=True)], limit=name,
                                     tmp_path=tmp_path / "forced"))
    assert not moved.get("failed"), moved.get("msg")
    assert moved["changed"] is True and any("force: true" in w for w in moved["warnings"])
    assert answers(fleet, name, 5990)
    assert wait_for(lambda: bound_port(fleet, name, 5985) is None)
    assert refuses(hv["ansible_host"], old_port)

    # Back, through the moved listener (the inventory now points at it); it is in use again: force.
    new_port = bound_port(fleet, name, 5990)
    assert fleet.hosts()[name]["ansible_port"] == new_port
    (refused, restored) = only_result(run_tasks(fleet, [
        listener_task(transport="http", port=5985),
        listener_task(transport="http", port=5985, force=True),
    ], limit=name, tmp_path=tmp_path / "back"))
    assert refused.get("failed") and "lock this controller out" in refused["msg"]
    assert not restored.get("failed"), restored.get("msg")
    assert answers(fleet, name, 5985)
    assert read_listener(fleet, hv, "*", "http") == before


# ---- compatibility and Group Policy listeners -----------------------------------------------------------

def test_compatibility_listeners_are_not_addressed(fleet, tmp_path):
    name, hv = hosts_of(fleet, "upgraded11")[0]
    http_before = read_listener(fleet, hv, "*", "http")
    assert http_before["port"] == 5985  # the real listener; the compatibility one is on 80
    results = only_result(run_tasks(fleet, [
        listener_task(transport="http", port=80),
        listener_task(transport="http", port=80, state="absent"),
        listener_task(transport="https", port=443, state="absent"),
        listener_task(transport="http"),
    ], limit=name, tmp_path=tmp_path))
    for result in results[:3]:
        assert result.get("failed")
        assert "wsman.winrm.compat_listener" in result["msg"] and "Compatibility" in result["msg"], result["msg"]
    assert not results[3].get("failed") and results[3]["changed"] is False
    assert read_listener(fleet, hv, "*", "http") == http_before
    compatibility = [item for item in enumerate_listeners(fleet, hv) if item["source"] == "Compatibility"]
    assert {(item["transport"], item["port"]) for item in compatibility} == {("HTTP", 80), ("HTTPS", 443)}


def test_group_policy_listener(fleet, tmp_path):
    name, hv = hosts_of(fleet, "gpo")[0]
    setting = resources.policy_setting("Service", "AllowAutoConfig")
    # Setup through a plain session: "Allow remote server management through WinRM" = Enabled.
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        # The policy's filters first: with AllowAutoConfig and no filter, the service listens nowhere.
        for value in ("IPv4Filter", "IPv6Filter"):
            assert resources.registry_set_value(session, setting.key, value, "string", "*") == 0
        assert resources.registry_set_value(session, setting.key, setting.name, "DWORD", 1) == 0
    try:
        gpo = read_listener(fleet, hv, "*", "http")
        assert gpo["source"] == "GPO"
        results = only_result(run_tasks(fleet, [
            listener_task(transport="http", port=8080),
            listener_task(transport="http", port=8080, policy_controlled="skip"),
            listener_task(transport="http", state="absent"),
            listener_task(transport="http", state="absent", policy_controlled="skip"),
            listener_task(transport="http", port=gpo["port"]),
        ], limit=name, diff=True, tmp_path=tmp_path))
        refused, skipped, refused_delete, skipped_delete, unchanged = results
        for result in (refused, refused_delete):
            assert result.get("failed")
            assert "Service\\AllowAutoConfig" in result["msg"] and "wsman.winrm.policy" in result["msg"], result["msg"]
        for result in (skipped, skipped_delete):
            assert not result.get("failed"), result.get("msg")
            assert result["changed"] is False and result["policy_skipped"]
            assert any("Group Policy" in warning for warning in result["warnings"])
        assert skipped["policy_skipped"] == ["port"]
        assert not unchanged.get("failed") and unchanged["changed"] is False
        assert read_listener(fleet, hv, "*", "http") == gpo
    finally:
        with Session(resolve(hv, hv["ansible_connection"])) as session:
            for value in (setting.name, "IPv4Filter", "IPv6Filter"):
                resources.registry_delete_value(session, setting.key, value)
    assert read_listener(fleet, hv, "*", "http")["source"] == ""
