"""module_utils/httpsys.py: what HTTP.sys lacks for a compatibility listener, from what StdRegProv read."""
from __future__ import annotations

from ansible_collections.wsman.winrm.plugins.module_utils.httpsys import HttpSysState, missing_for_compatibility

THUMB = "A" * 40


def short(missing):
    return [text.split(" (")[0] for text in missing]


def test_a_new_install_lacks_the_compatibility_reservations():
    state = HttpSysState(["http://+:5985/wsman/"], {})
    assert short(missing_for_compatibility(state, ["http", "https"])) == [
        "no HTTP.sys URL reservation for http://+:80/wsman/", "no HTTP.sys URL reservation for https://+:443/wsman/",
        "no HTTP.sys SSL certificate binding for port 443"]


def test_an_upgraded_host_has_them():
    state = HttpSysState(["http://+:80/wsman/", "https://+:443/wsman/"], {"0.0.0.0:443": THUMB})
    assert missing_for_compatibility(state, ["http", "https"], thumbprint=THUMB.lower()) == []


def test_a_binding_with_another_certificate_is_named():
    state = HttpSysState(["https://*:443/wsman/"], {"0.0.0.0:443": "B" * 40})
    (text,) = missing_for_compatibility(state, ["https"], thumbprint=THUMB)
    assert "B" * 40 in text and THUMB in text


def test_unreadable_keys_are_said_so_not_guessed():
    state = HttpSysState(None, None)
    assert all("could not be checked" in text for text in missing_for_compatibility(state, ["http", "https"]))
