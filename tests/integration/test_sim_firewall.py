"""The simulated Windows Firewall over real TCP: what a new install admits, the public profile's local
subnet scope, rule changes on the next connection, and the CIM surface New-NetFirewallRule
-CimSession uses (Create of MSFT_NetFirewallRule, Put of its port and address filters, Put of the
rule, Delete, association traversal), read back and exercised with plain pypsrp and raw sockets.
"""
from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import WSMan, SelectorSet

from harness import base_address, CONFIG, value_of
from winrm_sim.cli import FleetProcess

pytestmark = pytest.mark.timeout(300)

FLEET_PROFILES = "server2022,server2022_https,server2022@private"
CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
RULE, PORTS, ADDRESSES = CIM + "MSFT_NetFirewallRule", CIM + "MSFT_NetProtocolPortFilter", CIM + "MSFT_NetAddressFilter"
PROFILE = CIM + "MSFT_NetConnectionProfile"
WSEN = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WXF = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
CIMBINDING = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
LISTENER = CONFIG + "/listener"
CONNECT_TIMEOUT = 3.0


def reach(address: str, port: int, source: str | None = None) -> str:
    """'open', 'refused' (RST) or 'filtered' (no answer to the SYN within the timeout)."""
    sock = socket.socket()
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        if source:
            sock.bind((source, 0))
        sock.connect((address, port))
        try:
            sock.settimeout(1)
            return "refused" if sock.recv(1) == b"" else "open"   # a guard resets admitted connections
        except socket.timeout:
            return "open"
        except ConnectionResetError:
            return "refused"
    except socket.timeout:
        return "filtered"
    except ConnectionRefusedError:
        return "refused"
    finally:
        sock.close()


def client(host_vars, https=False) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=5986 if https else 5985, ssl=https, auth="ntlm",
                 username=host_vars["ansible_user"], password=host_vars["ansible_password"],
                 cert_validation=host_vars["ansible_winrm_ca_trust_path"] if https else False, no_proxy=True,
                 operation_timeout=10, read_timeout=20, connection_timeout=CONNECT_TIMEOUT)


def instance_selector(name: str) -> SelectorSet:
    selectors = SelectorSet()
    selectors.add_option("InstanceID", name)
    return selectors


def cim_element(uri: str, **values) -> ET.Element:
    class_name = uri.rsplit("/", 1)[1]
    element = ET.Element(f"{{{uri}}}{class_name}")
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            ET.SubElement(element, f"{{{uri}}}{name}").text = str(item)
    return element


def texts(element: ET.Element, name: str) -> list[str]:
    return [c.text or "" for c in element if c.tag.rsplit("}", 1)[1] == name and c.get(XSI_NIL) != "true"]


def put_rule(session: WSMan, name: str, **values) -> ET.Element:
    return session.put(RULE, cim_element(RULE, **values), selector_set=instance_selector(name))[0]


def enumerate_items(session: WSMan, uri: str, extra: str = "") -> list[ET.Element]:
    body = ET.fromstring(f'<n:Enumerate xmlns:n="{WSEN}" xmlns:w="{WSMAN}" xmlns:a="{WSA}" '
                         f'xmlns:b="{CIMBINDING}"><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements>'
                         f"{extra}</n:Enumerate>")
    return list(session.enumerate(uri, body).find(f"{{{WSEN}}}EnumerateResponse/{{{WSMAN}}}Items"))


def test_a_new_install_admits_5985_and_filters_5986(fleet):
    _name, host_vars = fleet.host("server2022")
    address = host_vars["ansible_host"]
    assert reach(address, 5985) == "open"
    assert [reach(address, port) for port in (5986, 80, 443)] == ["filtered"] * 3
    with pytest.raises(requests.exceptions.ConnectTimeout):
        with client(host_vars, https=True) as session:
            session.get(CONFIG)
    with client(host_vars) as session:
        names = [texts(item, "InstanceID")[0] for item in enumerate_items(session, RULE)]
        listeners = [value_of(i, "Transport") for i in enumerate_items(session, LISTENER)]
    assert names == ["WINRM-HTTP-In-TCP", "WINRM-HTTP-In-TCP-PUBLIC", "WINRM-HTTP-Compat-In-TCP"]
    assert listeners == ["HTTP"]


def test_the_https_ready_profile_admits_5986(fleet):
    name, host_vars = fleet.host("server2022_https")
    assert reach(host_vars["ansible_host"], 5986) == "open"
    with client(host_vars, https=True) as session:
        assert value_of(session.get(CONFIG), "MaxEnvelopeSizekb") == "500"
        https_rules = [item for item in enumerate_items(session, RULE)
                       if texts(item, "DisplayName") == ["Windows Remote Management (HTTPS-In)"]]
        assert len(https_rules) == 1
        rule_name = texts(https_rules[0], "InstanceID")[0]
        ports = session.get(PORTS, selector_set=instance_selector(rule_name))[0]
    assert rule_name.startswith("{") and texts(ports, "LocalPort") == ["5986"] and texts(ports, "Protocol") == ["TCP"]


def test_the_network_location_is_a_cim_instance(fleet):
    for profile, category in (("server2022", "0"), ("server2022_https", "0")):
        _name, host_vars = fleet.host(profile)
        with client(host_vars) as session:
            (item,) = enumerate_items(session, PROFILE)
        assert texts(item, "NetworkCategory") == [category] and texts(item, "InterfaceAlias") == ["Ethernet"]
    private = [v for v in fleet.hosts().values() if v["wsman_winrm_sim_network"]["category"] == "Private"]
    assert len(private) == 1
    with client(private[0]) as session:
        (item,) = enumerate_items(session, PROFILE)
        assert texts(item, "NetworkCategory") == ["1"]
        with pytest.raises(WSManFaultError) as raised:   # DomainAuthenticated is never set by hand
            session.put(PROFILE, cim_element(PROFILE, NetworkCategory=2),
                        selector_set=instance_selector(texts(item, "InstanceID")[0]))
    assert raised.value.code == 87


def test_rule_changes_apply_to_the_next_connection(fleet):
    """Disabling the rule the controller comes through filters new connections; the established
    one carries on and puts the rule back."""
    _name, host_vars = fleet.host("server2022")
    address = host_vars["ansible_host"]
    with client(host_vars) as session:
        put_rule(session, "WINRM-HTTP-In-TCP-PUBLIC", Enabled=2)   # the host is on a public network
        try:
            assert reach(address, 5985) == "filtered"
            assert value_of(session.get(CONFIG), "MaxEnvelopeSizekb") == "500"
        finally:
            put_rule(session, "WINRM-HTTP-In-TCP-PUBLIC", Enabled=1)
    assert reach(address, 5985) == "open"


def test_new_netfirewallrule_through_cim_opens_a_port(fleet):
    """New-NetFirewallRule -CimSession: Create the rule (disabled), Put its port and address filters,
    enable it; then an HTTPS listener on 5986 answers. Delete removes the rule and its filters."""
    name, host_vars = fleet.host("server2022")
    address = host_vars["ansible_host"]
    with client(host_vars) as session:
        created = session.create(RULE, cim_element(
            RULE, InstanceID="WinRM-HTTPS-In-Test", ElementName="Windows Remote Management (HTTPS-In)",
            Description="Inbound rule for WinRM over HTTPS [TCP 5986]", Enabled=2, Direction=1, Action=2,
            Profiles=0))
        reference = created.find(f"{{{WXF}}}ResourceCreated")
        assert reference.findtext(f"{{{WSA}}}ReferenceParameters/{{{WSMAN}}}ResourceURI") == RULE
        assert [s.text for s in reference.iter(f"{{{WSMAN}}}Selector")] == ["WinRM-HTTPS-In-Test"]
        ports = session.get(PORTS, selector_set=instance_selector("WinRM-HTTPS-In-Test"))[0]
        addresses = session.get(ADDRESSES, selector_set=instance_selector("WinRM-HTTPS-In-Test"))[0]
        assert (texts(ports, "Protocol"), texts(ports, "LocalPort")) == (["Any"], ["Any"])
        assert texts(addresses, "RemoteAddress") == ["Any"]
        session.put(PORTS, cim_element(PORTS, Protocol="TCP", LocalPort="5986"),
                    selector_set=instance_selector("WinRM-HTTPS-In-Test"))
        session.put(ADDRESSES, cim_element(ADDRESSES, RemoteAddress="LocalSubnet"),
                    selector_set=instance_selector("WinRM-HTTPS-In-Test"))
        assert reach(address, 5986) == "filtered"                   # still disabled
        put_rule(session, "WinRM-HTTPS-In-Test", Enabled=1)
        assert reach(address, 5986) == "refused"                    # admitted; nothing listens yet
        listener = ET.Element(f"{{{LISTENER}}}Listener")
        ET.SubElement(listener, f"{{{LISTENER}}}Hostname").text = name
        ET.SubElement(listener, f"{{{LISTENER}}}CertificateThumbprint").text = host_vars["wsman_winrm_sim_thumbprint"]
        https = SelectorSet()
        https.add_option("Address", "*")
        https.add_option("Transport", "HTTPS")
        session.create(LISTENER, listener, selector_set=https)
        try:
            deadline = time.monotonic() + 30
            while reach(address, 5986) != "open" and time.monotonic() < deadline:
                time.sleep(0.2)
            with client(host_vars, https=True) as tls:
                assert value_of(tls.get(CONFIG), "MaxEnvelopeSizekb") == "500"
            session.delete(RULE, selector_set=instance_selector("WinRM-HTTPS-In-Test"))
            assert reach(address, 5986) == "filtered"
            for uri in (RULE, PORTS, ADDRESSES):
                with pytest.raises(WSManFaultError) as raised:
                    session.get(uri, selector_set=instance_selector("WinRM-HTTPS-In-Test"))
                assert raised.value.code == 2150858752
        finally:
            session.delete(LISTENER, selector_set=https)


def test_a_rule_name_already_in_the_store_is_refused(fleet):
    _name, host_vars = fleet.host("server2022")
    with client(host_vars) as session:
        with pytest.raises(WSManFaultError) as raised:
            session.create(RULE, cim_element(RULE, InstanceID="WINRM-HTTP-In-TCP", ElementName="again"))
    assert raised.value.code == 183   # "Cannot create a file when that file already exists."


def association(instance_uri: str, name: str, association_class: str, result_class: str) -> str:
    return (f'<w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter">'
            f"<b:AssociatedInstances><b:Object>"
            f"<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>"
            f"<a:ReferenceParameters><w:ResourceURI>{instance_uri}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="InstanceID">{name}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</b:Object><b:AssociationClassName>{association_class}</b:AssociationClassName>"
            f"<b:ResultClassName>{result_class}</b:ResultClassName></b:AssociatedInstances></w:Filter>")


def test_association_traversal_between_a_rule_and_its_filters(fleet):
    """Get-NetFirewallPortFilter -AssociatedNetFirewallRule and back, as DSP0227 association filters."""
    _name, host_vars = fleet.host("server2022")
    with client(host_vars) as session:
        (port_filter,) = enumerate_items(session, CIM + "*", association(
            RULE, "WINRM-HTTP-In-TCP-PUBLIC", "MSFT_NetFirewallRuleFilterByProtocolPort", "MSFT_NetProtocolPortFilter"))
        (address_filter,) = enumerate_items(session, CIM + "*", association(
            RULE, "WINRM-HTTP-In-TCP-PUBLIC", "MSFT_NetFirewallRuleFilterByAddress", "MSFT_NetAddressFilter"))
        (rule,) = enumerate_items(session, CIM + "*", association(
            ADDRESSES, "WINRM-HTTP-In-TCP-PUBLIC", "MSFT_NetFirewallRuleFilterByAddress", "MSFT_NetFirewallRule"))
    assert port_filter.tag == f"{{{PORTS}}}MSFT_NetProtocolPortFilter" and texts(port_filter, "LocalPort") == ["5985"]
    assert texts(address_filter, "RemoteAddress") == ["LocalSubnet"]
    assert texts(rule, "InstanceID") == ["WINRM-HTTP-In-TCP-PUBLIC"] and texts(rule, "Profiles") == ["4"]


# -- a controller outside the local subnet ------------------------------------------------------------

@pytest.fixture(scope="module")
def outside_fleet(tmp_path_factory):
    """Hosts whose local subnet does not contain the controller's loopback address (127.0.0.1)."""
    base = base_address(7)
    process = FleetProcess(str(tmp_path_factory.mktemp("outside")), hosts=2, profiles="server2022,server2022@private",
                           base_address=base, extra_args=["--local-subnet", "127.255.0.0/16"])
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_the_public_rule_admits_the_local_subnet_only(outside_fleet):
    hosts = sorted(outside_fleet.hosts().values(), key=lambda h: h["ansible_host"])
    public, private = hosts
    assert public["wsman_winrm_sim_network"] == {"category": "Public", "local_subnet": ["127.255.0.0/16"],
                                                 "name": "Network", "interface_alias": "Ethernet",
                                                 "interface_index": 4}
    assert reach(public["ansible_host"], 5985) == "filtered"                       # from 127.0.0.1
    assert reach(public["ansible_host"], 5985, source="127.255.0.9") == "open"     # from inside the subnet
    assert reach(private["ansible_host"], 5985) == "open"                          # WINRM-HTTP-In-TCP: Any
