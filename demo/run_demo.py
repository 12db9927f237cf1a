"""`make demo`: start three simulated Windows hosts, read their WinRM configuration with
wsman.winrm.info through ansible-playbook, print a summary per host, stop the hosts.

Run from the repository root with the virtualenv's Python (the Makefile does).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = "server2022,winrm11,upgraded11"
READY_TIMEOUT = 120


def start_simulator(state_dir: str, inventory: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "winrm_sim.cli", "serve", "--hosts", "3", "--profile", PROFILES,
        "--state-dir", state_dir, "--inventory", inventory,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("READY "):
            return process
        if not line and process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"the simulator did not print READY within {READY_TIMEOUT} s")


def yes_no(value) -> str:
    return "yes" if value else "no"


def print_host(name: str, report: dict) -> None:
    print(f"\n=== {name}  ({report['endpoint']['url']}, {report['endpoint']['auth']})")
    print("  listeners:")
    for listener in report.get("listeners", []):
        source = f"  [Source={listener['source']}]" if listener.get("source") else ""
        print(f"    {listener['transport']:<5} {listener['address']:<12} port {listener['port']:<5}"
              f" enabled={yes_no(listener['enabled'])}{source}")
    for role in ("service", "client"):
        auth = report.get(role, {}).get("auth", {})
        enabled = [name for name, value in auth.items() if value is True]
        extra = f", CBT {auth['cbt_hardening_level']}" if "cbt_hardening_level" in auth else ""
        unencrypted = report.get(role, {}).get("allow_unencrypted")
        print(f"  {role} auth: {', '.join(enabled) or 'none'}{extra}; unencrypted allowed: {yes_no(unencrypted)}")
    ports = report.get("client", {}).get("default_ports", {})
    if ports:
        print(f"  client default ports: HTTP {ports.get('http')}, HTTPS {ports.get('https')}")
    gpo = report.get("gpo_controlled") or []
    print(f"  controlled by Group Policy: {', '.join(gpo) if gpo else 'nothing'}")
    summary = report.get("security_summary", {})
    print("  security summary:")
    for key, value in summary.items():
        if key == "gpo_controlled":
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{side} {yes_no(flag)}" for side, flag in value.items())
        elif isinstance(value, bool):
            value = yes_no(value)
        print(f"    {key.replace('_', ' ')}: {value}")


def main() -> int:
    work = tempfile.mkdtemp(prefix="wsman-demo-")
    output = os.path.join(ROOT, "demo-output")
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)
    inventory = os.path.join(work, "inventory.yml")
    simulator = start_simulator(os.path.join(work, "state"), inventory)
    try:
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False")
        playbook = subprocess.run(
            ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", "winrm_report.yml"),
             "-e", f"winrm_report_dir={output}"],
            env=env, check=False,
        )
        if playbook.returncode != 0:
            print(f"ansible-playbook failed with exit code {playbook.returncode}", file=sys.stderr)
            return playbook.returncode
        print("\nWinRM configuration of the simulated hosts (reports in demo-output/):")
        for report_file in sorted(os.listdir(output)):
            with open(os.path.join(output, report_file), encoding="utf-8") as handle:
                print_host(report_file[:-len(".json")], json.load(handle))
        return 0
    finally:
        simulator.send_signal(signal.SIGTERM)
        try:
            simulator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            simulator.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
