"""The fault matrix: every fault at every changing step of each module and of the HTTPS move.

A WS-Management relay (faultproxy.py) sits between the controller and a simulated host and does
one fault to one request: refused (connection closed before the request is relayed), a WS-Man
fault, HTTP 401 after authentication, the reply dropped, half a reply, the reply held past the read
timeout, HTTP 500 garbage, malformed XML. After each run a plain pypsrp client reads the host back:
it must hold the state from before or the whole change, its result must say which
(``host_state``), and the controller must still reach it.
"""

from __future__ import annotations

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

from faultproxy import CONFIG, FAULTS, NOT_APPLIED, ProxiedHost, Rule, plain_client, plain_state
from harness import run_tasks
from test_converge import BASELINE, _drop_https_listener, _Inventory, converge

FLEET_PROFILES = "server2022,server2022"
SPARE = {"Address": "IP:{ip}", "Transport": "HTTP", "Port": "5991"}  # a listener the delete step removes
SERVICE_AUTH = "/Service/MaxConnections"
SESSION_CONFIGURATION = "microsoft.powershell32"


def _spare_listener(host_vars, present: bool) -> None:
    selectors = SelectorSet()
    selectors.add_option("Address", SPARE["Address"].format(ip=host_vars["ansible_host"]))
    selectors.add_option("Transport", "HTTP")
    with plain_client(host_vars, https=False) as client:
        try:
            client.delete(CONFIG + "/listener", selector_set=selectors)
        except WSManFaultError:
            pass
        if present:
            import xml.etree.ElementTree as ET

            body = ET.Element("{%s/listener}Listener" % CONFIG)
            ET.SubElement(body, "{%s/listener}Port" % CONFIG).text = SPARE["Port"]
            client.create(CONFIG + "/listener", body, selector_set=selectors)


def _cases(host_vars):
    """(task, the rule picking its changing request, how to read its resource from a plain state)."""
    ip = host_vars["ansible_host"]

    def listener(port):
        return lambda state: [item for item in state["listeners"] if ("Port", port) in item]

    return [
        ({"wsman.winrm.service": {"max_connections": 301}}, dict(action="Put", resource="config/service"),
         lambda state: state["config"][SERVICE_AUTH][0]),
        ({"wsman.winrm.listener": {"address": f"IP:{ip}", "transport": "http", "port": 5990}},
         dict(action="Create", resource="config/listener"), listener("5990")),
        ({"wsman.winrm.listener": {"address": f"IP:{ip}", "transport": "http", "state": "absent"}},
         dict(action="Delete", resource="config/listener"), listener("5991")),
        ({"wsman.winrm.policy": {"client": {"allow_basic": False, "allow_digest": False}}},
         dict(action="SetDWORDValue", contains="AllowDigest"),
         lambda state: {k: v for k, v in state["policy"].items() if "\\Client\\" in k}),
        ({"wsman.winrm.cert_mapping": {"uri": "*", "subject": "fault@example.com",
                                       "issuer": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}", "username": "operator",
                                       "password": "{{ wsman_winrm_sim_operator_password }}"}},
         dict(action="Create", resource="certmapping"), None),
        ({"wsman.winrm.firewall_rule": {"name": "WINRM-HTTP-Compat-In-TCP", "enabled": True}},
         dict(action="Put", resource="MSFT_NetFirewallRule"), None),
        # One Put of the whole plugin document (Disable-PSSessionConfiguration's edit), on an endpoint
        # the controller does not use.
        ({"wsman.winrm.session_configuration": {"name": SESSION_CONFIGURATION, "enabled": False}},
         dict(action="Put", resource="config/plugin"), None),
    ]


def _mappings(host_vars):
    with plain_client(host_vars, https=False) as client:
        import xml.etree.ElementTree as ET

        request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
        reply = client.enumerate(CONFIG + "/service/certmapping", request)
        return sorted((element.text or "") for element in reply.iter() if element.tag.endswith("}Subject"))


def _compat_rule_enabled(host_vars):
    selectors = SelectorSet()
    selectors.add_option("InstanceID", "WINRM-HTTP-Compat-In-TCP")
    uri = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/MSFT_NetFirewallRule"
    with plain_client(host_vars, https=False) as client:
        rule = client.get(uri, selector_set=selectors)[0]
    return next(child.text for child in rule if child.tag.endswith("}Enabled")).strip()


def _session_configuration(host_vars):
    """The configuration's Enabled and descriptor, from a plain pypsrp Get of winrm/config/plugin."""
    import xml.etree.ElementTree as ET  # noqa: F401

    selectors = SelectorSet()
    selectors.add_option("Name", SESSION_CONFIGURATION)
    with plain_client(host_vars, https=False) as client:
        plugin = client.get(CONFIG + "/plugin", selector_set=selectors)[0]
    descriptors = sorted(element.get("Sddl") or "" for element in plugin.iter() if element.tag.endswith("}Security"))
    return plugin.get("Enabled"), descriptors


def _reset(host_vars) -> None:
    """Every case starts from the same host: the change of each task not made yet."""
    import tempfile
    from pathlib import Path

    _spare_listener(host_vars, present=False)
    cleanup = [{"wsman.winrm.service": {"max_connections": 300}},
               {"wsman.winrm.listener": {"address": f"IP:{host_vars['ansible_host']}", "transport": "http",
                                         "port": 5990, "state": "absent"}},
               {"wsman.winrm.policy": {"state": "absent", "client": {"allow_basic": 1, "allow_digest": 1}}},
               {"wsman.winrm.cert_mapping": {"uri": "*", "subject": "fault@example.com", "state": "absent",
                                             "issuer": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}"}},
               {"wsman.winrm.firewall_rule": {"name": "WINRM-HTTP-Compat-In-TCP", "enabled": False}},
               {"wsman.winrm.session_configuration": {"name": SESSION_CONFIGURATION, "enabled": True}}]
    fleet = host_vars["__fleet"]
    results = run_tasks(fleet, cleanup, limit=host_vars["__name"], tmp_path=Path(tempfile.mkdtemp()))
    assert not any(result.get("failed") for result in results[host_vars["__name"]]), results


def _check(cases, results, before, after) -> None:
    for (task, _match, read), result in zip(cases, results):
        module = next(iter(task))
        state = result.get("host_state")
        assert state in ("before", "after"), (module, result)
        if state == "before":  # the result says which, and the host holds exactly that
            assert result.get("failed"), (module, result)
        if read is not None:
            held = read(after)
            assert (held == read(before)) is (state == "before"), (module, state, held, read(before), result.get("msg"))


@pytest.mark.parametrize("fault", FAULTS[::-1])
def test_every_fault_at_every_step_of_each_module(fleet, tmp_path, fault):
    name = sorted(fleet.hosts())[0]
    host_vars = dict(fleet.hosts()[name], __fleet=fleet, __name=name)
    _reset(host_vars)
    cases = _cases(host_vars)
    # Listeners are keyed by address and transport: the create and the delete go in two runs.
    first, second = cases[:2] + cases[3:], cases[2:3]
    with ProxiedHost(fleet, name, tmp_path, https=False) as host:
        before = plain_state(host_vars)
        before_mappings, before_rule = _mappings(host_vars), _compat_rule_enabled(host_vars)
        before_configuration = _session_configuration(host_vars)
        assert before_configuration[0] == "true", before_configuration
        host.rules(http=[Rule(fault, delay=15, **match) for _task, match, _read in first])
        results = run_tasks(_Inventory(host.inventory_path), [task for task, _m, _r in first], tmp_path=tmp_path / "1")
        _check(first, results[name], before, plain_state(host_vars))  # and the controller reaches the host
        by_module = {next(iter(task)): result for (task, _m, _r), result in zip(first, results[name])}
        mapping_result = by_module["wsman.winrm.cert_mapping"]
        rule_result = by_module["wsman.winrm.firewall_rule"]
        configuration_result = by_module["wsman.winrm.session_configuration"]
        assert (_mappings(host_vars) == before_mappings) is (mapping_result["host_state"] == "before"), mapping_result
        assert (_compat_rule_enabled(host_vars) == before_rule) is (rule_result["host_state"] == "before"), rule_result
        held = _session_configuration(host_vars)
        assert held[1] == before_configuration[1], held  # the descriptor is never touched
        assert (held == before_configuration) is (configuration_result["host_state"] == "before"), \
            (held, configuration_result)
        if configuration_result["host_state"] == "after":
            assert held[0] == "false" and configuration_result.get("restart_required"), configuration_result

        _spare_listener(host_vars, present=True)
        before = plain_state(host_vars)
        host.rules(http=[Rule(fault, delay=15, **match) for _task, match, _read in second])
        results = run_tasks(_Inventory(host.inventory_path), [task for task, _m, _r in second], tmp_path=tmp_path / "2")
        _check(second, results[name], before, plain_state(host_vars))
        assert len(host.http.faulted) == len(cases), host.http.faulted  # every step met its fault


HTTPS_STEPS = {
    # step: {proxy the request goes through: the rules picking it}, for a host without an HTTPS listener
    "create": {"http": [dict(action="Create", resource="config/listener")]},
    "proof": {"https": [dict(action="Enumerate", resource="config/listener")]},
    "remove": {"https": [dict(action="Delete", resource="config/listener")]},
}
MOVED_PORT = "443"
# With an HTTPS listener on another port the move is a Put of Port (the keys are Address and
# Transport), undone by a Put of the old Port: "undo" refuses the proof, then faults that second Put.
MOVED_STEPS = {
    "move": {"http": [dict(action="Put", resource="config/listener")]},
    "proof": HTTPS_STEPS["proof"],
    "remove": HTTPS_STEPS["remove"],
    "undo": {"http": [dict(action="Put", resource="config/listener", skip=1)],
             "https": [dict(action="Enumerate", resource="config/listener", fault="fault")]},
}
CASES = [("new", step) for step in HTTPS_STEPS] + [("moved", step) for step in MOVED_STEPS]


def _https_listener_on(name, host_vars, port: str) -> None:
    """An HTTPS listener on ``port`` with the host's certificate, made with plain pypsrp."""
    import xml.etree.ElementTree as ET

    _drop_https_listener(host_vars)
    selectors = SelectorSet()
    selectors.add_option("Address", "*")
    selectors.add_option("Transport", "HTTPS")
    body = ET.Element("{%s/listener}Listener" % CONFIG)
    ET.SubElement(body, "{%s/listener}Port" % CONFIG).text = port
    ET.SubElement(body, "{%s/listener}Hostname" % CONFIG).text = name
    ET.SubElement(body, "{%s/listener}CertificateThumbprint" % CONFIG).text = host_vars["wsman_winrm_sim_thumbprint"]
    with plain_client(host_vars, https=False) as client:
        client.create(CONFIG + "/listener", body, selector_set=selectors)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("listener, step", CASES)
def test_every_fault_at_every_step_of_the_https_move(fleet, tmp_path, listener, step, fault):
    name = sorted(fleet.hosts())[1]
    host_vars = fleet.hosts()[name]
    if listener == "moved":
        _https_listener_on(name, host_vars, MOVED_PORT)
    else:
        _drop_https_listener(host_vars)
    before = plain_state(host_vars)
    https_before = [dict(item)["Port"] for item in before["listeners"] if dict(item)["Transport"] == "HTTPS"]
    assert https_before == ([MOVED_PORT] if listener == "moved" else []), before["listeners"]
    rules = (MOVED_STEPS if listener == "moved" else HTTPS_STEPS)[step]
    with ProxiedHost(fleet, name, tmp_path) as host:
        host.rules(**{proxy: [Rule(**dict(dict(fault=fault, delay=15), **match)) for match in matches]
                      for proxy, matches in rules.items()})
        task = converge(https=dict(BASELINE["https"], connection_port=5986 + host.OFFSET))
        (result,) = run_tasks(_Inventory(host.inventory_path), [task], tmp_path=tmp_path)[name]
        for proxy in rules:
            assert getattr(host, proxy).faulted, "the step met no fault"
    state = result.get("host_state")
    host_vars = fleet.hosts()[name]  # the listener ports as they are now
    if state == "after":  # a 401 on a live session is retried once: the move went through
        assert not result.get("failed"), result
        held = plain_state(host_vars, https=True)
        assert [dict(item)["Transport"] for item in held["listeners"]] == ["HTTPS"]
        assert [dict(item)["Port"] for item in held["listeners"]] == ["5986"]
        _restore_http(host_vars)
        return
    held = plain_state(host_vars)  # read back over HTTP, which the controller still reaches
    if state == "partial":  # only when the undo itself was refused: the listener stays moved, said so
        assert (listener, step) == ("moved", "undo") and fault in NOT_APPLIED, result
        assert result.get("failed") and "could not put back" in result["msg"], result
        https = [dict(item) for item in held["listeners"] if dict(item)["Transport"] == "HTTPS"]
        assert [item["Port"] for item in https] == ["5986"], held["listeners"]
        assert {k: v for k, v in held.items() if k != "listeners"} == \
            {k: v for k, v in before.items() if k != "listeners"}
    else:
        assert state == "before" and result.get("failed"), result
        assert held == before
        if listener == "moved":  # the listener that moved came back to its port, never deleted
            https = [dict(item) for item in held["listeners"] if dict(item)["Transport"] == "HTTPS"]
            assert [item["Port"] for item in https] == [MOVED_PORT], held["listeners"]


def _restore_http(host_vars) -> None:
    """Back to a host with its HTTP listener (for the next case), through HTTPS."""
    import xml.etree.ElementTree as ET

    selectors = SelectorSet()
    selectors.add_option("Address", "*")
    selectors.add_option("Transport", "HTTP")
    with plain_client(host_vars, https=True) as client:
        body = ET.Element("{%s/listener}Listener" % CONFIG)
        ET.SubElement(body, "{%s/listener}Port" % CONFIG).text = "5985"
        client.create(CONFIG + "/listener", body, selector_set=selectors)
