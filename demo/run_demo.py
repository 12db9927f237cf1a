"""`make demo`: start three simulated Windows hosts of different kinds (a new Windows Server 2022,
a WinRM 1.1 host on ports 80/443, a host upgraded from WinRM 1.1), audit them against the secure
baseline (the wsman.winrm.secure_baseline role in check mode), apply the baseline, audit again,
print the before/after compliance per host and where the reports are, stop the hosts.

Run from the repository root with the virtualenv's Python (the Makefile does, after installing the
built collection and pointing ANSIBLE_COLLECTIONS_PATH at it).
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
PLAYBOOK = os.path.join(ROOT, "playbooks", "secure_baseline.yml")
# The simulator serves a Windows port on another local port when it cannot bind it; the inventory
# it writes says which. Real hosts need nothing like this.
SIM_HTTPS_PORT = "{{ (wsman_winrm_sim_ports | default({}))[5986] | default(5986) }}"
STATUS_MARK = {"pass": "pass", "fail": "FAIL", "deviation": "dev.", "not_applicable": "n/a", "unknown": "?"}


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


def run_baseline(inventory: str, report_dir: str, check: bool) -> None:
    step = "audit (check mode)" if check else "apply"
    print(f"\n##### secure_baseline: {step} -> {os.path.relpath(report_dir, ROOT)}/", flush=True)
    command = ["ansible-playbook", "-i", inventory, PLAYBOOK,
               "-e", json.dumps({"secure_baseline_report_dir": report_dir,
                                 "secure_baseline_https_connection_port": SIM_HTTPS_PORT})]
    if check:
        command.append("--check")
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_DISPLAY_SKIPPED_HOSTS="False")
    playbook = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    recap = playbook.stdout[playbook.stdout.rfind("PLAY RECAP"):] if "PLAY RECAP" in playbook.stdout else ""
    print(recap.rstrip() or playbook.stdout[-3000:])
    if playbook.returncode != 0:
        print(playbook.stdout[-6000:], playbook.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"ansible-playbook ({step}) failed with exit code {playbook.returncode}")


def read_configuration(inventory: str, report_dir: str) -> None:
    """wsman.winrm.info on every host: what WinRM looks like before anything changes."""
    print(f"\n##### wsman.winrm.info -> {os.path.relpath(report_dir, ROOT)}/", flush=True)
    os.makedirs(report_dir, exist_ok=True)
    command = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", "winrm_report.yml"),
               "-e", json.dumps({"winrm_report_dir": report_dir})]
    playbook = subprocess.run(command, check=False, capture_output=True, text=True)
    if playbook.returncode != 0:
        print(playbook.stdout[-6000:], playbook.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"ansible-playbook (info) failed with exit code {playbook.returncode}")
    for report_file in sorted(os.listdir(report_dir)):
        with open(os.path.join(report_dir, report_file), encoding="utf-8") as handle:
            report = json.load(handle)
        print(f"=== {report_file[:-len('.json')]}  ({report['endpoint']['url']})")
        for listener in report["listeners"]:
            source = f"  [Source={listener['source']}]" if listener["source"] else ""
            print(f"    listener {listener['transport']:<5} {listener['address']:<4} port {listener['port']:<5}"
                  f" enabled={str(listener['enabled']).lower()}{source}")
        for role in ("service", "client"):
            auth = report[role]["auth"]
            enabled = [name for name, value in auth.items() if value is True]
            print(f"    {role} auth: {', '.join(enabled) or 'none'}; unencrypted allowed: "
                  f"{str(report[role]['allow_unencrypted']).lower()}")
        print(f"    controlled by Group Policy: {', '.join(report['gpo_controlled']) or 'nothing'}")


def load(report_dir: str) -> dict:
    with open(os.path.join(report_dir, "secure_baseline.json"), encoding="utf-8") as handle:
        return json.load(handle)


def short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 34 else text[:31] + "..."


def print_host(host: str, audit: dict, applied: dict, final: dict) -> None:
    print(f"\n=== {host}  (profile {final['profile']}; now reached at {final['endpoint'].get('url', '?')})")
    print(f"  changed by the baseline: {', '.join(applied['changed_steps']) or 'nothing'}")
    print(f"  {'control':<28} {'before':<6} {'after':<6} {'CIS':<13} {'STIG':<15} actual after")
    before = {c["id"]: c for c in audit["after"]}
    for control in final["after"]:
        was = before.get(control["id"], {}).get("status", "?")
        refs = control.get("references") or {}
        print(f"  {control['id']:<28} {STATUS_MARK.get(was, was):<6} {STATUS_MARK.get(control['status'], control['status']):<6}"
              f" {refs.get('cis') or '-':<13} {refs.get('stig') or '-':<15} {short(control['actual'])}")
    counts = {}
    for control in final["after"]:
        counts[control["status"]] = counts.get(control["status"], 0) + 1
    fails_before = sum(1 for c in audit["after"] if c["status"] == "fail")
    print(f"  failed controls: {fails_before} before -> {counts.get('fail', 0)} after; "
          f"deviations (documented): {counts.get('deviation', 0)}")
    for control in final["after"]:
        if control["status"] == "deviation":
            print(f"    deviation {control['id']}: {control['reason']}")


def main() -> int:
    work = tempfile.mkdtemp(prefix="wsman-demo-")
    output = os.path.join(ROOT, "demo-output")
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)
    inventory = os.path.join(work, "inventory.yml")
    simulator = start_simulator(os.path.join(work, "state"), inventory)
    try:
        read_configuration(inventory, os.path.join(output, "0-info"))
        steps = {"1-audit": True, "2-apply": False, "3-audit-after": True}
        for name, check in steps.items():
            run_baseline(inventory, os.path.join(output, name), check)
        audit, applied, final = (load(os.path.join(output, name)) for name in steps)
        print("\nSecure baseline (workgroup_https) on three simulated hosts:")
        for host in sorted(final):
            print_host(host, audit[host], applied[host], final[host])
        print("\nWinRM 1.1 host (listeners on 80/443): listeners are keyed by address and transport, so the")
        print("baseline moves its HTTPS listener from 443 to 5986 (secure_baseline_https_port), proves it,")
        print("then removes HTTP on port 80 over HTTPS. Clients still on 80/443 need the legacy_migration role")
        print("first (or secure_baseline_https_port: 443).")
        print("\nReports (JSON, Markdown, JUnit XML; per host and for the run):")
        for name in steps:
            folder = os.path.join(output, name)
            files = sorted(os.listdir(folder))
            print(f"  demo-output/{name}/: {', '.join(files)}")
        print("  before/after comparison: demo-output/2-apply/secure_baseline.md")
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
