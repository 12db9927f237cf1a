"""Shared helpers of the integration tests (imported as ``harness``; conftest.py exposes the fixtures): simulated fleets, ansible-playbook runs, and a plain
pypsrp client to read results back independently of the module under test."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))

from winrm_sim.cli import FleetProcess  # noqa: E402

# Each fleet gets its own /24 of loopback addresses so fleets never compete for ports, and each
# pytest process its own second octet, so runs at the same time (CI and a developer; make matrix, one
# per ansible-core version, each with its own WSMAN_TEST_OCTET) do not collide. make test runs pytest
# with pytest-xdist: its workers, children of one pytest process, take one octet each by index (with
# WSMAN_TEST_OCTET, that octet and the next ones).


def _run_octet() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") else 0
    width = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)) if worker else 1
    if os.environ.get("WSMAN_TEST_OCTET"):
        return int(os.environ["WSMAN_TEST_OCTET"]) + index
    if not worker:
        return 100 + os.getpid() % 100
    return 100 + (os.getppid() % max(1, 100 // width)) * width + index % width


SECOND_OCTET = _run_octet()
# fresh_base_address counts from 40; the modules with a fixed address of their own use 1 to 39,
# each number claimed by one module (base_address refuses a second claimant).
_SUBNETS = itertools.count(40)
_FIXED_SUBNETS: dict[int, str] = {}
CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"


def base_address(subnet: int) -> str:
    """The first address of this run's /24 number ``subnet``: 1-39, one number per test module."""
    owner = sys._getframe(1).f_globals.get("__name__", "?")  # pylint: disable=protected-access
    if not 1 <= subnet <= 39:
        raise ValueError("base_address(%d) from %s: fixed subnets are 1-39 (40 and up are fresh_base_address's)"
                         % (subnet, owner))
    claimed = _FIXED_SUBNETS.setdefault(subnet, owner)
    if claimed != owner:
        raise ValueError("base_address(%d) from %s: %s uses that subnet already; pick a free number in 1-39"
                         % (subnet, owner, claimed))
    return f"127.{SECOND_OCTET}.{subnet}.1"


def fresh_base_address() -> str:
    """The first address of a /24 no other fleet of this run uses."""
    return f"127.{SECOND_OCTET}.{next(_SUBNETS)}.1"


def installed_collections() -> str:
    """The collection as users get it (make collection), else the source tree through a symlink.

    WSMAN_COLLECTIONS_PATH overrides both (development: the live source tree, no rebuild)."""
    if os.environ.get("WSMAN_COLLECTIONS_PATH"):
        return os.environ["WSMAN_COLLECTIONS_PATH"]
    installed = os.path.join(ROOT, ".cache", "installed")
    if os.path.isdir(os.path.join(installed, "ansible_collections", "wsman", "winrm")):
        return installed
    return os.path.join(ROOT, ".cache", "collections")


class Fleet:
    def __init__(self, process: FleetProcess):
        self.process = process

    @property
    def inventory_path(self) -> str:
        return self.process.inventory_path

    def hosts(self) -> dict[str, dict]:
        return self.process.hosts()

    def host(self, profile: str) -> tuple[str, dict]:
        for name, host_vars in self.hosts().items():
            if host_vars["wsman_winrm_sim_profile"] == profile:
                return name, host_vars
        raise KeyError(profile)

    def client(self, host_vars: dict, https: bool = False):
        """A plain pypsrp client (NTLM; HTTP with encryption, or HTTPS validated against the CA)."""
        from pypsrp.wsman import WSMan

        ports = host_vars["wsman_winrm_sim_ports"]
        # The default ports, else the one the inventory connects to (winrm11_ports: HTTP on 8080).
        own = ports.get(int(host_vars.get("ansible_port") or 0)) \
            if (host_vars.get("ansible_winrm_scheme") == "https") == https else None
        if https:
            port = ports.get(5986) or ports.get(443) or own
        else:
            port = ports.get(5985) or ports.get(80) or own
        return WSMan(host_vars["ansible_host"], port=port, ssl=https, auth="ntlm",
                     username=host_vars["ansible_user"], password=host_vars["ansible_password"],
                     cert_validation=host_vars["ansible_winrm_ca_trust_path"] if https else False,
                     no_proxy=True, operation_timeout=10, read_timeout=20)

    def get(self, host_vars: dict, resource: str, selectors: dict | None = None) -> ET.Element:
        from pypsrp.wsman import SelectorSet

        selector_set = None
        if selectors:
            selector_set = SelectorSet()
            for name, value in selectors.items():
                selector_set.add_option(name, value)
        with self.client(host_vars) as client:
            reply = client.get(resource if resource.startswith("http") else f"{CONFIG}/{resource}",
                               selector_set=selector_set)
        return reply[0]  # pypsrp returns the SOAP Body; its first child is the resource


def value_of(element: ET.Element, name: str) -> str | None:
    """Text of the first descendant with this local name."""
    for child in element.iter():
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text or ""
    return None


@pytest.fixture(scope="module")
def fleet(request, tmp_path_factory):
    """One simulated fleet per test module; profiles from the module's FLEET_PROFILES."""
    profiles = getattr(request.module, "FLEET_PROFILES", "server2022")
    hosts = len(profiles.split(","))
    state_dir = tmp_path_factory.mktemp("fleet")
    process = FleetProcess(str(state_dir), hosts=hosts, profiles=profiles,
                           base_address=fresh_base_address()).start()
    try:
        yield Fleet(process)
    finally:
        process.stop()


class PlaybookRun:
    def __init__(self, completed: subprocess.CompletedProcess, results: dict[str, list[dict]]):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.results = results

    def __getitem__(self, host: str) -> list[dict]:
        return self.results[host]


def run_tasks(fleet: Fleet, tasks: list[dict], limit: str | None = None, check: bool = False,
              diff: bool = False, extra_args: list[str] | None = None, tmp_path=None,
              verbosity: int = 0) -> PlaybookRun:
    """Run tasks with ansible-playbook against the fleet; every task's registered result comes back
    per host (tasks run with ignore_errors so a failure is returned, not fatal)."""
    import tempfile

    work = str(tmp_path) if tmp_path else tempfile.mkdtemp(prefix="wsman-play-")
    results_dir = os.path.join(work, "results")
    os.makedirs(results_dir, exist_ok=True)
    play_tasks = []
    names = []
    for index, task in enumerate(tasks):
        name = f"task_{index}"
        names.append(name)
        play_tasks.append(dict(task, register=name, ignore_errors=True))
    collect = "{" + ", ".join(f"'{n}': {n}" for n in names) + "}"
    play_tasks.append({
        "name": "Collect the results",
        "ansible.builtin.copy": {"content": "{{ " + collect + " | to_json }}",
                                 "dest": results_dir + "/{{ inventory_hostname }}.json", "mode": "0644"},
        "delegate_to": "localhost",
        "check_mode": False,
        "diff": False,
    })
    playbook = [{"name": "Test", "hosts": limit or "windows", "gather_facts": False, "tasks": play_tasks}]
    playbook_path = os.path.join(work, "play.yml")
    with open(playbook_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(playbook, handle, sort_keys=False)
    command = ["ansible-playbook", "-i", fleet.inventory_path, playbook_path]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    command += list(extra_args or [])
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_FORCE_COLOR="0")
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    results = {}
    for name in os.listdir(results_dir):
        with open(os.path.join(results_dir, name), encoding="utf-8") as handle:
            data = json.load(handle)
        results[name[:-len(".json")]] = [data[n] for n in names]
    if not results:
        raise AssertionError(f"ansible-playbook produced no results (rc {completed.returncode}):\n"
                             f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return PlaybookRun(completed, results)
