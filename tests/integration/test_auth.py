"""wsman.winrm.auth through ansible-playbook against simulated hosts; every result is read back with a
plain pypsrp client, independently of the module.

Hosts: SIM-2022-01 (changed and restored by each test), SIM-2022-02 (the destructive lockout test
turns Negotiate off on it for good), SIM-GPO-03 (WinRM Group Policy applied).
"""
from __future__ import annotations

import pytest
from pypsrp.exceptions import AuthenticationError
from pypsrp.wsman import WSMan

from harness import CONFIG, run_tasks, value_of

FLEET_PROFILES = "server2022_https,server2022_https,gpo"

pytestmark = pytest.mark.timeout(600)


def hosts_of(fleet, profile: str) -> list[tuple[str, dict]]:
    return sorted((name, vars_) for name, vars_ in fleet.hosts().items()
                  if vars_["wsman_winrm_sim_profile"] == profile)


@pytest.fixture(scope="module")
def main_host(fleet):
    return hosts_of(fleet, "server2022_https")[0]


@pytest.fixture(scope="module")
def sacrificial_host(fleet):
    return hosts_of(fleet, "server2022_https")[1]


@pytest.fixture(scope="module")
def gpo_host(fleet):
    return hosts_of(fleet, "gpo")[0]


def plain_get(fleet, host_vars: dict, resource: str):
    """A plain pypsrp Get (NTLM, the inventory's account); the resource element of the reply body.

    (harness's fleet.get looks for a Body inside the Body pypsrp already returns.)"""
    with fleet.client(host_vars) as client:
        return client.get(f"{CONFIG}/{resource}")[0]


def read_auth(fleet, host_vars: dict, scope: str) -> dict[str, str]:
    """The auth section as the host returns it to a plain pypsrp Get (raw Windows strings)."""
    element = plain_get(fleet, host_vars, f"{scope}/auth")
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}


def basic_https_client(host_vars: dict) -> WSMan:
    ports = host_vars["wsman_winrm_sim_ports"]
    return WSMan(host_vars["ansible_host"], port=ports[5986], ssl=True, auth="basic",
                 username=host_vars["ansible_user"], password=host_vars["ansible_password"],
                 cert_validation=host_vars["ansible_winrm_ca_trust_path"], no_proxy=True,
                 operation_timeout=10, read_timeout=20)


def test_check_mode_predicts_the_change_then_idempotent(fleet, main_host, tmp_path):
    name, host_vars = main_host
    task = {"wsman.winrm.auth": {"scope": "service", "cbt_hardening_level": "STRICT", "certificate": True,
                                 "kerberos": True}}

    (predicted,) = run_tasks(fleet, [task], limit=name, check=True, diff=True, tmp_path=tmp_path / "check")[name]
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] is True
    assert predicted["auth"]["cbt_hardening_level"] == "Strict"  # Windows' spelling out
    assert predicted["auth"]["certificate"] is True
    assert read_auth(fleet, host_vars, "service")["CbtHardeningLevel"] == "Relaxed"  # check mode sent nothing
    assert read_auth(fleet, host_vars, "service")["Certificate"] == "false"

    real, again = run_tasks(fleet, [task, task], limit=name, diff=True, tmp_path=tmp_path / "real")[name]
    assert not real.get("failed"), real.get("msg")
    assert real["changed"] is True
    assert real["auth"] == predicted["auth"]
    assert real["changes"] == predicted["changes"] == ["service.auth.cbt_hardening_level", "service.auth.certificate"]
    assert real["before"]["cbt_hardening_level"] == "Relaxed"
    assert real["diff"]["before"]["cbt_hardening_level"] == "Relaxed"
    assert real["diff"]["after"]["cbt_hardening_level"] == "Strict"
    assert real["diff"]["before_header"] == "service.auth"
    assert real.get("policy_skipped") == []
    assert again["changed"] is False and again["changes"] == []
    back = read_auth(fleet, host_vars, "service")
    assert back["CbtHardeningLevel"] == "Strict" and back["Certificate"] == "true" and back["Kerberos"] == "true"

    (restored,) = run_tasks(fleet, [{"wsman.winrm.auth": {"scope": "service", "cbt_hardening_level": "relaxed",
                                                          "certificate": False}}],
                            limit=name, tmp_path=tmp_path / "restore")[name]
    assert restored["changed"] is True
    assert read_auth(fleet, host_vars, "service")["CbtHardeningLevel"] == "Relaxed"


def test_client_scope(fleet, main_host, tmp_path):
    name, host_vars = main_host
    assert read_auth(fleet, host_vars, "client")["Digest"] == "true"
    task = {"wsman.winrm.auth": {"scope": "client", "basic": False, "digest": False, "credssp": False}}
    (predicted,) = run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check")[name]
    first, second = run_tasks(fleet, [task, task], limit=name, diff=True, tmp_path=tmp_path / "real")[name]
    assert predicted["changed"] is first["changed"] is True
    assert predicted["auth"] == first["auth"]
    assert first["auth"]["basic"] is False and first["auth"]["digest"] is False
    assert first["diff"]["before"]["digest"] is True and first["diff"]["after"]["digest"] is False
    assert "warnings" not in first
    assert second["changed"] is False
    back = read_auth(fleet, host_vars, "client")
    assert back["Basic"] == "false" and back["Digest"] == "false" and back["Kerberos"] == "true"


def test_insecure_values_warn_and_basic_really_works(fleet, main_host, tmp_path):
    name, host_vars = main_host
    with pytest.raises(AuthenticationError):  # Basic is off on a new install
        with basic_https_client(host_vars) as client:
            client.get(CONFIG + "/service/auth")

    run = run_tasks(fleet, [
        {"wsman.winrm.auth": {"scope": "service", "basic": True, "credssp": True, "cbt_hardening_level": "None"}},
        {"wsman.winrm.auth": {"scope": "client", "basic": True, "digest": True}},
    ], limit=name, tmp_path=tmp_path / "on")
    service, client = run[name]
    assert service["changed"] is True
    warnings = " ".join(service["warnings"])
    assert "WN22-CC-000500" in warnings and "CredSSP" in warnings and "CbtHardeningLevel None" in warnings
    assert client["changed"] is True
    assert "WN22-CC-000470" in " ".join(client["warnings"]) and "WN22-CC-000490" in " ".join(client["warnings"])

    # End to end: a plain pypsrp client with Basic over HTTPS now gets in.
    with basic_https_client(host_vars) as basic:
        reply = basic.get(CONFIG + "/service/auth")
    assert value_of(reply, "Basic") == "true" and value_of(reply, "CbtHardeningLevel") == "None"

    (off,) = run_tasks(fleet, [{"wsman.winrm.auth": {"scope": "service", "basic": False, "credssp": False,
                                                     "cbt_hardening_level": "Relaxed"}}],
                       limit=name, tmp_path=tmp_path / "off")[name]
    assert off["changed"] is True and "warnings" not in off
    with pytest.raises(AuthenticationError):
        with basic_https_client(host_vars) as basic:
            basic.get(CONFIG + "/service/auth")
    assert read_auth(fleet, host_vars, "service")["Basic"] == "false"


def test_bad_inputs_fail_before_anything_is_sent(fleet, main_host, tmp_path):
    name, host_vars = main_host
    before_service, before_client = read_auth(fleet, host_vars, "service"), read_auth(fleet, host_vars, "client")
    run = run_tasks(fleet, [
        {"wsman.winrm.auth": {"scope": "service", "digest": False, "basic": True}},
        {"wsman.winrm.auth": {"scope": "client", "cbt_hardening_level": "strict", "credssp": True}},
        {"wsman.winrm.auth": {"scope": "service", "cbt_hardening_level": "maximum"}},
        {"wsman.winrm.auth": {"scope": "server", "basic": False}},
        {"wsman.winrm.auth": {"basic": False}},
    ], limit=name, tmp_path=tmp_path)
    digest, cbt_client, cbt_bad, bad_scope, no_scope = run[name]
    assert digest["failed"] and "digest" in digest["msg"] and "2150858817" in digest["msg"]
    assert cbt_client["failed"] and "cbt_hardening_level" in cbt_client["msg"] and "service" in cbt_client["msg"]
    assert cbt_bad["failed"] and "none, relaxed, strict" in cbt_bad["msg"] and "maximum" in cbt_bad["msg"]
    assert bad_scope["failed"] and "scope" in bad_scope["msg"]
    assert no_scope["failed"] and "scope" in no_scope["msg"]
    assert read_auth(fleet, host_vars, "service") == before_service
    assert read_auth(fleet, host_vars, "client") == before_client


def test_group_policy_refusal_and_skip(fleet, gpo_host, tmp_path):
    name, host_vars = gpo_host
    element = plain_get(fleet, host_vars, "service/auth")
    basic = next(child for child in element if child.tag.endswith("}Basic"))
    assert basic.get("Source") == "GPO" and basic.text == "false"

    tasks = [
        {"wsman.winrm.auth": {"scope": "service", "basic": True, "certificate": True}},
        {"wsman.winrm.auth": {"scope": "client", "basic": True}},
        {"wsman.winrm.auth": {"scope": "service", "basic": False}},  # what the policy says: nothing to do
    ]
    (checked_service, checked_client, same) = run_tasks(fleet, tasks, limit=name, check=True,
                                                        tmp_path=tmp_path / "check")[name]
    refused_service, refused_client, same_real = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path / "real")[name]
    for refused in (checked_service, refused_service):
        assert refused["failed"]
        assert "service.auth.basic" in refused["msg"]
        assert "Service\\AllowBasic" in refused["msg"]  # the policy value is named
        assert "wsman.winrm.policy" in refused["msg"] and "policy_controlled: skip" in refused["msg"]
    for refused in (checked_client, refused_client):
        assert refused["failed"] and "Client\\AllowBasic" in refused["msg"]
    assert same["changed"] is False and same_real["changed"] is False and not same_real.get("failed")
    assert read_auth(fleet, host_vars, "service")["Certificate"] == "false"  # the refusal sent nothing

    skip = {"wsman.winrm.auth": {"scope": "service", "basic": True, "certificate": True,
                                 "policy_controlled": "skip"}}
    (predicted,) = run_tasks(fleet, [skip], limit=name, check=True, tmp_path=tmp_path / "skip-check")[name]
    skipped, again = run_tasks(fleet, [skip, skip], limit=name, tmp_path=tmp_path / "skip")[name]
    for result in (predicted, skipped):
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True
        assert result["policy_skipped"] == ["service.auth.basic"]
        assert result["auth"]["basic"] is False and result["auth"]["certificate"] is True
        assert any("Group Policy" in warning for warning in result["warnings"])
        assert not any("WN22-CC-000500" in warning for warning in result["warnings"])  # Basic stayed off
    assert again["changed"] is False and again["policy_skipped"] == ["service.auth.basic"]
    back = read_auth(fleet, host_vars, "service")
    assert back["Certificate"] == "true" and back["Basic"] == "false"


def test_turning_off_the_auth_in_use_is_refused(fleet, main_host, tmp_path):
    name, host_vars = main_host
    task = {"wsman.winrm.auth": {"scope": "service", "negotiate": False}}
    (checked,) = run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check")[name]
    (refused,) = run_tasks(fleet, [task], limit=name, tmp_path=tmp_path / "real")[name]
    for result in (checked, refused):
        assert result["failed"]
        assert "lock this controller out" in result["msg"] and "ntlm" in result["msg"]
        assert "force: true" in result["msg"]
    assert read_auth(fleet, host_vars, "service")["Negotiate"] == "true"


def test_force_cuts_the_connection_and_another_way_back_in_works(fleet, sacrificial_host, tmp_path):
    name, host_vars = sacrificial_host
    run = run_tasks(fleet, [
        {"wsman.winrm.auth": {"scope": "service", "basic": True}},  # the way back in: Basic over HTTPS
        {"wsman.winrm.auth": {"scope": "service", "negotiate": False, "force": True}},
    ], limit=name, tmp_path=tmp_path / "force")
    basic_on, forced = run[name]
    assert basic_on["changed"] is True
    assert not forced.get("failed"), forced.get("msg")
    assert forced["changed"] is True and forced["auth"]["negotiate"] is False
    assert any("force: true" in warning and "ntlm" in warning for warning in forced["warnings"])

    with pytest.raises(AuthenticationError):  # the inventory's NTLM no longer gets in
        plain_get(fleet, host_vars, "service/auth")
    with basic_https_client(host_vars) as basic:
        assert value_of(basic.get(CONFIG + "/service/auth"), "Negotiate") == "false"

    # The module itself, over Basic/HTTPS, puts Negotiate back; then NTLM works again.
    over_https = {"ansible_winrm_transport": "basic", "ansible_winrm_scheme": "https",
                  "ansible_port": host_vars["wsman_winrm_sim_ports"][5986]}
    run = run_tasks(fleet, [
        {"wsman.winrm.auth": {"scope": "service", "basic": False}, "vars": over_https},  # cuts Basic: refused
        {"wsman.winrm.auth": {"scope": "service", "negotiate": True}, "vars": over_https},
        {"wsman.winrm.auth": {"scope": "service", "basic": False}},  # back on NTLM
    ], limit=name, tmp_path=tmp_path / "restore")
    refused, restored, basic_off = run[name]
    assert refused["failed"] and "basic" in refused["msg"] and "lock this controller out" in refused["msg"]
    assert not restored.get("failed"), restored.get("msg")
    assert restored["changed"] is True and restored["auth"]["negotiate"] is True
    assert not basic_off.get("failed"), basic_off.get("msg")
    back = read_auth(fleet, host_vars, "service")
    assert back["Negotiate"] == "true" and back["Basic"] == "false"
