"""The collection as it is packaged: the tarball holds no build artefacts, the execution-environment
metadata gives ansible-builder the Python and system requirements (Kerberos included), the example
EE definition builds a context, and ``module_defaults: {group/wsman.winrm.all: ...}`` reaches every
module."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

from harness import ROOT, installed_collections, run_tasks

FLEET_PROFILES = "upgraded11"
INSTALLED = os.path.join(installed_collections(), "ansible_collections", "wsman", "winrm")


def tool(name: str) -> str:
    """A tool of this Python's virtualenv (ansible-builder, bindep: tests/requirements.txt)."""
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run make venv (tests/requirements.txt)")
    return found


def test_action_group_all_lists_every_module():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    modules = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))}
    assert sorted(runtime["action_groups"]["all"]) == sorted(m for m in modules if not m.startswith("_"))


def test_tarball_leaves_out_build_artefacts(tmp_path):
    """Build from a copy of the tree with the artefacts a development machine has beside the sources."""
    source = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if os.path.isfile(os.path.join(ROOT, name)):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), source / name)
    artefacts = ["tests/simulator/winrm_sim.egg-info/PKG-INFO", "plugins/module_utils/__pycache__/wsman.cpython-311.pyc",
                 ".venv/bin/python", ".cache/installed/x", "demo-output/report.md", "tests/output/junit.xml",
                 ".pytest_cache/README.md", "build/lib/x.py"]
    for name in artefacts:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("artefact\n")
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(source)],
                   check=True, capture_output=True, text=True)
    (tarball,) = glob.glob(str(tmp_path / "wsman-winrm-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    tops = (".venv", ".cache", "demo-output", ".pytest_cache", "build")
    leaked = sorted(n for n in names if ".egg-info" in n or "__pycache__" in n or n.endswith(".pyc")
                    or n.split("/")[0] in tops or n.startswith("tests/output"))
    assert not leaked, f"build artefacts in the tarball: {leaked}"
    for wanted in ("meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt",
                   "requirements-kerberos.txt", "bindep.txt", "extensions/ee/execution-environment.yml"):
        assert wanted in names, f"{wanted} is missing from the tarball"


def test_ee_metadata_gives_ansible_builder_the_requirements(tmp_path):
    """ansible-builder reads meta/execution-environment.yml of the installed collection (its introspection
    step, the one an EE build runs) and finds the Kerberos extras and the packages they build against."""
    pip, system = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    subprocess.run([tool("ansible-builder"), "introspect", installed_collections(), "--write-pip", str(pip),
                    "--write-bindep", str(system)], check=True, capture_output=True, text=True)
    python_lines = pip.read_text()
    for requirement in ("pypsrp[kerberos]", "pywinrm[kerberos]", "jmespath"):
        assert requirement in python_lines, python_lines
    assert "ansible-core" not in python_lines  # the EE brings its own (ansible-builder leaves it out)
    system_lines = system.read_text()
    for package in ("libkrb5-dev [compile platform:dpkg]", "krb5-devel [compile platform:rpm]",
                    "gcc [compile platform:rpm]", "krb5-user [platform:dpkg]", "krb5-workstation [platform:rpm]"):
        assert package in system_lines, system_lines


def test_bindep_file_parses():
    """bindep exits 0 (all present) or 1 (some missing) for a valid file; 2 or a traceback otherwise."""
    for profile in ("compile", "default"):
        completed = subprocess.run([tool("bindep"), "--file", os.path.join(ROOT, "bindep.txt"), "--brief", profile],
                                   capture_output=True, text=True, check=False)
        assert completed.returncode in (0, 1) and "Traceback" not in completed.stderr, completed.stderr


def test_example_ee_definition_builds_a_context(tmp_path):
    context = tmp_path / "context"
    completed = subprocess.run([tool("ansible-builder"), "create", "-f",
                                os.path.join(INSTALLED, "extensions", "ee", "execution-environment.yml"),
                                "--context", str(context)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    containerfile = (context / "Containerfile").read_text() if (context / "Containerfile").exists() else \
        (context / "Dockerfile").read_text()
    assert "introspect" in containerfile and "ansible-galaxy" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "wsman.winrm", "version": ">=0.1.0"} in requirements["collections"]


def test_module_defaults_group_reaches_the_modules(fleet, tmp_path):
    """On a host upgraded from WinRM 1.1, Group Policy turns the compatibility listeners on: the task fails
    by default, and is skipped (reported, nothing written) with the group default policy_controlled: skip."""
    task = {"name": "Compatibility listeners off", "wsman.winrm.compat_listener": {"http": False, "https": False}}
    default = run_tasks(fleet, [task], tmp_path=tmp_path / "default")
    (host,) = default.results
    assert default[host][0].get("failed"), default[host][0]

    grouped = run_tasks(fleet, [dict(task, module_defaults={"group/wsman.winrm.all": {"policy_controlled": "skip"}})],
                        tmp_path=tmp_path / "grouped")
    result = grouped[host][0]
    assert not result.get("failed"), result
    assert result["policy_skipped"], result
