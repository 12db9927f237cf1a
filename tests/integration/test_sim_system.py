"""The simulated computer describes itself over WMI as Windows does: Win32_OperatingSystem and
Win32_ComputerSystem, read with a plain pypsrp client (Enumerate, and Get by the Name key).

Property meanings: Microsoft Learn, "Win32_OperatingSystem class" (ProductType 1 workstation,
2 domain controller, 3 server) and "Win32_ComputerSystem class" (DomainRole 0-5)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

FLEET_PROFILES = "server2022,winrm11"
CIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"


def _properties(element: ET.Element) -> dict[str, str]:
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}


def _enumerate(client, class_name: str) -> list[dict[str, str]]:
    request = ET.Element("{%s}Enumerate" % WSEN)
    ET.SubElement(request, "{%s}OptimizeEnumeration" % WSMAN)
    reply = client.enumerate(CIMV2 + class_name, request)
    items = reply.find(".//{%s}Items" % WSMAN)
    return [_properties(item) for item in items]


@pytest.mark.parametrize("profile, caption, version, role, product_type", [
    ("server2022", "Microsoft Windows Server 2022 Datacenter", "10.0.20348", "2", "3"),
    ("winrm11", "Microsoft Windows Server 2008 Standard", "6.0.6002", "2", "3"),
])
def test_the_computer_describes_itself_over_wmi(fleet, profile, caption, version, role, product_type):
    name, host_vars = fleet.host(profile)
    with fleet.client(host_vars) as client:
        (os_info,) = _enumerate(client, "Win32_OperatingSystem")
        (computer,) = _enumerate(client, "Win32_ComputerSystem")
        selectors = SelectorSet()
        selectors.add_option("Name", computer["Name"])
        by_key = _properties(client.get(CIMV2 + "Win32_ComputerSystem", selector_set=selectors)[0])
    assert (os_info["Caption"], os_info["Version"], os_info["ProductType"]) == (caption, version, product_type)
    assert os_info["BuildNumber"] == version.rsplit(".", 1)[-1]
    assert os_info["CSName"] == name
    assert (computer["Name"], computer["DomainRole"], computer["PartOfDomain"]) == (name, role, "false")
    assert computer["Domain"] == computer["Workgroup"] == "WORKGROUP"
    assert by_key == computer


def test_the_computer_cannot_be_changed_or_read_without_its_key(fleet):
    _name, host_vars = fleet.host("server2022")
    with fleet.client(host_vars) as client:
        with pytest.raises(WSManFaultError):
            client.get(CIMV2 + "Win32_OperatingSystem")  # Name is the key: no selectors, no instance
