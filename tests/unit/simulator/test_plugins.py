"""Session configurations (winrm/config/plugin), their descriptors guarding PowerShell remoting,
local groups over WMI, and the WMI plugin's descriptor, driven by pypsrp's WSMan and RunspacePool.

Windows behaviour: MS-WSMV 3.1.4.1.28 (a plugin's Sddl replaces RootSDDL for its URIs; a shell needs
GX), 3.1.4.1.34 (plugins by Name, routing), PowerShell's WSMan provider (a change is a Get, an edit
and a Put of the whole document), Microsoft Learn "Disable-PSSessionConfiguration" (Enabled), the
DisableRunAs policy text, and "Authentication for Remote Connections" (WinRMRemoteWMIUsers__).
"""
import os
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import SelectorSet

from simhelpers import ACCOUNTS, Client
from winrm_sim.host import Principal, SimHost

PLUGIN = "http://schemas.microsoft.com/wbem/wsman/1/config/plugin"
PNS = "http://schemas.microsoft.com/wbem/wsman/1/config/PluginConfiguration"
CIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/"
REGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
SERVER_2022_CONFIGURATIONS = ["Event Forwarding Plugin", "microsoft.powershell", "microsoft.powershell.workflow",
                              "microsoft.powershell32", "microsoft.windows.servermanagerworkflows", "WMI Provider"]


def principal(user):
    return Principal(user=user, auth="negotiate", transport="http", encrypted=True)


def name_selector(name):
    selectors = SelectorSet()
    selectors.add_option("Name", name)
    return selectors


def enumerate_items(client, uri):
    request = ET.Element("{%s}Enumerate" % WSEN)
    ET.SubElement(request, "{%s}OptimizeEnumeration" % WSMAN)
    ET.SubElement(request, "{%s}MaxElements" % WSMAN).text = "100"
    reply = client.enumerate(uri, request)
    return list(reply.find(".//{%s}Items" % WSMAN))


def get_plugin(client, name):
    return client.get(PLUGIN, selector_set=name_selector(name)).find("{%s}PlugInConfiguration" % PNS)


def put_plugin(client, document):
    """What Set-PSSessionConfiguration does through the WSMan provider: the whole document back."""
    document.attrib.pop("{http://www.w3.org/XML/1998/namespace}lang", None)
    return client.put(PLUGIN, document, selector_set=name_selector(document.get("Name")))


def security(document):
    return document.find("{%s}Resources/{%s}Resource/{%s}Security" % (PNS, PNS, PNS))


def open_pool(host, user, configuration="microsoft.powershell"):
    client = Client(host, principal=principal(user))
    pool = RunspacePool(client, configuration_name=configuration)
    pool.open()
    pool.close()
    return pool


def fault(call):
    with pytest.raises(WSManFaultError) as caught:
        call()
    return caught.value


def restart(host):
    """The WinRM service starting again: a new engine over the same state file."""
    return SimHost(host.name, host.address, host.profile, host.state_path, host.cert_store, ACCOUNTS)


# --- the catalog over WS-Man ----------------------------------------------------------------------
def test_every_plugin_is_enumerated_and_read_by_name(client):
    items = enumerate_items(client, PLUGIN)
    assert [item.get("Name") for item in items] == SERVER_2022_CONFIGURATIONS
    document = get_plugin(client, "Microsoft.PowerShell")   # names compare case-insensitively
    assert document.get("Filename") == r"%windir%\system32\pwrshplugin.dll"
    assert document.get("Enabled") == "true" and document.get("RunAsUser") == ""
    assert security(document).get("Sddl") == "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;IU)(A;;GA;;;RM)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
    params = {p.get("Name"): p.get("Value") for p in document.find("{%s}InitializationParameters" % PNS)}
    assert params == {"PSVersion": "5.1"}
    assert document.find("{%s}Quotas" % PNS).get("MaxShellsPerUser") == "25"
    assert fault(lambda: get_plugin(client, "no.such.configuration")).code == 2150858752


@pytest.mark.parametrize("profile, names", [
    ("winrm11", ["Event Forwarding Plugin", "WMI Provider"]),
    ("upgraded11", ["Event Forwarding Plugin", "microsoft.powershell", "WMI Provider"]),
    ("workstation", ["Event Forwarding Plugin", "microsoft.powershell", "microsoft.powershell.workflow",
                     "microsoft.powershell32", "WMI Provider"]),
    ("server2022_jea", sorted(SERVER_2022_CONFIGURATIONS + ["JEAMaintenance", "Maintenance"], key=str.lower)),
])
def test_each_windows_version_has_its_own_configurations(make_host, profile, names):
    assert [item.get("Name") for item in enumerate_items(Client(make_host(profile=profile)), PLUGIN)] == names


def test_a_descriptor_change_is_stored_as_windows_stores_it(client):
    document = get_plugin(client, "microsoft.powershell")
    wanted = "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;RM)(A;;GA;;;BU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)"
    security(document).set("Sddl", wanted)
    reply = put_plugin(client, document).find("{%s}PlugInConfiguration" % PNS)
    assert security(reply).get("Sddl") == wanted
    assert security(get_plugin(client, "microsoft.powershell")).get("Sddl") == wanted
    # The registry value Windows keeps it in, read through StdRegProv.
    body = ET.fromstring(f'<p:GetStringValue_INPUT xmlns:p="{REGPROV}"><p:hDefKey>2147483650</p:hDefKey>'
                         r"<p:sSubKeyName>SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN\Plugin\microsoft.powershell"
                         "</p:sSubKeyName><p:sValueName>ConfigXML</p:sValueName></p:GetStringValue_INPUT>")
    reply = client.invoke(REGPROV + "/GetStringValue", REGPROV, body)
    stored = reply.find(".//{%s}sValue" % REGPROV).text
    assert wanted in stored and "xml:lang" not in stored


@pytest.mark.parametrize("change, code", [
    (lambda d: security(d).set("Sddl", "O:NSG:BAD:P(A;;GA;;;NOBODY)"), 2150859100),  # invalid descriptor
    (lambda d: d.set("Enabled", "maybe"), 2150858817),
    (lambda d: d.set("Colour", "blue"), 2150858817),
    (lambda d: d.set("Name", "microsoft.powershell.other"), 2150858989),          # the key cannot change
    (lambda d: d.remove(d.find("{%s}Resources" % PNS)), 2150858817),
    (lambda d: security(d).set("Uri", "http://schemas.microsoft.com/wbem/wsman/1/wmi"), 2150858817),
])
def test_a_document_windows_refuses_is_refused_and_nothing_changes(client, change, code):
    before = ET.tostring(get_plugin(client, "microsoft.powershell"))
    document = get_plugin(client, "microsoft.powershell")
    change(document)
    assert fault(lambda: client.put(PLUGIN, document, selector_set=name_selector("microsoft.powershell"))).code == code
    assert ET.tostring(get_plugin(client, "microsoft.powershell")) == before


def test_only_who_may_write_the_configuration_changes_it(host):
    reader = Client(host, principal=principal("operator"))
    assert fault(lambda: enumerate_items(reader, PLUGIN)).code == 5   # RootSDDL: BA full, IU read


# --- the descriptor decides who opens a runspace ----------------------------------------------------
def test_the_session_configuration_descriptor_decides_who_connects(host):
    open_pool(host, "Administrator")
    open_pool(host, "operator")                                  # Remote Management Users
    denied = fault(lambda: open_pool(host, "plain"))              # a user it does not grant
    assert denied.code == 5 and "Access is denied." in denied.message
    # RootSDDL does not apply to the endpoint: opening it to Users lets plain in.
    client = Client(host)
    document = get_plugin(client, "microsoft.powershell")
    security(document).set("Sddl", "O:NSG:BAD:P(A;;GA;;;BA)(A;;GA;;;BU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)")
    put_plugin(client, document)
    open_pool(host, "plain")
    security(document).set("Sddl", "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)")
    put_plugin(client, document)
    open_pool(host, "Administrator")
    for user in ("operator", "plain", "localadmin"):               # localadmin: UAC filters its token
        assert fault(lambda: open_pool(host, user)).code == 5


def test_a_disabled_configuration_closes_when_the_service_restarts(host):
    client = Client(host)
    document = get_plugin(client, "microsoft.powershell")
    document.set("Enabled", "false")
    put_plugin(client, document)
    open_pool(host, "Administrator")                              # the running service still has it
    again = restart(host)
    assert fault(lambda: open_pool(again, "Administrator")).code == 2150858752
    assert get_plugin(Client(again), "microsoft.powershell").get("Enabled") == "false"


def test_remote_shell_access_off_refuses_powershell_too(host):
    client = Client(host)
    client.put("http://schemas.microsoft.com/wbem/wsman/1/config/winrs",
               ET.fromstring('<cfg:Winrs xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config/winrs">'
                             "<cfg:AllowRemoteShellAccess>false</cfg:AllowRemoteShellAccess></cfg:Winrs>"))
    assert fault(lambda: open_pool(host, "Administrator")).code == 2150859180


def test_jea_endpoint_admits_its_role_group(make_host):
    host = make_host(profile="server2022_jea")
    open_pool(host, "operator", "JEAMaintenance")                 # member of JEA Operators
    assert fault(lambda: open_pool(host, "plain", "JEAMaintenance")).code == 5
    document = get_plugin(Client(host), "JEAMaintenance")
    assert document.get("RunAsVirtualAccount") == "true"
    params = {p.get("Name"): p.get("Value") for p in document.find("{%s}InitializationParameters" % PNS)}
    assert params["ConfigFilePath"].endswith(".pssc")


def set_dword(client, key, name, value):
    for method, extra in (("CreateKey", ""), ("SetDWORDValue", f"<p:sValueName>{name}</p:sValueName>"
                                                               f"<p:uValue>{value}</p:uValue>")):
        body = ET.fromstring(f'<p:{method}_INPUT xmlns:p="{REGPROV}"><p:hDefKey>2147483650</p:hDefKey>'
                             f"<p:sSubKeyName>{key}</p:sSubKeyName>{extra}</p:{method}_INPUT>")
        client.invoke(f"{REGPROV}/{method}", REGPROV, body)


def test_disable_run_as_erases_stored_credentials_and_refuses_new_ones(make_host):
    host = make_host(profile="server2022_jea")
    client = Client(host)
    document = get_plugin(client, "Maintenance")
    assert document.get("RunAsUser") == "localadmin" and document.get("RunAsPassword") == ""  # never shown
    open_pool(host, "operator", "Maintenance")
    put_plugin(client, get_plugin(client, "Maintenance"))          # the document sent back keeps the password
    open_pool(host, "operator", "Maintenance")
    set_dword(client, r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service", "DisableRunAs", 1)
    assert fault(lambda: open_pool(host, "operator", "Maintenance")).code == 2150859203
    document = get_plugin(client, "Maintenance")
    document.set("RunAsPassword", ACCOUNTS["localadmin"]["password"])
    assert fault(lambda: put_plugin(client, document)).code == 2150858890


def test_run_as_credentials_are_checked(host):
    client = Client(host)
    document = get_plugin(client, "microsoft.powershell")
    document.set("RunAsUser", "localadmin")
    document.set("RunAsPassword", "wrong")
    assert fault(lambda: put_plugin(client, document)).code == 2150859203
    document.set("RunAsPassword", ACCOUNTS["localadmin"]["password"])
    put_plugin(client, document)
    assert get_plugin(client, "microsoft.powershell").get("RunAsPassword") == ""
    assert ACCOUNTS["localadmin"]["password"] not in open(host.state_path, encoding="utf-8").read()


# --- local groups and the WMI plugin ---------------------------------------------------------------
def properties(element):
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}


def test_local_groups_and_their_members_over_wmi(make_host):
    host = make_host(profile="upgraded11", name="SIM-UPG-01")
    client = Client(host)
    groups = {properties(g)["Name"]: properties(g) for g in enumerate_items(client, CIMV2 + "Win32_Group")}
    wmi_users = groups["WinRMRemoteWMIUsers__"]
    assert wmi_users["SID"].startswith("S-1-5-21-") and wmi_users["SIDType"] == "4"
    assert groups["Administrators"]["SID"] == "S-1-5-32-544"
    memberships = []
    for link in enumerate_items(client, CIMV2 + "Win32_GroupUser"):
        group, part = (dict((s.get("Name"), s.text) for s in link.find("{%s}%s" % (link.tag.partition("}")[0][1:], c))
                            .iter("{%s}Selector" % WSMAN)) for c in ("GroupComponent", "PartComponent"))
        memberships.append((group["Name"], part["Name"]))
    assert ("WinRMRemoteWMIUsers__", "operator") in memberships
    assert ("Administrators", "Administrator") in memberships and ("Administrators", "localadmin") in memberships
    # The WMI plugin's descriptor names the group's SID, so its member reads WMI; writing needs an admin.
    wmi = get_plugin(client, "WMI Provider")
    assert wmi_users["SID"] in security(wmi).get("Sddl")
    operator = Client(host, principal=principal("plain"))
    assert fault(lambda: enumerate_items(operator, CIMV2 + "Win32_ComputerSystem")).code == 5
    host.users.groups["WinRMRemoteWMIUsers__"]["members"].append("plain")
    assert enumerate_items(operator, CIMV2 + "Win32_ComputerSystem")
    assert fault(lambda: set_dword(operator, r"SOFTWARE\Policies\Microsoft\Windows\WinRM\Service",
                                   "AllowBasic", 0)).code == 5


def test_a_group_member_is_found_through_the_association(make_host):
    host = make_host(profile="server2022_jea", name="SIM-JEA-01")
    client = Client(host)
    request = ET.fromstring(
        f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}" xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"'
        ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><w:OptimizeEnumeration/>'
        '<w:MaxElements>32</w:MaxElements><w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/'
        'associationFilter"><b:AssociatedInstances><b:Object><a:Address>http://schemas.xmlsoap.org/ws/2004/08/'
        f'addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>{CIMV2}Win32_Group'
        '</w:ResourceURI><w:SelectorSet><w:Selector Name="Domain">SIM-JEA-01</w:Selector><w:Selector Name="Name">'
        'JEA Operators</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object>'
        '<b:AssociationClassName>Win32_GroupUser</b:AssociationClassName>'
        '<b:ResultClassName>Win32_UserAccount</b:ResultClassName></b:AssociatedInstances></w:Filter></n:Enumerate>')
    reply = client.enumerate(CIMV2 + "*", request)
    members = [properties(item) for item in reply.find(".//{%s}Items" % WSMAN)]
    assert [(m["Name"], m["SID"]) for m in members] == [("operator", host.users.account_sid("operator"))]


def test_state_written_before_session_configurations_gets_them(host):
    import json
    with open(host.state_path, encoding="utf-8") as handle:
        old = json.load(handle)
    old["version"] = 2
    for key in [k for k in old["registry"] if "\\WSMAN" in k]:
        del old["registry"][key]
    del old["groups"], old["plugin_run_as"]
    with open(host.state_path, "w", encoding="utf-8") as handle:
        json.dump(old, handle)
    again = restart(host)
    assert [item.get("Name") for item in enumerate_items(Client(again), PLUGIN)] == SERVER_2022_CONFIGURATIONS
    assert os.path.exists(host.state_path)
