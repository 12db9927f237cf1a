"""The simulator end to end: real clients over real HTTP against the real WS-Management engine.

Each scenario changes the service configuration over WS-Management (as the collection does) and
then checks what the transport does with it: auth methods switched on and off, CertMapping and
certificate authentication, listeners created and deleted, state surviving a restart.
"""
from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.wsman import WSMan, SelectorSet

from winrm_sim.cli import FleetProcess
from harness import base_address


PASSWORD = "Eng1ne-Test!"
BASE = base_address(30)
CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"
AUTH_NS = CONFIG + "/service/auth"
SERVICE_NS = CONFIG + "/service"
LISTENER = CONFIG + "/listener"
CERTMAPPING = CONFIG + "/service/certmapping"
CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sim-engine"))


@pytest.fixture(scope="module")
def fleet(state_dir):
    running = FleetProcess(state_dir, hosts=3, profiles="server2022_https,winrm11,upgraded11", base_address=BASE,
                           password=PASSWORD)
    running.start()
    yield running
    running.stop()


def host_vars(fleet, name):
    return dict(fleet.hosts()[name], name=name)


def session(h, **kwargs) -> WSMan:
    options = dict(server=h["ansible_host"], port=5985, username="Administrator", password=PASSWORD, ssl=False,
                   auth="ntlm", cert_validation=h["ansible_winrm_ca_trust_path"])
    options.update(kwargs)
    return WSMan(**options)


def https(h, **kwargs) -> WSMan:
    return session(h, ssl=True, port=h["wsman_winrm_sim_ports"].get(5986, 5986), **kwargs)


def put_auth(wsman: WSMan, **values: bool) -> None:
    auth = ET.Element(f"{{{AUTH_NS}}}Auth")
    for name, value in values.items():
        ET.SubElement(auth, f"{{{AUTH_NS}}}{name}").text = str(value).lower()
    wsman.put(AUTH_NS, auth)


def text_of(element, local: str) -> str:
    for node in element.iter():
        if node.tag.split("}")[-1] == local:
            return node.text or ""
    raise KeyError(local)


def refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# -- NTLM, encryption, clients ------------------------------------------------------------------------

def test_pypsrp_get_config_over_ntlm_with_encryption(fleet):
    h = host_vars(fleet, "SIM-2022S-01")
    with session(h, encryption="always") as wsman:
        config = wsman.get(CONFIG)
    assert text_of(config, "MaxEnvelopeSizekb") == "500"
    assert text_of(config, "AllowUnencrypted") == "false"


def test_pywinrm_raw_get_over_ntlm(fleet):
    h = host_vars(fleet, "SIM-2022S-01")
    envelope = f"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">
<s:Header><a:To>http://{h['ansible_host']}:5985/wsman</a:To>
<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>
<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>
<a:MessageID>uuid:0B7C7C5C-8B0B-4C8E-9E1A-6C3C8D8E9F00</a:MessageID>
<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>
<w:OperationTimeout>PT60S</w:OperationTimeout>
<w:ResourceURI s:mustUnderstand="true">{CONFIG}</w:ResourceURI>
<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>
</s:Header><s:Body/></s:Envelope>"""
    protocol = winrm.Protocol(endpoint=f"http://{h['ansible_host']}:5985/wsman", transport="ntlm",
                              username=f"{h['name']}\\Administrator", password=PASSWORD)
    reply = protocol.send_message(envelope)
    assert b"MaxEnvelopeSizekb" in reply
    assert b"uuid:0B7C7C5C-8B0B-4C8E-9E1A-6C3C8D8E9F00" in reply


def test_wrong_password_raises_authentication_error(fleet):
    h = host_vars(fleet, "SIM-2022S-01")
    with pytest.raises(AuthenticationError):
        with session(h, password="not-it") as wsman:
            wsman.get(CONFIG)


def test_non_admin_is_denied_by_rootsddl(fleet):
    h = host_vars(fleet, "SIM-2022S-01")
    with pytest.raises(WSManFaultError) as caught:
        with session(h, username="operator", password=h["wsman_winrm_sim_operator_password"]) as wsman:
            wsman.get(CONFIG)
    assert caught.value.code == 5


def test_compatibility_listener_answers_on_port_80(fleet):
    h = host_vars(fleet, "SIM-W11-02")
    port = h["wsman_winrm_sim_ports"][80]
    assert h["ansible_port"] == port
    with session(h, port=port) as wsman:
        assert text_of(wsman.get(CONFIG), "MaxEnvelopeSizekb") == "150"


# -- auth settings are live ---------------------------------------------------------------------------

def test_basic_follows_the_service_setting(fleet):
    h = host_vars(fleet, "SIM-2022S-01")
    url = f"http://{h['ansible_host']}:5985/wsman"
    offered = requests.post(url, data=b"<x/>").raw.headers.getlist("WWW-Authenticate")
    assert offered == ["Negotiate"]  # a workgroup computer offers no Kerberos
    with pytest.raises(AuthenticationError):
        with https(h, auth="basic") as wsman:
            wsman.get(CONFIG)
    with session(h) as wsman:
        put_auth(wsman, Basic=True)
    try:
        offered = requests.post(url, data=b"<x/>").raw.headers.getlist("WWW-Authenticate")
        assert offered == ["Negotiate", 'Basic realm="WSMAN"']
        with https(h, auth="basic") as wsman:
            assert text_of(wsman.get(CONFIG), "Basic") == "true"
        # Basic over HTTP stays refused while AllowUnencrypted=false
        protocol = winrm.Protocol(endpoint=url, transport="basic", username="Administrator", password=PASSWORD)
        with pytest.raises(winrm.exceptions.InvalidCredentialsError):
            protocol.send_message("<x/>")
        with pytest.raises(AuthenticationError):
            with session(h, auth="basic", encryption="never") as wsman:
                wsman.get(CONFIG)
    finally:
        with session(h) as wsman:
            put_auth(wsman, Basic=False)
    with pytest.raises(AuthenticationError):
        with https(h, auth="basic") as wsman:
            wsman.get(CONFIG)


# -- HTTPS and certificate authentication -------------------------------------------------------------

def admit_port(h, port: int) -> None:
    """A firewall rule admitting ``port``, created as New-NetFirewallRule -CimSession creates one."""
    rule_uri = CIM + "MSFT_NetFirewallRule"
    rule = ET.Element(f"{{{rule_uri}}}MSFT_NetFirewallRule")
    ET.SubElement(rule, f"{{{rule_uri}}}InstanceID").text = f"test-port-{port}"
    ET.SubElement(rule, f"{{{rule_uri}}}ElementName").text = f"test port {port}"
    ports_uri = CIM + "MSFT_NetProtocolPortFilter"
    ports = ET.Element(f"{{{ports_uri}}}MSFT_NetProtocolPortFilter")
    ET.SubElement(ports, f"{{{ports_uri}}}Protocol").text = "TCP"
    ET.SubElement(ports, f"{{{ports_uri}}}LocalPort").text = str(port)
    selectors = SelectorSet()
    selectors.add_option("InstanceID", f"test-port-{port}")
    with session(h) as wsman:
        wsman.create(rule_uri, rule)
        wsman.put(ports_uri, ports, selector_set=selectors)


def https_listener_present(fleet, name) -> dict:
    h = host_vars(fleet, name)
    if 5986 in h["wsman_winrm_sim_ports"]:
        return h
    listener = ET.Element(f"{{{LISTENER}}}Listener")
    ET.SubElement(listener, f"{{{LISTENER}}}Hostname").text = name
    ET.SubElement(listener, f"{{{LISTENER}}}CertificateThumbprint").text = h["wsman_winrm_sim_thumbprint"]
    selectors = SelectorSet()
    selectors.add_option("Address", "*")
    selectors.add_option("Transport", "HTTPS")
    with session(h) as wsman:
        wsman.create(LISTENER, listener, selector_set=selectors)
    assert wait_for(lambda: 5986 in host_vars(fleet, name)["wsman_winrm_sim_ports"])
    return host_vars(fleet, name)


def test_https_validated_against_the_simulator_ca(fleet):
    h = https_listener_present(fleet, "SIM-2022S-01")
    with https(h) as wsman:
        assert text_of(wsman.get(CONFIG), "MaxEnvelopeSizekb") == "500"
    untrusted = h["ansible_winrm_ca_trust_path"].replace("ca.pem", "untrusted-ca.pem")
    with pytest.raises(requests.exceptions.SSLError):
        with https(h, cert_validation=untrusted) as wsman:
            wsman.get(CONFIG)


def test_certificate_auth_after_certmapping_create(fleet):
    h = https_listener_present(fleet, "SIM-2022S-01")
    cert_options = dict(auth="certificate", certificate_pem=h["wsman_winrm_sim_client_cert_pem"],
                        certificate_key_pem=h["wsman_winrm_sim_client_key_pem"])
    with session(h) as wsman:
        put_auth(wsman, Certificate=True)
    with pytest.raises(AuthenticationError):        # no CertMapping yet
        with https(h, **cert_options) as wsman:
            wsman.get(CONFIG)
    mapping = ET.Element(f"{{{CERTMAPPING}}}CertMapping")
    ET.SubElement(mapping, f"{{{CERTMAPPING}}}UserName").text = "Administrator"
    ET.SubElement(mapping, f"{{{CERTMAPPING}}}Password").text = PASSWORD
    ET.SubElement(mapping, f"{{{CERTMAPPING}}}Enabled").text = "true"
    selectors = SelectorSet()
    selectors.add_option("URI", "*")
    selectors.add_option("Subject", "ansible-client@localhost")
    selectors.add_option("Issuer", h["wsman_winrm_sim_ca_issuer_thumbprint"])
    with session(h) as wsman:     # NTLM over the network: a remote session may store the password
        wsman.create(CERTMAPPING, mapping, selector_set=selectors)
    with https(h, **cert_options) as wsman:
        assert text_of(wsman.get(CONFIG), "Certificate") == "true"
    # a client certificate from a CA outside the host's Root store maps to nobody
    untrusted = {**cert_options,
                 "certificate_pem": h["wsman_winrm_sim_client_cert_pem"].replace("client.pem", "untrusted-client.pem"),
                 "certificate_key_pem": h["wsman_winrm_sim_client_key_pem"].replace("client.key", "untrusted-client.key")}
    with pytest.raises(AuthenticationError):
        with https(h, **untrusted) as wsman:
            wsman.get(CONFIG)
    # certificate auth turned off: refused on the next request
    with session(h) as wsman:
        put_auth(wsman, Certificate=False)
    with pytest.raises(AuthenticationError):
        with https(h, **cert_options) as wsman:
            wsman.get(CONFIG)


# -- listeners are live, state survives a restart --------------------------------------------------------

def test_listener_delete_create_and_restart(fleet, state_dir):
    name = "SIM-UPG-03"
    h = https_listener_present(fleet, name)
    address = h["ansible_host"]
    # The upgrade moved the HTTPS listener to 5986, which no shipped firewall rule admits.
    admit_port(h, 5986)
    admit_port(h, 5990)
    http_selectors = SelectorSet()
    http_selectors.add_option("Address", "*")
    http_selectors.add_option("Transport", "HTTP")
    with https(h) as wsman:
        wsman.delete(LISTENER, selector_set=http_selectors)
    assert refused(address, 5985)
    assert 5985 not in host_vars(fleet, name)["wsman_winrm_sim_ports"]

    listener = ET.Element(f"{{{LISTENER}}}Listener")
    ET.SubElement(listener, f"{{{LISTENER}}}Port").text = "5990"
    ET.SubElement(listener, f"{{{LISTENER}}}Enabled").text = "true"
    with https(h) as wsman:
        wsman.create(LISTENER, listener, selector_set=http_selectors)
    with session(h, port=5990) as wsman:
        assert wsman.get(CONFIG) is not None

    # restart: the same state dir resumes every host's configuration
    assert fleet.stop() == 0
    assert refused(address, 5990)
    fleet.start()
    assert refused(address, 5985)
    ports = host_vars(fleet, name)["wsman_winrm_sim_ports"]
    assert 5990 in ports and 5985 not in ports
    with session(h, port=5990) as wsman:
        config = wsman.get(CONFIG)
    listeners = wsman_enumerate_listeners(h, 5990)
    assert any(text_of(item, "Port") == "5990" for item in listeners)
    assert text_of(config, "MaxEnvelopeSizekb")


def wsman_enumerate_listeners(h, port) -> list:
    enumerate_body = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
    ET.SubElement(enumerate_body, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
    ET.SubElement(enumerate_body, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements").text = "32000"
    with session(h, port=port) as wsman:
        reply = wsman.enumerate(LISTENER, enumerate_body)
    return [node for node in reply.iter() if node.tag.split("}")[-1] == "Listener"]
