"""Benchmark: wsman.winrm.info over a simulated fleet through ansible-playbook, against the same
requests sent without Ansible (the session on pypsrp, in threads). Prints figures; asserts nothing.

    python tests/benchmarks/info_fleet.py [--hosts 50] [--forks 10]

Runs from the repository root with the virtualenv's Python, after `make collection` (it uses the
installed collection under .cache/installed when present, else the source tree).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import conftest as _collection_paths  # noqa: E402,F401  (puts the collection on sys.path)
from harness import installed_collections  # noqa: E402
from winrm_sim.cli import FleetProcess  # noqa: E402

PLAYBOOK = """
- name: Benchmark wsman.winrm.info
  hosts: windows
  gather_facts: false
  tasks:
    - name: Read the WinRM configuration
      wsman.winrm.info:
"""


def plain_pypsrp(host_vars: dict) -> int:
    """The requests info sends, through the collection's session on pypsrp, without Ansible."""
    from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
    from ansible_collections.wsman.winrm.plugins.module_utils.resources import read_all
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session

    with Session(resolve(host_vars, "winrm")) as session:
        snapshot = read_all(session)
    return len(snapshot.listeners)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wsman-bench-") as work:
        started = time.monotonic()
        fleet = FleetProcess(os.path.join(work, "state"), hosts=args.hosts, profiles="server2022,gpo,upgraded11",
                             base_address="127.0.230.1").start()
        try:
            print(f"fleet: {args.hosts} simulated hosts ready in {time.monotonic() - started:.1f} s")
            hosts = fleet.hosts()

            playbook = os.path.join(work, "bench.yml")
            with open(playbook, "w", encoding="utf-8") as handle:
                handle.write(PLAYBOOK)
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            run = subprocess.run(["ansible-playbook", "-i", fleet.inventory_path, playbook, "--forks", str(args.forks)],
                                 env=env, capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            ok = run.stdout.count("ok: [")
            print(f"ansible-playbook, wsman.winrm.info, forks {args.forks}: {elapsed:.1f} s wall, "
                  f"{elapsed / len(hosts) * 1000:.0f} ms per host, controller CPU {cpu:.1f} s, "
                  f"{ok}/{len(hosts)} hosts ok (rc {run.returncode})")

            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.forks) as pool:
                counts = list(pool.map(plain_pypsrp, hosts.values()))
            elapsed = time.monotonic() - started
            print(f"same requests without Ansible (the session on pypsrp), {args.forks} threads: {elapsed:.1f} s wall, "
                  f"{elapsed / len(hosts) * 1000:.0f} ms per host, {len(counts)}/{len(hosts)} hosts read")
        finally:
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
