"""roles/legacy_migration through ansible-playbook against simulated WinRM 1.1 and upgraded hosts.

Every outcome is read back with plain pypsrp requests on explicit ports (not through the collection):
the listeners, the compatibility settings, the policy values and the firewall rules.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml
from pypsrp.wsman import WSMan

from harness import base_address, CONFIG, Fleet, installed_collections
from winrm_sim.cli import FleetProcess

# Two WinRM 1.1 hosts (one keeps the compatibility listeners, one drops them) and an upgraded host
# (compatibility listeners under Group Policy, dropped).
FLEET_PROFILES = "winrm11,upgraded11,winrm11"
CIM = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/"
ENUMERATE = "{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate"
OPTIMIZE = "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration"
MAX_ELEMENTS = "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """This module's own fleet on this run's /24 number 14 (harness.base_address): ports 80/443 must be the
    real ones here (the role finds the listener in use by its Windows port)."""
    process = FleetProcess(str(tmp_path_factory.mktemp("fleet")), hosts=3, profiles=FLEET_PROFILES,
                           base_address=base_address(14)).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def hosts(fleet):
    by_profile: dict[str, list[tuple[str, dict]]] = {}
    for name, host_vars in sorted(fleet.hosts().items()):
        by_profile.setdefault(host_vars["wsman_winrm_sim_profile"], []).append((name, host_vars))
    keep, drop = by_profile["winrm11"]
    return {"keep": keep, "drop": drop, "upgraded": by_profile["upgraded11"][0]}


def compatibility_choice(hosts) -> str:
    return "{{ 'keep' if inventory_hostname == '%s' else 'drop' }}" % hosts["keep"][0]


def run_role(fleet, tmp_path, role_vars: dict, check: bool = False, verbosity: int = 0, limit: str = ""):
    """Apply the role with ansible-playbook; return (completed process, report per host, endpoint after)."""
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    playbook = [{
        "name": "Migrate", "hosts": "windows", "gather_facts": False,
        "tasks": [
            {"name": "Apply the role", "ansible.builtin.include_role": {"name": "wsman.winrm.legacy_migration"},
             "vars": role_vars},
            # Through the switched connection variables: proves the switch for the rest of the play.
            {"name": "Read through the connection the role left", "wsman.winrm.info": {"gather": ["listeners"]},
             "register": "after_role"},
            {"name": "Save", "delegate_to": "localhost", "check_mode": False, "diff": False, "changed_when": False,
             "ansible.builtin.copy": {
                 "dest": str(results) + "/{{ inventory_hostname }}.json", "mode": "0644",
                 "content": "{{ {'report': legacy_migration_report, 'endpoint': after_role.endpoint} | to_json }}"}},
        ],
    }]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    command = ["ansible-playbook", "-i", fleet.inventory_path, str(path)]
    if check:
        command.append("--check")
    if limit:
        command += ["--limit", limit]
    if verbosity:
        command.append("-" + "v" * verbosity)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    (tmp_path / "ansible-playbook.out").write_text(completed.stdout + completed.stderr)
    saved = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    return completed, saved


def recap(completed) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    counters = {}
    lines = completed.stdout.split("PLAY RECAP", 1)[1].splitlines()[1:]
    for line in lines:
        if ":" not in line:
            continue
        name, rest = line.split(":", 1)
        counters[name.strip()] = {k: int(v) for k, v in (item.split("=") for item in rest.split())}
    return counters


def changed_steps(completed) -> dict[str, list[str]]:
    """Per host, each task (and loop item) the run reported as changed, in order."""
    steps: dict[str, list[str]] = {}
    task = ""
    for line in completed.stdout.splitlines():
        found = re.match(r"TASK \[(.*)\]", line)
        if found:
            task = found.group(1)
            continue
        found = re.match(r"changed: \[([^\]]+)\](?: => \(item=(.*)\))?", line)
        if found:
            steps.setdefault(found.group(1), []).append(task + ("" if found.group(2) is None else " / " + found.group(2)))
    return steps


# What the check run of this module predicted, compared with the apply run's changes.
PREDICTED_STEPS: dict[str, list[str]] = {}


def client(host_vars: dict, port: int) -> WSMan:
    return WSMan(host_vars["ansible_host"], port=port, ssl=False, auth="ntlm", username=host_vars["ansible_user"],
                 password=host_vars["ansible_password"], cert_validation=False, no_proxy=True,
                 operation_timeout=10, read_timeout=20)


def enumerate_items(host_vars: dict, port: int, resource: str, tag: str) -> list[dict]:
    request = ET.Element(ENUMERATE)
    ET.SubElement(request, OPTIMIZE)
    ET.SubElement(request, MAX_ELEMENTS).text = "1000"   # everything in the first reply, no Pull loop
    with client(host_vars, port) as session:
        reply = session.enumerate(resource, request)
    items = []
    for element in reply.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            item = {"Source": [element.attrib.get("Source", "")]}
            for child in element:
                item.setdefault(child.tag.rsplit("}", 1)[-1], []).append(child.text or "")
            items.append({k: v[0] if len(v) == 1 else v for k, v in item.items()})
    return items


def listeners(host_vars: dict, port: int) -> list[tuple[str, int]]:
    """(transport, port) of the real listeners; compatibility ones carry Source="Compatibility" (Microsoft's
    "Details on secure port configuration for WS-Management")."""
    return sorted((item["Transport"], int(item["Port"]))
                  for item in enumerate_items(host_vars, port, CONFIG + "/listener", "Listener")
                  if item["Source"] != "Compatibility")


def service(host_vars: dict, port: int) -> dict:
    with client(host_vars, port) as session:
        reply = session.get(CONFIG + "/service")
    return {e.tag.rsplit("}", 1)[-1]: (e.text or "", e.attrib.get("Source", "")) for e in reply.iter()}


def firewall(host_vars: dict, port: int) -> dict[str, dict]:
    rules = enumerate_items(host_vars, port, CIM + "MSFT_NetFirewallRule", "MSFT_NetFirewallRule")
    addresses = enumerate_items(host_vars, port, CIM + "MSFT_NetAddressFilter", "MSFT_NetAddressFilter")
    remote = {a["InstanceID"]: a.get("RemoteAddress") for a in addresses}
    return {r["InstanceID"]: {"enabled": r["Enabled"] == "1", "remote": remote.get(r["InstanceID"])} for r in rules}


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


README = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "legacy_migration", "README.md")


def documented_report() -> dict:
    """The report example of the role's README ("..." stands for what it leaves out)."""
    text = open(README, encoding="utf-8").read()
    block = re.search(r"^```yaml\n(legacy_migration_report:.*?)^```", text, flags=re.S | re.M).group(1)
    return yaml.safe_load(block)["legacy_migration_report"]


def undocumented_or_missing(example, actual, where: str = "report") -> list[str]:
    """Every key the README shows is in the role's real report, at the same place and of the same kind."""
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: README shows a mapping, the role returns {type(actual).__name__}"]
        wrong = []
        for key, value in example.items():
            if key == "...":
                continue
            if key not in actual:
                wrong.append(f"{where}.{key}: in the README, not in the report")
            elif actual[key] is not None:
                wrong += undocumented_or_missing(value, actual[key], f"{where}.{key}")
        return wrong
    if isinstance(example, list) and example and isinstance(example[0], dict):
        if not isinstance(actual, list) or not actual:
            return [f"{where}: README shows a list of mappings, the role returns {actual!r}"]
        return undocumented_or_missing(example[0], actual[0], where + "[0]")
    return []


def test_check_mode_reports_the_plan_and_changes_nothing(fleet, hosts, tmp_path):
    completed, saved = run_role(fleet, tmp_path, {"legacy_migration_compatibility": compatibility_choice(hosts)},
                                check=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    name, host_vars = hosts["keep"]
    report = saved[name]["report"]
    assert report["check_mode"] is True
    assert report["listeners_moved"] == ["HTTP * 80 -> 5985", "HTTPS * 443 -> 5986"]
    assert report["bridge"]["address"] == "IP:" + host_vars["ansible_host"]
    assert report["endpoint_after"].endswith(":5985/wsman")
    assert recap(completed)[name]["changed"] > 0          # the plan is reported as changes
    PREDICTED_STEPS.update(changed_steps(completed))
    # nothing moved: still 80/443 only, nothing on 5985, DefaultPorts untouched
    for key in ("keep", "drop"):
        assert listeners(hosts[key][1], 80) == [("HTTP", 80), ("HTTPS", 443)]
        assert not port_open(hosts[key][1]["ansible_host"], 5985)
    assert service(host_vars, 80)["HTTP"][0] == "80"
    upgraded = hosts["upgraded"][1]
    assert service(upgraded, 5985)["EnableCompatibilityHttpListener"] == ("true", "GPO")
    # the check run did not switch the connection: the play still reached the host on 80
    assert saved[name]["endpoint"]["port"] == 80


def test_migration_keep_and_drop(fleet, hosts, tmp_path):
    completed, saved = run_role(fleet, tmp_path, {"legacy_migration_compatibility": compatibility_choice(hosts),
                                                  "legacy_migration_collector_fqdn": "wec01.example.com"})
    assert completed.returncode == 0, completed.stdout[-4000:]
    # check mode predicted exactly the steps this run changed, on each host (the check test runs first)
    assert PREDICTED_STEPS, "test_check_mode_reports_the_plan_and_changes_nothing must run first"
    assert changed_steps(completed) == PREDICTED_STEPS

    # keep: listeners on 5985/5986 with the old settings, compatibility listeners answer on 80/443
    name, keep = hosts["keep"]
    assert saved[name]["endpoint"]["port"] == 5985      # connection switched for the rest of the play
    assert sorted((item["Port"], item["Source"]) for item in enumerate_items(keep, 5985, CONFIG + "/listener", "Listener")
                  if item["Port"] in ("80", "443")) == [("443", "Compatibility"), ("80", "Compatibility")]
    assert listeners(keep, 5985) == [("HTTP", 5985), ("HTTPS", 5986)]
    https = [i for i in enumerate_items(keep, 5985, CONFIG + "/listener", "Listener") if i["Transport"] == "HTTPS"][0]
    assert https["CertificateThumbprint"] == keep["wsman_winrm_sim_thumbprint"]
    assert https["Hostname"] == name
    settings = service(keep, 5985)
    assert settings["EnableCompatibilityHttpListener"][0] == "true"
    assert settings["EnableCompatibilityHttpsListener"][0] == "true"
    assert settings["CertificateThumbprint"][0] == keep["wsman_winrm_sim_thumbprint"]
    assert (settings["HTTP"][0], settings["HTTPS"][0]) == ("5985", "5986")   # service DefaultPorts
    assert port_open(keep["ansible_host"], 80)           # compatibility listener
    rules = firewall(keep, 5985)
    assert rules["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert rules["WINRM-HTTP-In-TCP"]["enabled"] and rules["WINRM-HTTP-In-TCP-PUBLIC"]["enabled"]
    assert rules["WINRM-HTTP-In-TCP-PUBLIC"]["remote"] == "LocalSubnet"
    report = saved[name]["report"]
    assert report["compatibility_listeners_after"] == {"http": True, "https": True}
    assert any("keep working" in note for note in report["clients"])
    events = report["event_forwarding"]
    assert events["host_state_before"] == "winrm11" and events["host_state_after"] == "upgraded"
    rows = {(row["sources"], row["existing_form"]): row for row in events["this_host_as_collector"]["source_initiated"]}
    # Microsoft's port configuration article, source-initiated tables: an upgraded collector keeps existing
    # subscriptions working ("The event forwarding works correctly."), so nothing is to be rewritten
    assert rows[("new", "fqdn")]["existing_subscriptions"] == "works" and rows[("new", "fqdn")]["action"] == "none"
    assert rows[("new", "fqdn")]["article"]["existing_subscriptions"] == "The event forwarding works correctly."
    assert rows[("winrm11", "http")]["server"] == "http://wec01.example.com:5985"

    # drop: nothing on 80/443, port-80 rule off
    name, drop = hosts["drop"]
    assert listeners(drop, 5985) == [("HTTP", 5985), ("HTTPS", 5986)]
    assert not port_open(drop["ansible_host"], 80) and not port_open(drop["ansible_host"], 443)
    assert service(drop, 5985)["EnableCompatibilityHttpListener"][0] == "false"
    assert not firewall(drop, 5985)["WINRM-HTTP-Compat-In-TCP"]["enabled"]
    assert any("Nothing answers on 80/443" in note for note in saved[name]["report"]["clients"])
    # The dropped host is a "New installation" collector now, but it has the subscriptions of its WinRM 1.1
    # days: WinRM 1.1 sources naming it Server=<FQDN> and every Server=http://<FQDN> (port 80) reach a port
    # where nothing answers, so those are to be changed, the article's "Not Applicable" cell kept beside it.
    events = saved[name]["report"]["event_forwarding"]
    assert (events["host_state_before"], events["host_state_after"]) == ("winrm11", "new")
    rows = {(row["sources"], row["existing_form"]): row for row in events["this_host_as_collector"]["source_initiated"]}
    for key in (("winrm11", "fqdn"), ("new", "http"), ("winrm11", "http"), ("upgraded", "http")):
        assert rows[key]["existing_subscriptions"] == "update", key
        assert rows[key]["action"] == "set Server=http://wec01.example.com:5985 on these sources", key
        assert rows[key]["article"]["existing_subscriptions"] in ("Not Applicable", "Not Available"), key
    for key in (("new", "fqdn"), ("upgraded", "fqdn")):          # client default 5985: still answered
        assert rows[key]["existing_subscriptions"] == "works" and rows[key]["action"] == "none", key
    pulling = {row["collectors"]: row for row in events["collectors_pulling_from_this_host"]}
    # a WinRM 2.0 collector had to name port 80 for this host ("Need to specify port 80 for HTTP explicitly")
    assert pulling["new"]["existing_subscriptions"] == "update"
    assert pulling["new"]["action"] == "update the subscriptions on these collectors: change port 80 to 5985"
    assert pulling["new"]["article"]["existing_subscriptions"] == "Not Applicable"

    # upgraded host, drop: the policy values the upgrade set are removed, then the listeners go off
    name, upgraded = hosts["upgraded"]
    settings = service(upgraded, 5985)
    assert settings["EnableCompatibilityHttpListener"] == ("false", "")
    assert settings["EnableCompatibilityHttpsListener"] == ("false", "")
    assert not port_open(upgraded["ansible_host"], 80)
    assert saved[name]["report"]["bridge"] is None
    events = saved[name]["report"]["event_forwarding"]
    assert (events["host_state_before"], events["host_state_after"]) == ("upgraded", "new")
    rows = {(row["sources"], row["existing_form"]): row for row in events["this_host_as_collector"]["source_initiated"]}
    assert rows[("winrm11", "fqdn")]["action"] == "set Server=http://wec01.example.com:5985 on these sources"
    assert rows[("upgraded", "fqdn")]["action"] == "none"
    # WinRM 2.0 collectors reached the upgraded host on 5985 already: nothing to change
    pulling = {row["collectors"]: row for row in events["collectors_pulling_from_this_host"]}
    assert pulling["new"]["existing_subscriptions"] == "works" and pulling["new"]["action"] == "none"


def test_rerun_is_idempotent(fleet, hosts, tmp_path):
    completed, saved = run_role(fleet, tmp_path, {"legacy_migration_compatibility": compatibility_choice(hosts)})
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert all(counters["changed"] == 0 for counters in recap(completed).values()), completed.stdout[-3000:]
    assert saved[hosts["keep"][0]]["report"]["listeners_moved"] == []


def test_stale_inventory_finds_the_migrated_host(fleet, hosts, tmp_path):
    """An inventory still saying port 80 (drop: nothing answers there) -> the role finds 5985, changes nothing."""
    name, drop = hosts["drop"]
    inventory = yaml.safe_load(open(fleet.inventory_path))
    for group in inventory["all"]["children"]["windows"]["children"].values():
        if name in group["hosts"]:
            group["hosts"][name]["ansible_port"] = 80
    stale = tmp_path / "stale.yml"
    stale.write_text(yaml.safe_dump(inventory))

    class Stale:
        inventory_path = str(stale)
    completed, saved = run_role(Stale, tmp_path, {"legacy_migration_compatibility": compatibility_choice(hosts)})
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert recap(completed)[name]["changed"] == 0
    assert saved[name]["report"]["endpoint_before"].endswith(":5985/wsman")
