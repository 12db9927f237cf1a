"""roles/legacy_migration on each upgrade case of Microsoft's "Details on secure port configuration for
WS-Management in Windows 7 and Windows Server 2008 R2": its upgrade table (HTTP on 80, HTTP not on 80,
HTTPS on 443, HTTPS not on 443) and its firewall table (port-80 rule enabled, disabled).

Hosts: winrm11 (80/443, port-80 rule enabled) twice - compatibility kept in local config, and kept the
way the upgrade does it (policy Enabled); winrm11_scoped (80/443, the port-80 and 5985 rules disabled,
the administrator's own rule admits 80/443/5985) twice - local, and the upgrade's way; winrm11_ports
(8080/8443, port-80 rule disabled). The mixed cases are made with plain pypsrp Puts before the runs: a
winrm11 host whose HTTPS listener is on 8443 (HTTP on 80, HTTPS not on 443), and a winrm11_ports host
whose HTTPS listener is on 443 and whose port-80 rule is enabled (HTTP not on 80, HTTPS on 443, port-80
rule enabled).
Check mode runs first and its report must predict the applied run's exactly; everything is read back
with plain pypsrp requests (listeners, service settings, StdRegProv policy values, firewall rules).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness import base_address, CONFIG, Fleet
from pypsrp.wsman import SelectorSet
from test_legacy_migration import (changed_steps, client, documented_report, enumerate_items, firewall, listeners, port_open,
                                   recap, run_role, service, undocumented_or_missing)
from winrm_sim.cli import FleetProcess

FLEET_PROFILES = "winrm11,winrm11,winrm11_scoped,winrm11_ports,winrm11,winrm11,winrm11_ports,winrm11_scoped,winrm11"
CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
STDREGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
SERVICE_POLICY = r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
# The report fields check mode predicts and the applied run must end with.
PREDICTED = ("listeners_moved", "compatibility_listeners_after", "endpoint_after")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    process = FleetProcess(str(tmp_path_factory.mktemp("fleet")), hosts=9, profiles=FLEET_PROFILES,
                           base_address=base_address(15)).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


def selectors(**values) -> SelectorSet:
    selector_set = SelectorSet()
    for name, value in values.items():
        selector_set.add_option(name, value)
    return selector_set


def move_https_listener(host_vars: dict, port: int, to_port: int) -> None:
    """winrm set winrm/config/listener?Address=*+Transport=HTTPS @{Port="<to_port>"}, as plain pypsrp."""
    body = ET.fromstring(f'<Listener xmlns="{CONFIG}/listener"><Port>{to_port}</Port></Listener>')
    with client(host_vars, port) as session:
        session.put(CONFIG + "/listener", body, selector_set=selectors(Address="*", Transport="HTTPS"))


def enable_port80_rule(host_vars: dict, port: int) -> None:
    """Set-NetFirewallRule -Name WINRM-HTTP-Compat-In-TCP -Enabled True, as plain pypsrp (CIM Enabled 1 = True)."""
    rule = CIM + "MSFT_NetFirewallRule"
    body = ET.Element(f"{{{rule}}}MSFT_NetFirewallRule")
    ET.SubElement(body, f"{{{rule}}}Enabled").text = "1"
    with client(host_vars, port) as session:
        session.put(rule, body, selector_set=selectors(InstanceID="WINRM-HTTP-Compat-In-TCP"))


def default_ports(host_vars: dict, port: int) -> dict[str, tuple[str, str]]:
    """Service and client DefaultPorts, read back with plain pypsrp Gets."""
    found = {}
    with client(host_vars, port) as session:
        for section in ("service", "client"):
            reply = session.get(f"{CONFIG}/{section}")
            values = {e.tag.rsplit("}", 1)[-1]: e.text for e in reply.iter()}
            found[section] = (values["HTTP"], values["HTTPS"])
    return found


@pytest.fixture(scope="module")
def cases(fleet):
    by_profile: dict[str, list[str]] = {}
    for name, host_vars in sorted(fleet.hosts().items()):
        by_profile.setdefault(host_vars["wsman_winrm_sim_profile"], []).append(name)
    local, upgrade, rollback, https_moved, item_fails = by_profile["winrm11"]
    ports, http_moved = by_profile["winrm11_ports"]
    scoped, scoped_upgrade = by_profile["winrm11_scoped"]
    before = fleet.hosts()
    # HTTP on 80, HTTPS not on 443
    move_https_listener(before[https_moved], 80, 8443)
    # HTTP not on 80, HTTPS on 443, the port-80 rule enabled
    http_port = before[http_moved]["wsman_winrm_sim_ports"][8080]
    move_https_listener(before[http_moved], http_port, 443)
    enable_port80_rule(before[http_moved], http_port)
    hosts = fleet.hosts()                       # the inventory the simulator rewrote after the moves
    names = {"local": local, "upgrade": upgrade, "scoped": scoped, "ports": ports, "rollback": rollback,
             "https_moved": https_moved, "http_moved": http_moved, "scoped_upgrade": scoped_upgrade,
             "item_fails": item_fails}
    return {key: (name, hosts[name]) for key, name in names.items()}


TABLE_CASES = ("local", "upgrade", "scoped", "ports", "https_moved", "http_moved", "scoped_upgrade")


def migrated(cases) -> str:
    """The hosts the table cases run on (the rollback and failing-item hosts have their own tests)."""
    return ",".join(cases[key][0] for key in TABLE_CASES)


def policy_values(host_vars: dict, port: int) -> dict[str, int]:
    """The DWORD values under the WinRM Service policy key, with plain StdRegProv calls."""
    def invoke(session, method, **params):
        body = ET.Element(f"{{{STDREGPROV}}}{method}_INPUT")
        for name, value in {"hDefKey": 2147483650, "sSubKeyName": SERVICE_POLICY, **params}.items():
            ET.SubElement(body, f"{{{STDREGPROV}}}{name}").text = str(value)
        reply = session.invoke(f"{STDREGPROV}/{method}", STDREGPROV, body)
        output = next(e for e in reply.iter() if e.tag.endswith(f"}}{method}_OUTPUT"))
        values: dict = {}
        for child in output:
            values.setdefault(child.tag.rsplit("}", 1)[-1], []).append(child.text)
        return values

    with client(host_vars, port) as session:
        listing = invoke(session, "EnumValues")
        if listing["ReturnValue"] != ["0"]:
            return {}
        return {name: int(invoke(session, "GetDWORDValue", sValueName=name)["uValue"][0])
                for name, kind in zip(listing.get("sNames", []), listing.get("Types", [])) if name and kind == "4"}


def assert_kept_as_the_upgrade_does(host: dict) -> None:
    """The upgrade table's rows for HTTP on 80 / HTTPS on 443: listeners on 5985/5986, the compatibility
    settings True and the policy "Turn On Compatibility HTTP (HTTPS) Listener" Enabled."""
    assert listeners(host, 5985) == [("HTTP", 5985), ("HTTPS", 5986)]
    settings = service(host, 5985)
    assert settings["EnableCompatibilityHttpListener"] == ("true", "GPO")
    assert settings["EnableCompatibilityHttpsListener"] == ("true", "GPO")
    assert policy_values(host, 5985) == {"HttpCompatibilityListener": 1, "HttpsCompatibilityListener": 1}


def role_vars(cases) -> dict:
    upgrade = [cases["upgrade"][0], cases["scoped_upgrade"][0]]
    return {"legacy_migration_compatibility": "keep",
            "legacy_migration_compatibility_setting": "{{ 'upgrade' if inventory_hostname in %s else 'local' }}" % upgrade,
            "legacy_migration_collector_fqdn": "wec01.example.com",
            "legacy_migration_event_collectors": [{"fqdn": "wec02.example.com", "state": "winrm11"},
                                                  {"fqdn": "wec03.example.com", "state": "upgraded", "existing": "http"}]}


def test_each_upgrade_case_matches_the_tables(fleet, cases, tmp_path):
    (tmp_path / "check").mkdir()
    checked, predicted = run_role(fleet, tmp_path / "check", role_vars(cases), check=True, limit=migrated(cases))
    assert checked.returncode == 0, checked.stdout[-4000:]
    # check mode sent nothing: the 1.1 hosts still answer on 80 only
    for key in ("local", "upgrade", "scoped"):
        assert listeners(cases[key][1], 80)[0] == ("HTTP", 80)
    (tmp_path / "apply").mkdir()
    applied, saved = run_role(fleet, tmp_path / "apply", role_vars(cases), limit=migrated(cases))
    assert applied.returncode == 0, applied.stdout[-4000:]
    assert changed_steps(checked) == changed_steps(applied)     # check mode predicted each changed step

    for key in TABLE_CASES:
        name = cases[key][0]
        for field in PREDICTED:
            assert predicted[name]["report"][field] == saved[name]["report"][field], (key, field)
        for field in ("port80_rule_after", "port5985_rules_after"):
            assert predicted[name]["report"]["firewall"][field] == saved[name]["report"]["firewall"][field], (key, field)
        assert (predicted[name]["report"]["compatibility_setting"]["policy_after"]
                == saved[name]["report"]["compatibility_setting"]["policy_after"]), key
        decision = "upgrade" if key in ("upgrade", "scoped_upgrade") else "local"
        assert saved[name]["report"]["compatibility_setting"]["decision"] == decision, key
        # the upgrade's DefaultPorts: 80 -> 5985 and 443 -> 5986, service and client alike
        port = 5985 if key != "ports" and key != "http_moved" else cases[key][1]["wsman_winrm_sim_ports"][8080]
        assert default_ports(cases[key][1], port) == {"service": ("5985", "5986"), "client": ("5985", "5986")}, key

    # HTTP on 80 / HTTPS on 443, port-80 rule enabled, compatibility in local config
    name, host = cases["local"]
    assert listeners(host, 5985) == [("HTTP", 5985), ("HTTPS", 5986)]
    settings = service(host, 5985)
    assert settings["EnableCompatibilityHttpListener"] == ("true", "")
    assert settings["EnableCompatibilityHttpsListener"] == ("true", "")
    assert policy_values(host, 5985) == {}                       # Not Configured
    rules = firewall(host, 5985)
    assert rules["WINRM-HTTP-Compat-In-TCP"]["enabled"]          # "Upgrade: port 80 rule enabled": Enabled
    assert rules["WINRM-HTTP-In-TCP"]["enabled"] and rules["WINRM-HTTP-In-TCP-PUBLIC"]["enabled"]
    # HTTPS moved to 5986: the role opened it first, with the scope Windows gives 5985
    assert rules["WINRM-HTTPS-In-TCP"]["enabled"] and rules["WINRM-HTTPS-In-TCP"]["remote"] == "Any"
    assert rules["WINRM-HTTPS-In-TCP-PUBLIC"]["enabled"] and rules["WINRM-HTTPS-In-TCP-PUBLIC"]["remote"] == "LocalSubnet"
    ports = fleet.hosts()[name]["wsman_winrm_sim_ports"]                         # the inventory after the move
    assert port_open(host["ansible_host"], ports[5986])                           # admitted, not filtered
    report = saved[name]["report"]
    # the README's report example shows fields the role returns, and every firewall field
    assert undocumented_or_missing(documented_report(), report) == []
    assert sorted(report["firewall"]) == sorted(documented_report()["firewall"])
    assert report["firewall"]["https_rules_opened"] == ["WINRM-HTTPS-In-TCP", "WINRM-HTTPS-In-TCP-PUBLIC"]
    assert predicted[name]["report"]["firewall"]["https_rules_opened"] == report["firewall"]["https_rules_opened"]
    assert not any("New-NetFirewallRule" in note for note in report["firewall"]["notes"])
    assert report["compatibility_setting"]["decision"] == "local"
    assert report["compatibility_setting"]["policy_after"] == {"http": False, "https": False}

    # the same host, reproduced exactly as the upgrade does: the Group Policy column "Enabled"
    name, host = cases["upgrade"]
    assert_kept_as_the_upgrade_does(host)
    assert firewall(host, 5985)["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert saved[name]["report"]["compatibility_setting"]["policy_after"] == {"http": True, "https": True}

    # HTTP on 80 / HTTPS on 443, port-80 rule disabled: both rules stay Disabled ("Upgrade: port 80 rule
    # disabled"), although enabling the compatibility listener turned the port-80 rule on for a moment
    name, host = cases["scoped"]
    assert listeners(host, 5985) == [("HTTP", 5985), ("HTTPS", 5986)]
    assert service(host, 5985)["EnableCompatibilityHttpListener"] == ("true", "")
    rules = firewall(host, 5985)
    assert not rules["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert not rules["WINRM-HTTP-In-TCP"]["enabled"] and not rules["WINRM-HTTP-In-TCP-PUBLIC"]["enabled"]
    assert rules["WinRM-Management-In"]["enabled"]
    assert saved[name]["report"]["firewall"]["port80_rule_after"] is False
    assert saved[name]["report"]["firewall"]["port5985_rules_after"] is False

    # HTTP not on 80 / HTTPS not on 443: "Listener remains unchanged", compatibility False, Not Configured
    name, host = cases["ports"]
    port = host["wsman_winrm_sim_ports"][8080]
    items = enumerate_items(host, port, CONFIG + "/listener", "Listener")
    assert sorted((i["Transport"], int(i["Port"])) for i in items) == [("HTTP", 8080), ("HTTPS", 8443)]
    settings = service(host, port)
    assert settings["EnableCompatibilityHttpListener"] == ("false", "")
    assert settings["EnableCompatibilityHttpsListener"] == ("false", "")
    assert policy_values(host, port) == {}
    rules = firewall(host, port)
    assert not rules["WINRM-HTTP-Compat-In-TCP"]["enabled"] and not rules["WINRM-HTTP-In-TCP"]["enabled"]
    assert saved[name]["report"]["listeners_moved"] == []

    # HTTP on 80, HTTPS not on 443: HTTP moves with a compatibility listener on 80; HTTPS "Listener remains
    # unchanged" on 8443, no HTTPS compatibility listener; the port-80 rule enabled, so the 5985 rules too
    name, host = cases["https_moved"]
    assert listeners(host, 5985) == [("HTTP", 5985), ("HTTPS", 8443)]
    settings = service(host, 5985)
    assert settings["EnableCompatibilityHttpListener"] == ("true", "")
    assert settings["EnableCompatibilityHttpsListener"] == ("false", "")
    assert policy_values(host, 5985) == {}
    rules = firewall(host, 5985)
    assert rules["WINRM-HTTP-Compat-In-TCP"]["enabled"] and rules["WINRM-HTTP-In-TCP"]["enabled"]
    assert "WINRM-HTTPS-In-TCP" not in rules                     # no HTTPS listener moved to 5986
    report = saved[name]["report"]
    assert report["listeners_moved"] == ["HTTP * 80 -> 5985"]
    assert report["compatibility_listeners_after"] == {"http": True, "https": False}
    assert report["firewall"]["https_rules_opened"] == []

    # HTTP not on 80 (8080, in use by the controller), HTTPS on 443, the port-80 rule enabled: HTTP stays,
    # HTTPS moves to 5986 with its compatibility listener; "Upgrade: port 80 rule enabled" keeps the port-80
    # rule Enabled and enables the 5985 rules
    name, host = cases["http_moved"]
    port = host["wsman_winrm_sim_ports"][8080]
    assert listeners(host, port) == [("HTTP", 8080), ("HTTPS", 5986)]
    settings = service(host, port)
    assert settings["EnableCompatibilityHttpListener"] == ("false", "")
    assert settings["EnableCompatibilityHttpsListener"] == ("true", "")
    assert policy_values(host, port) == {}
    rules = firewall(host, port)
    assert rules["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert rules["WINRM-HTTP-In-TCP"]["enabled"] and rules["WINRM-HTTP-In-TCP-PUBLIC"]["enabled"]
    assert rules["WINRM-HTTPS-In-TCP"]["enabled"]
    report = saved[name]["report"]
    assert report["listeners_moved"] == ["HTTPS * 443 -> 5986"]
    assert report["compatibility_listeners_after"] == {"http": False, "https": True}
    assert report["firewall"]["port80_rule_was_enabled"] is True and report["firewall"]["port80_rule_after"] is True
    assert report["endpoint_after"].endswith(":8080/wsman")

    # the upgrade's way (policy Enabled) with the port-80 rule disabled: both rules stay Disabled
    name, host = cases["scoped_upgrade"]
    assert_kept_as_the_upgrade_does(host)
    rules = firewall(host, 5985)
    assert not rules["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert not rules["WINRM-HTTP-In-TCP"]["enabled"] and not rules["WINRM-HTTP-In-TCP-PUBLIC"]["enabled"]
    report = saved[name]["report"]
    assert report["firewall"]["port80_rule_after"] is False and report["firewall"]["port5985_rules_after"] is False
    assert report["compatibility_setting"]["policy_after"] == {"http": True, "https": True}

    # event forwarding: each table's cells, through the filters
    events = saved[cases["local"][0]]["report"]["event_forwarding"]
    assert events["host_state_after"] == "upgraded"
    pushing = {(row["sources"], row["existing_form"]): row for row in events["this_host_as_collector"]["source_initiated"]}
    # "Upgraded to WinRM 2.0" collector: existing subscriptions work correctly in both tables - keep them
    assert all(row["existing_subscriptions"] == "works" and row["action"] == "none" for row in pushing.values())
    assert pushing[("winrm11", "http")]["server"] == "http://wec01.example.com:5985"
    forwarding = {row["collector"]: row for row in events["this_host_as_source"]}
    # WinRM 1.1 collector, upgraded source: "Update collector info on the source to Server=http://<FQDN>"
    assert forwarding["wec02.example.com"]["action"] == "set Server=http://wec02.example.com in the subscription on this host"
    assert forwarding["wec03.example.com"]["action"] == "none"
    pulling = {row["collectors"]: row for row in events["collectors_pulling_from_this_host"]}
    assert pulling["winrm11"]["existing_subscriptions"] == "works"


def test_rerun_changes_nothing(fleet, cases, tmp_path):
    completed, _saved = run_role(fleet, tmp_path, role_vars(cases), limit=migrated(cases))
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert all(counters["changed"] == 0 for counters in recap(completed).values()), completed.stdout[-3000:]


def test_a_failed_proof_puts_everything_back(fleet, cases, tmp_path):
    """The new HTTP port is one no firewall rule admits: the proof times out, and the role deletes the bridge,
    moves the HTTPS listener back to 443 and deletes the HTTPS rules it created - nothing else changed."""
    name, host = cases["rollback"]
    completed, _saved = run_role(fleet, tmp_path, {"legacy_migration_http_port": 5999, "legacy_migration_proof_retries": 0},
                                 limit=name)
    assert completed.returncode != 0
    assert "were put back" in completed.stdout and "Stop unless the new port answered" in completed.stdout
    assert listeners(host, 80) == [("HTTP", 80), ("HTTPS", 443)]
    rules = firewall(host, 80)
    assert "WINRM-HTTPS-In-TCP" not in rules and "WINRM-HTTPS-In-TCP-PUBLIC" not in rules
    assert service(host, 80)["EnableCompatibilityHttpListener"][0] == "false"


def test_a_failed_loop_item_names_its_cause(fleet, cases, tmp_path):
    """The second of the HTTPS rules named does not exist on the host: the role stops with that item and the
    host's own reason in its message, not only ansible-core's "One or more items failed", and puts the moved
    HTTPS listener back on 443."""
    name, host = cases["item_fails"]
    completed, _saved = run_role(fleet, tmp_path, {"legacy_migration_firewall_https_rules": ["WINRM-HTTP-In-TCP",
                                                                                             "WINRM-HTTPS-Mine"]},
                                 limit=name)
    assert completed.returncode != 0
    assert "were put back" in completed.stdout
    assert "WINRM-HTTPS-Mine: no firewall rule is named 'WINRM-HTTPS-Mine' on this host" in completed.stdout
    assert "WINRM-HTTP-In-TCP:" not in completed.stdout          # the item that worked is not blamed
    assert listeners(host, 80) == [("HTTP", 80), ("HTTPS", 443)]
