# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The anti-lockout guard for re-binding the HTTPS listener a task connects through
(guards.certificate_reasons): the controller's validation and pin decide, as in the handshake."""
from __future__ import annotations

import datetime
import hashlib
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.wsman.winrm.plugins.module_utils import certstore, guards
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
HOST = "192.0.2.10"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
      .public_key(CA_KEY.public_key()).serial_number(1).not_valid_before(NOW - DAY).not_valid_after(NOW + 900 * DAY)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
      .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
      .add_extension(x509.SubjectKeyIdentifier.from_public_key(CA_KEY.public_key()), False)
      .sign(CA_KEY, hashes.SHA256()))


def leaf(ip=HOST, end=NOW + 300 * DAY, signer=CA_KEY):
    key = ec.generate_private_key(ec.SECP256R1())
    der = (x509.CertificateBuilder().subject_name(_name("win1")).issuer_name(CA.subject).public_key(key.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(NOW - 2 * DAY).not_valid_after(end)
           .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False)
           .sign(signer, hashes.SHA256()).public_bytes(Encoding.DER))
    blob = (0x20).to_bytes(4, "little") + (1).to_bytes(4, "little") + len(der).to_bytes(4, "little") + der
    return certstore.parse_blob(blob, hashlib.sha1(der).hexdigest())


def endpoint(tmp_path, **extra):
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(CA.public_bytes(Encoding.PEM))
    variables = {"ansible_host": HOST, "ansible_user": "u", "ansible_password": "p", "ansible_port": 5986,
                 "ansible_winrm_scheme": "https", "ansible_winrm_transport": "ntlm",
                 "ansible_winrm_ca_trust_path": str(bundle)}
    variables.update(extra)
    return resolve(variables, "winrm")


def https(thumbprint, port=5986):
    return {"address": "*", "transport": "HTTPS", "port": port, "enabled": True, "url_prefix": "wsman",
            "certificate_thumbprint": thumbprint}


@pytest.fixture
def certs():
    return {"old": leaf(), "good": leaf(), "wrong_ip": leaf(ip="192.0.2.99"), "expired": leaf(end=NOW - DAY),
            "foreign": leaf(signer=ec.generate_private_key(ec.SECP256R1()))}


def test_rebinding_the_listener_in_use(certs, tmp_path):
    ep = endpoint(tmp_path)
    anchors = certstore.load_trust_anchors(ep.cert_validation)
    store = {c.thumbprint: c for c in certs.values()}
    before = [https(certs["old"].thumbprint)]

    def reasons(name, listeners_after=None, **kwargs):
        after = listeners_after or [https(certs[name].thumbprint if name in certs else name)]
        return guards.certificate_reasons(kwargs.get("ep", ep), before, after, store, NOW, anchors)

    assert reasons("good") == []
    assert reasons("old") == []                               # no re-bind
    (text,) = reasons("wrong_ip")
    assert text.startswith("this task connects through the listener */HTTPS on port 5986 (%s), and the change "
                           "would have it serve the certificate %s, which the controller would refuse: "
                           % (ep.url, certs["wrong_ip"].thumbprint))
    assert "no matching subjectAltName" in text
    assert "not valid at validation time" in reasons("expired")[0]
    assert reasons("foreign") != []
    assert "not in the host's My store" in reasons("AB" * 20)[0]
    # another HTTPS listener, or an HTTP task: not this task's connection
    other = [https(certs["old"].thumbprint), https(certs["expired"].thumbprint, 8443)]
    assert guards.certificate_reasons(ep, before + [https(certs["old"].thumbprint, 8443)], other, store, NOW,
                                      anchors) == []
    http = endpoint(tmp_path, ansible_winrm_scheme="http", ansible_port=5985, wsman_winrm_trusted_hosts=HOST)
    assert guards.certificate_reasons(http, before, [https(certs["expired"].thumbprint)], store, NOW, anchors) == []


def test_validation_off_and_pins(certs, tmp_path):
    store = {c.thumbprint: c for c in certs.values()}
    before = [https(certs["old"].thumbprint)]
    unvalidated = endpoint(tmp_path, ansible_winrm_server_cert_validation="ignore")
    assert guards.certificate_reasons(unvalidated, before, [https(certs["expired"].thumbprint)], store, NOW,
                                      certstore.load_trust_anchors(unvalidated.cert_validation)) == []
    pin = hashlib.sha256(certs["old"].der).hexdigest()
    pinned = endpoint(tmp_path, wsman_winrm_cert_fingerprint=pin)
    (text,) = guards.certificate_reasons(pinned, before, [https(certs["good"].thumbprint)], store, NOW,
                                         certstore.load_trust_anchors(pinned.cert_validation))
    assert "SHA-256 fingerprint is not the one the controller pins" in text
