"""Unit tests of wsman.winrm.service's checks made before sending, and of the base's rule that only
lockout reasons a change introduces count."""
from __future__ import annotations

import types

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import (
    desired_service, normalise_thumbprint, validate_ip_filter, validate_root_sddl)
from ansible_collections.wsman.winrm.plugins.module_utils import resources
from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import WSManAction


@pytest.mark.parametrize("text, version", [
    ("*", 4), ("", 4), (" * ", 4), ("10.0.0.1-10.0.0.254", 4), ("10.0.0.1-10.0.0.1, 192.168.1.1-192.168.1.9", 4),
    ("fe80::1-fe80::ffff", 6), ("::1-::1", 6),
])
def test_valid_filters(text, version):
    assert validate_ip_filter("f", text, version) == text.strip()


@pytest.mark.parametrize("text, version, words", [
    ("10.0.0.1", 4, ["not a range", "IP1-IP2", "A-A"]),
    ("10.0.0.9-10.0.0.1", 4, ["larger address first"]),
    ("10.0.0.1-", 4, ["two IPv4 addresses"]),
    ("10.0.0.1-10.0.0.2,", 4, ["not a range"]),
    ("*,10.0.0.1-10.0.0.2", 4, ["* must stand alone"]),
    ("::1-::2", 4, ["not an IPv4 range"]),
    ("10.0.0.1-10.0.0.2", 6, ["not an IPv6 range"]),
    ("host1-host2", 4, ["two IPv4 addresses"]),
])
def test_invalid_filters_explain_the_syntax(text, version, words):
    with pytest.raises(AnsibleActionFail) as error:
        validate_ip_filter("ipv4_filter", text, version)
    message = error.value.message
    assert message.startswith("ipv4_filter: ") and "0x803380EC" in message
    for word in words:
        assert word in message


def test_sddl_needs_owner_and_dacl():
    good = "O:NSG:BAD:P(A;;GA;;;BA)S:P(AU;FA;GA;;;WD)"
    assert validate_root_sddl(" " + good) == good
    assert validate_root_sddl("O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)") == "O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)"
    assert validate_root_sddl("O:S-1-5-32-544D:(A;;GA;;;S-1-5-32-544)")
    for bad in ("D:P(A;;GA;;;BA)", "O:NSG:BA", "O:NSG:BAD:P", "garbage"):
        with pytest.raises(AnsibleActionFail):
            validate_root_sddl(bad)


@pytest.mark.parametrize("bad", ["O:NSG:BAD:P(A;;GA;;;BA) trailing", "O:NSG:BAD:P(A;;GA;;;BA)X",
                                 "O:NSG:BAD:P(A;;GA;;;BA)<evil/>", "O:NSG:BAD:P(A;;GA;;;BA)G:BA"])
def test_sddl_with_text_after_the_acls_is_refused(bad):
    """Windows refuses it with fault 0x8033815C (ERROR_WSMAN_INVALID_SECURITY_DESCRIPTOR)."""
    with pytest.raises(AnsibleActionFail) as error:
        validate_root_sddl(bad)
    assert error.value.message.startswith("root_sddl: invalid SDDL at character 24") and "0x8033815C" in error.value.message


def test_thumbprint_normalised():
    raw = "ca ab 42 f0 d2 48 66 82 f5 6a 08 92 ab 5e 49 47 07 45 5e 12"
    assert normalise_thumbprint(raw) == "CAAB42F0D2486682F56A0892AB5E494707455E12"
    assert normalise_thumbprint("CA:AB:42:F0:D2:48:66:82:F5:6A:08:92:AB:5E:49:47:07:45:5E:12") == \
        "CAAB42F0D2486682F56A0892AB5E494707455E12"
    assert normalise_thumbprint("") == ""
    with pytest.raises(AnsibleActionFail):
        normalise_thumbprint("CAAB42")
    with pytest.raises(AnsibleActionFail):
        normalise_thumbprint("Z" * 40)


def service_args(**given):
    base = {name: None for name in (
        "allow_unencrypted", "ipv4_filter", "ipv6_filter", "root_sddl", "certificate_thumbprint",
        "allow_remote_access", "default_ports", "max_connections", "max_concurrent_operations_per_user",
        "enumeration_timeout_ms", "max_packet_retrieval_time_seconds")}
    base.update(given)
    return base


def test_desired_service_paths():
    desired = desired_service(service_args(allow_unencrypted=False, default_ports={"http": 5985, "https": None},
                                           max_connections=10))
    assert desired == {"service.allow_unencrypted": False, "service.default_ports.http": 5985,
                       "service.max_connections": 10}
    for path in desired:  # every path is a real setting of the model
        resources.WinRMConfig.field(path)


@pytest.mark.parametrize("given, word", [
    (dict(default_ports={"http": 0}), "default_ports.http"),
    (dict(max_connections=0), "max_connections"),
    (dict(enumeration_timeout_ms=499), "enumeration_timeout_ms"),
    (dict(max_packet_retrieval_time_seconds=4294967296), "max_packet_retrieval_time_seconds"),
])
def test_desired_service_refuses_out_of_range(given, word):
    with pytest.raises(AnsibleActionFail) as error:
        desired_service(service_args(**given))
    assert word in error.value.message


def _config(**service):
    config = resources.WinRMConfig()
    config.set("service.auth.negotiate", True)
    config.set("service.allow_remote_access", True)
    config.set("service.ipv4_filter", "*")
    for name, value in service.items():
        config.set("service." + name, value)
    return config


def test_lockout_counts_only_reasons_the_change_introduces():
    # Reached through a NAT: the address dialled is outside the host's own filter already.
    endpoint = types.SimpleNamespace(scheme="http", host="203.0.113.5", port=5985, auth="ntlm",
                                     encryption="always", url="http://203.0.113.5:5985/wsman")
    before = _config(ipv4_filter="10.0.0.1-10.0.0.254")
    assert WSManAction.lockout_reasons(endpoint, before, before.updated({"service.max_connections": 10}), [], []) == []
    # a reason the change adds still counts
    reasons = WSManAction.lockout_reasons(endpoint, before, before.updated({"service.allow_remote_access": False}),
                                          [], [])
    assert len(reasons) == 1 and "AllowRemoteAccess" in reasons[0]
    # without the state before as the reference, the rule would refuse the address already outside
    assert any("ipv4_filter" in reason for reason in
               WSManAction.lockout_reasons(endpoint, _config(), before, [], []))
