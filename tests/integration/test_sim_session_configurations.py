"""Over real HTTP with NTLM and message encryption, pypsrp's own RunspacePool opens PowerShell
remoting sessions on the simulated hosts only for the users the session configuration's descriptor
grants; a plain pypsrp client reads the configurations and the local groups the way Windows serves
them (winrm/config/plugin by Name; Win32_Group, Win32_GroupUser over WMI).

Windows: MS-WSMV 3.1.4.1.28 (the plugin's descriptor replaces RootSDDL; a shell needs GX) and
3.1.4.1.34.2; Microsoft Learn, "Authentication for Remote Connections" (WinRMRemoteWMIUsers__).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

FLEET_PROFILES = "server2022,server2022_jea,upgraded11"
PLUGIN = "http://schemas.microsoft.com/wbem/wsman/1/config/plugin"
CIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"


def as_user(host_vars, user, password):
    port = host_vars["wsman_winrm_sim_ports"].get(5985)
    return WSMan(host_vars["ansible_host"], port=port, ssl=False, auth="ntlm", username=user, password=password,
                 no_proxy=True, operation_timeout=10, read_timeout=20)


def open_pool(client, configuration):
    with client:
        pool = RunspacePool(client, configuration_name=configuration)
        pool.open()
        pool.close()


def items(client, uri):
    request = ET.Element("{%s}Enumerate" % WSEN)
    ET.SubElement(request, "{%s}OptimizeEnumeration" % WSMAN)
    ET.SubElement(request, "{%s}MaxElements" % WSMAN).text = "100"
    return list(client.enumerate(uri, request).find(".//{%s}Items" % WSMAN))


def test_administrator_opens_a_runspace_and_a_user_is_denied(fleet):
    _name, host_vars = fleet.host("server2022")
    open_pool(fleet.client(host_vars), "microsoft.powershell")
    operator = as_user(host_vars, "operator", host_vars["wsman_winrm_sim_operator_password"])
    with pytest.raises(WSManFaultError) as denied:
        open_pool(operator, "microsoft.powershell")
    assert denied.value.code == 5 and "Access is denied." in denied.value.reason
    with pytest.raises(WSManFaultError) as unknown:
        open_pool(fleet.client(host_vars), "no.such.endpoint")
    assert unknown.value.code == 2150858752


def test_the_jea_role_group_opens_only_its_endpoint(fleet):
    _name, host_vars = fleet.host("server2022_jea")
    operator = as_user(host_vars, "operator", host_vars["wsman_winrm_sim_operator_password"])
    open_pool(operator, "JEAMaintenance")
    with pytest.raises(WSManFaultError) as denied:
        open_pool(as_user(host_vars, "operator", host_vars["wsman_winrm_sim_operator_password"]),
                  "microsoft.powershell")
    assert denied.value.code == 5


def test_configurations_and_group_members_read_with_plain_pypsrp(fleet):
    name, host_vars = fleet.host("upgraded11")
    with fleet.client(host_vars) as client:
        names = [item.get("Name") for item in items(client, PLUGIN)]
        links = items(client, CIMV2 + "Win32_GroupUser")
    assert names == ["Event Forwarding Plugin", "microsoft.powershell", "WMI Provider"]
    pairs = set()
    for link in links:
        group, part = ({s.get("Name"): s.text for s in element.iter("{%s}Selector" % WSMAN)}
                       for element in link)
        pairs.add((group["Domain"], group["Name"], part["Name"]))
    assert (name, "WinRMRemoteWMIUsers__", "operator") in pairs
    assert (name, "Administrators", "Administrator") in pairs
