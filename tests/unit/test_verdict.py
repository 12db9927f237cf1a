# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host security verdict (module_utils/verdict.py), one row per situation the guidance names.

Sources: Microsoft Learn, "PowerShell Remoting Security Considerations"; FoxDeploy, "Is WinRM Secure
or do I need HTTPs?".
"""
from __future__ import annotations

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils.verdict import (
    HTTPS_RECOMMENDED, INSECURE, NOT_REACHABLE, SECURE_HTTP, SECURE_HTTPS, UNKNOWN, VERDICTS, security_verdict)

HTTP = {"transport": "HTTP", "port": 5985, "enabled": True}
HTTPS = {"transport": "HTTPS", "port": 5986, "enabled": True}
# Windows' defaults for the service: Kerberos and Negotiate on, Basic, Certificate, CredSSP off.
DEFAULT_AUTH = {"basic": False, "kerberos": True, "negotiate": True, "certificate": False, "credssp": False}


def facts(domain=True, listeners=(HTTP,), allow_unencrypted=False, validated=None, **auth):
    return {"domain_member": domain, "listeners": list(listeners), "allow_unencrypted": allow_unencrypted,
            "https_certificate_validated": validated, "auth": dict(DEFAULT_AUTH, **auth)}


# (situation, facts) -> (verdict, summary)
TABLE = [
    ("FoxDeploy: two domain members after quickconfig, HTTP", facts(),
     SECURE_HTTP, "secure over HTTP: domain member, Kerberos with message encryption"),
    ("domain member, HTTPS with a trusted certificate", facts(listeners=(HTTP, HTTPS), validated=True),
     SECURE_HTTPS, "secure: HTTPS with a certificate the controller validates"),
    ("workgroup host over HTTP: NTLM", facts(domain=False),
     HTTPS_RECOMMENDED, "HTTPS recommended: workgroup host, NTLM cannot verify the server"),
    ("workgroup host, HTTPS with a self-signed certificate", facts(domain=False, listeners=(HTTPS,), validated=False),
     HTTPS_RECOMMENDED, "HTTPS recommended: workgroup host, NTLM cannot verify the server"),
    ("workgroup host, HTTPS with a trusted certificate", facts(domain=False, listeners=(HTTPS,), validated=True),
     SECURE_HTTPS, "secure: HTTPS with a certificate the controller validates"),
    ("domain member with Kerberos turned off", facts(kerberos=False),
     HTTPS_RECOMMENDED, "HTTPS recommended: domain member without Kerberos, NTLM cannot verify the server"),
    ("FoxDeploy: Basic and AllowUnencrypted", facts(domain=False, allow_unencrypted=True, basic=True),
     INSECURE, "insecure: Basic and AllowUnencrypted on, credentials and data in cleartext"),
    ("Basic and AllowUnencrypted even in a domain", facts(allow_unencrypted=True, basic=True),
     INSECURE, "insecure: Basic and AllowUnencrypted on, credentials and data in cleartext"),
    ("AllowUnencrypted without Basic", facts(allow_unencrypted=True),
     INSECURE, "insecure: AllowUnencrypted on, the service accepts unencrypted data over HTTP"),
    ("AllowUnencrypted with HTTPS only: TLS still encrypts",
     facts(listeners=(HTTPS,), allow_unencrypted=True, basic=True, validated=True),
     SECURE_HTTPS, "secure: HTTPS with a certificate the controller validates"),
    ("workgroup host, Basic over HTTPS without a validated certificate",
     facts(domain=False, listeners=(HTTPS,), validated=False, basic=True, negotiate=False, kerberos=False),
     HTTPS_RECOMMENDED, "HTTPS recommended: workgroup host, the server's identity is not verified"),
    ("domain membership not read", facts(domain=None),
     UNKNOWN, "unknown: without domain membership, Kerberos cannot be assumed"),
    ("no listener (a workstation)", facts(listeners=()), NOT_REACHABLE, "not reachable: no enabled listener"),
    ("disabled listener only", facts(listeners=({"transport": "HTTP", "port": 5985, "enabled": False},)),
     NOT_REACHABLE, "not reachable: no enabled listener"),
    ("every auth method off", facts(kerberos=False, negotiate=False),
     NOT_REACHABLE, "not reachable: every service authentication method is off"),
]


@pytest.mark.parametrize("situation, given, code, summary", TABLE, ids=[row[0] for row in TABLE])
def test_verdict_table(situation, given, code, summary):
    verdict = security_verdict(given)
    assert (verdict.code, verdict.summary) == (code, summary)
    assert verdict.code in VERDICTS


def test_evidence_and_changes_say_why_and_what():
    result = security_verdict(facts(domain=False)).to_dict()
    assert result["evidence"] == ["workgroup host (not a domain member)", "HTTP listener on port 5985",
                                  "service authentication on: kerberos, negotiate", "AllowUnencrypted off"]
    assert result["changes"] == ["add an HTTPS listener with a certificate from a CA the controller trusts"]
    assert result["best_possible"] == SECURE_HTTPS and result["recommended_profile"] == "workgroup_https"
    assert result["sources"] == ['Microsoft Learn, "PowerShell Remoting Security Considerations"',
                                 'FoxDeploy, "Is WinRM Secure or do I need HTTPs?"']


def test_insecure_says_what_to_turn_off():
    result = security_verdict(facts(domain=False, allow_unencrypted=True, basic=True))
    assert result.changes == ("set AllowUnencrypted to false (winrm/config/service)",
                              "turn Basic off, or use it only over HTTPS")


def test_self_signed_https_asks_for_a_validated_certificate():
    result = security_verdict(facts(domain=False, listeners=(HTTPS,), validated=False))
    assert result.changes[0].startswith("give the HTTPS listener a certificate the controller validates")
    assert "HTTPS listener on port 5986, certificate not validated by the controller" in result.evidence


def test_domain_member_notes_ntlm_fallback_and_profile():
    result = security_verdict(facts())
    assert "connect by name: to an IP address Kerberos is impossible and Negotiate falls back to NTLM" in result.evidence
    assert result.changes == () and result.best_possible == SECURE_HTTP
    assert result.recommended_profile == "domain_kerberos"


def test_workgroup_https_with_http_still_open_says_to_close_it():
    result = security_verdict(facts(domain=False, listeners=(HTTP, HTTPS), validated=True))
    assert result.code == SECURE_HTTPS
    assert result.changes == ("remove the HTTP listener, or keep every client on HTTPS: over HTTP, NTLM cannot "
                              "verify the server",)


def test_credssp_is_evidence_and_a_change_whatever_the_verdict():
    result = security_verdict(facts(credssp=True))
    assert result.code == SECURE_HTTP
    assert "CredSSP on: the user's credentials are delegated to the host" in result.evidence
    assert result.changes[0].startswith("turn CredSSP off unless a second hop needs it")


@pytest.mark.parametrize("given, message", [
    ([], "facts must be a mapping"),
    ({"domain_member": "yes"}, "domain_member must be true or false"),
    ({"listeners": "HTTP"}, "listeners must be a list"),
    ({"listeners": [{"transport": "FTP"}]}, r"listeners\[0\].transport must be HTTP or HTTPS"),
    ({"listeners": ["x"]}, r"listeners\[0\] must be a mapping"),
    ({"auth": {"basic": "true"}}, "auth.basic must be true or false"),
    ({"auth": "kerberos"}, "auth must map"),
    ({"allow_unencrypted": 1}, "allow_unencrypted must be true or false"),
])
def test_bad_facts_name_the_field(given, message):
    with pytest.raises(ValueError, match=message):
        security_verdict(given)
