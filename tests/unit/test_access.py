# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session configuration documents (module_utils/session_configurations.py) and who may connect
(module_utils/access.py), on the documents Windows registers (the simulator's copies of registry
exports: microsoft.powershell with BA, IU and RM; the WMI plugin; a JEA endpoint).

Rules: [MS-WSMV] 3.1.4.1.28 (a plugin's Sddl replaces RootSDDL; a shell needs GX); Microsoft Learn,
"Authentication for Remote Connections" (UAC remote restrictions); Windows Firewall rule scope.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import access, sddl
from ansible_collections.wsman.winrm.plugins.module_utils.computer import LocalGroup, LocalGroups
from ansible_collections.wsman.winrm.plugins.module_utils.resources import FirewallRule, Listener
from ansible_collections.wsman.winrm.plugins.module_utils.session_configurations import (
    PLUGIN_NS, SessionConfiguration, find)
from winrm_sim.model.accounts import machine_sid
from winrm_sim.model.plugins import default_plugins

ROOT_SDDL = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
MACHINE = machine_sid("SIM-JEA-01")
JEA_GROUP = MACHINE + "-1003"


def documents(profile="server2022_jea"):
    return [SessionConfiguration(ET.fromstring(text)) for text in default_plugins(profile, MACHINE).values()]


def groups(**members):
    table = [LocalGroup("Administrators", "SIM-JEA-01", "S-1-5-32-544", ["SIM-JEA-01\\Administrator",
                                                                         "SIM-JEA-01\\localadmin"]),
             LocalGroup("Remote Management Users", "SIM-JEA-01", "S-1-5-32-580", []),
             LocalGroup("Users", "SIM-JEA-01", "S-1-5-32-545", ["SIM-JEA-01\\operator"]),
             LocalGroup("JEA Operators", "SIM-JEA-01", JEA_GROUP, ["SIM-JEA-01\\operator"])]
    for group in table:
        group.members = members.get(group.name.replace(" ", "_"), group.members)
    return LocalGroups(table)


def test_a_session_configuration_reads_as_windows_wrote_it():
    configuration = find(documents(), "Microsoft.PowerShell")
    view = configuration.to_dict()
    assert (view["kind"], view["enabled"], view["run_as_user"], view["architecture"]) == ("powershell", True, None, 64)
    assert view["uri"] == "http://schemas.microsoft.com/powershell/microsoft.powershell"
    assert sddl.equivalent(view["sddl"], "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)")
    assert [g["trustee"] for g in view["descriptors"][0]["grants"]] == ["BA", "IU", "RM"]
    assert view["initialization_parameters"] == {"PSVersion": "5.1"}
    assert view["quotas"]["max_shells_per_user"] == 25 and view["quotas"]["idle_timeout_ms"] == 7200000
    jea = find(documents(), "JEAMaintenance").to_dict()
    assert jea["run_as_virtual_account"] is True and jea["configuration_file"].endswith(".pssc")
    assert find(documents(), "Maintenance").to_dict()["run_as_user"] == "localadmin"
    wmi = find(documents(), "WMI Provider")
    assert wmi.kind == "wmi" and wmi.endpoint_uri == "http://schemas.microsoft.com/wbem/wsman/1/wmi"


def test_an_edited_copy_changes_what_was_asked_and_nothing_else():
    original = find(documents(), "microsoft.powershell")
    original.element.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    wanted = str(sddl.add_allow(original.sddl, "BU"))
    edited = original.with_changes(sddl=wanted, enabled=False, quotas={"max_shells_per_user": 5})
    assert sddl.equivalent(edited.sddl, wanted) and not sddl.equivalent(original.sddl, wanted)
    assert (edited.enabled, edited.quotas["max_shells_per_user"]) == (False, 5)
    assert original.enabled and original.quotas["max_shells_per_user"] == 25
    # The document sent back: no xml:lang (as the WSMan provider strips it), the rest as it was.
    assert "{http://www.w3.org/XML/1998/namespace}lang" not in edited.element.attrib

    def untouched(configuration):
        return [(e.tag, dict(e.attrib)) for e in configuration.element.iter()
                if e.tag not in ("{%s}Security" % PLUGIN_NS, "{%s}Quotas" % PLUGIN_NS,
                                 "{%s}PlugInConfiguration" % PLUGIN_NS)]
    assert untouched(edited) == untouched(original)


def test_who_may_connect_on_a_new_server_with_a_jea_endpoint():
    listeners = [Listener({"address": "*", "transport": "HTTP", "port": 5985, "enabled": True})]
    rules = [FirewallRule("WINRM-HTTP-In-TCP", enabled=True, profiles_mask=3, protocol="TCP", local_ports=["5985"],
                          remote_addresses=["Any"]),
             FirewallRule("WINRM-HTTP-In-TCP-PUBLIC", enabled=True, profiles_mask=4, protocol="TCP",
                          local_ports=["5985"], remote_addresses=["LocalSubnet"]),
             FirewallRule("WINRM-HTTP-Compat-In-TCP", enabled=False, profiles_mask=0, protocol="TCP",
                          local_ports=["80"])]
    result = access.who_may_connect(ROOT_SDDL, documents(), listeners, groups(), token_filter=False,
                                    firewall_rules=rules, network_profile="public")
    by_name = {e["endpoint"]: e for e in result["endpoints"]}
    powershell = by_name["microsoft.powershell"]
    assert [w["trustee"] for w in powershell["who"]] == ["BUILTIN\\Administrators", "BUILTIN\\Remote Management Users"]
    assert [w["trustee"] for w in powershell["local_only"]] == ["NT AUTHORITY\\INTERACTIVE"]
    assert powershell["who"][0]["note"] == access.UAC_NOTE
    assert powershell["who"][1]["members"] == []
    assert [(w["trustee"], w["members"]) for w in by_name["JEAMaintenance"]["who"]] == [
        ("SIM-JEA-01\\JEA Operators", ["SIM-JEA-01\\operator"])]
    assert result["network"]["ports"]["5985"]["scope"] == {
        "domain": "any address", "private": "any address", "public": "the local subnet"}
    assert powershell["who"][0]["members_without_admin_rights"] == ["SIM-JEA-01\\localadmin"]
    line = next(text for text in result["summary"] if text.startswith("microsoft.powershell:"))
    assert line == (
        "microsoft.powershell: BUILTIN\\Administrators (members: SIM-JEA-01\\Administrator; SIM-JEA-01\\localadmin "
        "without administrator rights unless LocalAccountTokenFilterPolicy=1), BUILTIN\\Remote Management Users "
        "(members: none); HTTP 5985 from the local subnet on the public profile, any address on domain/private")
    assert result["summary"][-1] == "the host is on the public network profile now"


@pytest.mark.parametrize("descriptor, needed, expected", [
    # Disable-PSRemoting's Network_Deny_All: nobody from the network, whatever else is granted.
    ("O:NSG:BAD:P(D;;GA;;;NU)(A;;GA;;;BA)", "execute", []),
    # Read-only for Remote Management Users: no shells.
    ("O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;RM)", "execute", ["BUILTIN\\Administrators"]),
    ("O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;RM)", "read", ["BUILTIN\\Administrators", "BUILTIN\\Remote Management Users"]),
    # A deny on the same trustee takes the right away.
    ("O:NSG:BAD:P(D;;GX;;;RM)(A;;GA;;;RM)", "execute", []),
])
def test_each_gate_of_a_descriptor(descriptor, needed, expected):
    result = access.descriptor_access(descriptor, needed, LocalGroups([]), token_filter=True)
    assert [w["trustee"] for w in result["who"]] == expected


def test_a_local_administrator_is_not_flagged_once_the_token_filter_is_off():
    result = access.descriptor_access("O:NSG:BAD:P(A;;GA;;;BA)", "execute", groups(), token_filter=True)
    assert result["who"][0]["note"] is None
    assert result["who"][0]["members"] == ["SIM-JEA-01\\Administrator", "SIM-JEA-01\\localadmin"]


def test_a_block_rule_and_no_rule_close_a_profile():
    rules = [FirewallRule("allow", enabled=True, profiles_mask=0, protocol="TCP", local_ports=["5980-5990"]),
             FirewallRule("block", enabled=True, profiles_mask=4, protocol="TCP", local_ports=["5985"], action=4)]
    assert access.firewall_scope(rules, 5985) == {
        "domain": "any address", "private": "any address", "public": "no address (a block rule covers every address)"}
    assert access.firewall_scope(rules, 5995)["domain"] == "no address (no enabled rule admits it)"
    assert access.scope_phrase(access.firewall_scope(rules[:1], 5985)) == "from any address on every profile"


def test_no_listener_means_nobody():
    result = access.who_may_connect(ROOT_SDDL, documents("workstation"), [], groups())
    assert all(line.endswith("nobody: no enabled listener") for line in result["summary"])
