"""Values in replies that Windows never sends (issue: a crash and a hang on bad replies).

A relay (faultproxy.py) rewrites one value of a real reply: a non-numeric MaxEnvelopeSizekb, a
5,000-digit listener Port, a StdRegProv ReturnValue that is not a number. Each ends in a clear
error within a bounded time - naming the host's endpoint, the element and what to check - and a
change whose reply is garbled is read back and undone like any lost reply.
"""

from __future__ import annotations

import time

import pytest

from faultproxy import ProxiedHost, Rule, plain_state
from harness import run_tasks
from test_converge import _Inventory

FLEET_PROFILES = "server2022"
INFO = {"wsman.winrm.info": {"gather": ["config", "listeners", "policy"]}}


@pytest.mark.parametrize("rule, element", [
    (Rule("rewrite", action="Get", resource="wsman/1/config", pattern=r"(MaxEnvelopeSizekb[^>]*>)\d+", replacement=r"\1abc"),
     "MaxEnvelopeSizekb"),
    (Rule("rewrite", action="Enumerate", resource="config/listener", pattern=r"(Port[^>]*>)\d+",
          replacement="\\g<1>" + "9" * 5000), "Port"),
    (Rule("rewrite", action="EnumValues", pattern=r"(ReturnValue[^>]*>)\d+", replacement=r"\1x"), "ReturnValue"),
], ids=["MaxEnvelopeSizekb", "Port", "ReturnValue"])
def test_a_value_windows_never_sends_is_a_clear_error(fleet, tmp_path, rule, element):
    name = sorted(fleet.hosts())[0]
    with ProxiedHost(fleet, name, tmp_path, https=False) as host:
        host.rules(http=[rule])
        started = time.monotonic()
        (result,) = run_tasks(_Inventory(host.inventory_path), [INFO], tmp_path=tmp_path)[name]
        assert host.http.faulted
    assert time.monotonic() - started < 120
    assert result.get("failed") and "Traceback" not in str(result), result
    message = result["msg"]
    assert message.startswith("http://%s:%d/wsman" % (host.vars["ansible_host"], 5985 + host.OFFSET)), message
    assert element in message and "not a whole number" in message and "WinRM listener" in message, message
    assert len(message) < 1000  # the 5,000 digits are not echoed


def test_a_garbled_reply_to_a_change_is_read_back_and_undone(fleet, tmp_path):
    name = sorted(fleet.hosts())[0]
    before = plain_state(fleet.hosts()[name])
    with ProxiedHost(fleet, name, tmp_path, https=False) as host:
        host.rules(http=[Rule("rewrite", action="Put", resource="config/service", pattern=r"(MaxConnections[^>]*>)\d+",
                              replacement=r"\g<1>1e9")])
        (result,) = run_tasks(_Inventory(host.inventory_path), [{"wsman.winrm.service": {"max_connections": 301}}],
                              tmp_path=tmp_path)[name]
    assert result.get("failed") and "MaxConnections" in result["msg"], result
    assert result["host_state"] == "before" and "put back" in result["msg"], result["msg"]
    assert plain_state(fleet.hosts()[name]) == before
