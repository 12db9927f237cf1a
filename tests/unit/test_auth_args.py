"""Unit tests of wsman.winrm.auth's pure logic: desired state per scope, refusals before sending,
and the security warnings."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import auth_warnings as security_warnings, desired_auth


def args(**given):
    base = dict(scope="service", basic=None, digest=None, kerberos=None, negotiate=None, certificate=None,
                credssp=None, cbt_hardening_level=None)
    base.update(given)
    return base


def test_only_given_switches_are_managed():
    assert desired_auth(args(basic=False, credssp=False)) == {"service.auth.basic": False,
                                                              "service.auth.credssp": False}
    assert desired_auth(args(scope="client", digest=False)) == {"client.auth.digest": False}
    assert desired_auth(args()) == {}


@pytest.mark.parametrize("level", ["strict", "STRICT", " Relaxed ", "none"])
def test_cbt_level_any_case(level):
    assert desired_auth(args(cbt_hardening_level=level)) == {"service.auth.cbt_hardening_level": level.strip()}


@pytest.mark.parametrize("given, words", [
    (args(digest=True), ["digest", "2150858817", "scope: client"]),
    (args(scope="client", cbt_hardening_level="strict"), ["cbt_hardening_level", "scope: service"]),
    (args(cbt_hardening_level="maximum"), ["none, relaxed, strict", "maximum"]),
])
def test_refused_before_sending(given, words):
    with pytest.raises(AnsibleActionFail) as error:
        desired_auth(given)
    for word in words:
        assert word in error.value.message


def test_warnings_only_for_insecure_values_in_effect():
    after = {"basic": True, "credssp": True, "cbt_hardening_level": "None"}
    warnings = security_warnings("service", args(basic=True, credssp=True, cbt_hardening_level="NONE"), after)
    assert len(warnings) == 3 and "WN22-CC-000500" in warnings[0]
    # Group Policy kept Basic off (policy_controlled: skip): no warning about it.
    assert security_warnings("service", args(basic=True), {"basic": False}) == []
    assert security_warnings("service", args(basic=False), {"basic": False}) == []
    client = security_warnings("client", args(scope="client", basic=True, digest=True),
                               {"basic": True, "digest": True})
    assert "WN22-CC-000470" in client[0] and "WN22-CC-000490" in client[1]
