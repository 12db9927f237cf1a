"""wsman.winrm.info's PowerShell remoting parts through ansible-playbook, checked against a plain
pypsrp read of the same host: every session configuration of each profile, who may connect, and
the security verdict each profile was built for.

Verdict rules: Microsoft Learn, "PowerShell Remoting Security Considerations"; FoxDeploy, "Is WinRM
Secure or do I need HTTPs?". A domain member with Kerberos is in test_remoting_verdicts.py (it needs
the KDC).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from harness import run_tasks

# workstation has no listener: nothing to read there.
FLEET_PROFILES = ("server2022,server2022_https,winrm11,upgraded11,gpo,basic_unencrypted,server2022_jea,"
                  "winrm11_scoped,winrm11_ports")
PLUGIN = "http://schemas.microsoft.com/wbem/wsman/1/config/plugin"
PNS = "{http://schemas.microsoft.com/wbem/wsman/1/config/PluginConfiguration}"
REMOTING = ["system", "session_configurations", "access", "verdict"]


def plugins_read_plainly(fleet, host_vars) -> dict[str, ET.Element]:
    with fleet.client(host_vars) as client:
        return {e.get("Name"): e for e in client.enumerate(PLUGIN, ET.fromstring(
            '<n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><w:OptimizeEnumeration/>'
            "<w:MaxElements>100</w:MaxElements></n:Enumerate>")).iter(PNS + "PlugInConfiguration")}


def plain_quotas(element: ET.Element) -> dict[str, int]:
    """The Quotas attributes of a plugin document, by attribute name in lower case."""
    quotas = element.find(PNS + "Quotas")
    return {} if quotas is None else {name.lower(): int(value) for name, value in quotas.attrib.items()}


def quotas_by_attribute(reported: dict[str, int]) -> dict[str, int]:
    """info's quota options (max_memory_per_shell_mb) keyed as the attribute (MaxMemoryPerShellMB) in lower case."""
    return {option.replace("_", ""): value for option, value in reported.items()}


def test_info_reads_every_session_configuration_of_each_profile(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {"gather": REMOTING}}], tmp_path=tmp_path)
    assert set(run.results) == set(fleet.hosts())
    for name, (result,) in run.results.items():
        host_vars = fleet.hosts()[name]
        assert not result.get("failed"), (name, result.get("msg"))
        plain = plugins_read_plainly(fleet, host_vars)
        reported = {c["name"]: c for c in result["session_configurations"] + result["plugins"]}
        assert sorted(reported) == sorted(plain), name
        for plugin_name, element in plain.items():
            configuration = reported[plugin_name]
            assert configuration["enabled"] == (element.get("Enabled", "true").lower() == "true")
            assert configuration["run_as_user"] == (element.get("RunAsUser") or None)
            sddls = [s.get("Sddl") or None for s in element.iter(PNS + "Security")]
            assert [d["sddl"] for d in configuration["descriptors"]] == sddls, (name, plugin_name)
            assert configuration["filename"] == element.get("Filename"), (name, plugin_name)
            parameters = {p.get("Name"): p.get("Value") for p in element.iter(PNS + "Param")}
            assert configuration["initialization_parameters"] == parameters, (name, plugin_name)
            assert quotas_by_attribute(configuration["quotas"]) == plain_quotas(element), (name, plugin_name)
        assert all(c["kind"] == "powershell" for c in result["session_configurations"])
        assert "RunAsPassword" not in str(result) and host_vars["wsman_winrm_sim_localadmin_password"] not in str(result)
        assert result["system"]["computer_name"] == name and result["system"]["part_of_domain"] is False


def test_who_may_connect_names_the_people_and_the_network(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {"gather": ["access"]}}], tmp_path=tmp_path,
                    limit="sim_server2022_jea:sim_upgraded11:sim_winrm11")
    results = {fleet.hosts()[name]["wsman_winrm_sim_profile"]: (name, r[0]) for name, r in run.results.items()}
    name, jea = results["server2022_jea"]
    by_endpoint = {e["endpoint"]: e for e in jea["who_may_connect"]["endpoints"]}
    assert [(w["trustee"], w["members"]) for w in by_endpoint["JEAMaintenance"]["who"]] == [
        (f"{name}\\JEA Operators", [f"{name}\\operator"])]
    assert by_endpoint["microsoft.powershell"]["descriptor"] == "session configuration"
    assert f"{name}\\localadmin" in by_endpoint["WinRM service"]["who"][0]["members_without_admin_rights"]
    assert jea["who_may_connect"]["network"]["ports"]["5985"]["summary"] == (
        "from the local subnet on the public profile, any address on domain/private")
    assert "the host is on the public network profile now" in jea["who_may_connect"]["summary"]
    assert {g["name"] for g in jea["local_groups"]} >= {"Administrators", "JEA Operators", "Remote Management Users"}
    # WinRM 2.0 on Server 2008: WMI for Administrators and WinRMRemoteWMIUsers__ (operator is in it).
    name, upgraded = results["upgraded11"]
    wmi = next(e for e in upgraded["who_may_connect"]["endpoints"] if e["endpoint"] == "WMI Provider")
    assert (f"{name}\\WinRMRemoteWMIUsers__", [f"{name}\\operator"]) in [(w["trustee"], w["members"]) for w in wmi["who"]]
    # WinRM 1.1: no per-plugin descriptors, RootSDDL guards WMI too.
    _name, legacy = results["winrm11"]
    wmi = next(e for e in legacy["who_may_connect"]["endpoints"] if e["endpoint"] == "WMI Provider")
    assert wmi["descriptor"] == "RootSDDL"


def test_each_profile_gets_the_verdict_it_was_built_for(fleet, tmp_path):
    run = run_tasks(fleet, [{"wsman.winrm.info": {"gather": ["verdict"]}}], tmp_path=tmp_path,
                    limit="sim_server2022:sim_server2022_https:sim_basic_unencrypted")
    verdicts = {fleet.hosts()[name]["wsman_winrm_sim_profile"]: r[0]["verdict"] for name, r in run.results.items()}
    assert (verdicts["server2022"]["verdict"], verdicts["server2022"]["summary"]) == (
        "https_recommended", "HTTPS recommended: workgroup host, NTLM cannot verify the server")
    assert verdicts["server2022"]["recommended_profile"] == "workgroup_https"
    assert verdicts["server2022_https"]["verdict"] == "secure_https"
    assert verdicts["server2022_https"]["facts"]["https_certificate_validated"] is True   # a TLS handshake with the CA
    insecure = verdicts["basic_unencrypted"]
    assert (insecure["verdict"], insecure["summary"]) == (
        "insecure", "insecure: Basic and AllowUnencrypted on, credentials and data in cleartext")
    assert "set AllowUnencrypted to false (winrm/config/service)" in insecure["changes"]
    assert "AllowUnencrypted on" in insecure["evidence"]
