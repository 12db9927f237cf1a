"""wsman.winrm.policy through ansible-playbook against a simulated Windows Server 2022 and a host
with WinRM Group Policy applied.

Every result is read back with plain pypsrp requests: the registry through StdRegProv, and the
effect on winrm/config (Source="GPO", Put refused with 2150858890, local control back after
state=absent).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError

from harness import CONFIG, run_tasks

FLEET_PROFILES = "server2022,gpo"
STDREGPROV = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/default/StdRegProv"
HKLM = "2147483650"
WINRM = r"SOFTWARE\Policies\Microsoft\Windows\WinRM"
CLIENT, SERVICE, WINRS = WINRM + r"\Client", WINRM + r"\Service", WINRM + r"\Service\WinRS"
SYSTEM = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
AUTH = CONFIG + "/service/auth"
GPO_FAULT = 2150858890


@pytest.fixture(scope="module")
def server(fleet):
    return fleet.host("server2022")[1]


@pytest.fixture(scope="module")
def gpo(fleet):
    return fleet.host("gpo")[1]


def run(fleet, tasks, tmp_path, limit="sim_server2022", **kwargs):
    outcome = run_tasks(fleet, tasks, limit=limit, tmp_path=tmp_path, **kwargs)
    (results,) = outcome.results.values()
    return results


def policy(**options):
    return {"wsman.winrm.policy": options}


# -- reading back with plain pypsrp ---------------------------------------------------------------------

def _invoke(client, method: str, **params) -> dict:
    body = ET.Element(f"{{{STDREGPROV}}}{method}_INPUT")
    for name, value in {"hDefKey": HKLM, **params}.items():
        ET.SubElement(body, f"{{{STDREGPROV}}}{name}").text = str(value)
    reply = client.invoke(f"{STDREGPROV}/{method}", STDREGPROV, body)
    output = next(e for e in reply.iter() if e.tag.endswith(f"}}{method}_OUTPUT"))
    values: dict = {}
    for child in output:
        values.setdefault(child.tag.rsplit("}", 1)[-1], []).append(child.text)
    return values


def registry(fleet, host, key: str) -> dict:
    """Every value under HKLM\\key (name -> int or str), read with plain StdRegProv calls."""
    with fleet.client(host) as client:
        listing = _invoke(client, "EnumValues", sSubKeyName=key)
        if listing["ReturnValue"] != ["0"]:
            return {}
        values = {}
        for name, kind in zip(listing.get("sNames", []), listing.get("Types", [])):
            if name is None:
                continue
            if kind == "4":
                values[name] = int(_invoke(client, "GetDWORDValue", sSubKeyName=key, sValueName=name)["uValue"][0])
            else:
                values[name] = _invoke(client, "GetStringValue", sSubKeyName=key, sValueName=name)["sValue"][0] or ""
        return values


def get_config(fleet, host, part: str) -> ET.Element:
    """A plain pypsrp Get of winrm/config/<part> (harness's fleet.get looks for a Body inside the Body)."""
    with fleet.client(host) as client:
        return client.get(f"{CONFIG}/{part}")[0]


def service_auth(fleet, host) -> dict[str, tuple[str, str]]:
    """service/auth leaves: name -> (text, Source attribute), from a plain Get."""
    element = get_config(fleet, host, "service/auth")
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "", child.get("Source") or "") for child in element}


def put_service_auth(fleet, host, **switches):
    auth = ET.Element(f"{{{AUTH}}}Auth")
    for name, value in switches.items():
        ET.SubElement(auth, f"{{{AUTH}}}{name}").text = "true" if value else "false"
    with fleet.client(host) as client:
        client.put(AUTH, auth)


@pytest.fixture(autouse=True)
def clean_server_policy(fleet, server):
    """Each test starts and ends with no WinRM policy value on the server2022 host (plain StdRegProv)."""
    def clean():
        with fleet.client(server) as client:
            for key in (CLIENT, SERVICE, WINRS, SYSTEM):
                listing = _invoke(client, "EnumValues", sSubKeyName=key)
                for name in listing.get("sNames", []):
                    if name and (key != SYSTEM or name == "LocalAccountTokenFilterPolicy"):
                        _invoke(client, "DeleteValue", sSubKeyName=key, sValueName=name)
    clean()
    yield
    clean()


def listeners(fleet, host) -> list[dict]:
    with fleet.client(host) as client:
        request = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
        ET.SubElement(request, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
        reply = client.enumerate(CONFIG + "/listener", request)
    return [{"Source": item.get("Source") or "", **{c.tag.rsplit("}", 1)[-1]: c.text or "" for c in item}}
            for item in reply.iter() if item.tag.endswith("}Listener")]


# -- bad input ---------------------------------------------------------------------------------------------

BAD_INPUTS = [
    (dict(service=dict(allow_basic="maybe")), "service.allow_basic must be true, false (1/0) or absent"),
    (dict(service=dict(allow_basic=2)), "service.allow_basic must be true, false"),
    (dict(winrs=dict(idle_timeout=-1)), "winrs.idle_timeout must be a whole number from 0 to 4294967295"),
    (dict(winrs=dict(max_shells_per_user="many")), "winrs.max_shells_per_user must be a whole number"),
    (dict(service=dict(cbt_hardening_level="Paranoid")), "service.cbt_hardening_level must be one of None, Relaxed, Strict"),
    (dict(client=dict(trusted_hosts={"a": 1})), "client.trusted_hosts must be a list"),
    (dict(client=dict(trusted_hosts=["a", "absent"])), "give absent alone"),
    (dict(service=dict(ipv4_filter="*")), "set service.allow_auto_config: true in the same task"),
    (dict(service=dict(allow_auto_config=True, ipv4_filter="10.0.0.300")), "service.ipv4_filter must be '*', empty"),
    (dict(service=dict(allow_auto_config=True, ipv4_filter="*", ipv6_filter="10.0.0.1")),
     "service.ipv6_filter must be '*', empty, or IPv6"),
    (dict(local_account_token_filter_policy="sometimes"), "local_account_token_filter_policy must be true, false"),
    (dict(), "Name at least one policy value"),
    (dict(client=dict(allow_bogus=True)), "allow_bogus"),
]


def test_bad_input_fails_naming_the_option(fleet, server, tmp_path):
    before = {key: registry(fleet, server, key) for key in (CLIENT, SERVICE, WINRS)}
    results = run(fleet, [policy(**options) for options, _expected in BAD_INPUTS], tmp_path)
    for (options, expected), result in zip(BAD_INPUTS, results):
        assert result.get("failed"), options
        assert expected in result["msg"], (options, result["msg"])
    assert {key: registry(fleet, server, key) for key in (CLIENT, SERVICE, WINRS)} == before


# -- the policy takes over, and absent gives control back ----------------------------------------------------

def test_service_basic_policy_marks_gpo_and_absent_restores_local_control(fleet, server, tmp_path):
    task = policy(service=dict(allow_basic=False))
    (predicted,) = run(fleet, [task], tmp_path / "check", check=True, diff=True)
    assert predicted["changed"] is True, predicted.get("msg")
    assert "AllowBasic" not in registry(fleet, server, SERVICE)
    assert service_auth(fleet, server)["Basic"] == ("false", "")

    (written,) = run(fleet, [task], tmp_path / "real", diff=True)
    assert written["changed"] is True
    assert written["policy"] == predicted["policy"] and written["changes"] == predicted["changes"]
    path = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\AllowBasic"
    assert written["diff"]["before"] == {path: None} and written["diff"]["after"] == {path: 0}
    assert {"name": "AllowBasic", "value": 0, "type": "DWORD"}.items() <= \
        next(item for item in written["policy"] if item["path"].endswith("Service") and item["name"] == "AllowBasic").items()

    # read back: the registry value, Source="GPO" on the setting, and Windows refusing a local change
    assert registry(fleet, server, SERVICE) == {"AllowBasic": 0}
    assert service_auth(fleet, server)["Basic"] == ("false", "GPO")
    with pytest.raises(WSManFaultError) as refused:
        put_service_auth(fleet, server, Basic=True)
    assert refused.value.code == GPO_FAULT

    (again,) = run(fleet, [task], tmp_path / "again")
    assert again["changed"] is False and again["changes"] == []

    absent = policy(state="absent", service=dict(allow_basic=True))  # with state=absent any value names it
    (predicted_absent,) = run(fleet, [absent], tmp_path / "check-absent", check=True, diff=True)
    assert predicted_absent["changed"] is True and predicted_absent["diff"]["after"] == {path: None}
    assert registry(fleet, server, SERVICE) == {"AllowBasic": 0}
    (removed, removed_again) = run(fleet, [absent, absent], tmp_path / "absent")
    assert removed["changed"] is True and removed["policy"] == predicted_absent["policy"]
    assert removed_again["changed"] is False
    assert registry(fleet, server, SERVICE) == {}
    assert service_auth(fleet, server)["Basic"] == ("false", "")
    put_service_auth(fleet, server, Basic=False)   # local control is back: Windows accepts the Put


def test_switch_and_value_pairs(fleet, server, tmp_path):
    tasks = [
        policy(client=dict(trusted_hosts=["web01.example.com", "*.mgmt.example.com"]),
               service=dict(cbt_hardening_level="strict")),
        policy(client=dict(trusted_hosts="*.MGMT.example.com, web01.example.com"),   # same list, other spelling
               service=dict(cbt_hardening_level="Strict")),
    ]
    (first, second) = run(fleet, tasks, tmp_path, diff=True)
    assert first["changed"] is True and second["changed"] is False, (first.get("msg"), second.get("msg"))
    assert registry(fleet, server, CLIENT) == {"TrustedHostsList": "web01.example.com,*.mgmt.example.com",
                                               "TrustedHosts": 1}
    assert registry(fleet, server, SERVICE) == {"CbtHardeningLevel": "Strict", "CBTHardeningLevelStatus": 1}
    client = get_config(fleet, server, "client")
    trusted = next(c for c in client if c.tag.endswith("}TrustedHosts"))
    assert trusted.get("Source") == "GPO" and trusted.text == "web01.example.com,*.mgmt.example.com"
    assert service_auth(fleet, server)["CbtHardeningLevel"] == ("Strict", "GPO")
    # a value is written before its switch, and the diff shows both
    changes = [change.rsplit("\\", 1)[-1] for change in first["changes"]]
    assert changes.index("TrustedHostsList") < changes.index("TrustedHosts")
    assert changes.index("CbtHardeningLevel") < changes.index("CBTHardeningLevelStatus")
    assert set(first["diff"]["after"].values()) == {"web01.example.com,*.mgmt.example.com", 1, "Strict"}

    # "absent" as a value removes that option's values (both of a pair), in a present task
    (removed,) = run(fleet, [policy(client=dict(trusted_hosts="absent"), service=dict(cbt_hardening_level="absent"))],
                     tmp_path / "absent")
    assert removed["changed"] is True
    assert registry(fleet, server, CLIENT) == {} and registry(fleet, server, SERVICE) == {}
    assert service_auth(fleet, server)["CbtHardeningLevel"] == ("Relaxed", "")


def test_check_mode_agrees_with_the_real_run_over_every_scope(fleet, server, tmp_path):
    task = policy(client=dict(allow_digest=False, allow_credssp="no"), service=dict(disable_run_as=1),
                  winrs=dict(idle_timeout=600000, max_shells_per_user="30"), local_account_token_filter_policy=True)
    (predicted,) = run(fleet, [task], tmp_path / "check", check=True, diff=True)
    (real,) = run(fleet, [task], tmp_path / "real", diff=True)
    assert predicted["changed"] is real["changed"] is True, real.get("msg")
    for key in ("policy", "changes", "diff"):
        assert predicted[key] == real[key], key
    assert registry(fleet, server, CLIENT) == {"AllowDigest": 0, "AllowCredSSP": 0}
    assert registry(fleet, server, SERVICE) == {"DisableRunAs": 1}
    assert registry(fleet, server, WINRS) == {"IdleTimeout": 600000, "MaxShellsPerUser": 30}
    assert registry(fleet, server, SYSTEM)["LocalAccountTokenFilterPolicy"] == 1
    winrs = get_config(fleet, server, "winrs")
    idle = next(c for c in winrs if c.tag.endswith("}IdleTimeout"))
    assert (idle.text, idle.get("Source")) == ("600000", "GPO")

    (again,) = run(fleet, [task], tmp_path / "again")
    assert again["changed"] is False
    (removed,) = run(fleet, [policy(**dict(task["wsman.winrm.policy"], state="absent"))], tmp_path / "absent")
    assert removed["changed"] is True
    assert registry(fleet, server, CLIENT) == registry(fleet, server, SERVICE) == registry(fleet, server, WINRS) == {}
    assert "LocalAccountTokenFilterPolicy" not in registry(fleet, server, SYSTEM)


def test_host_with_group_policy(fleet, gpo, tmp_path):
    before = registry(fleet, gpo, CLIENT), registry(fleet, gpo, SERVICE)
    assert before[1]["AllowBasic"] == 0 and before[0]["TrustedHosts"] == 1
    same = policy(service=dict(allow_basic=False, disable_run_as=True),
                  client=dict(trusted_hosts=["10.0.0.5", "*.corp.example.com"]))
    (unchanged,) = run(fleet, [same], tmp_path / "same", limit="sim_gpo")
    assert unchanged["changed"] is False, unchanged.get("msg")
    assert unchanged["before"] == unchanged["policy"]
    assert any(item["name"] == "DisableRunAs" and item["value"] == 1 for item in unchanged["policy"])

    (removed,) = run(fleet, [policy(state="absent", service=dict(allow_unencrypted_traffic="absent"))],
                     tmp_path / "absent", limit="sim_gpo")
    assert removed["changed"] is True
    assert "AllowUnencryptedTraffic" not in registry(fleet, gpo, SERVICE)
    service = get_config(fleet, gpo, "service")
    unencrypted = next(c for c in service if c.tag.endswith("}AllowUnencrypted"))
    assert unencrypted.get("Source") is None

    (restored,) = run(fleet, [policy(service=dict(allow_unencrypted_traffic=False))], tmp_path / "restore",
                      limit="sim_gpo")
    assert restored["changed"] is True
    assert (registry(fleet, gpo, CLIENT), registry(fleet, gpo, SERVICE)) == before


# -- refusals: CIS level 2 values and anti-lockout ----------------------------------------------------------

def test_cis_level2_values_that_cut_remote_management_need_force(fleet, server, tmp_path):
    tasks = [policy(service=dict(allow_auto_config=False)),
             policy(winrs=dict(allow_remote_shell_access=False)),
             policy(winrs=dict(allow_remote_shell_access=False), force=True)]
    (auto_config, shells, forced) = run(fleet, tasks, tmp_path)
    assert auto_config["failed"] and "CIS 18.10.89.2.2" in auto_config["msg"] and "force: true" in auto_config["msg"]
    assert shells["failed"] and "CIS 18.10.90.1" in shells["msg"]
    assert forced["changed"] is True and not forced.get("failed"), forced.get("msg")
    assert any("cut remote management" in warning for warning in forced["warnings"])
    assert registry(fleet, server, WINRS) == {"AllowRemoteShellAccess": 0}
    assert "AllowAutoConfig" not in registry(fleet, server, SERVICE)

    # config requests still work (this module's), remote shells do not
    from pypsrp.shell import WinRS
    with fleet.client(server) as client:
        with pytest.raises(WSManFaultError):
            with WinRS(client):
                pass
    (back,) = run(fleet, [policy(state="absent", winrs=dict(allow_remote_shell_access="absent"))], tmp_path / "back")
    assert back["changed"] is True and registry(fleet, server, WINRS) == {}


def test_anti_lockout(fleet, server, tmp_path):
    tasks = [policy(service=dict(allow_negotiate=False)),                 # the task authenticates with NTLM
             policy(service=dict(allow_auto_config=True)),                # no filter: listens on no address
             policy(service=dict(allow_auto_config=True, ipv4_filter="10.9.9.1-10.9.9.9"))]
    (negotiate, no_filter, other_subnet) = run(fleet, tasks, tmp_path)
    assert negotiate["failed"] and "lock this controller out" in negotiate["msg"] and "negotiate" in negotiate["msg"]
    for result in (no_filter, other_subnet):
        assert result["failed"] and "ipv4_filter" in result["msg"], result.get("msg")
    assert registry(fleet, server, SERVICE) == {}

    # with the controller's address in the filter, the policy listener takes over and the task goes on
    (auto_config,) = run(fleet, [policy(service=dict(allow_auto_config=True, ipv4_filter="*", ipv6_filter=""))],
                         tmp_path / "auto")
    assert auto_config["changed"] is True, auto_config.get("msg")
    assert registry(fleet, server, SERVICE) == {"AllowAutoConfig": 1, "IPv4Filter": "*", "IPv6Filter": ""}
    assert any(item["Source"] == "GPO" and item["Transport"] == "HTTP" for item in listeners(fleet, server))
    (back,) = run(fleet, [policy(state="absent", service=dict(allow_auto_config=1, ipv4_filter=1, ipv6_filter=1))],
                  tmp_path / "back")
    assert back["changed"] is True and registry(fleet, server, SERVICE) == {}
    assert not any(item["Source"] == "GPO" for item in listeners(fleet, server))
