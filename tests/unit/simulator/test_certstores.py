"""The simulated LocalMachine certificate stores: the registry blobs as Windows lays them out, read over
StdRegProv by pypsrp's own client, and the changes autoenrollment and an administrator make.

The layout checks decode the blobs here, field by field, from [MS-GPEF] 2.2.1.1.1 (not with the
simulator's reader nor the collection's parser)."""
import datetime
import hashlib
import json
import struct
import xml.etree.ElementTree as ET

import pytest
from cryptography import x509
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

from simhelpers import ACCOUNTS, Client
from winrm_sim import certctl
from winrm_sim.host import SimHost

REGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
LISTENER = "http://schemas.microsoft.com/wbem/wsman/1/config/listener"
HKLM = 2147483650
MY_KEY = r"SOFTWARE\Microsoft\SystemCertificates\MY\Certificates"
ROOT_KEY = r"SOFTWARE\Microsoft\SystemCertificates\Root\Certificates"
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"


def invoke(client, method, **params):
    body = ET.Element(f"{{{REGPROV}}}{method}_INPUT")
    for name, value in params.items():
        ET.SubElement(body, f"{{{REGPROV}}}{name}").text = str(value)
    reply = client.invoke(f"{REGPROV}/{method}", REGPROV, body)
    out = reply.find(f".//{{{REGPROV}}}{method}_OUTPUT")
    values = {}
    for child in out:
        values.setdefault(child.tag.split("}")[1], []).append(child.text)
    return values


def enum_key(client, key):
    out = invoke(client, "EnumKey", hDefKey=HKLM, sSubKeyName=key)
    return int(out["ReturnValue"][0]), [n for n in out.get("sNames", []) if n]


def blob(client, key, name):
    out = invoke(client, "GetBinaryValue", hDefKey=HKLM, sSubKeyName=f"{key}\\{name}", sValueName="Blob")
    assert out["ReturnValue"] == ["0"]
    return bytes(int(v) for v in out["uValue"])


def elements(data):
    """[(PropertyID, Reserved, Value)] read straight from the bytes."""
    found, offset = [], 0
    while offset < len(data):
        prop_id, reserved, length = struct.unpack_from("<III", data, offset)
        found.append((prop_id, reserved, data[offset + 12:offset + 12 + length]))
        offset += 12 + length
    assert offset == len(data)
    return found


def utf16z(value):
    return value.decode("utf-16-le").split("\0")[0]


def role_thumbprint(host, role):
    return next(c.thumbprint for c in host.cert_store.certs if c.role == role)


def test_stores_hold_the_machine_certificates_in_the_blob_format(host, pki):
    client = Client(host)
    code, mine = enum_key(client, MY_KEY)
    assert code == 0
    issued = {c.thumbprint: c for c in pki.host_store(host.name, host.address).certs}
    assert sorted(mine) == sorted(t for t, c in issued.items() if not c.is_ca)
    assert enum_key(client, ROOT_KEY) == (0, [pki.ca_thumbprint])
    assert enum_key(client, r"SOFTWARE\Microsoft\SystemCertificates\MY")[1] == ["Certificates", "CRLs", "CTLs"]
    for thumbprint in mine:
        parts = elements(blob(client, MY_KEY, thumbprint))
        assert all(reserved == 1 for _id, reserved, _value in parts)
        assert parts[-1][0] == 0x20                       # the encoded certificate comes last
        der = parts[-1][2]
        assert hashlib.sha1(der).hexdigest().upper() == thumbprint
        props = {prop_id: value for prop_id, _reserved, value in parts[:-1]}
        assert props[3] == hashlib.sha1(der).digest()     # SHA1_HASH
        assert utf16z(props[21]) == "Machine"             # AUTO_ENROLL
        key_info = props[2]                               # KEY_PROV_INFO, 2.2.1.1.1.1.1
        container_at, provider_at, prov_type, _flags, r1, r2, key_spec = struct.unpack_from("<7I", key_info)
        assert (container_at, prov_type, r1, r2, key_spec) == (28, 12, 0, 0, 1)
        assert utf16z(key_info[container_at:]).startswith("te-Machine-")
        assert utf16z(key_info[provider_at:]) == "Microsoft RSA SChannel Cryptographic Provider"
        assert x509.load_der_x509_certificate(der).subject == x509.load_pem_x509_certificate(
            open(issued[thumbprint].cert_path, "rb").read()).subject
    root = elements(blob(client, ROOT_KEY, pki.ca_thumbprint))
    assert 2 not in {p for p, _r, _v in root}              # no private key behind a trusted root
    assert utf16z(dict((p, v) for p, _r, v in root)[11]) == "WinRM Simulator Root CA"


def test_stores_are_read_only_over_stdregprov(host):
    client = Client(host)
    thumbprint = role_thumbprint(host, "server")
    out = invoke(client, "SetBinaryValue", hDefKey=HKLM, sSubKeyName=f"{MY_KEY}\\{thumbprint}", sValueName="Blob",
                 uValue=1)
    assert out["ReturnValue"] == ["5"]
    assert invoke(client, "DeleteKey", hDefKey=HKLM, sSubKeyName=f"{MY_KEY}\\{thumbprint}")["ReturnValue"] == ["5"]
    assert host.cert_store.find(thumbprint) is not None


def test_renewal_sets_renewal_and_archived_on_the_old_certificate(make_host, pki):
    host = make_host("server2022_https")
    old = role_thumbprint(host, "server")
    answer = host.local_change(lambda: certctl.apply(host, pki, {"action": "renew", "days": 900}))
    new = answer["thumbprint"]
    assert answer["renewed"] == old and new != old
    client = Client(host)
    assert new in enum_key(client, MY_KEY)[1]
    props = {p: v for p, _r, v in elements(blob(client, MY_KEY, old))}
    assert props[64] == bytes.fromhex(new) and props[19] == b""
    new_der = elements(blob(client, MY_KEY, new))[-1][2]
    old_der = elements(blob(client, MY_KEY, old))[-1][2]
    renewed, original = x509.load_der_x509_certificate(new_der), x509.load_der_x509_certificate(old_der)
    assert renewed.subject == original.subject and renewed.issuer == original.issuer
    assert renewed.public_key().public_numbers() == original.public_key().public_numbers()
    assert list(renewed.extensions) == list(original.extensions)
    left = renewed.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    assert 899 <= left.days <= 900
    # The listener still names the old certificate, as on Windows; Windows' own pick skips archived ones.
    assert host.listeners.find_effective("*", "HTTPS")["CertificateThumbprint"] == old
    assert host.cert_store.by_subject_cn(host.name)[0].thumbprint == new
    state = json.load(open(host.state_path, encoding="utf-8"))
    again = SimHost(host.name, host.address, "server2022_https", host.state_path, pki.host_store(host.name, host.address),
                    ACCOUNTS)
    assert again.cert_store.find(new).renewed_by == "" and again.cert_store.find(old).renewed_by == new
    assert any(new in key for key in state["registry"])


def test_listener_on_a_thumbprint_outside_my_fails_with_windows_fault(host, pki):
    client = Client(host)
    selectors = SelectorSet()
    selectors.add_option("Address", "IP:10.0.0.9")
    selectors.add_option("Transport", "HTTPS")
    body = ET.fromstring(f'<Listener xmlns="{LISTENER}"><CertificateThumbprint>{pki.ca_thumbprint}'
                         "</CertificateThumbprint></Listener>")
    with pytest.raises(WSManFaultError) as caught:
        client.create(LISTENER, body, selector_set=selectors)
    assert caught.value.code == 2150858882       # ERROR_WSMAN_CERT_NOT_FOUND: Root is not MY
    removed = role_thumbprint(host, "server")
    host.local_change(lambda: certctl.apply(host, pki, {"action": "remove", "thumbprint": removed}))
    body = ET.fromstring(f'<Listener xmlns="{LISTENER}"><CertificateThumbprint>{removed}'
                         "</CertificateThumbprint></Listener>")
    with pytest.raises(WSManFaultError) as caught:
        client.create(LISTENER, body, selector_set=selectors)
    assert caught.value.code == 2150858882
    assert "cannot find the certificate that was requested" in caught.value.reason


def test_a_damaged_blob_is_skipped_and_the_rest_of_the_store_stays(host, pki):
    damaged = role_thumbprint(host, "noeku")
    host.local_change(lambda: certctl.apply(host, pki, {"action": "corrupt", "thumbprint": damaged}))
    client = Client(host)
    assert damaged in enum_key(client, MY_KEY)[1]
    data = blob(client, MY_KEY, damaged)
    with pytest.raises(AssertionError):
        elements(data)          # the certificate element runs past the end
    assert host.cert_store.find(damaged) is None
    assert host.cert_store.find(role_thumbprint(host, "server")) is not None
    assert "runs past the end" in host.cert_store.problems[f"MY\\{damaged}"]


def test_outlive_keeps_a_listener_on_an_expired_certificate(make_host, pki):
    host = make_host("server2022_https")
    expired = role_thumbprint(host, "expired")
    host.local_change(lambda: certctl.apply(host, pki, {"action": "outlive", "thumbprint": expired}))
    assert host.listeners.find_effective("*", "HTTPS")["CertificateThumbprint"] == expired
    assert [a.thumbprint for a in host.active_listeners() if a.transport == "https"] == [expired]
    with pytest.raises(ValueError, match="no local HTTPS listener"):
        certctl.apply(host, pki, {"action": "outlive", "thumbprint": expired, "address": "IP:10.1.1.1"})


def test_a_state_file_from_before_the_stores_gets_them(host, pki):
    state = json.load(open(host.state_path, encoding="utf-8"))
    state["registry"] = {k: v for k, v in state["registry"].items() if "SystemCertificates" not in k}
    with open(host.state_path, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    again = SimHost(host.name, host.address, "server2022", host.state_path, pki.host_store(host.name, host.address),
                    ACCOUNTS)
    assert enum_key(Client(again), MY_KEY)[1] == enum_key(Client(host), MY_KEY)[1]
    assert again.cert_store.is_trusted_ca(pki.ca_thumbprint)
    assert not again.cert_store.is_trusted_ca(pki.untrusted_ca_thumbprint)


def test_issue_options(host, pki):
    request = {"action": "issue", "days": 20, "issuer": "self", "no_key": True, "eku": "both"}
    answer = host.local_change(lambda: certctl.apply(host, pki, request))
    cert = host.cert_store.find(answer["thumbprint"])
    assert cert.self_signed and cert.key_path is None and cert.server_auth and cert.client_auth
    assert 19 <= (cert.not_after - datetime.datetime.now(datetime.timezone.utc)).days <= 20
    with pytest.raises(ValueError, match="unknown action"):
        certctl.apply(host, pki, {"action": "explode"})
