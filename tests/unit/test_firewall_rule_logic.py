"""Pure logic of wsman.winrm.firewall_rule: RemoteAddress forms, profile masks, the lockout guard."""

from __future__ import annotations

import types

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import resources
from ansible_collections.wsman.winrm.plugins.module_utils.guards import (firewall_address_admits,
                                                                         firewall_admits_port,
                                                                         firewall_lockout_reasons)

ENDPOINT = types.SimpleNamespace(host="127.0.10.1", port=5985, url="http://127.0.10.1:5985/wsman")


def rule(name, enabled=True, profiles=("domain", "private"), ports=("5985",), addresses=("Any",)):
    return {"name": name, "enabled": enabled, "profiles": list(profiles), "direction": "inbound", "action": "allow",
            "protocol": "TCP", "local_ports": list(ports), "remote_addresses": list(addresses)}


SERVER = [rule("WINRM-HTTP-In-TCP"), rule("WINRM-HTTP-In-TCP-PUBLIC", profiles=["public"], addresses=["LocalSubnet"]),
          rule("WINRM-HTTP-Compat-In-TCP", enabled=False, profiles=["any"], ports=["80"])]


@pytest.mark.parametrize("given, stored", [
    ("*", "Any"), ("any", "Any"), ("localsubnet", "LocalSubnet"), ("10.0.0.0/8", "10.0.0.0/255.0.0.0"),
    ("10.0.0.0/255.0.0.0", "10.0.0.0/255.0.0.0"), ("10.1.2.3/32", "10.1.2.3"), ("fd00::/64", "fd00::/64"),
    ("10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9"), ("FD00::1", "fd00::1"),
])
def test_address_forms(given, stored):
    assert resources.firewall_address(given) == stored


@pytest.mark.parametrize("bad", ["10.0.0.300", "10.0.0.9-10.0.0.1", "host.example.com", "10.0.0.1-fd00::1"])
def test_bad_addresses(bad):
    with pytest.raises(ValueError, match="remote_addresses"):
        resources.firewall_address(bad)


def test_address_lists_compare_as_sets():
    assert resources.same_firewall_addresses(["LocalSubnet", "10.20.0.0/255.255.0.0"], ["10.20.0.0/16", "localsubnet"])
    assert not resources.same_firewall_addresses(["Any"], ["LocalSubnet"])
    with pytest.raises(ValueError, match="stands alone"):
        resources.firewall_addresses(["*", "10.0.0.1"])


def test_profile_masks():
    assert resources.firewall_profile_mask(["public", "Domain"]) == 5
    assert resources.firewall_profile_mask(["any"]) == 0 and resources.firewall_profiles(0) == ["any"]
    assert resources.firewall_covered_profiles(0) == resources.firewall_covered_profiles(7)
    with pytest.raises(ValueError, match="stands alone"):
        resources.firewall_profile_mask(["any", "public"])


def test_rule_put_bodies_only_for_differences():
    current = resources.FirewallRule("WINRM-HTTP-In-TCP", enabled=True, profiles_mask=0, remote_addresses=["Any"])
    assert current.rule_put(enabled=True, profiles_mask=7) is None
    assert current.address_put(["*"]) is None
    body = current.rule_put(enabled=False)
    assert [child.tag.rsplit("}", 1)[1] for child in body] == ["Enabled", "InstanceID"]
    assert [child.text for child in current.address_put(resources.firewall_addresses(["10.0.0.0/8", "LocalSubnet"]))] == \
        ["WINRM-HTTP-In-TCP", "10.0.0.0/255.0.0.0", "LocalSubnet"]


@pytest.mark.parametrize("addresses, controller, admitted", [
    (["Any"], None, True), (["LocalSubnet"], "127.0.0.1", True), (["LocalSubnet"], "10.9.9.9", False),
    (["10.0.0.0/255.0.0.0"], "10.1.2.3", True), (["10.0.0.1-10.0.0.9"], "10.0.0.10", False),
    (["DNS"], "127.0.0.1", False), (["LocalSubnet4"], "::1", False), (["10.0.0.0/8"], None, False),
])
def test_address_admits(addresses, controller, admitted):
    assert firewall_address_admits(addresses, controller, "127.0.10.1") is admitted


def test_guard_disabling_the_public_rule_loses_the_public_profile():
    after = [dict(r, enabled=False) if r["name"] == "WINRM-HTTP-In-TCP-PUBLIC" else r for r in SERVER]
    (reason,) = firewall_lockout_reasons(ENDPOINT, "127.0.0.1", SERVER, after)
    assert "public profile" in reason and "WINRM-HTTP-In-TCP-PUBLIC" in reason


def test_guard_allows_changes_elsewhere_and_widening():
    assert firewall_lockout_reasons(ENDPOINT, "127.0.0.1", SERVER,
                                    [dict(r, enabled=True) for r in SERVER]) == []
    narrowed = [dict(r, remote_addresses=["LocalSubnet"]) if r["name"] == "WINRM-HTTP-In-TCP" else r for r in SERVER]
    assert firewall_lockout_reasons(ENDPOINT, "127.0.0.1", SERVER, narrowed) == []
    excluded = [dict(r, remote_addresses=["10.0.0.0/255.0.0.0"]) if r["name"] == "WINRM-HTTP-In-TCP" else r
                for r in SERVER]
    assert "domain, private profiles" in firewall_lockout_reasons(ENDPOINT, "127.0.0.1", SERVER, excluded)[0]


def test_guard_behind_a_port_forward_uses_the_listener_ports():
    forwarded = types.SimpleNamespace(host="127.0.10.1", port=18080, url="http://127.0.10.1:18080/wsman")
    legacy = [rule("WINRM-HTTP-In-TCP", enabled=False), rule("WINRM-HTTP-Compat-In-TCP", profiles=["any"], ports=["80"])]
    after = [dict(r, enabled=False) for r in legacy]
    assert firewall_lockout_reasons(forwarded, "127.0.0.1", legacy, after, listener_ports=[80])
    assert firewall_lockout_reasons(forwarded, "127.0.0.1", legacy, after)  # no listener known: every TCP rule


def test_port_admitted_only_by_an_enabled_allow_rule_for_it():
    """What the verdict's TLS probe is skipped on: no enabled inbound allow rule for the port."""
    assert firewall_admits_port(SERVER, 5985, "127.0.0.1", "127.0.10.1")
    assert not firewall_admits_port(SERVER, 5986, "127.0.0.1", "127.0.10.1")   # no rule names it
    assert not firewall_admits_port(SERVER, 80, "127.0.0.1", "127.0.10.1")     # its rule is disabled
    assert firewall_admits_port(SERVER + [rule("any port", ports=["Any"])], 5986, "127.0.0.1", "127.0.10.1")
    scoped = [rule("WINRM-HTTPS-In-TCP", ports=["5986"], addresses=["10.0.0.0/255.0.0.0"])]
    assert not firewall_admits_port(scoped, 5986, "127.0.0.1", "127.0.10.1")
    assert firewall_admits_port(scoped, 5986, "10.1.2.3", "10.1.2.4")
    blocked = [dict(rule("block", ports=["5986"]), action="block")]
    assert not firewall_admits_port(blocked, 5986, "127.0.0.1", "127.0.10.1")
