"""`make demo`: the secure WinRM baseline on three simulated Windows hosts, told for a Windows admin.

Starts three simulated hosts (a new Windows Server 2022, a host still on WinRM 1.1, a host upgraded
from WinRM 1.1), audits them with the wsman.winrm.secure_baseline role in check mode, applies it,
audits again, and prints per host what was insecure, what changed, and what is left and why, from
the role's JSON compliance reports. The full reports stay in demo-output/.

Needs only the collection's runtime requirements (the Makefile's demo virtualenv); the simulator
runs from tests/simulator. Run from anywhere: paths are relative to this file.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "demo-output")
COLLECTIONS = os.path.join(ROOT, ".cache", "demo-collections")
BIN = os.path.dirname(sys.executable)
PROFILES = "server2022,winrm11,upgraded11"
READY_TIMEOUT = 120
STEPS = (("1-audit", True, "audit (check mode: nothing changes)"),
         ("2-apply", False, "apply the baseline"),
         ("3-audit-again", True, "audit again"))
# The simulator serves a Windows port on another local port when it cannot bind it (ports below
# 1024 without root); the inventory it writes says which. The role proves HTTPS on that port.
SIM_HTTPS_PORT = "{{ (wsman_winrm_sim_ports | default({}))[5986] | default(5986) }}"

HOST_KINDS = {
    "server2022": "a new Windows Server 2022 (an HTTP listener on 5985 only)",
    "winrm11": "a host still on WinRM 1.1 (listeners on ports 80 and 443)",
    "upgraded11": "a host upgraded from WinRM 1.1 (listeners on 5985/5986, and the compatibility "
                  "listeners on 80/443 turned on by Group Policy)",
}
# Each check of the baseline as an admin knows it: the Group Policy setting (Computer Configuration >
# Administrative Templates > Windows Components > Windows Remote Management (WinRM)) or the setting.
# A check the table does not know is shown with the title the report gives it.
CHECKS = {
    "client_basic": 'WinRM Client "Allow Basic authentication" Disabled',
    "client_unencrypted": 'WinRM Client "Allow unencrypted traffic" Disabled',
    "client_digest": 'WinRM Client "Disallow Digest authentication" Enabled',
    "service_basic": 'WinRM Service "Allow Basic authentication" Disabled',
    "service_unencrypted": 'WinRM Service "Allow unencrypted traffic" Disabled',
    "service_runas": 'WinRM Service "Disallow WinRM from storing RunAs credentials" Enabled',
    "service_auto_config": 'WinRM Service "Allow remote server management through WinRM" Disabled',
    "remote_shell_access": 'Windows Remote Shell "Allow Remote Shell Access" Disabled',
    "https_listener": "an HTTPS listener",
    "http_listener_removed": "no HTTP listener (HTTPS only)",
    "compatibility_listeners_off": 'the compatibility listeners on ports 80/443 off ("Turn On Compatibility '
                                   'HTTP Listener", "Turn On Compatibility HTTPS Listener")',
    "cbt_hardening_strict": 'channel binding Strict (WinRM Service "Specify channel binding token hardening level")',
    "credssp_off": 'CredSSP off ("Allow CredSSP authentication", client and service)',
    "trusted_hosts_not_wildcard": 'client TrustedHosts not "*" (WinRM Client "Trusted Hosts")',
    "local_account_token_filter": 'UAC remote restrictions for local accounts kept (MS Security Guide '
                                  '"Apply UAC restrictions to local accounts on network logons")',
    "root_sddl_admins_only": "WinRM access (RootSDDL) for Administrators only",
}
# The six checks STIG and CIS share: Group Policy values, which scanners read.
SCANNED_POLICIES = ("client_basic", "client_unencrypted", "client_digest", "service_basic", "service_unencrypted",
                    "service_runas")
WHY_LEFT = {
    "service_auto_config": "it would stop remote management through WinRM, which is how this host is managed",
    "remote_shell_access": "it would stop remote shells, which Ansible's winrm and psrp connections use",
}
CHANGES = {
    "policy values": "the Group Policy values of the STIG/CIS checks",
    "service auth": "service authentication (Basic and CredSSP off, channel binding Strict)",
    "client auth": "client authentication (Basic, Digest and CredSSP off)",
    "service settings": "service settings (no unencrypted traffic, access for Administrators only)",
    "client settings": "client settings",
    "compatibility listeners": "the compatibility listeners on 80/443 turned off",
    "HTTPS listener": "an HTTPS listener created",
    "HTTP listeners removed": "the HTTP listener removed (after HTTPS was proven to work)",
}


def say(text: str = "") -> None:
    print(text, flush=True)


def run(command: list[str], env: dict | None = None, what: str = "") -> subprocess.CompletedProcess:
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        print(completed.stdout[-6000:], completed.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"demo: {what or command[0]} failed (exit code {completed.returncode})")
    return completed


def install_collection() -> None:
    """The collection as users get it: built with ansible-galaxy and installed from the tarball."""
    build = tempfile.mkdtemp(prefix="wsman-demo-build-")
    try:
        run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", build, ROOT],
            what="ansible-galaxy collection build")
        (tarball,) = glob.glob(os.path.join(build, "wsman-winrm-*.tar.gz"))
        shutil.rmtree(COLLECTIONS, ignore_errors=True)
        run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "-p", COLLECTIONS, tarball],
            what="ansible-galaxy collection install")
    finally:
        shutil.rmtree(build, ignore_errors=True)


def start_simulator(state_dir: str, inventory: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests", "simulator"))
    command = [sys.executable, "-m", "winrm_sim.cli", "serve", "--hosts", "3", "--profile", PROFILES,
               "--state-dir", state_dir, "--inventory", inventory]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("READY "):
            return process
        if not line and process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"demo: the simulated hosts did not start within {READY_TIMEOUT} s")


def run_baseline(inventory: str, report_dir: str, check: bool) -> None:
    command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory,
               os.path.join(ROOT, "playbooks", "secure_baseline.yml"),
               "-e", json.dumps({"secure_baseline_report_dir": report_dir,
                                 "secure_baseline_https_connection_port": SIM_HTTPS_PORT})]
    if check:
        command.append("--check")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1")
    run(command, env=env, what="ansible-playbook " + ("--check" if check else ""))


def load_reports(folder: str) -> dict:
    with open(os.path.join(folder, "secure_baseline.json"), encoding="utf-8") as handle:
        return json.load(handle)


def check_name(control: dict) -> str:
    return CHECKS.get(control["id"], control.get("title") or control["id"])


def ids(control: dict) -> str:
    refs = control.get("references") or {}
    found = [f"STIG {refs['stig']}" if refs.get("stig") else "", f"CIS {refs['cis']}" if refs.get("cis") else ""]
    found = [f for f in found if f]
    return f" [{', '.join(found)}]" if found else ""


# SDDL trustee aliases a RootSDDL may name (Microsoft Learn, "SID Strings").
TRUSTEES = {"IU": "Interactive Users", "AU": "Authenticated Users", "WD": "Everyone", "BU": "Users",
            "RM": "Remote Management Users", "NU": "Network logon users"}


def finding(control: dict) -> str:
    """One line on what is wrong, in the words of the setting, from the report's values."""
    actual, reason = control.get("actual"), control.get("reason") or control["status"]
    if control["id"] == "http_listener_removed" and isinstance(actual, list):
        http = [a for a in actual if a.startswith("HTTP:") and "Compatibility" not in a]
        ports = ", ".join(a.split(":", 1)[1] for a in http)
        return f"an HTTP listener (port {ports}); the workgroup_https profile wants HTTPS only"
    if control["id"] == "compatibility_listeners_off":
        by_policy = any(e.get("source") == "GPO" for e in control.get("evidence") or [])
        return ("the compatibility listeners on ports 80/443 are on" + (
            ', turned on by Group Policy ("Turn On Compatibility HTTP Listener" and "... HTTPS Listener" Enabled)'
            if by_policy else ""))
    if control["id"] == "cbt_hardening_strict" and isinstance(actual, str):
        return f'channel binding token hardening is {actual}, Strict expected ("Specify channel binding token hardening level")'
    if control["id"] == "root_sddl_admins_only" and reason.startswith("access also granted to "):
        names = [TRUSTEES.get(t.strip(), t.strip()) for t in reason[len("access also granted to "):].split(",")]
        return f"WinRM access (RootSDDL) also granted to {', '.join(names)}; Administrators only expected"
    return f"{check_name(control)}{ids(control)}: {reason}"


TOLD: set = set()  # blocks already told in full for an earlier host


def tell_findings(controls: list[dict]) -> None:
    scanned = [c for c in controls if c["id"] in SCANNED_POLICIES and c.get("actual") == "not configured"]
    block = ("scanned", tuple(c["id"] for c in scanned))
    if scanned and block in TOLD:
        say(f"    - the same {len(scanned)} STIG/CIS WinRM policies not configured (as above)")
    elif scanned:
        TOLD.add(block)
        stig = [(c.get("references") or {}).get("stig") for c in scanned]
        say(f"    - {len(scanned)} of the STIG/CIS WinRM policies not configured, so scanners report them open"
            + (f" ({', '.join(s for s in stig if s)})" if any(stig) else "") + ":")
        for side in ("Client", "Service"):
            names = [check_name(c).split(" ", 2)[2] for c in scanned if check_name(c).startswith(f"WinRM {side} ")]
            if names:
                say(f"      WinRM {side}: {'; '.join(names)}")
    for control in controls:
        if control not in scanned:
            say(f"    - {finding(control)}")


def moved_ports(host_vars: dict) -> list[str]:
    ports = host_vars.get("wsman_winrm_sim_ports") or {}
    return [f"{windows} on {bound}" for windows, bound in sorted(ports.items(), key=lambda item: int(item[0]))
            if int(windows) != int(bound)]


def tell_host(host: str, kind: str, audit: dict, applied: dict, again: dict, host_vars: dict) -> None:
    say(f"\n{host}: {HOST_KINDS.get(kind, kind)}")
    moved = moved_ports(host_vars)
    if moved:
        say(f"  (Simulator only: this machine serves the host's port {' and '.join(moved)}, as ports below"
            " 1024 need root. A real host needs nothing like this.)")
    failed = [c for c in audit["after"] if c["status"] == "fail"]
    say(f"  Insecure before ({len(failed)} of {len(audit['after'])} checks failed):")
    tell_findings(failed)
    steps = applied.get("changed_steps") or []
    say("  Changed: " + ("; ".join(CHANGES.get(step, step) for step in steps) or "nothing") + ".")
    after = again["after"]
    status_after = {c["id"]: c["status"] for c in after}
    fixed = [c for c in failed if status_after.get(c["id"]) == "pass"]
    if fixed:
        say(f"  Fixed: {len(fixed)} of the {len(failed)} failed checks.")
    passing = sum(1 for c in after if c["status"] == "pass")
    rerun = again.get("changed_steps") or []
    say(f"  Now: {passing} of {len(after)} checks pass; "
        + ("a second run finds nothing more to change." if not rerun else f"a second run would still change: {', '.join(rerun)}."))
    left = [c for c in after if c["status"] == "deviation"]
    block = ("left", tuple(c["id"] for c in left))
    if left and block in TOLD:
        say("  Left as it is, on purpose: the same CIS level 2 settings as above.")
    elif left:
        TOLD.add(block)
        say("  Left as it is, on purpose:")
        for control in left:
            say(f"    - {check_name(control)}{ids(control)}: not done, {WHY_LEFT.get(control['id'], control.get('reason', ''))}")
    still = [c for c in after if c["status"] not in ("pass", "deviation", "not_applicable")]
    if still:
        say("  Still open (the role did not change these; the report says what to do):")
        tell_findings(still)
    endpoint = again.get("endpoint") or {}
    if endpoint.get("url"):
        checked = "the host's certificate checked" if endpoint.get("cert_validation") else "certificate NOT checked"
        say(f"  Reached now at {endpoint['url']} ({endpoint.get('auth', '?').upper()} over "
            f"{endpoint.get('scheme', '?').upper()}, {checked})")


def read_inventory(path: str) -> dict[str, dict]:
    import yaml  # comes with ansible-core

    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    hosts: dict[str, dict] = {}

    def walk(group: dict, inherited: dict) -> None:
        variables = dict(inherited, **(group.get("vars") or {}))
        for name, host_vars in (group.get("hosts") or {}).items():
            hosts[name] = dict(variables, **(host_vars or {}))
        for child in (group.get("children") or {}).values():
            walk(child or {}, variables)

    walk(data.get("all", {}), {})
    return hosts


def main() -> int:
    global OUTPUT  # pylint: disable=global-statement
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=OUTPUT, help="folder of the reports (default: demo-output)")
    OUTPUT = os.path.abspath(parser.parse_args().output)
    started = time.monotonic()
    say("wsman.winrm demo: the secure WinRM baseline (role wsman.winrm.secure_baseline, profile")
    say("workgroup_https: NTLM over HTTPS, the STIG/CIS WinRM policies, no Basic, no unencrypted traffic)")
    say("on three simulated Windows hosts. No Windows machine is needed: they run on this machine.")
    install_collection()
    work = tempfile.mkdtemp(prefix="wsman-demo-")
    shutil.rmtree(OUTPUT, ignore_errors=True)
    os.makedirs(OUTPUT)
    inventory = os.path.join(work, "inventory.yml")
    simulator = start_simulator(os.path.join(work, "state"), inventory)
    try:
        host_vars = read_inventory(inventory)  # as the audit found the hosts (ports before any change)
        for number, (name, check, what) in enumerate(STEPS, 1):
            say(f"  step {number}/{len(STEPS)}: {what}")
            run_baseline(inventory, os.path.join(OUTPUT, name), check)
        audit, applied, again = (load_reports(os.path.join(OUTPUT, name)) for name, _check, _what in STEPS)
        for host in sorted(again):
            kind = host_vars.get(host, {}).get("wsman_winrm_sim_profile", "")
            tell_host(host, kind, audit[host], applied[host], again[host], host_vars.get(host, {}))
        say("\nThe WinRM 1.1 host's clients that still use ports 80/443 lose access when its listeners move to")
        say("5985/5986: migrate them first with the wsman.winrm.legacy_migration role (or keep the HTTPS")
        say("listener on 443 with secure_baseline_https_port: 443).")
        say("\nFull reports (every check with its CIS and STIG ids, expected and actual values, evidence):")
        say(f"  {os.path.relpath(OUTPUT)}/2-apply/secure_baseline.md   before and after, all hosts")
        say(f"  {os.path.relpath(OUTPUT)}/<step>/<host>.json, .md, .xml (JUnit)   per host, for each step")
        say(f"Done in {time.monotonic() - started:.0f} s.")
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
