"""The session and the model over real HTTP (NTLM with message encryption) against ``winrm-sim``."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wsman.winrm.plugins.module_utils import resources as r
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import (
    HINTS,
    AuthenticationFailed,
    ConnectionFailed,
    Session,
    TLSFailed,
    WSManFault,
    method_input,
    output_values,
)
from harness import base_address

FleetProcess = pytest.importorskip("winrm_sim.cli").FleetProcess

# This module's /24 of its test process's addresses, so parallel runs and workers do not collide.
BASE_ADDRESS = base_address(12)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    with FleetProcess(str(tmp_path_factory.mktemp("sim")), hosts=2, profiles="server2022,gpo",
                      base_address=BASE_ADDRESS) as running:
        yield running


def host_vars(fleet, profile):
    for host in fleet.hosts().values():
        if host["wsman_winrm_sim_profile"] == profile:
            # NTLM over HTTP to an IP address needs the host in the trusted hosts (the resolver's rule).
            return dict(host, wsman_winrm_trusted_hosts=[host["ansible_host"]])
    raise LookupError(profile)


@pytest.fixture
def server(fleet):
    hv = host_vars(fleet, "server2022")
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        yield session, hv


@pytest.fixture
def gpo_host(fleet):
    hv = host_vars(fleet, "gpo")
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        yield session, hv


def test_get_and_partial_put(server):
    session, _hv = server
    service = r.ServiceConfig.from_xml(session.get("winrm/config/service"))
    before = service.get("max_connections")
    changes = service.diff({"max_connections": before + 1})["changes"]
    reply = session.put("winrm/config/service", service.render_put(changes))
    assert r.ServiceConfig.from_xml(reply).get("max_connections") == before + 1
    config = r.WinRMConfig.from_xml(session.get("winrm/config"))
    assert config.get("service.max_connections") == before + 1
    assert config.get("service.auth.negotiate") is True  # untouched by the partial Put
    session.put("winrm/config/service", r.ServiceConfig.render({"max_connections": before}))
    assert r.WinRMConfig.from_xml(session.get("winrm/config")).get("service.max_connections") == before


def test_listener_create_get_put_enumerate_delete(server):
    session, hv = server
    selectors = r.listener_selectors("IP:" + hv["ansible_host"], "http")
    created = session.create("winrm/config/listener", r.Listener.create_body(port=18085), selectors)
    assert created.tag.endswith("ResourceCreated")
    try:
        listener = r.Listener.from_xml(session.get("winrm/config/listener", selectors))
        assert listener.get("port") == 18085 and listener.get("enabled") is True
        with pytest.raises(WSManFault) as info:
            session.create("winrm/config/listener", r.Listener.create_body(port=18085), selectors)
        assert info.value.code in (2150858803, 2150858851) and "already exists" in info.value.hint

        changes = listener.diff({"enabled": False})["changes"]
        updated = r.Listener.from_xml(session.put("winrm/config/listener", listener.render_put(changes), selectors))
        assert updated.get("enabled") is False

        listeners = [r.Listener.from_xml(e) for e in session.enumerate("winrm/config/listener")]
        assert any(item.matches("IP:" + hv["ansible_host"], "HTTP") for item in listeners)
        # Small pages force the Pull loop.
        assert len(session.enumerate("winrm/config/listener", max_elements=1)) == len(listeners)
    finally:
        session.delete("winrm/config/listener", selectors)
    with pytest.raises(WSManFault) as info:
        session.get("winrm/config/listener", selectors)
    assert info.value.code == 2150858752 and info.value.hint == HINTS[2150858752]


def test_schema_fault_for_service_digest(server):
    session, _hv = server
    body = ET.Element("{%s}Auth" % r.ServiceAuth.RESOURCE_URI)
    ET.SubElement(body, "{%s}Digest" % r.ServiceAuth.RESOURCE_URI).text = "true"
    with pytest.raises(WSManFault) as info:
        session.put("winrm/config/service/auth", body)
    assert info.value.code == 2150858817


def test_invoke_stdregprov(server):
    session, _hv = server
    key = r.policy_setting("System", "LocalAccountTokenFilterPolicy").key
    out = output_values(session.invoke("wmi/root/default/StdRegProv", "EnumValues",
                                       method_input("wmi/root/default/StdRegProv", "EnumValues",
                                                    {"hDefKey": r.HKEY_LOCAL_MACHINE, "sSubKeyName": key})))
    assert "ReturnValue" in out


def test_certmapping_create_enumerate_delete(server):
    session, hv = server
    selectors = r.certmapping_selectors("*", "integration@example.test", hv["wsman_winrm_sim_ca_issuer_thumbprint"])
    password = hv["wsman_winrm_sim_operator_password"]
    session.create("winrm/config/service/certmapping", r.CertMapping.create_body("operator", password), selectors)
    try:
        mappings = [r.CertMapping.from_xml(e) for e in session.enumerate("winrm/config/service/certmapping")]
        found = [m for m in mappings if m.matches(*selectors.values())]
        assert found and found[0].get("user_name").lower() == "operator"
        assert password not in repr(found[0].to_dict())
    finally:
        session.delete("winrm/config/service/certmapping", selectors)


def test_read_all_plain_host(server):
    session, _hv = server
    snapshot = r.read_all(session)
    data = snapshot.to_dict()
    assert data["gpo_controlled"] == [] and data["policy"] == []
    assert snapshot.find_listener("*", "HTTP") is not None
    assert data["security_summary"]["basic_enabled"]["service"] is False


def test_read_all_gpo_host(gpo_host):
    session, _hv = gpo_host
    snapshot = r.read_all(session)
    assert snapshot.policy.get("Client", "TrustedHostsList") == "*.corp.example.com,10.0.0.5"
    assert snapshot.policy.get("Service", "DisableRunAs") == 1
    gpo = snapshot.policy_controlled()
    assert "client.trusted_hosts" in gpo and "service.auth.basic" in gpo
    result = snapshot.config.diff({"client": {"trusted_hosts": ["other"]}})
    assert list(result["policy_controlled"]) == ["client.trusted_hosts"] and not result["changes"]


def test_gpo_put_fault(gpo_host):
    session, _hv = gpo_host
    with pytest.raises(WSManFault) as info:
        session.put("winrm/config/client", r.ClientConfig.render({"trusted_hosts": ["other"]}))
    assert "controlled by policies" in info.value.message
    assert info.value.code == 2150858890 and info.value.hint == HINTS[2150858890]


def test_wrong_password_is_authentication_failed(fleet):
    hv = dict(host_vars(fleet, "server2022"), ansible_password="Wrong-Passw0rd!")
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        with pytest.raises(AuthenticationFailed) as info:
            session.get("winrm/config")
    assert "Administrator" in str(info.value) and "Wrong-Passw0rd!" not in str(info.value)


def test_refused_port(fleet):
    hv = dict(host_vars(fleet, "server2022"), ansible_port=18099)
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        with pytest.raises(ConnectionFailed, match="connection refused"):
            session.get("winrm/config")


def test_tls_to_the_http_listener_says_so(fleet):
    """HTTPS chosen for WinRM's HTTP port: the error says the port speaks plain HTTP, not that the
    certificate is wrong (OpenSSL: WRONG_VERSION_NUMBER)."""
    hv = dict(host_vars(fleet, "server2022"), ansible_port=5985, ansible_winrm_scheme="https")
    with Session(resolve(hv, hv["ansible_connection"])) as session:
        with pytest.raises(TLSFailed) as info:
            session.get("winrm/config")
    assert "speaks plain HTTP, not TLS" in str(info.value)
    assert "ansible_winrm_scheme: http" in info.value.hint and "CA bundle" not in info.value.hint
    assert info.value.outcome_unknown is False
