"""docs/molecule.md, "Pointing a scenario at real Windows hosts", followed step by step: a scenario
folder with the secure_baseline scenario's converge.yml and verify.yml copied from the installed
collection, the user's inventory linked, the molecule.yml the page shows. The "real hosts" are two
simulated hosts whose inventory is a fixed file, as a user's is (it keeps naming HTTP after the
baseline removed it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import yaml

from harness import ROOT, installed_collections

FLEET_PROFILES = "server2022,server2022"
DOC = os.path.join(ROOT, "docs", "molecule.md")
SCENARIO = "my_hosts"


def documented_molecule_yml() -> dict:
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index("## Pointing a scenario at real Windows hosts"):]
    blocks = re.findall(r"^ *```yaml\n(.*?)^ *```", section, flags=re.S | re.M)
    configs = [yaml.safe_load(b) for b in blocks]
    (config,) = [c for c in configs if isinstance(c, dict) and "provisioner" in c]
    return config


def test_documented_recipe_on_two_hosts(fleet, tmp_path):
    config = documented_molecule_yml()
    assert not config["provisioner"].get("playbooks", {}).get("create"), "the recipe must not start simulated hosts"
    scenario = tmp_path / "extensions" / "molecule" / SCENARIO
    (scenario / "inventory").mkdir(parents=True)
    source = os.path.join(installed_collections(), "ansible_collections", "wsman", "winrm", "extensions",
                          "molecule", "secure_baseline")
    for name in ("converge.yml", "verify.yml"):
        shutil.copy(os.path.join(source, name), scenario / name)
    shutil.copy(fleet.inventory_path, scenario / "inventory" / "hosts.yml")
    (scenario / "molecule.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1", NO_COLOR="1",
               ANSIBLE_FORCE_COLOR="0", MOLECULE_NO_LOG="false")
    completed = subprocess.run(["molecule", "test", "-s", SCENARIO], cwd=tmp_path / "extensions", env=env,
                               capture_output=True, text=True, timeout=900, check=False)
    output = completed.stdout[-8000:] + completed.stderr[-4000:]
    assert completed.returncode == 0, output
    for step in ("check", "converge", "idempotence", "verify"):
        assert re.search(rf"{SCENARIO}.*{step}.*Executing", output + completed.stderr, flags=re.I), \
            f"molecule did not run {step}:\n{output}"
    # verify ran on both hosts of the inventory, not on none.
    recap = re.findall(r"^\s*(?:│\s*)?(SIM-\S+)\s+: ok=(\d+).*failed=(\d+)", completed.stdout + completed.stderr, re.M)
    verified = {host for host, ok, failed in recap if int(ok) > 0 and failed == "0"}
    assert verified == set(fleet.hosts()), recap
