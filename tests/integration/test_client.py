"""wsman.winrm.client through ansible-playbook against simulated hosts; every result is read back with
a plain pypsrp client, independently of the module.

Hosts: SIM-2022-01 (changed and restored), SIM-GPO-02 (client TrustedHosts, AllowBasic, AllowDigest
and AllowUnencryptedTraffic set by Group Policy).
"""
from __future__ import annotations

import pytest

from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022,gpo"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def main_host(fleet):
    return fleet.host("server2022")


@pytest.fixture(scope="module")
def gpo_host(fleet):
    return fleet.host("gpo")


def read_client(fleet, host_vars: dict) -> dict[str, str]:
    """winrm/config/client from a plain pypsrp Get, raw Windows strings; nested as "Section/Leaf"."""
    with fleet.client(host_vars) as client:
        element = client.get(f"{CONFIG}/client")[0]
    values = {}
    for child in element:
        name = child.tag.rsplit("}", 1)[-1]
        if len(child):
            values.update({f"{name}/{leaf.tag.rsplit('}', 1)[-1]}": leaf.text or "" for leaf in child})
        else:
            values[name] = child.text or ""
            if child.get("Source"):
                values[name + "@Source"] = child.get("Source")
    return values


def trusted(task_args: dict) -> dict:
    return {"wsman.winrm.client": task_args}


def test_trusted_hosts_modes(fleet, main_host, tmp_path):
    name, host_vars = main_host
    assert read_client(fleet, host_vars)["TrustedHosts"] == ""
    set_task = trusted({"trusted_hosts": ["web01.corp.example.com", "10.0.0.5"]})

    (predicted,) = run_tasks(fleet, [set_task], limit=name, check=True, diff=True, tmp_path=tmp_path / "check")[name]
    assert predicted["changed"] is True
    assert predicted["trusted_hosts"] == ["web01.corp.example.com", "10.0.0.5"]
    assert read_client(fleet, host_vars)["TrustedHosts"] == ""  # check mode sent nothing

    run = run_tasks(fleet, [
        set_task,
        trusted({"trusted_hosts": ["10.0.0.5", "WEB01.corp.example.com"]}),  # same set: order and case ignored
        trusted({"trusted_hosts": ["web02", "web01.CORP.example.com"], "trusted_hosts_mode": "add"}),
        trusted({"trusted_hosts": ["web02"], "trusted_hosts_mode": "add"}),
    ], limit=name, diff=True, tmp_path=tmp_path / "real")
    first, same, added, added_again = run[name]
    assert first["changed"] is True and first["trusted_hosts"] == predicted["trusted_hosts"]
    assert first["client"] == predicted["client"]
    assert first["diff"]["before"]["trusted_hosts"] == [] and first["diff"]["after_header"] == "client"
    assert first["diff"]["after"]["trusted_hosts"] == ["web01.corp.example.com", "10.0.0.5"]
    assert "warnings" not in first
    assert same["changed"] is False and same["trusted_hosts"] == ["web01.corp.example.com", "10.0.0.5"]
    assert added["changed"] is True
    assert added["trusted_hosts"] == ["web01.corp.example.com", "10.0.0.5", "web02"]  # others kept, in order
    assert added_again["changed"] is False
    assert read_client(fleet, host_vars)["TrustedHosts"] == "web01.corp.example.com,10.0.0.5,web02"

    remove = trusted({"trusted_hosts": ["10.0.0.5", "not-there"], "trusted_hosts_mode": "remove"})
    (remove_predicted,) = run_tasks(fleet, [remove], limit=name, check=True, tmp_path=tmp_path / "rm-check")[name]
    removed, removed_again = run_tasks(fleet, [remove, remove], limit=name, tmp_path=tmp_path / "rm")[name]
    assert remove_predicted["changed"] is removed["changed"] is True
    assert remove_predicted["trusted_hosts"] == removed["trusted_hosts"] == ["web01.corp.example.com", "web02"]
    assert removed_again["changed"] is False
    assert read_client(fleet, host_vars)["TrustedHosts"] == "web01.corp.example.com,web02"

    run = run_tasks(fleet, [
        trusted({"trusted_hosts": ["*"], "trusted_hosts_mode": "add"}),
        trusted({"trusted_hosts": ["*"], "trusted_hosts_mode": "remove"}),
        trusted({"trusted_hosts": ["web01.corp.example.com"]}),
        trusted({"trusted_hosts": []}),
        trusted({"trusted_hosts": []}),
    ], limit=name, tmp_path=tmp_path / "wildcard")
    wildcard, unwildcard, one_again, emptied, empty_again = run[name]
    # MS-WSMV 2.2.4.6: "*" stands alone (Windows refuses "web01,web02,*"): adding it trusts every host.
    assert wildcard["changed"] is True and wildcard["trusted_hosts"] == ["*"], wildcard.get("msg")
    assert any("never *" in warning for warning in wildcard["warnings"])
    assert unwildcard["changed"] is True and unwildcard["trusted_hosts"] == [] and "warnings" not in unwildcard
    assert one_again["changed"] is True and one_again["trusted_hosts"] == ["web01.corp.example.com"]
    assert emptied["changed"] is True and emptied["trusted_hosts"] == []
    assert empty_again["changed"] is False
    assert read_client(fleet, host_vars)["TrustedHosts"] == ""


def test_other_client_settings(fleet, main_host, tmp_path):
    name, host_vars = main_host
    task = {"wsman.winrm.client": {"network_delay_ms": 7000, "url_prefix": "wsman", "allow_unencrypted": True,
                                   "default_ports": {"http": 80, "https": 443}}}
    (predicted,) = run_tasks(fleet, [task], limit=name, check=True, tmp_path=tmp_path / "check")[name]
    real, again = run_tasks(fleet, [task, task], limit=name, diff=True, tmp_path=tmp_path / "real")[name]
    assert predicted["changed"] is real["changed"] is True
    assert predicted["client"] == real["client"]
    assert real["changes"] == ["client.allow_unencrypted", "client.default_ports.http",
                               "client.default_ports.https", "client.network_delay_ms"]
    assert any("WN22-CC-000480" in warning for warning in real["warnings"])
    assert real["diff"]["before"]["default_ports"] == {"http": 5985, "https": 5986}
    assert real["diff"]["after"]["default_ports"] == {"http": 80, "https": 443}
    assert again["changed"] is False
    back = read_client(fleet, host_vars)
    assert back["NetworkDelayms"] == "7000" and back["AllowUnencrypted"] == "true"
    assert back["DefaultPorts/HTTP"] == "80" and back["DefaultPorts/HTTPS"] == "443"

    (restored,) = run_tasks(fleet, [{"wsman.winrm.client": {
        "network_delay_ms": 5000, "allow_unencrypted": False, "default_ports": {"http": 5985, "https": 5986}}}],
        limit=name, tmp_path=tmp_path / "restore")[name]
    assert restored["changed"] is True and "warnings" not in restored
    back = read_client(fleet, host_vars)
    assert back["AllowUnencrypted"] == "false" and back["DefaultPorts/HTTP"] == "5985"


def test_bad_inputs_fail_before_anything_is_sent(fleet, main_host, tmp_path):
    name, host_vars = main_host
    before = read_client(fleet, host_vars)
    cases = [
        ({"default_ports": {"https": 0}}, ["default_ports.https", "1 and 65535"]),
        ({"default_ports": {"http": 65536}}, ["default_ports.http", "1 and 65535"]),
        ({"network_delay_ms": 100}, ["network_delay_ms", "between 500"]),
        ({"url_prefix": "/wsman"}, ["url_prefix", "start or end with /"]),
        ({"url_prefix": ""}, ["url_prefix", "blank"]),
        ({"trusted_hosts": ["a.example.com,b.example.com"]}, ["trusted_hosts", "comma", "one entry per list item"]),
        ({"trusted_hosts": ["web*01"]}, ["trusted_hosts", "wildcard"]),
        ({"trusted_hosts": ["  "]}, ["trusted_hosts", "empty"]),
        # Windows refuses these with 0x8033809F; a valid entry beside them must not be sent either.
        ({"trusted_hosts": ["web01", "web 01"]}, ["trusted_hosts", "'web 01'", "not a host name", "0x8033809F"]),
        ({"trusted_hosts": ["a&b"]}, ["trusted_hosts", "'a&b'", "not a host name"]),
        ({"trusted_hosts": ["web_01"]}, ["trusted_hosts", "'web_01'", "RFC 1123"]),
        ({"trusted_hosts": ["-bad-"]}, ["trusted_hosts", "'-bad-'", "RFC 1123"]),
        ({"trusted_hosts": ["h" * 100_000]}, ["trusted_hosts", "longer than a host name", "100000 characters"]),
        ({"trusted_hosts": ["x"], "trusted_hosts_mode": "replace"}, ["trusted_hosts_mode"]),
    ]
    tasks = [{"wsman.winrm.client": dict(bad, network_delay_ms=bad.get("network_delay_ms", 6000))}
             for bad, _expected in cases]
    results = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path)[name]
    for (bad, expected), result in zip(cases, results):
        assert result.get("failed"), bad
        for text in expected:
            assert text in result["msg"], (bad, result["msg"])
        assert len(result["msg"]) < 2000  # a 100 kB entry is not echoed back whole
    assert read_client(fleet, host_vars) == before


def test_trusted_hosts_under_group_policy(fleet, gpo_host, tmp_path):
    name, host_vars = gpo_host
    before = read_client(fleet, host_vars)
    assert before["TrustedHosts@Source"] == "GPO" and before["TrustedHosts"] == "*.corp.example.com,10.0.0.5"

    tasks = [
        trusted({"trusted_hosts": ["web01"], "network_delay_ms": 6000}),
        trusted({"trusted_hosts": ["web01"], "trusted_hosts_mode": "add"}),
        trusted({"trusted_hosts": ["10.0.0.5", "*.CORP.example.com"]}),  # what the policy says: no change
        trusted({"trusted_hosts": ["other"], "trusted_hosts_mode": "remove"}),  # removes nothing: no change
    ]
    (checked, checked_add, same, nothing) = run_tasks(fleet, tasks, limit=name, check=True,
                                                      tmp_path=tmp_path / "check")[name]
    refused, refused_add, same_real, nothing_real = run_tasks(fleet, tasks, limit=name, tmp_path=tmp_path / "real")[name]
    for result in (checked, checked_add, refused, refused_add):
        assert result["failed"]
        assert "client.trusted_hosts" in result["msg"] and "Client\\TrustedHosts" in result["msg"]
        assert "wsman.winrm.policy" in result["msg"] and "policy_controlled: skip" in result["msg"]
    for result in (same, nothing, same_real, nothing_real):
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is False and result["trusted_hosts"] == ["*.corp.example.com", "10.0.0.5"]
    assert read_client(fleet, host_vars) == before

    skip = trusted({"trusted_hosts": ["web01"], "trusted_hosts_mode": "add", "network_delay_ms": 6000,
                    "policy_controlled": "skip"})
    (predicted,) = run_tasks(fleet, [skip], limit=name, check=True, tmp_path=tmp_path / "skip-check")[name]
    skipped, again = run_tasks(fleet, [skip, skip], limit=name, tmp_path=tmp_path / "skip")[name]
    for result in (predicted, skipped):
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True and result["changes"] == ["client.network_delay_ms"]
        assert result["policy_skipped"] == ["client.trusted_hosts"]
        assert result["trusted_hosts"] == ["*.corp.example.com", "10.0.0.5"]
    assert again["changed"] is False
    back = read_client(fleet, host_vars)
    assert back["NetworkDelayms"] == "6000" and back["TrustedHosts"] == before["TrustedHosts"]
