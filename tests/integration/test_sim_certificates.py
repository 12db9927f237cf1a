"""The simulator's certificate stores over real HTTP and TLS: StdRegProv serves the blobs to a plain
pypsrp client, ``winrm-sim cert`` changes them while the fleet runs (or while it is stopped), and the
HTTPS listener serves whichever certificate of MY its thumbprint names."""

from __future__ import annotations

import hashlib
import socket
import ssl
import xml.etree.ElementTree as ET

import pytest
from pypsrp.wsman import SelectorSet

from harness import CONFIG, Fleet, fresh_base_address
from winrm_sim.cli import FleetProcess

FLEET_PROFILES = "server2022_https"
REGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
MY_KEY = r"SOFTWARE\Microsoft\SystemCertificates\MY\Certificates"


def store_thumbprints(fleet, hv) -> list[str]:
    body = ET.Element(f"{{{REGPROV}}}EnumKey_INPUT")
    ET.SubElement(body, f"{{{REGPROV}}}hDefKey").text = "2147483650"
    ET.SubElement(body, f"{{{REGPROV}}}sSubKeyName").text = MY_KEY
    with fleet.client(hv) as client:
        reply = client.invoke(f"{REGPROV}/EnumKey", REGPROV, body)
    assert reply.find(f".//{{{REGPROV}}}ReturnValue").text == "0"
    return [e.text for e in reply.iter(f"{{{REGPROV}}}sNames")]


def served_thumbprint(hv) -> str | None:
    """SHA-1 of the certificate the HTTPS listener presents in the handshake; None when it fails."""
    context = ssl.create_default_context(cafile=hv["ansible_winrm_ca_trust_path"])
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((hv["ansible_host"], hv["wsman_winrm_sim_ports"][5986]), timeout=10) as raw:
            with context.wrap_socket(raw) as tls:
                return hashlib.sha1(tls.getpeercert(binary_form=True)).hexdigest().upper()
    except (ssl.SSLError, ConnectionError):
        return None


def put_listener_thumbprint(fleet, hv, thumbprint: str) -> None:
    selectors = SelectorSet()
    selectors.add_option("Address", "*")
    selectors.add_option("Transport", "HTTPS")
    body = ET.fromstring(f'<Listener xmlns="{CONFIG}/listener"><CertificateThumbprint>{thumbprint}'
                         "</CertificateThumbprint></Listener>")
    with fleet.client(hv) as client:
        client.put(CONFIG + "/listener", body, selector_set=selectors)


def test_renewal_then_rebind_changes_what_tls_serves(fleet):
    name, hv = fleet.host("server2022_https")
    server = hv["wsman_winrm_sim_thumbprint"]
    assert served_thumbprint(hv) == server
    before = store_thumbprints(fleet, hv)
    assert server in before and len(before) == 4
    answer = fleet.process.cert(name, "renew")
    assert answer["renewed"] == server
    renewed = answer["thumbprint"]
    assert sorted(store_thumbprints(fleet, hv)) == sorted(before + [renewed])
    assert served_thumbprint(hv) == server          # the listener still names the old one
    put_listener_thumbprint(fleet, hv, renewed)
    assert served_thumbprint(hv) == renewed
    with fleet.client(hv, https=True) as client:  # validated against the CA, over the new certificate
        assert client.get(CONFIG) is not None


def test_a_listener_whose_certificate_left_the_store_does_not_handshake(fleet):
    name, hv = fleet.host("server2022_https")
    issued = fleet.process.cert(name, "issue", days=40)["thumbprint"]
    put_listener_thumbprint(fleet, hv, issued)
    assert served_thumbprint(hv) == issued
    fleet.process.cert(name, "remove", thumbprint=issued)
    assert issued not in store_thumbprints(fleet, hv)
    assert served_thumbprint(hv) is None
    with pytest.raises(RuntimeError, match="no certificate"):
        fleet.process.cert(name, "remove", thumbprint=issued)
    put_listener_thumbprint(fleet, hv, hv["wsman_winrm_sim_thumbprint"])
    assert served_thumbprint(hv) == hv["wsman_winrm_sim_thumbprint"]


def test_cert_changes_a_stopped_fleet_state(tmp_path):
    process = FleetProcess(str(tmp_path), hosts=1, profiles="server2022", base_address=fresh_base_address())
    with process:
        name = next(iter(process.hosts()))
    issued = process.cert(name, "issue", days=10, template="WebServer")["thumbprint"]
    with process:
        hv = process.hosts()[name]
        assert issued in store_thumbprints(Fleet(process), hv)
