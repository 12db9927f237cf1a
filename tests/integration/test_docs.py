"""`ansible-doc` renders every plugin and role of the collection as users install it."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess

import pytest

from harness import ROOT, installed_collections


def plugins() -> list[tuple[str, str]]:
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        found.append(("module", os.path.basename(path)[:-3]))
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "connection", "*.py"))):
        found.append(("connection", os.path.basename(path)[:-3]))
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "filter", "*.yml"))):
        found.append(("filter", os.path.basename(path)[:-4]))
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        found.append(("role", path.split(os.sep)[-3]))
    return [item for item in found if not item[1].startswith("__")]


def ansible_doc(kind: str, name: str) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1")
    completed = subprocess.run(["ansible-doc", "-t", kind, "--json", f"wsman.winrm.{name}"], env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "WARNING" not in completed.stderr, completed.stderr
    return json.loads(completed.stdout)[f"wsman.winrm.{name}"]


@pytest.mark.parametrize("kind,name", plugins())
def test_ansible_doc_renders(kind, name):
    doc = ansible_doc(kind, name)
    if kind == "role":
        assert doc["entry_points"]["main"]["short_description"]
        return
    assert doc["doc"]["short_description"]
    if kind in ("module", "filter"):
        assert doc["examples"].strip(), f"{name} has no EXAMPLES"
        assert doc["return"], f"{name} has no RETURN"


def test_every_module_has_an_action_plugin():
    modules = {name for kind, name in plugins() if kind == "module"}
    actions = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "action", "*.py"))}
    assert modules and modules <= actions


# Names of files only the project's developers have (the Microsoft pages they were copied from have
# titles a user can look up: cite those, MS-WSMV sections, CIS/STIG ids).
UNAVAILABLE_SOURCES = re.compile(r"\bseeds? 0\d\d|security-controls(\.md)?\b|/work/shared|\breference/[\w-]+\.md")


def test_shipped_text_cites_what_users_can_open():
    """Docs, warnings, task names, argument specs and comments of everything the tarball installs,
    except the test suite (tests/ is for developers, who have the project's shared folder)."""
    installed = os.path.join(installed_collections(), "ansible_collections", "wsman", "winrm")
    found = []
    for folder, _dirs, files in os.walk(installed):
        relative = os.path.relpath(folder, installed)
        if relative == "tests" or relative.startswith("tests" + os.sep):
            continue
        for name in files:
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except UnicodeDecodeError:
                continue
            found += [f"{os.path.relpath(path, installed)}:{number}: {line.strip()[:120]}"
                      for number, line in enumerate(lines, 1) if UNAVAILABLE_SOURCES.search(line)]
    assert not found, f"{len(found)} line(s) cite files users do not have:\n" + "\n".join(found)
