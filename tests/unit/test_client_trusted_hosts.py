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


def test_entries_windows_takes():
    entries = ["10.0.0.5", "fe80::1", "[fe80::1]", "web-01.corp.example.com", "*.example.com", "192.168.1.*", "<local>",
               "NETBIOS_NAME"]
    assert trusted_host_entries(entries) == entries


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
