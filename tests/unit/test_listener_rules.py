"""Unit tests of the pure rules of wsman.winrm.listener and wsman.winrm.compat_listener: input
validation, address comparison, the lockout rules for the listener in use, and the predictions."""

from __future__ import annotations

import dataclasses

import pytest

from ansible_collections.wsman.winrm.plugins.plugin_utils import listeners as lst
from ansible_collections.wsman.winrm.plugins.plugin_utils import settings as compat
from ansible_collections.wsman.winrm.plugins.module_utils import guards
from ansible_collections.wsman.winrm.plugins.module_utils import resources as r

THUMBPRINT = "2859DC05C11F11F73EA7A83218CEAC787AF33245"


@dataclasses.dataclass
class FakeEndpoint:
    scheme: str = "http"
    host: str = "192.0.2.10"
    port: int = 5985
    path: str = "wsman"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/{self.path}"


def listener(address="*", transport="HTTP", port=5985, enabled=True, prefix="wsman", source="", thumbprint=""):
    item = r.Listener({"address": address, "transport": transport, "port": port, "hostname": "", "enabled": enabled,
                       "url_prefix": prefix, "certificate_thumbprint": thumbprint}, source=source)
    item.values["listening_on"] = ["192.0.2.10", "127.0.0.1"]
    return item


def args(**given):
    base = {"address": "*", "transport": "http", "port": None, "hostname": None, "enabled": None, "url_prefix": None,
            "certificate_thumbprint": None}
    base.update(given)
    return base


# ---- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("*", "*"), (" * ", "*"), ("ip:192.0.2.10", "IP:192.0.2.10"), ("IP:[fe80::1]", "IP:fe80::1"),
    ("IP:::1", "IP:::1"), ("mac:aa:bb:cc:dd:ee:ff", "MAC:AA-BB-CC-DD-EE-FF"), ("MAC:aa-bb-cc-dd-ee-0f", "MAC:AA-BB-CC-DD-EE-0F"),
])
def test_addresses_in_windows_spelling(text, expected):
    assert lst.normalize_address(text) == expected


@pytest.mark.parametrize("text", ["", "192.0.2.10", "IP:", "IP:300.1.1.1", "IP:host.example", "MAC:aa-bb-cc",
                                  "MAC:aa-bb:cc-dd-ee-ff", "HOST:web01", "**"])
def test_bad_addresses_name_the_field(text):
    with pytest.raises(ValueError, match="address"):
        lst.normalize_address(text)


def test_addresses_compare_by_value():
    assert lst.same_address("IP:::1", "IP:0:0::1")
    assert lst.same_address("mac:aa-bb-cc-dd-ee-ff", "MAC:AA:BB:CC:DD:EE:FF")
    assert not lst.same_address("*", "IP:127.0.0.1")


@pytest.mark.parametrize("given, field", [
    ({"port": 0}, "port"), ({"port": 65536}, "port"),
    ({"certificate_thumbprint": THUMBPRINT}, "certificate_thumbprint"),                   # HTTP takes none
    ({"transport": "https", "certificate_thumbprint": THUMBPRINT[:-1]}, "40 hexadecimal"),
    ({"transport": "https", "certificate_thumbprint": "G" * 40}, "certificate_thumbprint"),
    ({"url_prefix": ""}, "url_prefix"), ({"url_prefix": "/wsman"}, "url_prefix"), ({"url_prefix": "wsman/"}, "url_prefix"),
    ({"url_prefix": "ws-man"}, "url_prefix"), ({"url_prefix": "a//b"}, "url_prefix"),
    ({"hostname": "two words"}, "hostname"),
])
def test_bad_input_names_the_field(given, field):
    with pytest.raises(ValueError, match=field):
        lst.validate(args(**given))


def test_valid_input_in_windows_spelling():
    pasted = "\u200e" + " ".join(THUMBPRINT[i:i + 2] for i in range(0, 40, 2)).lower()
    wanted = lst.validate(args(transport="https", port=5986, url_prefix="wsman/v2", certificate_thumbprint=pasted,
                               hostname=" win01 "))
    assert wanted == {"address": "*", "transport": "HTTPS", "port": 5986, "url_prefix": "wsman/v2",
                      "certificate_thumbprint": THUMBPRINT, "hostname": "win01", "enabled": None,
                      "state": "present"}


# ---- prediction --------------------------------------------------------------------------------

def snapshot(listeners, **service):
    config = r.WinRMConfig()
    config.set("service.default_ports.http", 5985)
    config.set("service.default_ports.https", 5986)
    config.set("service.ipv4_filter", "*")
    config.set("service.ipv6_filter", "*")
    for name, value in service.items():
        config.set("service." + name, value)
    return r.ConfigSnapshot(config, list(listeners), [], r.PolicyValues())


def test_a_new_listener_takes_windows_defaults():
    snap = snapshot([listener()])
    new = lst.predicted_new_listener(snap, lst.validate(args(transport="https", address="IP:192.0.2.10")))
    assert new.to_dict() == {"address": "IP:192.0.2.10", "transport": "HTTPS", "port": 5986, "hostname": "",
                             "enabled": True, "url_prefix": "wsman", "certificate_thumbprint": None,
                             "listening_on": ["192.0.2.10"], "source": ""}
    same_address = lst.predicted_new_listener(snap, lst.validate(args(transport="https", port=8443)))
    assert same_address.get("listening_on") == ["192.0.2.10", "127.0.0.1"]


# ---- the listener in use (the shared guard, plugins/module_utils/guards.py) -----------------------

def test_changes_that_cut_the_listener_in_use():
    in_use, other = listener(), listener(address="IP:192.0.2.20", port=8085)
    before = [in_use, other]
    endpoint = FakeEndpoint()
    for change, words in (({"enabled": False}, "disable it"), ({"port": 5990}, "move it to port 5990"),
                          ({"url_prefix": "other"}, "URL prefix")):
        reasons = guards.listener_reasons(endpoint, before, [in_use.updated(change), other])
        assert reasons and "connects through" in reasons[0] and words in reasons[0]
    assert "remove it" in guards.listener_reasons(endpoint, before, [other])[0]  # another HTTP listener is no way in
    assert not guards.listener_reasons(endpoint, before, [in_use])
    assert not guards.listener_reasons(endpoint, before, [in_use.updated({"hostname": "x"}), other])


def test_an_unknown_port_mapping_protects_the_only_listener_of_the_transport():
    only = listener()
    nat = FakeEndpoint(port=15985)
    assert guards.listener_reasons(nat, [only], [only.updated({"enabled": False})])
    assert guards.listener_reasons(nat, [only], [])
    second = listener(address="IP:192.0.2.20", port=8085)
    assert not guards.listener_reasons(nat, [only, second], [only.updated({"port": 5990}), second])


def test_a_listener_on_another_address_is_not_the_one_in_use():
    elsewhere = listener(address="IP:192.0.2.99")
    assert not guards.serves(FakeEndpoint(), elsewhere)
    assert guards.serves(FakeEndpoint(), listener(address="IP:192.0.2.10"))


# ---- compatibility listeners -------------------------------------------------------------------

def test_turning_off_the_compatibility_listener_the_task_dials():
    real, legacy = listener(), listener(port=80, source=r.SOURCE_COMPATIBILITY)
    reasons = guards.listener_reasons(FakeEndpoint(port=80), [real, legacy], [real])
    assert reasons and "compatibility listener */HTTP on port 80" in reasons[0]
    assert not guards.listener_reasons(FakeEndpoint(), [real, legacy], [real])
    mine_on_80 = listener(address="IP:192.0.2.10", port=80)
    assert not guards.listener_reasons(FakeEndpoint(port=80), [real, legacy, mine_on_80], [real, mine_on_80])


def test_predicted_compatibility_listeners():
    https = listener(transport="HTTPS", port=5986, thumbprint=THUMBPRINT)
    snap = snapshot([listener(), https])
    after = snap.config.updated({"service.enable_compatibility_http_listener": True,
                                 "service.enable_compatibility_https_listener": True})
    predicted = [item.to_dict() for item in compat.predicted_compatibility_listeners(snap.listeners, after)]
    assert predicted == [
        {"address": "*", "transport": "HTTP", "port": 80, "hostname": "", "enabled": True, "url_prefix": "wsman",
         "certificate_thumbprint": "", "listening_on": ["192.0.2.10", "127.0.0.1"], "source": "Compatibility"},
        {"address": "*", "transport": "HTTPS", "port": 443, "hostname": "", "enabled": True, "url_prefix": "wsman",
         "certificate_thumbprint": THUMBPRINT, "listening_on": ["192.0.2.10", "127.0.0.1"],
         "source": "Compatibility"},
    ]
    assert compat.predicted_compatibility_listeners(snap.listeners, snap.config) == []


def test_warns_only_about_what_the_task_changes():
    off = {"http": False, "https": False}
    on = {"http": True, "https": False}
    (turned_on,) = compat.compatibility_warnings(off, on)
    assert "port 80" in turned_on and "firewall" in turned_on and "will be enabled" in turned_on
    assert "depend" in turned_on
    (turned_off,) = compat.compatibility_warnings(on, off)
    assert "left as it is" in turned_off and "wsman.winrm.firewall_rule" in turned_off
    assert compat.compatibility_warnings(off, off) == [] and compat.compatibility_warnings(on, on) == []
    (https_on,) = compat.compatibility_warnings(off, {"http": False, "https": True})
    assert "443" in https_on
