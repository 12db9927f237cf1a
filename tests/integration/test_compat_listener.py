"""wsman.winrm.compat_listener through ansible-playbook against simulated hosts.

Results are read back with plain pypsrp requests: the service settings, an optimized Enumerate of
the listeners, a request through port 80/443 itself, and the port-80 firewall rule over CIM.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET

import pytest
from pypsrp.wsman import SelectorSet, WSMan

from ansible_collections.wsman.winrm.plugins.module_utils import resources
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session
from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022,upgraded11,gpo"
WSMAN_NS = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
FIREWALL_RULE_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/MSFT_NetFirewallRule"


# ---- helpers -------------------------------------------------------------------------------------

def host_of(fleet, profile: str) -> tuple[str, dict]:
    return fleet.host(profile)


def only_result(run) -> list[dict]:
    (results,) = run.results.values()
    return results


def compat(**options) -> dict:
    return {"wsman.winrm.compat_listener": options}


def service_settings(fleet, hv) -> dict[str, tuple[str, str]]:
    """EnableCompatibilityHttp(s)Listener as a plain Get of winrm/config/service shows them: (value, Source)."""
    with fleet.client(hv) as client:
        service = client.get(CONFIG + "/service")[0]
    values = {}
    for child in service:
        name = child.tag.rsplit("}", 1)[-1]
        if name.startswith("EnableCompatibility"):
            values[name] = ((child.text or "").strip(), child.get("Source") or "")
    return values


def compatibility_listeners(fleet, hv) -> list[dict]:
    request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
    ET.SubElement(request, "{%s}OptimizeEnumeration" % WSMAN_NS)
    ET.SubElement(request, "{%s}MaxElements" % WSMAN_NS).text = "100"
    with fleet.client(hv) as client:
        body = client.enumerate(CONFIG + "/listener", request)
    assert body.find(".//{%s}EndOfSequence" % WSMAN_NS) is not None
    items = body.find(".//{%s}Items" % WSMAN_NS)
    listeners = [resources.Listener.from_xml(item).to_dict() for item in (items if items is not None else [])]
    return [item for item in listeners if item["source"] == "Compatibility"]


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def bound_port(fleet, name: str, windows_port: int) -> int | None:
    return fleet.hosts()[name]["wsman_winrm_sim_ports"].get(windows_port)


def answers(fleet, name: str, windows_port: int, https: bool = False) -> bool:
    if not wait_for(lambda: bound_port(fleet, name, windows_port) is not None):
        return False
    hv = fleet.hosts()[name]
    with WSMan(hv["ansible_host"], port=bound_port(fleet, name, windows_port), ssl=https, auth="ntlm",
               username=hv["ansible_user"], password=hv["ansible_password"],
               cert_validation=hv["ansible_winrm_ca_trust_path"] if https else False,
               no_proxy=True, operation_timeout=10, read_timeout=20) as client:
        return client.get(CONFIG) is not None


def refuses(address: str, port: int) -> bool:
    def refused() -> bool:
        try:
            with socket.create_connection((address, port), timeout=3):
                return False
        except ConnectionRefusedError:
            return True
    return wait_for(refused)


def port_80_rule_enabled(fleet, hv) -> bool:
    """The predefined port-80 rule, read over CIM (Enabled 1 = true, 2 = false)."""
    selectors = SelectorSet()
    selectors.add_option("InstanceID", "WINRM-HTTP-Compat-In-TCP")
    with fleet.client(hv) as client:
        rule = client.get(FIREWALL_RULE_URI, selector_set=selectors)[0]
    enabled = next(child.text for child in rule if child.tag.rsplit("}", 1)[-1] == "Enabled")
    return enabled.strip() == "1"


# ---- on and off --------------------------------------------------------------------------------

def test_turn_the_compatibility_listeners_on_and_off(fleet, tmp_path):
    name, hv = host_of(fleet, "server2022")
    assert service_settings(fleet, hv) == {"EnableCompatibilityHttpListener": ("false", ""),
                                           "EnableCompatibilityHttpsListener": ("false", "")}
    assert not port_80_rule_enabled(fleet, hv)

    http_on = compat(http=True)
    (predicted,) = only_result(run_tasks(fleet, [http_on], limit=name, check=True, diff=True, tmp_path=tmp_path / "c1"))
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] is True
    assert predicted["before"] == {"http": False, "https": False} and predicted["after"] == {"http": True, "https": False}
    assert predicted["diff"]["before"] == predicted["before"] and predicted["diff"]["after"] == predicted["after"]
    assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("false", "")  # nothing sent

    (done, again) = only_result(run_tasks(fleet, [http_on, http_on], limit=name, diff=True, tmp_path=tmp_path / "r1"))
    assert not done.get("failed"), done.get("msg")
    assert done["changed"] is True and done["changes"] == ["service.enable_compatibility_http_listener"]
    assert done["compatibility_listeners"] == predicted["compatibility_listeners"]
    assert [(item["transport"], item["port"], item["source"]) for item in done["compatibility_listeners"]] == \
        [("HTTP", 80, "Compatibility")]
    assert done["diff"]["after"] == {"http": True, "https": False}
    assert any("port 80" in w and "firewall" in w and "depend" in w for w in done["warnings"])
    # Turned on directly, not through the upgrade: HTTP.sys has no reservation for port 80 on a new install
    # (read through StdRegProv; Microsoft's port configuration article: these "must also be configured").
    assert predicted["http_sys_missing"] == done["http_sys_missing"]
    assert [m.split(" (")[0] for m in done["http_sys_missing"]] == ["no HTTP.sys URL reservation for http://+:80/wsman/"]
    assert any("HTTP.sys is not set up" in w and "http://+:80/wsman/" in w for w in done["warnings"])
    assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("true", "")
    assert compatibility_listeners(fleet, hv) == done["compatibility_listeners"]
    assert answers(fleet, name, 80)
    assert port_80_rule_enabled(fleet, hv)  # the firewall rule follows the listener (Microsoft)
    assert again["changed"] is False and again["compatibility_listeners"] == done["compatibility_listeners"]
    assert not again.get("warnings")  # warns only about what it changes

    # A new install has no HTTPS listener whose certificate the compatibility listener could take: give
    # the service its certificate first, as Microsoft's port configuration article says (else it does
    # not listen).
    (certified,) = only_result(run_tasks(fleet, [{"wsman.winrm.service": {
        "certificate_thumbprint": hv["wsman_winrm_sim_thumbprint"]}}], limit=name, tmp_path=tmp_path / "cert"))
    assert certified["changed"] is True, certified.get("msg")
    https_on = compat(https=True)
    (predicted,) = only_result(run_tasks(fleet, [https_on], limit=name, check=True, tmp_path=tmp_path / "c2"))
    (done,) = only_result(run_tasks(fleet, [https_on], limit=name, tmp_path=tmp_path / "r2"))
    assert done["changed"] is True and done["compatibility_listeners"] == predicted["compatibility_listeners"]
    assert [(item["transport"], item["port"]) for item in done["compatibility_listeners"]] == \
        [("HTTP", 80), ("HTTPS", 443)]
    assert any("443" in w for w in done["warnings"])
    assert [m.split(" (")[0] for m in done["http_sys_missing"]] == [
        "no HTTP.sys URL reservation for https://+:443/wsman/", "no HTTP.sys SSL certificate binding for port 443"]
    assert compatibility_listeners(fleet, hv) == done["compatibility_listeners"]
    # As the warning says: Windows predefines no rule for 443, so the firewall drops the SYN until one admits it.
    from test_sim_firewall import reach
    assert wait_for(lambda: bound_port(fleet, name, 443) is not None)
    assert reach(hv["ansible_host"], bound_port(fleet, name, 443)) == "filtered"
    (opened,) = only_result(run_tasks(fleet, [{"wsman.winrm.firewall_rule": {
        "name": "WinRM-Compat-HTTPS-In", "display_name": "WinRM compatibility HTTPS (443)", "local_ports": [443],
        "remote_addresses": ["LocalSubnet"]}}], limit=name, tmp_path=tmp_path / "fw"))
    assert opened["changed"] is True, opened.get("msg")
    assert answers(fleet, name, 443, https=True)

    ports = {80: bound_port(fleet, name, 80), 443: bound_port(fleet, name, 443)}
    both_off = compat(http=False, https=False)
    (predicted,) = only_result(run_tasks(fleet, [both_off], limit=name, check=True, tmp_path=tmp_path / "c3"))
    assert predicted["changed"] is True and predicted["compatibility_listeners"] == []
    assert len(compatibility_listeners(fleet, hv)) == 2
    (done, again) = only_result(run_tasks(fleet, [both_off, both_off], limit=name, diff=True,
                                          tmp_path=tmp_path / "r3"))
    assert done["changed"] is True and done["compatibility_listeners"] == []
    assert done["after"] == {"http": False, "https": False}
    assert sorted(done["changes"]) == ["service.enable_compatibility_http_listener",
                                       "service.enable_compatibility_https_listener"]
    assert any("left as it is" in w for w in done["warnings"])
    assert compatibility_listeners(fleet, hv) == []
    assert refuses(hv["ansible_host"], ports[80]) and refuses(hv["ansible_host"], ports[443])
    assert again["changed"] is False


def test_bad_input(fleet, tmp_path):
    name, hv = host_of(fleet, "server2022")
    before = service_settings(fleet, hv)
    (result,) = only_result(run_tasks(fleet, [compat(http="sometimes")], limit=name, tmp_path=tmp_path))
    assert result.get("failed") and "http" in result["msg"]
    assert service_settings(fleet, hv) == before


# ---- anti-lockout ------------------------------------------------------------------------------

def test_turning_off_the_listener_in_use_is_refused(fleet, tmp_path):
    name, hv = host_of(fleet, "server2022")
    (on,) = only_result(run_tasks(fleet, [compat(http=True)], limit=name, tmp_path=tmp_path / "on"))
    assert not on.get("failed"), on.get("msg")
    port = bound_port(fleet, name, 80)
    if port != 80:
        pytest.skip(f"port 80 is served on {port} here: the task cannot be seen to dial the compatibility port")
    through_80 = {"vars": {"ansible_port": port}}
    off = compat(http=False)
    (checked,) = only_result(run_tasks(fleet, [dict(off, **through_80)], limit=name, check=True,
                                       tmp_path=tmp_path / "checked"))
    (refused,) = only_result(run_tasks(fleet, [dict(off, **through_80)], limit=name, tmp_path=tmp_path / "refused"))
    for result in (refused, checked):
        assert result.get("failed")
        assert "lock this controller out" in result["msg"] and "compatibility listener */HTTP on port 80" in result["msg"]
    assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("true", "")
    assert answers(fleet, name, 80)

    # Through 5985 the same change is safe; with force it goes through on port 80 too.
    (forced,) = only_result(run_tasks(fleet, [dict(compat(http=False, force=True), **through_80)], limit=name,
                                      tmp_path=tmp_path / "forced"))
    assert not forced.get("failed"), forced.get("msg")
    assert forced["changed"] is True and any("force: true" in w for w in forced["warnings"])
    assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("false", "")
    assert refuses(hv["ansible_host"], 80)


# ---- Group Policy ------------------------------------------------------------------------------

def test_upgraded_host_keeps_them_under_policy(fleet, tmp_path):
    name, hv = host_of(fleet, "upgraded11")
    assert service_settings(fleet, hv) == {"EnableCompatibilityHttpListener": ("true", "GPO"),
                                           "EnableCompatibilityHttpsListener": ("true", "GPO")}
    both_off = compat(http=False, https=False)
    (checked,) = only_result(run_tasks(fleet, [both_off], limit=name, check=True, tmp_path=tmp_path / "c"))
    skip = compat(http=False, https=False, policy_controlled="skip")
    (refused, skipped) = only_result(run_tasks(fleet, [both_off, skip], limit=name, tmp_path=tmp_path / "r"))
    for result in (checked, refused):
        assert result.get("failed")
        assert "HttpCompatibilityListener" in result["msg"] and "HttpsCompatibilityListener" in result["msg"]
        assert "wsman.winrm.policy" in result["msg"]
    assert not skipped.get("failed"), skipped.get("msg")
    assert skipped["changed"] is False
    assert skipped["policy_skipped"] == ["service.enable_compatibility_http_listener",
                                         "service.enable_compatibility_https_listener"]
    assert any("Group Policy" in w for w in skipped["warnings"])
    assert [(item["transport"], item["port"]) for item in skipped["compatibility_listeners"]] == \
        [("HTTP", 80), ("HTTPS", 443)]
    assert compatibility_listeners(fleet, hv) == skipped["compatibility_listeners"]
    assert answers(fleet, name, 80)


def test_policy_value_set_on_a_gpo_host(fleet, tmp_path):
    name, hv = host_of(fleet, "gpo")
    setting = resources.policy_setting("Service", "HttpCompatibilityListener")
    with Session(resolve(hv, hv["ansible_connection"])) as session:  # setup: "Turn On Compatibility HTTP Listener" = Disabled
        assert resources.registry_set_value(session, setting.key, setting.name, "DWORD", 0) == 0
    try:
        assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("false", "GPO")
        (refused,) = only_result(run_tasks(fleet, [compat(http=True)], limit=name, tmp_path=tmp_path / "r"))
        assert refused.get("failed") and "HttpCompatibilityListener" in refused["msg"]
        assert compatibility_listeners(fleet, hv) == []
    finally:
        with Session(resolve(hv, hv["ansible_connection"])) as session:
            resources.registry_delete_value(session, setting.key, setting.name)
    # Not Configured again: the local value rules, and the module changes it.
    (on, off) = only_result(run_tasks(fleet, [compat(http=True), compat(http=False)], limit=name,
                                      tmp_path=tmp_path / "local"))
    assert on["changed"] is True and [item["port"] for item in on["compatibility_listeners"]] == [80]
    assert off["changed"] is True and off["compatibility_listeners"] == []
    assert service_settings(fleet, hv)["EnableCompatibilityHttpListener"] == ("false", "")
