"""wsman.winrm.cert_mapping: Windows' rules checked before sending, the certificate anti-lockout,
and the documentation agreeing with the argument spec."""

from __future__ import annotations

import datetime
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.wsman.winrm.plugins.action import cert_mapping as action
from ansible_collections.wsman.winrm.plugins.module_utils import argspecs, resources

from test_policy_spec import load_doc, normalized_doc, normalized_spec

CA = "3F2C5E0E5A1B7C8D9E0F11223344556677889900"


def test_documentation_matches_the_argument_spec():
    assert normalized_doc(load_doc("cert_mapping")) == normalized_spec(argspecs.CERT_MAPPING["argument_spec"])
    assert argspecs.CERT_MAPPING["argument_spec"]["password"]["no_log"] is True


@pytest.mark.parametrize("issuer", [CA, CA.lower(), "\u200e3f 2c 5e 0e 5a 1b 7c 8d 9e 0f 11 22 33 44 55 66 77 88 99 00",
                                    ":".join(CA[i:i + 2] for i in range(0, 40, 2))])
def test_issuer_spellings_normalize(issuer):
    assert action.normalize_issuer(issuer) == CA
    assert action.key_errors("*", "a@b", issuer) == []


@pytest.mark.parametrize("uri, subject, issuer, expected", [
    ("", "a", CA, "uri must not be empty"),
    ("http://x/a b", "a", CA, "uri must not contain whitespace"),
    ("http://x/?q", "a", CA, "uri must not contain '?'"),
    ("**", "a", CA, "uri may contain one '*'"),
    ("http://*/x", "a", CA, "uri may contain one '*'"),
    ("u" * 1024, "a", CA, "uri must be at most 1023 characters, got 1024"),
    ("*", "", CA, "subject must not be empty"),
    ("*", "a*", CA, "subject may contain one '*', only as its first character"),
    ("*", "*a*", CA, "subject may contain one '*'"),
    ("*", "s" * 1024, CA, "subject must be at most 1023"),
    ("*", "a", CA[:-1], "issuer must be the 40-hex-digit"),
    ("*", "a", "Z" * 40, "issuer must be the 40-hex-digit"),
])
def test_key_errors(uri, subject, issuer, expected):
    errors = action.key_errors(uri, subject, issuer)
    assert len(errors) == 1 and expected in errors[0], errors


@pytest.mark.parametrize("uri, subject", [("*", "*"), ("http://schemas.microsoft.com/wbem/wsman/1/*", "*.example.com"),
                                          ("u" * 1023, "s" * 1023)])
def test_valid_keys(uri, subject):
    assert action.key_errors(uri, subject, CA) == []


def test_credentials():
    secret = "p" * 256
    errors = action.credential_errors("Administrator", secret)
    assert errors == ["password must be at most 255 characters, got 256"] and secret not in errors[0]
    assert action.credential_errors("Administrator", "") == [
        "password must not be blank: Windows refuses a mapping to an account without a password"]
    assert action.credential_errors(" ", "x") == ["username must not be empty"]
    assert action.credential_errors("Administrator", "p" * 255) == []


def test_username_and_password_go_together():
    existing = resources.CertMapping({"uri": "*", "subject": "a", "issuer": CA, "user_name": "Administrator",
                                      "enabled": True})
    assert "password missing" in action.pairing_errors("Administrator", None, None)[0]
    assert "username missing" in action.pairing_errors(None, "x", None)[0]
    assert "username and password missing" in action.pairing_errors(None, None, None)[0]
    assert action.pairing_errors("administrator", None, existing) == []       # same account, any case
    assert "needs password too" in action.pairing_errors("operator", None, existing)[0]
    assert action.pairing_errors("operator", "x", existing) == []
    assert action.pairing_errors(None, "x", existing) == []                    # new password for the same account


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory):
    """A client certificate with CN ansible-client and the UPN ansible-client@localhost, like the simulator's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    upn = "ansible-client@localhost".encode()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ansible-client")]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")]))
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c" + bytes([len(upn)]) + upn),
                x509.RFC822Name("ansible@example.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp_path_factory.mktemp("pki") / "client.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_certificate_names(client_cert):
    assert action.certificate_names(client_cert) == ["ansible-client", "ansible-client@localhost", "ansible@example.com"]
    assert action.certificate_names("/nonexistent.pem") is None


def mapping(subject="ansible-client@localhost", uri="*", enabled=True):
    return resources.CertMapping({"uri": uri, "subject": subject, "issuer": CA, "user_name": "Administrator",
                                  "enabled": enabled})


def endpoint(auth="certificate", cert=None):
    return types.SimpleNamespace(auth=auth, client_cert_pem=cert)


def test_lockout_reason(client_cert):
    assert "ansible-client@localhost" in action.lockout_reason(endpoint(cert=client_cert), mapping())
    assert action.lockout_reason(endpoint(cert=client_cert), mapping(subject="*.example.com")) is None
    assert "ansible@example.com" in action.lockout_reason(endpoint(cert=client_cert), mapping(subject="*@example.com"))
    assert action.lockout_reason(endpoint(cert=client_cert), mapping(enabled=False)) is None
    assert action.lockout_reason(endpoint("ntlm", client_cert), mapping()) is None
    # a URI prefix that does not cover winrm/config is not what the task goes through
    assert action.lockout_reason(endpoint(cert=client_cert),
                                 mapping(uri="http://schemas.microsoft.com/wbem/wsman/1/wmi/*")) is None
    assert action.lockout_reason(endpoint(cert=client_cert),
                                 mapping(uri="http://schemas.microsoft.com/wbem/wsman/1/config*")) is not None
    # an unreadable certificate: assume the mapping may be the one in use
    assert "cannot read" in action.lockout_reason(endpoint(cert="/nonexistent.pem"), mapping())
