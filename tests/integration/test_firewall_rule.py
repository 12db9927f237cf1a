"""wsman.winrm.firewall_rule through ansible-playbook; results read back with plain pypsrp CIM requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022@private,upgraded11,winrm11,gpo"
CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
RULE = CIM + "MSFT_NetFirewallRule"
ADDRESSES = CIM + "MSFT_NetAddressFilter"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"


def values(element: ET.Element, name: str) -> list[str]:
    return [child.text or "" for child in element
            if child.tag.rsplit("}", 1)[-1] == name and child.get(XSI_NIL) != "true"]


def get_instance(fleet, host_vars, uri, name) -> ET.Element:
    """A plain pypsrp Get by InstanceID (fleet.get looks for a Body inside the Body pypsrp returns)."""
    from pypsrp.wsman import SelectorSet

    selectors = SelectorSet()
    selectors.add_option("InstanceID", name)
    with fleet.client(host_vars) as client:
        return client.get(uri, selector_set=selectors)[0]


def rule_of(fleet, host_vars, name):
    """Enabled (1/2) and Profiles of a rule, read back with a plain pypsrp Get of the CIM instance."""
    element = get_instance(fleet, host_vars, RULE, name)
    return values(element, "Enabled")[0], values(element, "Profiles")[0]


def remote_addresses_of(fleet, host_vars, name):
    return values(get_instance(fleet, host_vars, ADDRESSES, name), "RemoteAddress")


def enumerate_rules(fleet, host_vars) -> dict[str, str]:
    """InstanceID -> Enabled for every rule, with a plain pypsrp Enumerate."""
    body = ET.fromstring(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}"><w:OptimizeEnumeration/>'
                         "<w:MaxElements>100</w:MaxElements></n:Enumerate>")
    with fleet.client(host_vars) as client:
        reply = client.enumerate(RULE, body)
    items = reply.find(f"{{{WSEN}}}EnumerateResponse/{{{WSMAN}}}Items")
    return {values(item, "InstanceID")[0]: values(item, "Enabled")[0] for item in items}


def one(fleet, profile, tasks, tmp_path, **kwargs):
    name, _vars = fleet.host(profile)
    run = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path, **kwargs)
    return run[name]


def task(**args):
    return {"wsman.winrm.firewall_rule": args}


def test_report_without_changes_matches_what_windows_says(fleet, tmp_path):
    for profile, expected in (("server2022", {"WINRM-HTTP-In-TCP": "1", "WINRM-HTTP-In-TCP-PUBLIC": "1",
                                              "WINRM-HTTP-Compat-In-TCP": "2"}),
                              ("upgraded11", {"WINRM-HTTP-In-TCP": "1", "WINRM-HTTP-In-TCP-PUBLIC": "1",
                                              "WINRM-HTTP-Compat-In-TCP": "1"}),
                              ("winrm11", {"WINRM-HTTP-In-TCP": "2", "WINRM-HTTP-In-TCP-PUBLIC": "2",
                                           "WINRM-HTTP-Compat-In-TCP": "1"})):
        (result,) = one(fleet, profile, [task(group="Windows Remote Management")], tmp_path / profile)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is False and result["changes"] == []
        assert set(result["before"]) == {"WINRM-HTTP-In-TCP", "WINRM-HTTP-In-TCP-PUBLIC"}
        reported = {rule["name"]: "1" if rule["enabled"] else "2" for rule in result["rules"]}
        assert reported == expected == enumerate_rules(fleet, fleet.host(profile)[1])
        public = result["before"]["WINRM-HTTP-In-TCP-PUBLIC"]
        assert public["profiles"] == ["public"] and public["remote_addresses"] == ["LocalSubnet"]
        assert public["local_ports"] == ["5985"] and public["display_group"] == "Windows Remote Management"


def test_remote_addresses_check_diff_real_and_idempotent(fleet, tmp_path):
    _name, host_vars = fleet.host("server2022")
    wanted = task(name="winrm-http-in-tcp-public", remote_addresses=["LocalSubnet", "10.20.0.0/16"])
    (predicted,) = one(fleet, "server2022", [wanted], tmp_path / "check", check=True, diff=True)
    assert predicted["changed"] is True and not predicted.get("failed"), predicted.get("msg")
    assert remote_addresses_of(fleet, host_vars, "WINRM-HTTP-In-TCP-PUBLIC") == ["LocalSubnet"]  # nothing sent

    (real,) = one(fleet, "server2022", [wanted], tmp_path / "real", diff=True)
    assert real["changed"] is True
    assert real["after"] == predicted["after"] and real["changes"] == predicted["changes"] \
        == ["WINRM-HTTP-In-TCP-PUBLIC.remote_addresses"]
    assert real["diff"]["before"]["WINRM-HTTP-In-TCP-PUBLIC"]["remote_addresses"] == ["LocalSubnet"]
    assert real["diff"]["after"]["WINRM-HTTP-In-TCP-PUBLIC"]["remote_addresses"] == \
        ["LocalSubnet", "10.20.0.0/255.255.0.0"]
    assert remote_addresses_of(fleet, host_vars, "WINRM-HTTP-In-TCP-PUBLIC") == ["LocalSubnet", "10.20.0.0/255.255.0.0"]

    # Windows' own spelling, another order: the same set, no change.
    (again,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC",
                                              remote_addresses=["10.20.0.0/255.255.0.0", "localsubnet"])],
                   tmp_path / "again")
    assert again["changed"] is False
    (back,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC", remote_addresses=["LocalSubnet"])],
                  tmp_path / "back")
    assert back["changed"] is True


def test_profiles_and_any(fleet, tmp_path):
    _name, host_vars = fleet.host("server2022")
    widen, same = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP", profiles=["domain", "private", "public"]),
                                            task(name="WINRM-HTTP-In-TCP", profiles=["any"])], tmp_path / "widen")
    assert same["changed"] is False  # Any and all three profiles are the same coverage
    assert widen["changed"] is True and widen["after"]["WINRM-HTTP-In-TCP"]["profiles"] == ["domain", "private",
                                                                                            "public"]
    assert rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP") == ("1", "7")
    (narrow,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP", profiles=["private", "domain"])],
                    tmp_path / "narrow")  # PUBLIC still admits the controller on the public profile
    assert narrow["changed"] is True and rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP") == ("1", "3")


def test_disabling_the_port_80_rule_is_allowed_when_the_task_uses_5985(fleet, tmp_path):
    _name, host_vars = fleet.host("upgraded11")
    assert rule_of(fleet, host_vars, "WINRM-HTTP-Compat-In-TCP")[0] == "1"
    (result,) = one(fleet, "upgraded11", [task(group="Windows Remote Management (Compatibility)", enabled=False)],
                    tmp_path)
    assert result["changed"] is True and not result.get("warnings"), result
    assert rule_of(fleet, host_vars, "WINRM-HTTP-Compat-In-TCP")[0] == "2"


def test_the_compatibility_listener_opens_the_port_80_rule(fleet):
    """Seed 000, through a plain pypsrp Put of config/service (not through the module)."""
    _name, host_vars = fleet.host("server2022")
    assert rule_of(fleet, host_vars, "WINRM-HTTP-Compat-In-TCP")[0] == "2"

    def put_compat(value):
        body = ET.fromstring(f'<cfg:Service xmlns:cfg="{CONFIG}/service"><cfg:EnableCompatibilityHttpListener>'
                             f"{value}</cfg:EnableCompatibilityHttpListener></cfg:Service>")
        with fleet.client(host_vars) as client:
            client.put(f"{CONFIG}/service", body)

    put_compat("true")
    try:
        assert rule_of(fleet, host_vars, "WINRM-HTTP-Compat-In-TCP")[0] == "1"
    finally:
        put_compat("false")


def test_lockout_refused_unless_forced(fleet, tmp_path):
    _name, host_vars = fleet.host("server2022")
    refused = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC", enabled=False),
                                        task(name="WINRM-HTTP-In-TCP", remote_addresses=["10.0.0.0/8"])],
                  tmp_path / "refused")
    for result in refused:
        assert result["failed"] and "lock this controller out" in result["msg"], result
        assert "force: true" in result["msg"]
    assert "public profile" in refused[0]["msg"]
    assert "domain, private profiles" in refused[1]["msg"]
    assert rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP-PUBLIC")[0] == "1"
    assert remote_addresses_of(fleet, host_vars, "WINRM-HTTP-In-TCP") == ["Any"]

    (checked,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC", enabled=False)], tmp_path / "check",
                     check=True)
    assert checked["failed"] and "lock this controller out" in checked["msg"]

    (forced,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC", enabled=False, force=True)],
                    tmp_path / "forced")
    assert forced["changed"] is True and any("force: true" in w for w in forced["warnings"])
    assert rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP-PUBLIC")[0] == "2"
    (restored,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP-PUBLIC", enabled=True)], tmp_path / "back")
    assert restored["changed"] is True and rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP-PUBLIC")[0] == "1"

    # LocalSubnet still admits the controller (loopback to loopback): no refusal.
    subnet, any_again = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP", remote_addresses=["LocalSubnet"]),
                                                  task(name="WINRM-HTTP-In-TCP", remote_addresses=["*"])],
                            tmp_path / "subnet")
    assert subnet["changed"] is True and not subnet.get("failed"), subnet.get("msg")
    assert any_again["changed"] is True and remote_addresses_of(fleet, host_vars, "WINRM-HTTP-In-TCP") == ["Any"]


def test_winrm11_port_80_rule_is_the_one_in_use(fleet, tmp_path):
    """The 1.1 host is reached on its port-80 listener (mapped to another local port): that rule is in use."""
    _name, host_vars = fleet.host("winrm11")
    (result,) = one(fleet, "winrm11", [task(name="WINRM-HTTP-Compat-In-TCP", enabled=False)], tmp_path)
    assert result["failed"] and "WINRM-HTTP-Compat-In-TCP" in result["msg"]
    assert rule_of(fleet, host_vars, "WINRM-HTTP-Compat-In-TCP")[0] == "1"


def test_group_policy_rules_are_refused_or_skipped(fleet, tmp_path):
    _name, host_vars = fleet.host("gpo")
    refused, skipped, reset = one(fleet, "gpo", [
        task(name="WINRM-HTTP-In-TCP-GPO", enabled=False),
        task(group="Windows Remote Management", remote_addresses=["LocalSubnet"], policy_controlled="skip"),
        task(name="WINRM-HTTP-In-TCP", remote_addresses=["Any"]),
    ], tmp_path)
    assert refused["failed"] and "Group Policy" in refused["msg"] and "WINRM-HTTP-In-TCP-GPO" in refused["msg"]
    assert not skipped.get("failed"), skipped.get("msg")
    assert skipped["policy_skipped"] == ["WINRM-HTTP-In-TCP-GPO"] and skipped["changed"] is True
    assert skipped["changes"] == ["WINRM-HTTP-In-TCP.remote_addresses"]
    assert reset["changed"] is True
    assert rule_of(fleet, host_vars, "WINRM-HTTP-In-TCP-GPO")[0] == "1"
    assert remote_addresses_of(fleet, host_vars, "WINRM-HTTP-In-TCP-GPO") == ["10.0.0.0/255.0.0.0"]


@pytest.mark.parametrize("args, message", [
    ({"name": "WINRM-HTTP-In-TCP", "group": "Other Group"}, "does not move an existing rule to another group"),
    ({"enabled": True}, "one of the following is required"),
    ({"name": "WINRM-HTTP-In-TCP", "profiles": ["work"]}, "profiles"),
    ({"name": "WINRM-HTTP-In-TCP", "profiles": ["any", "domain"]}, "'any' stands alone"),
    ({"name": "WINRM-HTTP-In-TCP", "remote_addresses": ["10.0.0.300"]}, "'10.0.0.300' is not an address"),
    ({"name": "WINRM-HTTP-In-TCP", "remote_addresses": ["Any", "10.0.0.1"]}, "Any (or *) stands alone"),
    ({"name": "WINRM-HTTP-In-TCP", "remote_addresses": []}, "at least one entry"),
    ({"name": " ", "enabled": False}, "name must not be empty"),
    ({"name": "NEW-RULE", "local_ports": ["70000"]}, "local_ports: '70000' is not a port"),
    ({"name": "NEW-RULE", "protocol": "ICMPv4", "local_ports": ["5986"]}, "ports need protocol TCP or UDP"),
    ({"name": "NEW-RULE", "protocol": "IGMPX"}, "protocol: 'IGMPX'"),
    ({"name": "NEW-RULE", "display_name": " "}, "display_name must not be empty"),
    ({"name": "NO-SUCH-RULE", "enabled": False}, "no firewall rule is named 'NO-SUCH-RULE' on this host (its WinRM "
                                                 "rules: WINRM-HTTP-Compat-In-TCP, WINRM-HTTP-In-TCP"),
    ({"group": "Windows Remote Management", "local_ports": ["5986"]}, "local_ports: set only with name"),
    ({"group": "No Such Group", "enabled": False}, "WinRM groups: Windows Remote Management"),
    ({"name": "NEW-RULE", "action": "deny"}, "action"),
])
def test_bad_input(fleet, tmp_path, args, message):
    _name, host_vars = fleet.host("server2022")
    before = enumerate_rules(fleet, host_vars)
    (result,) = one(fleet, "server2022", [task(**args)], tmp_path)
    assert result["failed"] and message in result["msg"], result.get("msg")
    assert enumerate_rules(fleet, host_vars) == before


# -- creating and deleting rules (New-NetFirewallRule / Remove-NetFirewallRule over CIM) ---------------

PORTS = CIM + "MSFT_NetProtocolPortFilter"
NEW_RULE = dict(name="WINRM-HTTPS-In-Test", display_name="WinRM HTTPS (test)", group="WinRM tests",
                description="HTTPS from the management network", local_ports=["5986"], profiles=["domain", "private"],
                remote_addresses=["10.20.0.0/16", "LocalSubnet"])


def exists(fleet, host_vars, name) -> bool:
    from pypsrp.exceptions import WSManFaultError

    try:
        get_instance(fleet, host_vars, RULE, name)
        return True
    except WSManFaultError as fault:
        assert fault.code == 2150858752, fault   # "The WS-Management service cannot find the resource"
        return False


def test_create_change_and_delete_a_rule_read_back_with_pypsrp(fleet, tmp_path):
    _name, host_vars = fleet.host("server2022")
    (predicted,) = one(fleet, "server2022", [task(**NEW_RULE)], tmp_path / "check", check=True, diff=True)
    assert predicted["changed"] is True and not predicted.get("failed"), predicted.get("msg")
    assert predicted["changes"] == ["WINRM-HTTPS-In-Test.state"] and predicted["before"] == {}
    assert predicted["diff"]["after"]["WINRM-HTTPS-In-Test"]["local_ports"] == ["5986"]
    assert not exists(fleet, host_vars, "WINRM-HTTPS-In-Test")   # check mode sent nothing

    created, again = one(fleet, "server2022", [task(**NEW_RULE), task(**NEW_RULE)], tmp_path / "create")
    assert created["changed"] is True and created["after"] == predicted["after"], created.get("msg")
    assert again["changed"] is False and again["changes"] == []
    rule = get_instance(fleet, host_vars, RULE, "WINRM-HTTPS-In-Test")
    assert values(rule, "ElementName") == ["WinRM HTTPS (test)"] and values(rule, "Enabled") == ["1"]
    assert values(rule, "Profiles") == ["3"] and values(rule, "Direction") == ["1"] and values(rule, "Action") == ["2"]
    assert values(rule, "Description") == ["HTTPS from the management network"]
    assert values(rule, "RuleGroup") == ["WinRM tests"]
    ports = get_instance(fleet, host_vars, PORTS, "WINRM-HTTPS-In-Test")
    assert values(ports, "Protocol") == ["TCP"] and values(ports, "LocalPort") == ["5986"]
    assert remote_addresses_of(fleet, host_vars, "WINRM-HTTPS-In-Test") == ["10.20.0.0/255.255.0.0", "LocalSubnet"]
    assert created["after"]["WINRM-HTTPS-In-Test"]["display_group"] == "WinRM tests"
    assert "WINRM-HTTPS-In-Test" in [item["name"] for item in created["rules"]]   # a rule for 5986: WinRM's

    changed, = one(fleet, "server2022", [task(name="winrm-https-in-test", local_ports=["5986", "8443"],
                                              action="block", enabled=False, description="changed")],
                   tmp_path / "change", diff=True)
    assert changed["changed"] is True, changed.get("msg")
    assert changed["changes"] == ["WINRM-HTTPS-In-Test.action", "WINRM-HTTPS-In-Test.description",
                                  "WINRM-HTTPS-In-Test.enabled", "WINRM-HTTPS-In-Test.local_ports"]
    rule = get_instance(fleet, host_vars, RULE, "WINRM-HTTPS-In-Test")
    assert values(rule, "Enabled") == ["2"] and values(rule, "Action") == ["4"] and values(rule, "Description") == [
        "changed"]
    assert values(get_instance(fleet, host_vars, PORTS, "WINRM-HTTPS-In-Test"), "LocalPort") == ["5986", "8443"]

    (check_delete,) = one(fleet, "server2022", [task(name="WINRM-HTTPS-In-Test", state="absent")],
                          tmp_path / "check-delete", check=True)
    assert check_delete["changed"] is True, check_delete
    assert exists(fleet, host_vars, "WINRM-HTTPS-In-Test")
    deleted, gone = one(fleet, "server2022", [task(name="WINRM-HTTPS-In-Test", state="absent"),
                                              task(name="WINRM-HTTPS-In-Test", state="absent")], tmp_path / "delete")
    assert deleted["changed"] is True and deleted["changes"] == ["WINRM-HTTPS-In-Test.state"]
    assert deleted["after"] == {} and gone["changed"] is False
    assert not exists(fleet, host_vars, "WINRM-HTTPS-In-Test")
    for uri in (PORTS, ADDRESSES):   # the filters went with the rule
        from pypsrp.exceptions import WSManFaultError
        with pytest.raises(WSManFaultError):
            get_instance(fleet, host_vars, uri, "WINRM-HTTPS-In-Test")


def test_deleting_the_rule_in_use_is_refused_unless_forced(fleet, tmp_path):
    _name, host_vars = fleet.host("server2022")
    (refused,) = one(fleet, "server2022", [task(name="WINRM-HTTP-In-TCP", state="absent")], tmp_path)
    assert refused["failed"] and "lock this controller out" in refused["msg"], refused
    assert exists(fleet, host_vars, "WINRM-HTTP-In-TCP")


def test_info_gathers_the_rules_that_decide_who_reaches_winrm(fleet, tmp_path):
    """info's firewall part: both WinRM groups and any inbound TCP rule for a WinRM port, and nothing
    else; each as Windows holds it (read back with a plain pypsrp Enumerate)."""
    _name, host_vars = fleet.host("gpo")
    extra = [task(name="Test-HTTPS-5986", display_name="HTTPS for WinRM (test)", local_ports=["5986"],
                  profiles=["domain"], remote_addresses=["10.30.0.0/16"]),
             task(name="Test-RDP-3389", display_name="Remote Desktop (test)", local_ports=["3389"])]
    created = one(fleet, "gpo", extra, tmp_path / "create")
    assert all(result["changed"] for result in created), created
    try:
        (info,) = one(fleet, "gpo", [{"wsman.winrm.info": {"gather": ["listeners", "firewall"]}}], tmp_path / "info")
        assert not info.get("failed"), info.get("msg")
        reported = {rule["name"]: rule for rule in info["firewall"]}
        windows = enumerate_rules(fleet, host_vars)
        assert {"WINRM-HTTP-In-TCP", "WINRM-HTTP-In-TCP-PUBLIC", "WINRM-HTTP-Compat-In-TCP",
                "Test-HTTPS-5986"} <= set(reported)
        assert "Test-RDP-3389" in windows and "Test-RDP-3389" not in reported
        for name, rule in reported.items():
            assert ("1" if rule["enabled"] else "2") == windows[name], name
        https = reported["Test-HTTPS-5986"]
        assert https["local_ports"] == ["5986"] and https["profiles"] == ["domain"]
        assert https["remote_addresses"] == remote_addresses_of(fleet, host_vars, "Test-HTTPS-5986") == [
            "10.30.0.0/255.255.0.0"]
    finally:
        one(fleet, "gpo", [task(name="Test-HTTPS-5986", state="absent"), task(name="Test-RDP-3389", state="absent")],
            tmp_path / "delete")
