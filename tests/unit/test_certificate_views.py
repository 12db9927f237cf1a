# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate views info returns (module_utils/certificates.py) and the listener certificate
controls judged on them (module_utils/controls.py): pure, over certificates parsed from store blobs
laid out here from [MS-GPEF] 2.2.1.1.1."""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.wsman.winrm.plugins.module_utils import certificates, certstore, controls

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key, signer_name = issuer if issuer else (key, _name(cn))
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(signer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 900 * DAY)
            .not_valid_after(NOW + 900 * DAY).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False)
            .sign(signer_key, hashes.SHA256()))
    return key, cert


ROOT_KEY, ROOT = _ca("Contoso Root CA")
ISSUING_KEY, ISSUING = _ca("Contoso Issuing CA", (ROOT_KEY, ROOT.subject))
ORPHAN_KEY, ORPHAN = _ca("Orphan Issuing CA", (ec.generate_private_key(ec.SECP256R1()), _name("Gone Root")))


def leaf(cn="win1", days=300, issuer=(ISSUING_KEY, ISSUING), self_signed=False):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(NOW - 30 * DAY)
               .not_valid_after(NOW + days * DAY)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False))
    if self_signed:
        return builder.issuer_name(_name(cn)).sign(key, hashes.SHA256()).public_bytes(Encoding.DER)
    # The authority key identifier, which the controller's path validation requires (RFC 5280 4.2.1.1).
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()), False)
    return builder.issuer_name(issuer[1].subject).sign(issuer[0], hashes.SHA256()).public_bytes(Encoding.DER)


def element(prop_id, value):
    return struct.pack("<III", prop_id, 1, len(value)) + value


def stored(der, key=True, renewed_by=None):
    parts = b""
    if key:
        names = "c\0".encode("utf-16-le") + "p\0".encode("utf-16-le")
        parts += element(2, struct.pack("<7I", 28, 32, 1, 0, 0, 0, 1) + names)
    if renewed_by:
        parts += element(64, bytes.fromhex(renewed_by)) + element(19, b"")
    blob = parts + element(0x20, der)
    return certstore.parse_blob(blob, hashlib.sha1(der).hexdigest())


def machine(*mine, roots=(ROOT,), intermediates=(ISSUING, ORPHAN)):
    as_stored = [stored(c.public_bytes(Encoding.DER), key=False) for c in roots + intermediates]
    return certificates.MachineCertificates(my=list(mine), roots=as_stored[:len(roots)],
                                            intermediates=as_stored[len(roots):], computer_names=["win1"])


def listener(thumbprint, port=5986, hostname=""):
    return {"address": "*", "transport": "HTTPS", "port": port, "hostname": hostname, "enabled": True,
            "certificate_thumbprint": thumbprint, "source": ""}


def judge(views, listeners):
    results = controls.evaluate({"listeners": listeners, "certificates": {"listeners": views}}, "workgroup_https",
                                certificate_expiry_days=30)
    return {r["id"]: (r["status"], r["reason"]) for r in results if r["id"].startswith("listener_certificate")}


def test_trust_follows_intermediates_to_a_root():
    m = machine()
    assert [c.subject for c in m.trusted] == ["CN=Contoso Root CA", "CN=Contoso Issuing CA"]


def test_a_good_listener_certificate_passes_every_control():
    good = stored(leaf())
    m = machine(good)
    views = certificates.listener_views([listener(good.thumbprint)], m, NOW)
    ((view),) = views
    assert view["in_store"] and view["usable"] and view["days_left"] == 300 and not view["expires_within_window"]
    assert view["names_checked"] == ["win1"]
    assert set(judge(views, [listener(good.thumbprint)]).values()) == {(controls.PASS, "")}


def test_each_listener_certificate_problem_fails_its_control():
    soon = stored(leaf(days=10))
    renewed_to = stored(leaf(days=700))
    renewed = stored(leaf(days=5), renewed_by=renewed_to.thumbprint)
    wrong_name = stored(leaf(cn="web"))
    self_signed = stored(leaf(self_signed=True))
    orphan = stored(leaf(issuer=(ORPHAN_KEY, ORPHAN)))
    m = machine(soon, renewed, renewed_to, wrong_name, self_signed, orphan)
    items = [listener(soon.thumbprint, 1), listener(renewed.thumbprint, 2), listener(wrong_name.thumbprint, 3),
             listener(self_signed.thumbprint, 4), listener(orphan.thumbprint, 5), listener("AB" * 20, 6)]
    views = certificates.listener_views(items, m, NOW)
    assert views[1]["renewed"] and views[1]["newest_valid"] == renewed_to.thumbprint
    assert views[5]["in_store"] is False and views[5]["reasons"][0]["message"] == \
        "no certificate %s in LocalMachine\\My" % ("AB" * 20)
    verdicts = judge(views, items)
    assert verdicts["listener_certificate_present"] == (controls.FAIL, "port 6: no certificate %s in "
                                                                       "LocalMachine\\My" % ("AB" * 20))
    expected = ("port 1: %s expires in 10 days, limit 30 days; port 2: %s expires in 5 days (renewed by %s, "
                "which the listener does not use), limit 30 days"
                % (soon.thumbprint, renewed.thumbprint, renewed_to.thumbprint))
    assert verdicts["listener_certificate_expiry"] == (controls.FAIL, expected)
    status, reason = verdicts["listener_certificate_hostname"]
    assert status == controls.FAIL and reason.startswith("port 3: issued to DNS:web, not to win1")
    status, reason = verdicts["listener_certificate_issuer"]
    assert status == controls.FAIL and reason.count("port ") == 2
    assert "port 4: self-signed, which is not a trusted issuer" in reason
    assert "port 5: issued by CN=Orphan Issuing CA, which is not a trusted issuer" in reason


def test_the_listener_hostname_is_what_the_name_is_checked_against():
    cert = stored(leaf(cn="win1.contoso.com"))
    m = machine(cert)
    ((view),) = certificates.listener_views([listener(cert.thumbprint, hostname="win1.contoso.com")], m, NOW)
    assert view["names_checked"] == ["win1.contoso.com"] and view["usable"]


def test_controls_without_certificates_or_https():
    results = controls.evaluate({"listeners": [listener("AB" * 20)]}, "workgroup_https")
    assert {r["status"] for r in results if r["id"].startswith("listener_certificate")} == {controls.UNKNOWN}
    http_only = [dict(listener(""), transport="HTTP", port=5985)]
    results = controls.evaluate({"listeners": http_only}, "workgroup_https")
    assert {(r["status"], r["reason"]) for r in results if r["id"].startswith("listener_certificate")} == \
        {(controls.NOT_APPLICABLE, "no HTTPS listener")}


def test_tls_view():
    der = leaf()
    thumbprint = hashlib.sha1(der).hexdigest().upper()
    assert certificates.tls_view(thumbprint.lower(), der) == {"checked": True, "served_thumbprint": thumbprint,
                                                              "matches_listener": True, "error": None}
    assert certificates.tls_view("AB" * 20, der)["matches_listener"] is False
    assert certificates.tls_view("AB" * 20, None, "refused") == {"checked": True, "served_thumbprint": None,
                                                                 "matches_listener": None, "error": "refused"}


def test_a_predicted_listener_without_thumbprint_is_unknown():
    good = stored(leaf())
    m = machine(good)
    items = [listener(good.thumbprint), listener(None, port=8443)]
    views = certificates.listener_views(items, m, NOW)
    assert views[1]["in_store"] is None and views[1]["usable"] is None
    verdicts = judge(views, items)
    assert verdicts["listener_certificate_present"] == (
        controls.UNKNOWN, "Windows chooses the certificate of a listener it creates without one")
    bad = stored(leaf(days=5))
    verdicts = judge(certificates.listener_views([listener(bad.thumbprint), listener(None, 8443)], machine(bad), NOW),
                     items)
    assert verdicts["listener_certificate_expiry"][0] == controls.FAIL


# A CA that copies the distinguished names of Contoso's CAs into its own certificates: the names
# match, the keys do not, so nothing it signs may count as issued by Contoso.
IMPOSTOR_ROOT_KEY, IMPOSTOR_ROOT = _ca("Contoso Root CA")
IMPOSTOR_ISSUING_KEY, IMPOSTOR_ISSUING = _ca("Contoso Issuing CA", (IMPOSTOR_ROOT_KEY, IMPOSTOR_ROOT.subject))


def test_an_issuer_is_trusted_by_its_signature_not_by_its_name():
    forged_by_root = stored(leaf(issuer=(IMPOSTOR_ROOT_KEY, IMPOSTOR_ROOT)))
    forged_by_issuing = stored(leaf(issuer=(IMPOSTOR_ISSUING_KEY, IMPOSTOR_ISSUING)))
    genuine = stored(leaf())
    assert forged_by_root.issuer == "CN=Contoso Root CA" and forged_by_issuing.issuer == genuine.issuer
    # The impostor's intermediate sits in the CA store beside the genuine one: only the genuine one
    # chains to the Root store.
    m = machine(forged_by_root, forged_by_issuing, genuine, intermediates=(ISSUING, IMPOSTOR_ISSUING))
    trusted = [c.thumbprint for c in m.trusted]
    assert trusted == [stored(ROOT.public_bytes(Encoding.DER), key=False).thumbprint,
                       stored(ISSUING.public_bytes(Encoding.DER), key=False).thumbprint]
    view = {c["thumbprint"]: c for c in certificates.store_view(m, NOW)["my"]}
    assert view[genuine.thumbprint]["usable"] is True
    for forged in (forged_by_root, forged_by_issuing):
        assert view[forged.thumbprint]["usable"] is False
        assert [r["code"] for r in view[forged.thumbprint]["reasons"]] == [certstore.UNTRUSTED_ISSUER]
    items = [listener(forged_by_root.thumbprint, 1), listener(forged_by_issuing.thumbprint, 2),
             listener(genuine.thumbprint, 3)]
    status, reason = judge(certificates.listener_views(items, m, NOW), items)["listener_certificate_issuer"]
    assert status == controls.FAIL and "port 1: issued by CN=Contoso Root CA, which is not a trusted issuer" in reason
    assert "port 2: " in reason and "port 3" not in reason
    # Selection by issuer thumbprint follows the signature too.
    issuing = stored(ISSUING.public_bytes(Encoding.DER), key=False)
    picked = certstore.select_certificate([forged_by_issuing, genuine], certificates.criteria_for(
        None, m, {"issuer": issuing.thumbprint}), NOW, m.trusted)
    assert picked.chosen == genuine and [rejected[0] for rejected in picked.rejected] == [forged_by_issuing]


def test_a_self_signed_certificate_fails_the_issuer_control_even_when_root_holds_a_copy():
    der = leaf(self_signed=True)
    self_signed = stored(der)
    m = machine(self_signed, roots=(ROOT, x509.load_der_x509_certificate(der)))
    ((view),) = certificates.listener_views([listener(self_signed.thumbprint)], m, NOW)
    assert view["self_signed"] is True
    status, reason = judge([view], [listener(self_signed.thumbprint)])["listener_certificate_issuer"]
    assert status == controls.FAIL, reason
    assert reason == ("port 5986: %s is self-signed: its copy in the host's Root store makes the host trust it, "
                      "not the clients that connect" % self_signed.thumbprint)


def test_auto_chooses_only_what_the_controller_accepts_for_the_name_it_connects_to():
    computer_name_only = stored(leaf(cn="win1", days=800))       # valid longest, not issued to the FQDN
    fqdn = stored(leaf(cn="win1.contoso.com", days=400))
    m = machine(computer_name_only, fqdn)
    m.computer_names = ["win1", "win1.contoso.com"]
    criteria = certificates.criteria_for(None, m, {})
    assert certstore.select_certificate(m.my, criteria, NOW, m.trusted).chosen == computer_name_only
    controller = certstore.ControllerView("win1.contoso.com", (ROOT,), None, tuple(m.intermediates))
    with_controller = dataclasses.replace(criteria, controller=controller)
    picked = certstore.select_certificate(m.my, with_controller, NOW, m.trusted)
    assert picked.chosen == fqdn
    ((rejected, reasons),) = picked.rejected
    assert rejected == computer_name_only and [r.code for r in reasons] == [certstore.CONTROLLER_REFUSES]
    assert "the controller would refuse it for win1.contoso.com" in reasons[0].message
    # A bound certificate the controller refuses is replaced, and a renewal it would refuse is not followed.
    assert certstore.binding_for(computer_name_only.thumbprint, m.my, with_controller, NOW,
                                 authorities=m.trusted).thumbprint == fqdn.thumbprint
    successor = stored(leaf(cn="win1", days=900))
    renewed = stored(leaf(cn="win1.contoso.com", days=100), renewed_by=successor.thumbprint)
    m2 = machine(renewed, successor, fqdn)
    binding = certstore.binding_for(renewed.thumbprint, m2.my, with_controller, NOW, authorities=m2.trusted)
    assert (binding.action, binding.thumbprint) == (certstore.KEEP, renewed.thumbprint)
    expiring = stored(leaf(cn="win1.contoso.com", days=10), renewed_by=successor.thumbprint)
    m3 = machine(expiring, successor, fqdn)
    binding = certstore.binding_for(expiring.thumbprint, m3.my, with_controller, NOW, authorities=m3.trusted)
    assert (binding.action, binding.thumbprint) == (certstore.REPLACED, fqdn.thumbprint)
    # Nothing the controller accepts: no choice, and the explanation names the controller's refusal.
    alone = certstore.select_certificate([computer_name_only], with_controller, NOW, m.trusted)
    assert alone.chosen is None and "the controller would refuse it for win1.contoso.com" in alone.explain()
