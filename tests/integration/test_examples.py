"""The documentation runs: every EXAMPLES block of every module and filter, and every YAML example
of the README and of each role README, is run as written with ansible-playbook against simulated
Windows hosts, and must pass. The RETURN text of every module must match what the module really
returns: documented keys are present (always when it says ``returned: always``), with the documented
type, and the keys of dict samples and ``contains`` exist in the real value.

Modules, filters and roles are discovered from the installed collection (``ansible-doc --json``), so
a new module or a changed example is tested without touching this file. The only thing the test adds
is what a user keeps in the inventory: the variables an example names (``USER_VARIABLES``), and per
module the host kind and connection the example says it needs (``SCENARIOS``).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
import subprocess

import pytest
import yaml

from harness import installed_collections

# The hosts of this test: one simulated host per example playbook, so no example sees another's changes.
# Their profiles are chosen below; the fleet fixture starts them all at once.
HTTPS_PORT = "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"

# What a user defines in the inventory or a vault for the examples' variables. Values are taken from
# the simulated host (its certificate, its CA, its accounts) the way a user takes them from theirs.
USER_VARIABLES = {
    "server_certificate_thumbprint": "{{ wsman_winrm_sim_thumbprint }}",
    "new_thumbprint": "{{ wsman_winrm_sim_thumbprint }}",
    "client_ca_thumbprint": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}",
    "cert_account": "localadmin",
    "vault_cert_account_password": "{{ wsman_winrm_sim_localadmin_password }}",
    # The account's password after it was changed on the host (the simulator keeps one password).
    "vault_cert_account_password_new": "{{ wsman_winrm_sim_localadmin_password }}",
    "server_cert_thumbprint": "{{ wsman_winrm_sim_thumbprint }}",
    "host_server_cert_thumbprint": "{{ wsman_winrm_sim_thumbprint }}",
    "corp_ca_thumbprint": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}",
    "vault_ansible_local_password": "{{ ansible_password }}",
    # The networks the controller connects from, and the host addresses the service listens on.
    "management_subnets": ["127.0.0.0/8"],
    "management_ipv4_range": "127.0.0.1-127.255.255.254",
}

# What a user puts in place of the values in a README example that are theirs alone: their report
# folder, their client certificate's files, subject and mapped account (the simulated host has no
# account "ansible"). Passed as extra variables, which take precedence over role parameters.
README_OVERRIDES = {
    "role:secure_baseline": {"secure_baseline_report_dir": "{{ playbook_dir }}/compliance"},
    "role:cert_auth": {"cert_auth_subject": "ansible-client@localhost", "cert_auth_username": "Administrator",
                       "cert_auth_client_cert_pem": "{{ wsman_winrm_sim_client_cert_pem }}",
                       "cert_auth_client_key_pem": "{{ wsman_winrm_sim_client_key_pem }}"},
}

# Documented keys that no example can return on a simulated host without a contrived setup; each
# has its own integration test.
NOT_IN_EXAMPLES = {
    # Only where Group Policy holds a value the task wanted to change (test_policy.py, test_compat_listener.py).
    "policy_skipped",
    # Only after a failure that was put back (test_converge.py's fault matrix, test_secure_baseline.py).
    "rolled_back",
    # Only when converge chooses the HTTPS listener's certificate itself (https.certificate: auto;
    # test_certificates.py and test_secure_baseline.py check it).
    "certificate",
    # Only when a compatibility listener is turned on while HTTP.sys lacks its reservation or binding
    # (test_http_sys.py).
    "http_sys_missing",
}

# Certificate authentication over HTTPS with the simulator's client certificate (mapped in setup).
CERTIFICATE_CONNECTION = {
    "ansible_winrm_transport": "certificate",
    "ansible_winrm_scheme": "https",
    "ansible_port": HTTPS_PORT,
    "ansible_winrm_cert_pem": "{{ wsman_winrm_sim_client_cert_pem }}",
    "ansible_winrm_cert_key_pem": "{{ wsman_winrm_sim_client_key_pem }}",
}
HTTPS_CONNECTION = {"ansible_winrm_scheme": "https", "ansible_port": HTTPS_PORT}
MAP_CLIENT_CERTIFICATE = [
    {"name": "Map the client certificate to Administrator",
     "wsman.winrm.cert_mapping": {"uri": "*", "subject": "ansible-client@localhost",
                                  "issuer": "{{ wsman_winrm_sim_ca_issuer_thumbprint }}",
                                  "username": "Administrator", "password": "{{ ansible_password }}"}},
    {"name": "Accept certificate authentication", "wsman.winrm.auth": {"scope": "service", "certificate": True}},
]


@dataclasses.dataclass
class Scenario:
    """What an example needs from the host, as its text says."""
    profile: str = "server2022"
    connection: dict = dataclasses.field(default_factory=dict)  # host variables the example runs with
    setup: list = dataclasses.field(default_factory=list)  # tasks run before, over the inventory's connection


SCENARIOS = {
    # "Certificate-only host, reached over HTTPS with a client certificate" (the last example).
    "module:auth": Scenario(profile="server2022_https", connection=CERTIFICATE_CONNECTION,
                            setup=MAP_CLIENT_CERTIFICATE),
    # "Remove the HTTP listener ... (run it through HTTPS)".
    "module:listener": Scenario(profile="server2022_https", connection=HTTPS_CONNECTION),
    # "Fail on any failed control": on a host the secure baseline was applied to, now reached over HTTPS.
    "filter:compliance": Scenario(connection=HTTPS_CONNECTION, setup=[{
        "name": "Apply the workgroup_https baseline",
        "ansible.builtin.include_role": {"name": "wsman.winrm.secure_baseline"},
        "vars": {"secure_baseline_report_dir": "{{ playbook_dir }}/baseline",
                 "secure_baseline_https_connection_port": HTTPS_PORT}}]),
    # The README's WinRM 1.1 hosts (listeners on 80/443).
    "role:legacy_migration": Scenario(profile="winrm11"),
}


def scenario_of(example_id: str) -> Scenario:
    """By the example's id (``role:x:1``), else by its owner (``role:x``)."""
    return SCENARIOS.get(example_id) or SCENARIOS.get(example_id.rsplit(":", 1)[0]) or Scenario()


def ansible_doc(kind: str, names: list[str]) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run(["ansible-doc", "-t", kind, "--json", *[f"wsman.winrm.{n}" for n in names]],
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def plugin_names(folder: str, suffix: str) -> list[str]:
    installed = os.path.join(installed_collections(), "ansible_collections", "wsman", "winrm", "plugins", folder)
    names = [os.path.basename(p)[:-len(suffix)] for p in glob.glob(os.path.join(installed, "*" + suffix))]
    return sorted(n for n in names if not n.startswith("_"))


def readme_examples(path: str) -> list[tuple[str, str]]:
    """The ```yaml blocks of a README that are plays or tasks (not inventories or variable files)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    examples = []
    for index, block in enumerate(re.findall(r"^```ya?ml\n(.*?)^```", text, flags=re.S | re.M)):
        data = yaml.safe_load(block)
        if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
            examples.append((f"{index}", block))
    return examples


def examples() -> list[pytest.param]:
    found = []
    for kind, folder, suffix in (("module", "modules", ".py"), ("filter", "filter", ".yml")):
        for name in plugin_names(folder, suffix):
            found.append(pytest.param(kind, name, None, id=f"{kind}:{name}"))
    installed = os.path.join(installed_collections(), "ansible_collections", "wsman", "winrm")
    readmes = [os.path.join(installed, "README.md")] + sorted(glob.glob(os.path.join(installed, "roles", "*", "README.md")))
    for readme in readmes:
        owner = "README" if os.path.dirname(readme) == installed else "role:" + readme.split(os.sep)[-2]
        for index, block in readme_examples(readme):
            found.append(pytest.param("readme", owner, block, id=f"{owner}:{index}"))
    return found


EXAMPLES = examples()
PROFILES = ",".join(scenario_of(p.id).profile for p in EXAMPLES)
FLEET_PROFILES = PROFILES


@pytest.fixture(scope="module")
def docs():
    modules = ansible_doc("module", plugin_names("modules", ".py"))
    filters = ansible_doc("filter", plugin_names("filter", ".yml"))
    return {"module": {k.split(".")[-1]: v for k, v in modules.items()},
            "filter": {k.split(".")[-1]: v for k, v in filters.items()}}


def host_for(fleet, example_id: str) -> str:
    """The k-th example that needs profile P gets the k-th simulated host of profile P."""
    by_profile: dict[str, list[str]] = {}
    for host_name, host_vars in sorted(fleet.hosts().items()):
        by_profile.setdefault(host_vars["wsman_winrm_sim_profile"], []).append(host_name)
    seen: dict[str, int] = {}
    for param in EXAMPLES:
        profile = scenario_of(param.id).profile
        position = seen.get(profile, 0)
        seen[profile] = position + 1
        if param.id == example_id:
            return by_profile[profile][position]
    raise KeyError(example_id)


def as_plays(text: str) -> list[dict]:
    """An example is a list of tasks (module and filter docs) or of plays (READMEs)."""
    data = yaml.safe_load(text)
    assert isinstance(data, list) and data, f"the example is not a list of tasks or plays:\n{text}"
    if all("hosts" in item for item in data):
        return data
    assert not any("hosts" in item for item in data), "an example mixes plays and tasks"
    return [{"name": "Example", "hosts": "windows", "gather_facts": False, "tasks": data}]


def registered_tasks(plays: list[dict], module: str | None) -> tuple[list[dict], list[str]]:
    """Every task calling ``module`` gets a register (its own, or a new one) so its result can be read."""
    names = []
    for play in plays:
        for index, task in enumerate(play.get("tasks", [])):
            if module and (f"wsman.winrm.{module}" in task):
                task.setdefault("register", f"example_result_{len(names)}_{index}")
                names.append(task["register"])
    return plays, names


def run_example(fleet, tmp_path, host: str, plays: list[dict], scenario: Scenario, results: list[str],
                extra_vars: dict | None = None):
    work = str(tmp_path)
    inventory = os.path.join(work, "user_inventory.yml")
    # The groups the example's plays target (domain_servers, legacy, ...), holding the example's host.
    groups = {play["hosts"]: {"hosts": {host: {}}} for play in plays
              if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(play["hosts"])) and play["hosts"] not in ("all", "windows")}
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"children": dict(groups, windows={"vars": dict(USER_VARIABLES)})}}, handle)
    collect = "{" + ", ".join(f"'{n}': {n} | default(None)" for n in results) + "}"
    if scenario.connection:
        for play in plays:
            play["vars"] = dict(scenario.connection, **play.get("vars", {}))
    prelude = []
    if scenario.setup:
        prelude = [{"name": "Setup the example needs", "hosts": "windows", "gather_facts": False,
                    "tasks": scenario.setup}]
    epilogue = [{"name": "Collect the results", "hosts": "windows", "gather_facts": False, "tasks": [{
        "name": "Write them on the controller",
        "ansible.builtin.copy": {"content": "{{ " + collect + " | to_json }}",
                                 "dest": os.path.join(work, "results-{{ inventory_hostname }}.json"), "mode": "0644"},
        "delegate_to": "localhost", "check_mode": False}]}]
    playbook = os.path.join(work, "example.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump(prelude + plays + epilogue, handle, sort_keys=False)
    # PWD as the user's shell sets it when they run the playbook from its folder (the converge
    # example writes its reports under lookup('env', 'PWD')), not the test runner's checkout.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_HOST_KEY_CHECKING="0", PWD=work)
    command = ["ansible-playbook", "-i", fleet.inventory_path, "-i", inventory, "-l", host, "--diff", playbook]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    completed = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = f"{completed.stdout[-6000:]}\n{completed.stderr[-3000:]}"
    assert completed.returncode == 0, f"the example failed (rc {completed.returncode}):\n{output}"
    assert "skipping: no hosts matched" not in completed.stdout, f"a play of the example targeted no host:\n{output}"
    assert re.search(rf"{re.escape(host)}\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", completed.stdout), output
    with open(os.path.join(work, f"results-{host}.json"), encoding="utf-8") as handle:
        collected = json.load(handle)
    return [collected[n] for n in results if collected.get(n) and not collected[n].get("skipped")]


TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict, "float": (int, float), "path": str}


def check_return(where: str, spec: dict, values: list, always_present: bool) -> list[str]:
    """Problems of one documented key against its real values (several results)."""
    problems = []
    wanted = TYPES.get(spec.get("type", "raw"))
    for value in values:
        if wanted and value is not None and not isinstance(value, wanted):
            problems.append(f"{where}: documented as {spec['type']}, returned {type(value).__name__}: {value!r:.120}")
    sample = spec.get("sample")
    if spec.get("type") == "dict" and isinstance(sample, dict) and values:
        real_keys = set().union(*(v.keys() for v in values if isinstance(v, dict)))
        missing = sorted(set(sample) - real_keys)
        if missing:
            problems.append(f"{where}: the sample has {missing}, the real value has {sorted(real_keys)}")
    elements = [e for v in values if isinstance(v, list) for e in v]
    if spec.get("type") == "list" and isinstance(sample, list) and elements:
        real_keys = set().union(*(e.keys() for e in elements if isinstance(e, dict)))
        for item in sample:
            if isinstance(item, dict) and set(item) - real_keys:
                problems.append(f"{where}: the sample element has {sorted(set(item) - real_keys)}, "
                                f"the real elements have {sorted(real_keys)}")
    contains = spec.get("contains") or {}
    children = values if spec.get("type") == "dict" else elements
    children = [c for c in children if isinstance(c, dict)]
    if contains and children:
        for key, child in contains.items():
            present = [c[key] for c in children if key in c]
            if not present:
                problems.append(f"{where}.{key}: documented, but not in any real value")
                continue
            problems += check_return(f"{where}.{key}", child, present, False)
    return problems


@pytest.mark.parametrize("kind,name,text", EXAMPLES)
def test_example_runs(fleet, docs, tmp_path, request, kind, name, text):
    example_id = request.node.callspec.id
    host = host_for(fleet, example_id)
    doc = docs[kind][name] if kind in docs else None
    if doc is not None:
        text = doc["examples"]
    plays, registered = registered_tasks(as_plays(text), name if kind == "module" else None)
    results = run_example(fleet, tmp_path, host, plays, scenario_of(example_id), registered,
                          README_OVERRIDES.get(name) if kind == "readme" else None)
    if kind != "module":
        return
    assert results, f"no example of wsman.winrm.{name} ran the module"
    problems = []
    for key, spec in (doc.get("return") or {}).items():
        present = [r[key] for r in results if key in r]
        if not present and key in NOT_IN_EXAMPLES:
            continue
        if not present:
            problems.append(f"{key}: documented, but no example returned it")
            continue
        if spec.get("returned") == "always" and len(present) < len(results):
            problems.append(f"{key}: documented as returned always, missing from {len(results) - len(present)} result(s)")
        problems += check_return(key, spec, present, spec.get("returned") == "always")
    assert not problems, f"RETURN of wsman.winrm.{name} does not match its results:\n  " + "\n  ".join(problems)


def test_every_plugin_has_examples(docs):
    """A module or filter without EXAMPLES would silently escape the test above."""
    for kind, plugins in docs.items():
        for name, doc in plugins.items():
            assert (doc.get("examples") or "").strip(), f"{kind} wsman.winrm.{name} has no EXAMPLES"
            if kind == "module":
                assert doc.get("return"), f"module wsman.winrm.{name} has no RETURN"
