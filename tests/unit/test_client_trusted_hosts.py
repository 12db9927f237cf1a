"""Unit tests of wsman.winrm.client's TrustedHosts merging and its checks made before sending."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import (
    merge_trusted_hosts, trusted_host_entries, validate_client_args)

CURRENT = ["web01", "10.0.0.5", "*.corp.example.com"]


@pytest.mark.parametrize("mode, wanted, expected", [
    ("set", ["b", "a", "B"], ["b", "a"]),
    ("set", [], []),
    ("add", ["WEB01", "web02"], ["web01", "10.0.0.5", "*.corp.example.com", "web02"]),
    ("add", [], CURRENT),
    ("remove", ["10.0.0.5", "*.CORP.example.com", "absent"], ["web01"]),
    ("remove", ["absent"], CURRENT),
])
def test_merge_trusted_hosts(mode, wanted, expected):
    assert merge_trusted_hosts(CURRENT, wanted, mode) == expected


def test_entries():
    assert trusted_host_entries([" web01 ", "*", "*.example.com", "192.168.1.*", "<local>"]) == \
        ["web01", "*", "*.example.com", "192.168.1.*", "<local>"]
    for bad, word in (("a,b", "comma"), ("", "empty"), ("we*b", "wildcard"), ("*web*", "wildcard")):
        with pytest.raises(AnsibleActionFail) as error:
            trusted_host_entries([bad])
        assert word in error.value.message


@pytest.mark.parametrize("given, word", [
    ({"default_ports": {"http": 0, "https": None}}, "default_ports.http"),
    ({"network_delay_ms": 499}, "network_delay_ms"),
    ({"url_prefix": "wsman/"}, "url_prefix"),
    ({"url_prefix": "ws man"}, "url_prefix"),
])
def test_client_args_refused(given, word):
    with pytest.raises(AnsibleActionFail) as error:
        validate_client_args(given)
    assert word in error.value.message


def test_client_args_accepted():
    validate_client_args({"default_ports": {"http": 80, "https": None}, "network_delay_ms": 500,
                          "url_prefix": "wsman/custom_1"})


@pytest.mark.parametrize("bad, words", [
    ("web 01", ["not a host name", "spaces"]),
    ("<script>", ["not a host name"]),
    ("a&b", ["not a host name"]),
    ('host"1', ["not a host name"]),
    ("h" * 100_000, ["longer than a host name", "100000 characters"]),
])
def test_entries_windows_refuses(bad, words):
    """MS-WSMV 2.2.4.6: host names, IP addresses, one leading or trailing '*', or <local>."""
    with pytest.raises(AnsibleActionFail) as error:
        trusted_host_entries([bad])
    message = error.value.message
    for word in words:
        assert word in message
    assert len(message) < 1000  # a 100 kB entry is not echoed whole


# What Windows takes: RFC 1123 host names, IPv4/IPv6 addresses, one '*' at the start or the end, '<local>'.
TAKEN = ["10.0.0.5", "fe80::1", "[fe80::1]", "fe80::1%12", "web-01.corp.example.com", "WEB01", "3com.example",
         "*.example.com", "*example.com", "192.168.1.*", "web*", "web-*", "*-web.example.com", "fe80::*", "<local>",
         "a" * 63 + ".example.com"]
# What it refuses: labels starting or ending with '-', underscores, empty labels, broken IP addresses,
# a pattern whose fixed part no host name can hold, a label longer than 63 characters, brackets around
# anything but a whole IPv6 address.
REFUSED = ["-bad-", "web_01", "NETBIOS_NAME", "a..b", ".example.com", "example.com.", "::::", "1.2.3.4.5:",
           "*.-web", "web.-*", "[fe80::1", "fe80::1]", "[10.0.0.5]", "a" * 64 + ".example.com"]


def test_entries_windows_takes():
    assert trusted_host_entries(TAKEN) == TAKEN


@pytest.mark.parametrize("bad", REFUSED)
def test_entries_outside_the_grammar(bad):
    """Refused before anything is sent, the entry and the allowed forms named."""
    with pytest.raises(AnsibleActionFail) as error:
        trusted_host_entries(["web01", bad])
    message = error.value.message
    assert repr(bad)[:40] in message, message  # long entries are shown cut
    assert "0x8033809F" in message, message
    assert "RFC 1123" in message and "IP address" in message and "<local>" in message, message


def test_the_module_and_the_simulated_windows_agree():
    """The controller's check and the simulator's (standing in for Windows) accept the same entries:
    a looser module would send what Windows refuses, a stricter one would refuse what Windows takes."""
    from winrm_sim.model.config import trusted_hosts_valid

    for entry in TAKEN:
        assert trusted_hosts_valid(entry), entry
    for entry in REFUSED + ["web 01", "a&b", "<script>", 'host"1', "h" * 100_000, "*.*", "we*b"]:
        assert not trusted_hosts_valid(entry), entry


def test_the_wildcard_stands_alone():
    """MS-WSMV 2.2.4.6: blank, '*', or a list of names and patterns; Windows refuses 'a,b,*'."""
    from ansible.errors import AnsibleActionFail
    from ansible_collections.wsman.winrm.plugins.plugin_utils.settings import merge_trusted_hosts

    assert merge_trusted_hosts(["web01", "web02"], ["*"], "add") == ["*"]
    assert merge_trusted_hosts(["*"], ["web03"], "add") == ["*"]
    assert merge_trusted_hosts(["*"], ["*"], "remove") == []
    assert merge_trusted_hosts([], ["*", "*"], "set") == ["*"]
    with pytest.raises(AnsibleActionFail, match="'\\*' stands alone"):
        merge_trusted_hosts([], ["web01", "*"], "set")
