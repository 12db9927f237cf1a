# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate store blobs, listener fitness, selection and renewal chains (module_utils/certstore.py).

The blobs here are laid out by hand from [MS-GPEF] 2.2.1.1.1.1 / 2.2.1.1.1.1.1 / 2.2.1.1.1.2
(``spec_element``, ``spec_key_prov_info`` below), never with the module's own builder, so a
shared misreading of the specification cannot make both sides agree.
"""
from __future__ import annotations

import datetime
import hashlib
import ipaddress
import random
import struct

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.wsman.winrm.plugins.module_utils import certstore
from ansible_collections.wsman.winrm.plugins.module_utils.certstore import (
    CertificateBlobError, Criteria, build_blob, follow_renewals, listener_reasons, parse_blob, parse_store,
    select_certificate)

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


# ---------------------------------------------------------------------------------------------
# Blob layout written from the specification, independently of certstore
# ---------------------------------------------------------------------------------------------

def spec_element(prop_id: int, value: bytes, reserved: int = 1) -> bytes:
    """PropertyID (4, LE), Reserved (4, LE, "MUST be set to 0x01 0x00 0x00 0x00"), Length (4, LE), Value."""
    return prop_id.to_bytes(4, "little") + reserved.to_bytes(4, "little") + len(value).to_bytes(4, "little") + value


def spec_certificate(der: bytes) -> bytes:
    """2.2.1.1.1.2: bytes 20 00 00 00 01 00 00 00, Length (4, LE), the DER certificate."""
    return bytes([0x20, 0, 0, 0, 1, 0, 0, 0]) + struct.pack("<I", len(der)) + der


def utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\0\0"


def spec_key_prov_info(container: str, provider: str) -> bytes:
    """2.2.1.1.1.1.1: container offset, provider offset, provider type 1, flags 0, reserved 8 bytes, key spec 1."""
    names_at = 4 * 7
    container_raw = utf16z(container)
    return (struct.pack("<II", names_at, names_at + len(container_raw)) + struct.pack("<II", 1, 0)
            + b"\0" * 8 + struct.pack("<I", 1) + container_raw + utf16z(provider))


def spec_eku(*oids: str) -> bytes:
    """DER SEQUENCE OF OBJECT IDENTIFIER, from cryptography's own encoder (RFC 5280 4.2.1.12)."""
    return x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in oids]).public_bytes()


# ---------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 3650 * DAY)
            .not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


CA_KEY, CA_CERT = make_ca("Contoso Issuing CA")
EVIL_KEY, EVIL_CERT = make_ca("Untrusted CA")


def make_leaf(cn="win1.contoso.com", dns=("win1.contoso.com", "win1"), ips=(), ekus=(SERVER_AUTH,),
              start=NOW - 30 * DAY, end=NOW + 335 * DAY, issuer=(CA_KEY, CA_CERT), self_signed=False,
              extensions=()) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end))
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ekus is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    if self_signed:
        return builder.issuer_name(_name(cn)).sign(key, hashes.SHA256()).public_bytes(_DER)
    return builder.issuer_name(issuer[1].subject).sign(issuer[0], hashes.SHA256()).public_bytes(_DER)


_DER = Encoding.DER


def sha1(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest().upper()


def stored(der: bytes, private_key=True, **kwargs) -> certstore.StoredCertificate:
    """A certificate as the store holds it, through the blob (spec layout) and the parser."""
    parts = []
    if private_key:
        parts.append(spec_element(2, spec_key_prov_info("te-WinRM-1234", "Microsoft Software Key Storage Provider")))
    if kwargs.get("renewed_by"):
        parts.append(spec_element(64, bytes.fromhex(kwargs["renewed_by"])))
    if kwargs.get("archived"):
        parts.append(spec_element(19, b""))         # ARCHIVED: no data
    if kwargs.get("template"):
        parts.append(spec_element(21, utf16z(kwargs["template"])))
    if "eku_property" in kwargs:
        parts.append(spec_element(9, spec_eku(*kwargs["eku_property"])))
    return parse_blob(b"".join(parts) + spec_certificate(der), sha1(der))


# ---------------------------------------------------------------------------------------------
# parse_blob against hand-built blobs
# ---------------------------------------------------------------------------------------------

TEMPLATE_NAME_EXTENSION = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2"),
                                                     b"\x1e\x12" + "WebServer".encode("utf-16-be"))
LEAF = make_leaf(extensions=[TEMPLATE_NAME_EXTENSION])
RENEWAL_TARGET = "AB" * 20


def full_blob(der: bytes = LEAF) -> bytes:
    return b"".join([
        spec_element(2, spec_key_prov_info("te-WinRM-1234", "Microsoft Software Key Storage Provider")),
        spec_element(3, hashlib.sha1(der).digest()),
        spec_element(9, spec_eku(SERVER_AUTH.dotted_string, CLIENT_AUTH.dotted_string)),
        spec_element(11, utf16z("WinRM HTTPS")),
        spec_element(21, utf16z("Machine")),
        spec_element(64, bytes.fromhex(RENEWAL_TARGET)),
        spec_element(92, b"\x01\x02\x03"),          # an id the parser does not interpret
        spec_element(1000, b""),                    # and one with an empty value
        spec_certificate(der),
    ])


def test_parse_every_property_of_a_spec_blob():
    cert = parse_blob(full_blob(), sha1(LEAF).lower())
    assert cert.thumbprint == sha1(LEAF)
    assert cert.subject == "CN=win1.contoso.com" and cert.subject_cn == "win1.contoso.com"
    assert cert.issuer == "CN=Contoso Issuing CA" and cert.issuer_cn == "Contoso Issuing CA"
    assert cert.dns_names == ("win1.contoso.com", "win1")
    assert cert.sans == ("DNS:win1.contoso.com", "DNS:win1")
    assert cert.not_before == NOW - 30 * DAY and cert.not_after == NOW + 335 * DAY
    assert cert.has_private_key and cert.key_container == "te-WinRM-1234"
    assert cert.key_provider == "Microsoft Software Key Storage Provider"
    assert cert.ekus_extension == (SERVER_AUTH.dotted_string,)
    assert cert.ekus_property == (SERVER_AUTH.dotted_string, CLIENT_AUTH.dotted_string)
    assert cert.ekus == (SERVER_AUTH.dotted_string,)        # both restrict: the intersection
    assert cert.friendly_name == "WinRM HTTPS"
    assert cert.template == "Machine" and cert.template_extension == "WebServer"
    assert cert.renewed_by == RENEWAL_TARGET
    assert cert.unknown_properties == ((92, b"\x01\x02\x03"), (1000, b""))
    assert cert.der == LEAF and not cert.self_signed
    assert cert.days_left(NOW) == 335
    view = cert.to_dict(NOW)
    assert view["days_left"] == 335 and view["unknown_properties"] == [92, 1000]
    assert view["template"] == "Machine" and view["renewed_by"] == RENEWAL_TARGET


def test_blob_with_only_the_certificate():
    der = make_leaf()
    cert = parse_blob(spec_certificate(der), sha1(der))
    assert not cert.has_private_key and cert.friendly_name is None and cert.template is None
    assert cert.renewed_by is None and cert.ekus_property is None and cert.unknown_properties == ()


def test_build_blob_writes_the_spec_layout_and_parses_back():
    built = build_blob(LEAF, key_container="te-WinRM-1234", ekus=[SERVER_AUTH.dotted_string, CLIENT_AUTH.dotted_string],
                       friendly_name="WinRM HTTPS", template="Machine", renewed_by=RENEWAL_TARGET.lower(),
                       extra_properties={92: b"\x01\x02\x03", 1000: b""})
    assert built == full_blob()
    again = parse_blob(built, sha1(LEAF))
    assert again == parse_blob(full_blob(), sha1(LEAF))


def test_empty_eku_property_disables_every_purpose():
    der = make_leaf()
    cert = stored(der, eku_property=())
    assert cert.ekus == ()
    assert [r.code for r in listener_reasons(cert, NOW)] == [certstore.NO_SERVER_AUTH]


def test_every_truncation_is_a_blob_error_naming_the_certificate():
    blob = full_blob()
    thumb = sha1(LEAF)
    for size in range(len(blob)):
        with pytest.raises(CertificateBlobError) as caught:
            parse_blob(blob[:size], thumb)
        assert caught.value.thumbprint == thumb and thumb in str(caught.value)


def test_corrupted_blobs_never_raise_anything_else():
    blob = bytearray(full_blob())
    rng = random.Random(20260301)
    for _round in range(400):
        damaged = bytearray(blob)
        for _hit in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            parse_blob(bytes(damaged), sha1(LEAF))
        except CertificateBlobError:
            pass


@pytest.mark.parametrize("blob, name, message", [
    (spec_element(11, utf16z("x")) + spec_certificate(LEAF), "00" * 20, "not the registry key's name"),
    (spec_certificate(LEAF), "not-a-thumbprint", "not a SHA-1 thumbprint"),
    (spec_element(11, utf16z("x"), reserved=2) + spec_certificate(LEAF), None, "Reserved=2"),
    (spec_certificate(LEAF) + spec_element(11, utf16z("x")), None, "follows the encoded certificate"),
    (spec_certificate(LEAF) + spec_certificate(LEAF), None, "two encoded certificates"),
    (spec_element(11, utf16z("x")) * 2 + spec_certificate(LEAF), None, "appears twice"),
    (spec_element(11, utf16z("x")), None, "no encoded certificate"),
    (spec_element(64, b"\x01" * 19) + spec_certificate(LEAF), None, "RENEWAL is 19 bytes"),
    (spec_element(2, b"\0" * 10) + spec_certificate(LEAF), None, "KEY_PROV_INFO is 10 bytes"),
    (spec_element(2, struct.pack("<7I", 500, 28, 1, 0, 0, 0, 1)) + spec_certificate(LEAF), None,
     "container name offset 500 is outside"),
    (spec_element(9, b"\x31\x00") + spec_certificate(LEAF), None, "not a DER SEQUENCE"),
    (spec_element(9, b"\x30\x05\x06\x03\x2b") + spec_certificate(LEAF), None, "truncated"),
    (spec_element(11, b"\x01\x02\x03", reserved=1)[:-1] + spec_certificate(LEAF), None, "declares"),
])
def test_malformed_blobs(blob, name, message):
    with pytest.raises(CertificateBlobError, match=message):
        parse_blob(blob, sha1(LEAF) if name is None else name)


def test_undecodable_certificate_with_matching_name():
    junk = b"\x30\x03\x02\x01\x00"
    with pytest.raises(CertificateBlobError, match="does not decode"):
        parse_blob(spec_certificate(junk), sha1(junk))


def test_non_binary_value():
    with pytest.raises(CertificateBlobError, match="not binary"):
        parse_blob("AAAA", sha1(LEAF))


def test_parse_store_reports_bad_blobs_and_keeps_the_rest():
    good, other = make_leaf(), make_leaf(cn="win2")
    certificates, errors = parse_store({sha1(good): spec_certificate(good), sha1(other): spec_certificate(other),
                                        "11" * 20: b"\x20\x00\x00"})
    assert sorted(c.thumbprint for c in certificates) == sorted([sha1(good), sha1(other)])
    assert len(errors) == 1 and errors[0].thumbprint == "11" * 20


# ---------------------------------------------------------------------------------------------
# Fit for an HTTPS listener
# ---------------------------------------------------------------------------------------------

def codes(cert, **kwargs):
    return [r.code for r in listener_reasons(cert, kwargs.pop("now", NOW), **kwargs)]


def test_a_good_certificate_has_no_reasons():
    cert = stored(make_leaf())
    assert codes(cert, names=["win1.contoso.com"], trusted_issuers=["Contoso Issuing CA"]) == []


@pytest.mark.parametrize("leaf, private_key, expected", [
    (dict(ekus=(CLIENT_AUTH,)), True, [certstore.NO_SERVER_AUTH]),
    (dict(ekus=None), True, [certstore.NO_SERVER_AUTH]),
    ({}, False, [certstore.NO_PRIVATE_KEY]),
    (dict(start=NOW - 400 * DAY, end=NOW - DAY), True, [certstore.EXPIRED]),
    (dict(start=NOW + DAY, end=NOW + 400 * DAY), True, [certstore.NOT_YET_VALID]),
    (dict(cn="other", dns=("other.contoso.com",)), True, [certstore.NAME_MISMATCH]),
    (dict(issuer=(EVIL_KEY, EVIL_CERT)), True, [certstore.UNTRUSTED_ISSUER]),
    (dict(self_signed=True), True, [certstore.UNTRUSTED_ISSUER]),
    (dict(ekus=(CLIENT_AUTH,), cn="x", dns=(), start=NOW - 9 * DAY, end=NOW - DAY), False,
     [certstore.NO_SERVER_AUTH, certstore.NO_PRIVATE_KEY, certstore.EXPIRED, certstore.NAME_MISMATCH]),
])
def test_listener_reasons(leaf, private_key, expected):
    cert = stored(make_leaf(**leaf), private_key=private_key)
    assert codes(cert, names=["win1.contoso.com"], trusted_issuers=["Contoso Issuing CA"]) == expected


def test_reason_texts_say_what_is_wrong():
    cert = stored(make_leaf(cn="other", dns=("other.contoso.com",), issuer=(EVIL_KEY, EVIL_CERT)))
    texts = [r.message for r in listener_reasons(cert, NOW, ["win1.contoso.com"], ["Contoso Issuing CA"])]
    assert texts == ["issued to DNS:other.contoso.com, not to win1.contoso.com",
                     "issued by CN=Untrusted CA, which is not a trusted issuer"]


@pytest.mark.parametrize("leaf, name, matches", [
    (dict(dns=("*.contoso.com",)), "win9.contoso.com", True),
    (dict(dns=("*.contoso.com",)), "a.b.contoso.com", False),
    (dict(dns=("*.contoso.com",)), "contoso.com", False),
    (dict(dns=("WIN1.Contoso.COM",)), "win1.contoso.com.", True),
    (dict(dns=(), cn="win1.contoso.com"), "WIN1.CONTOSO.COM", True),      # no SAN: the subject CN
    (dict(dns=(), ips=("192.0.2.10",)), "192.0.2.10", True),
    (dict(dns=(), ips=("2001:db8::10",)), "[2001:db8::10]", True),
    (dict(dns=(), cn="192.0.2.10"), "192.0.2.10", False),               # an IP needs an IP SAN
    (dict(dns=("win1",)), "WIN1", True),                                # the computer name
])
def test_name_matching(leaf, name, matches):
    cert = stored(make_leaf(**leaf))
    assert (certstore.name_matches(cert, [name]) == name) is matches


def test_issuer_trusted_by_dn_thumbprint_or_certificate():
    cert = stored(make_leaf())
    ca = parse_blob(spec_certificate(CA_CERT.public_bytes(_DER)), sha1(CA_CERT.public_bytes(_DER)))
    assert codes(cert, trusted_issuers=["cn=contoso issuing ca"]) == []
    assert codes(cert, trusted_issuers=[ca.thumbprint.lower()], authorities=[ca]) == []
    assert codes(cert, trusted_issuers=[ca.thumbprint]) == [certstore.UNTRUSTED_ISSUER]   # CA not in the store
    assert codes(cert, trusted_issuers=[ca]) == []
    assert codes(cert) == []                                                                # None: not checked
    self_signed = stored(make_leaf(self_signed=True))
    assert self_signed.self_signed
    assert codes(self_signed, trusted_issuers=[self_signed.thumbprint]) == []


def test_days_left_counts_whole_days_and_goes_negative():
    cert = stored(make_leaf(start=NOW - 10 * DAY, end=NOW + 5 * DAY + datetime.timedelta(hours=3)))
    assert cert.days_left(NOW) == 5
    assert cert.days_left(NOW + 7 * DAY) == -2
    assert cert.days_left(NOW.replace(tzinfo=None)) == 5


# ---------------------------------------------------------------------------------------------
# Selection and renewals
# ---------------------------------------------------------------------------------------------

def test_select_picks_the_longest_valid_and_explains_the_rest():
    short = stored(make_leaf(end=NOW + 40 * DAY))
    long_ = stored(make_leaf(end=NOW + 700 * DAY))
    expired = stored(make_leaf(start=NOW - 900 * DAY, end=NOW - DAY))
    client_only = stored(make_leaf(ekus=(CLIENT_AUTH,), end=NOW + 900 * DAY))
    wrong_name = stored(make_leaf(cn="web", dns=("web.contoso.com",), end=NOW + 900 * DAY))
    pool = [short, expired, client_only, long_, wrong_name]
    selection = select_certificate(pool, Criteria(names=("win1.contoso.com",)), NOW)
    assert selection.chosen == long_
    assert selection.candidates == (long_, short)
    rejected = {c.thumbprint: [r.code for r in reasons] for c, reasons in selection.rejected}
    assert rejected == {expired.thumbprint: [certstore.EXPIRED], client_only.thumbprint: [certstore.NO_SERVER_AUTH],
                        wrong_name.thumbprint: [certstore.NAME_MISMATCH]}


def test_select_is_deterministic_on_ties():
    end = NOW + 100 * DAY
    a, b = stored(make_leaf(end=end)), stored(make_leaf(end=end))
    newer = stored(make_leaf(end=end, start=NOW - DAY))
    assert select_certificate([a, b], Criteria(), NOW).chosen.thumbprint == min(a.thumbprint, b.thumbprint)
    assert select_certificate([b, a], Criteria(), NOW).chosen.thumbprint == min(a.thumbprint, b.thumbprint)
    assert select_certificate([a, newer, b], Criteria(), NOW).chosen == newer     # later not_before wins the tie


def test_select_criteria_issuer_template_min_days():
    ours = stored(make_leaf(end=NOW + 20 * DAY), template="WinRMHTTPS")
    theirs = stored(make_leaf(end=NOW + 300 * DAY, issuer=(EVIL_KEY, EVIL_CERT)), template="WinRMHTTPS")
    untemplated = stored(make_leaf(end=NOW + 300 * DAY))
    pool = [ours, theirs, untemplated]
    assert select_certificate(pool, Criteria(issuer="Contoso Issuing CA", template="winrmhttps"), NOW).chosen == ours
    none = select_certificate(pool, Criteria(issuer="Contoso Issuing CA", template="WinRMHTTPS", min_days_left=30), NOW)
    assert none.chosen is None
    text = none.explain()
    assert text.startswith("no certificate qualifies:")
    assert "%s (CN=win1.contoso.com): 20 days left, 30 required" % ours.thumbprint in text
    assert "issued by CN=Untrusted CA, not Contoso Issuing CA" in text
    assert "template none, not WinRMHTTPS" in text
    assert select_certificate([], Criteria(), NOW).explain() == "no certificate qualifies: the store holds none"


def test_template_extension_counts_for_selection():
    cert = parse_blob(full_blob(), sha1(LEAF))
    assert select_certificate([cert], Criteria(template="WebServer"), NOW).chosen == cert


def _chain(*specs):
    """specs: (end offset in days, renewed_by index or None); returns the stored certificates."""
    ders = [make_leaf(start=NOW - 400 * DAY + i * DAY, end=NOW + end * DAY) for i, (end, _next) in enumerate(specs)]
    thumbs = [sha1(d) for d in ders]
    return [stored(d, renewed_by=None if nxt is None else (thumbs[nxt] if isinstance(nxt, int) else nxt))
            for d, (_end, nxt) in zip(ders, specs)]


def test_follow_renewals_to_the_newest_valid():
    old, mid, new = _chain((-10, 1), (5, 2), (400, None))
    result = follow_renewals(old.thumbprint.lower(), [new, old, mid], NOW)
    assert result.chain == (old.thumbprint, mid.thumbprint, new.thumbprint)
    assert result.newest_valid == new.thumbprint and result.problem is None


def test_follow_renewals_skips_a_successor_not_yet_valid():
    old, future = _chain((100, 1), (500, None))
    future = stored(make_leaf(start=NOW + DAY, end=NOW + 500 * DAY))
    old = stored(old.der, renewed_by=future.thumbprint)
    result = follow_renewals(old.thumbprint, [old, future], NOW)
    assert result.chain == (old.thumbprint, future.thumbprint) and result.newest_valid == old.thumbprint


def test_follow_renewals_survives_cycles_and_missing_links():
    a, b = _chain((100, 1), (200, 0))
    cycle = follow_renewals(a.thumbprint, [a, b], NOW)
    assert cycle.chain == (a.thumbprint, b.thumbprint) and "cycle" in cycle.problem
    assert cycle.newest_valid == b.thumbprint
    (lonely,) = _chain((100, "CD" * 20))
    missing = follow_renewals(lonely.thumbprint, [lonely], NOW)
    assert missing.chain == (lonely.thumbprint,) and missing.newest_valid == lonely.thumbprint
    assert missing.problem == "%s was renewed by %s, which is not in the store" % (lonely.thumbprint, "CD" * 20)
    gone = follow_renewals("EF" * 20, [lonely], NOW)
    assert gone.chain == () and gone.newest_valid is None and "not in the store" in gone.problem
    (expired,) = _chain((-1, None))
    assert follow_renewals(expired.thumbprint, [expired], NOW).newest_valid is None


def test_thumbprint_normalization():
    assert certstore.normalize_thumbprint("ab cd" + "0" * 36) == "ABCD" + "0" * 36
    assert certstore.normalize_thumbprint("\u200e" + "a" * 40) == "A" * 40
    with pytest.raises(ValueError, match="40 hexadecimal digits"):
        certstore.normalize_thumbprint("xyz")


def test_listener_fitness_is_the_info_view():
    good = stored(make_leaf())
    view = certstore.listener_fitness(good, NOW, ["win1.contoso.com"], ["Contoso Issuing CA"])
    assert view["usable"] is True and view["reasons"] == [] and view["thumbprint"] == good.thumbprint
    bad = stored(make_leaf(ekus=(CLIENT_AUTH,)), private_key=False)
    view = certstore.listener_fitness(bad, NOW)
    assert view["usable"] is False
    assert [r["code"] for r in view["reasons"]] == [certstore.NO_SERVER_AUTH, certstore.NO_PRIVATE_KEY]
    assert view["reasons"][1]["message"] == "no private key is associated with it in the store"


def test_store_key():
    assert certstore.store_key("Root") == "SOFTWARE\\Microsoft\\SystemCertificates\\Root\\Certificates"


# ---------------------------------------------------------------------------------------------
# Archived certificates and the controller's view
# ---------------------------------------------------------------------------------------------

def test_archived_property_is_read_and_selection_skips_it():
    newer = stored(make_leaf(end=NOW + 300 * DAY))
    old = stored(make_leaf(end=NOW + 600 * DAY), renewed_by=newer.thumbprint, archived=True)
    assert old.archived and not newer.archived and old.unknown_properties == ()
    assert old.to_dict(NOW)["archived"] is True
    selection = select_certificate([old, newer], Criteria(), NOW)
    assert selection.chosen == newer
    ((cert, reasons),) = selection.rejected
    assert cert == old and [r.code for r in reasons] == [certstore.ARCHIVED]
    assert "renewed by %s" % newer.thumbprint in reasons[0].message


def _leaf_with_authority_key(**kwargs) -> bytes:
    """A leaf as CAs issue them (with the Authority Key Identifier path validation follows)."""
    issuer = kwargs.pop("issuer", (CA_KEY, CA_CERT))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key())
    return make_leaf(issuer=issuer, extensions=[aki], **kwargs)


def test_controller_reasons_follow_the_trust_the_session_uses():
    good = stored(_leaf_with_authority_key())
    anchors = [CA_CERT]
    assert certstore.controller_reasons(good, NOW, "win1.contoso.com", anchors) == []
    assert certstore.controller_reasons(good, NOW, "win1.contoso.com", None) == []   # validation off

    def why(cert, host="win1.contoso.com", **kwargs):
        return [r.message for r in certstore.controller_reasons(cert, NOW, host, anchors, **kwargs)]

    assert why(good, "other.contoso.com") == ["the controller would refuse it for other.contoso.com: "
                                              "validation failed: leaf certificate has no matching subjectAltName"]
    expired = stored(_leaf_with_authority_key(start=NOW - 90 * DAY, end=NOW - DAY))
    assert "not valid at validation time" in why(expired)[0]
    foreign = stored(_leaf_with_authority_key(issuer=(EVIL_KEY, EVIL_CERT)))
    assert why(foreign) == ["the controller would refuse it for win1.contoso.com: no CA the controller trusts "
                            "(its CA bundle) issued it; its issuer is CN=Untrusted CA"]
    by_address = stored(_leaf_with_authority_key(ips=("192.0.2.7",)))
    assert why(by_address, "192.0.2.7") == [] and why(good, "192.0.2.7") != []
    pin = hashlib.sha256(good.der).hexdigest()
    assert why(good, pin_sha256=pin.upper()) == []
    assert "pins" in why(good, pin_sha256="00" * 32)[0]
    assert [r.code for r in certstore.controller_reasons(good, NOW, "x", None, pin_sha256="00" * 32)] == \
        [certstore.CONTROLLER_REFUSES]


def test_load_trust_anchors(tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding as Enc

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(CA_CERT.public_bytes(Enc.PEM) + EVIL_CERT.public_bytes(Enc.PEM))
    assert [c.subject for c in certstore.load_trust_anchors(str(bundle))] == [CA_CERT.subject, EVIL_CERT.subject]
    assert certstore.load_trust_anchors(False) is None
    assert len(certstore.load_trust_anchors(True)) > 50          # the bundle requests trusts by default


# ---------------------------------------------------------------------------------------------
# The binding an HTTPS listener should have
# ---------------------------------------------------------------------------------------------

def test_binding_for_a_new_listener_is_the_longest_valid_match():
    short, long_ = stored(make_leaf(end=NOW + 90 * DAY)), stored(make_leaf(end=NOW + 700 * DAY))
    binding = certstore.binding_for(None, [short, long_], Criteria(names=("win1",)), NOW)
    assert (binding.action, binding.thumbprint, binding.changes) == (certstore.SELECTED, long_.thumbprint, True)
    assert binding.reason.startswith("no certificate is bound yet: %s, valid until" % long_.thumbprint)


def test_binding_keeps_a_current_certificate_that_qualifies():
    short, long_ = stored(make_leaf(end=NOW + 90 * DAY)), stored(make_leaf(end=NOW + 700 * DAY))
    binding = certstore.binding_for(short.thumbprint.lower(), [short, long_], Criteria(), NOW)
    assert (binding.action, binding.thumbprint, binding.changes) == (certstore.KEEP, short.thumbprint, False)
    assert binding.reason == "%s qualifies (90 days left)" % short.thumbprint


def test_binding_follows_the_renewal_chain():
    old, mid, new = _chain((-10, 1), (5, 2), (400, None))
    binding = certstore.binding_for(old.thumbprint, [old, mid, new], Criteria(), NOW)
    assert (binding.action, binding.thumbprint) == (certstore.RENEWED, new.thumbprint)
    assert binding.chain == (old.thumbprint, mid.thumbprint, new.thumbprint)
    assert "was renewed" in binding.reason


def test_binding_replaces_a_gone_expiring_or_unfit_certificate():
    other = stored(make_leaf(end=NOW + 500 * DAY))
    expiring = stored(make_leaf(end=NOW + 10 * DAY))
    expired = stored(make_leaf(start=NOW - 400 * DAY, end=NOW - DAY))
    foreign = stored(make_leaf(end=NOW + 900 * DAY, issuer=(EVIL_KEY, EVIL_CERT)))
    pool = [other, expiring, expired, foreign]
    gone = certstore.binding_for("AB" * 20, pool, Criteria(issuer="Contoso Issuing CA"), NOW)
    assert (gone.action, gone.thumbprint) == (certstore.REPLACED, other.thumbprint)
    assert gone.reason.startswith("the bound certificate %s is not in the store" % ("AB" * 20))
    soon = certstore.binding_for(expiring.thumbprint, pool, Criteria(issuer="Contoso Issuing CA"), NOW, 30)
    assert (soon.action, soon.thumbprint) == (certstore.REPLACED, other.thumbprint)
    assert "10 days left, 30 required" in soon.reason
    unfit = certstore.binding_for(foreign.thumbprint, pool, Criteria(issuer="Contoso Issuing CA"), NOW)
    assert (unfit.action, unfit.thumbprint) == (certstore.REPLACED, other.thumbprint)
    assert "issued by CN=Untrusted CA, not Contoso Issuing CA" in unfit.reason


def test_binding_keeps_an_expiring_certificate_when_nothing_better_exists():
    expiring = stored(make_leaf(end=NOW + 10 * DAY))
    binding = certstore.binding_for(expiring.thumbprint, [expiring], Criteria(), NOW, 30)
    assert (binding.action, binding.thumbprint, binding.changes) == (certstore.KEEP, expiring.thumbprint, False)
    assert "no certificate qualifies to replace it" in binding.reason


def test_binding_without_any_candidate_explains_each_certificate():
    expired = stored(make_leaf(start=NOW - 400 * DAY, end=NOW - DAY))
    client_only = stored(make_leaf(ekus=(CLIENT_AUTH,)))
    binding = certstore.binding_for(expired.thumbprint, [expired, client_only], Criteria(), NOW)
    assert binding.thumbprint is None and binding.action == certstore.REPLACED and not binding.changes
    text = binding.explain()
    assert "no certificate qualifies:" in text
    assert "- %s (CN=win1.contoso.com): expired on" % expired.thumbprint in text
    assert "- %s (CN=win1.contoso.com): not marked for Server Authentication" % client_only.thumbprint in text


def test_the_listener_hostname_must_be_the_cn():
    by_cn = stored(make_leaf(cn="win1.contoso.com", dns=("win1.contoso.com",)))
    by_san = stored(make_leaf(cn="other", dns=("win1.contoso.com",), end=NOW + 900 * DAY))
    criteria = Criteria(names=("win1.contoso.com",), common_name="win1.contoso.com")
    selection = select_certificate([by_cn, by_san], criteria, NOW)
    assert selection.chosen == by_cn      # by_san is valid longer, but Windows would refuse its CN
    ((cert, reasons),) = selection.rejected
    assert cert == by_san and [r.code for r in reasons] == [certstore.CN_MISMATCH]
    assert reasons[0].message == "its CN is other, and Windows requires the listener Hostname win1.contoso.com as the CN"
