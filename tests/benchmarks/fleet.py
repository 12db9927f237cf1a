"""Benchmark: the secure baseline over simulated fleets - audit, apply, rerun - through the shipped
playbook, beside a plain script sending the same WS-Man requests with the collection's code and no
Ansible. Prints figures; asserts nothing.

    python tests/benchmarks/fleet.py --hosts 100,300,1000 [--forks 50] [--profile server2022,winrm11,...]

Per size and operation: wall time, controller CPU (ansible-playbook and its forks), simulator CPU,
ansible-playbook's peak RSS, and the plain script's wall time (same thread count as forks); per size
the "one-task floor", the controller CPU per host of a playbook with one ansible.builtin.debug task
over the same inventory and forks: what Ansible costs per host on this machine in this run. The
playbooks run over the fleet's inventory in the shape admins write (what every host shares once in
the group's vars, see admin_inventory); the floor is printed over that and over the simulator's own
inventory (every variable under every host), so the cost of the inventory's shape shows. Per size
also the plain script's own controller CPU per host for the audit, one host at a time, in a warm
process and in a child forked per host (the price of Ansible's worker per host: the pages a child
writes are copied), which with the floor bounds what the playbook's audit can cost per host. HTTP
exchanges per host are counted once per profile on a small fleet, with every request the controller
sends counted at requests' transport adapter (a sitecustomize loaded by ansible-playbook and its
forks, benchmark only). Run from the repository root with the virtualenv's Python after
``make collection`` (it uses the installed collection under .cache/installed when present).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import conftest as _collection_paths  # noqa: E402,F401  (puts the collection on sys.path)
from harness import installed_collections  # noqa: E402
from winrm_sim.cli import FleetProcess  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "playbooks", "secure_baseline.yml")
TICKS = os.sysconf("SC_CLK_TCK")
COUNTER = textwrap.dedent('''
    """Benchmark only: one line per HTTP exchange the controller sends, "<host> <status>"."""
    import os
    try:
        import requests.adapters
    except ImportError:
        pass
    else:
        _send = requests.adapters.HTTPAdapter.send

        def send(self, request, *args, **kwargs):
            response = _send(self, request, *args, **kwargs)
            with open(os.environ["WSMAN_BENCH_EXCHANGES"], "a") as handle:
                handle.write("%s %s\\n" % (request.url.split("/")[2].split(":")[0], response.status_code))
            return response

        requests.adapters.HTTPAdapter.send = send
''')


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


# Ansible's own cost per host on this machine, measured beside the baseline in the same run: one task
# that runs in a worker per host and reaches no host. The controller CPU per host of the baseline
# cannot go below this (the machine's speed varies between runs; this does with it).
FLOOR_PLAYBOOK = textwrap.dedent('''
    - name: One task per host, no connection
      hosts: windows
      gather_facts: false
      tasks:
        - name: Name the host
          ansible.builtin.debug:
            msg: "{{ inventory_hostname }}"
''')


def admin_inventory(fleet_inventory: str, path: str) -> str:
    """The fleet's inventory in the shape admins write it: what every host shares (the account, the
    connection plugin and transport, the CA path, ...) once in the group's vars, only what differs per
    host under the host. The simulator writes every variable under every host; Ansible parses and
    merges each one per host, a cost that is the inventory's, not the collection's. Returns ``path``."""
    import yaml

    with open(fleet_inventory, encoding="utf-8") as handle:
        windows = yaml.safe_load(handle)["all"]["children"]["windows"]
    groups = windows["children"]
    everyone = [host_vars for group in groups.values() for host_vars in group["hosts"].values()]
    shared = {name: value for name, value in everyone[0].items()
              if all(name in host_vars and host_vars[name] == value for host_vars in everyone)}
    inventory = {"all": {"children": {"windows": {
        "vars": dict(windows.get("vars", {}), **shared),
        "children": {group_name: {"hosts": {host: {name: value for name, value in host_vars.items() if name not in shared}
                                            for host, host_vars in group["hosts"].items()}}
                     for group_name, group in groups.items()}}}}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, default_flow_style=False, sort_keys=False)
    return path


def playbook(inventory: str, work: str, forks: int, check: bool, env_extra: dict | None = None,
             path: str = PLAYBOOK) -> dict:
    """One run of the shipped playbook (or ``path``); wall, CPU of it and its forks, peak RSS (wait4)."""
    variables = {"secure_baseline_report_dir": os.path.join(work, "reports"),
                 "secure_baseline_https_connection_port": "{{ wsman_winrm_sim_ports[5986] | default(5986) }}"}
    command = ["ansible-playbook", "-i", inventory, path, "--forks", str(forks), "-e", json.dumps(variables)]
    if check:
        command.append("--check")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed_collections(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", **(env_extra or {}))
    log = open(os.path.join(work, "playbook.log"), "w", encoding="utf-8")
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    log.close()
    with open(os.path.join(work, "playbook.log"), encoding="utf-8") as handle:
        output = handle.read()
    recap = {line.split()[0]: line for line in output.splitlines() if " : ok=" in line}
    failed = [host for host, line in recap.items() if "failed=0" not in line or "unreachable=0" not in line]
    errors = [line.split(" => ")[0] + ": " + (re.search(r'"msg": "((?:[^"\\]|\\.)*)"', line) or [None, "?"])[1][:400]
              for line in output.splitlines() if line.startswith(("fatal:", "failed:"))][:3]
    return {"errors": errors, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "hosts": len(recap), "failed": failed, "rc": os.waitstatus_to_exitcode(status)}


def floor(inventory: str, work: str, forks: int) -> dict:
    """The one-task playbook over the same inventory and forks: Ansible's cost per host."""
    path = os.path.join(work, "floor.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(FLOOR_PLAYBOOK)
    return playbook(inventory, work, forks, check=False, path=path)


def baseline_args(connection_port: int):
    """The role's variables at their defaults, with the benchmark's connection port, and how the converge
    action builds its options from them (plugin_utils/baseline.py); the profile is chosen per host
    (``auto``, as the role does)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.wsman.winrm.plugins.module_utils import argspecs
    from ansible_collections.wsman.winrm.plugins.plugin_utils import baseline

    given = {"secure_baseline_https_connection_port": connection_port, "secure_baseline_report": False}

    def build(values: dict) -> dict:
        return ArgumentSpecValidator(argspecs.CONVERGE["argument_spec"]).validate(
            baseline.desired_state(values)).validated_parameters

    return baseline.variables("secure_baseline", lambda name: given[name]), build


def plain_host(host_vars: dict, check: bool) -> int:
    """The converge of one host with the collection's code and no Ansible: the requests the playbook's
    converge task sends (the computer over WMI, the configuration, policy values, certificate stores
    and firewall rules, the plan and its steps, the read-back, the verdict's TLS probe) and the same
    judgement of the controls; no report files (the playbook writes them)."""
    from ansible_collections.wsman.winrm.plugins.module_utils import computer, controls, plan
    from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
    from ansible_collections.wsman.winrm.plugins.module_utils.policy import desired_options
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session
    from ansible_collections.wsman.winrm.plugins.plugin_utils import converge, remoting
    from ansible_collections.wsman.winrm.plugins.plugin_utils.wsman_action import Reconnecting

    port = host_vars["wsman_winrm_sim_ports"].get(5986, 5986)
    values, build = baseline_args(port)
    https_vars = dict(host_vars, wsman_winrm_connection_uri="", wsman_winrm_scheme="https", wsman_winrm_port=port)
    main = Reconnecting(Session(resolve(host_vars, "winrm")))
    https = Reconnecting(Session(resolve(https_vars, "winrm")))
    try:
        reached, system = converge.reach(main, https, {"remove_http": True}, computer.read_system)
        values["profile"], _reason = remoting.choose_profile(system)
        args = build(values)
        main, snapshot = converge.read(reached, https, args["https"], converge.read_parts(args),
                                       system.certificate_names)
        named = desired_options(dict(args["policy"], state="present"))
        change, _conflicts = converge.plan_host(main, https, snapshot, named, args)
        if remoting.writes_disable_run_as(change.changes):
            remoting.run_as_warnings(main)
        after = change.before
        if change.changes and not check:
            outcome = plan.carry_out(change.steps)
            if outcome.error is None:
                after = converge.read_back(converge.final_session(main, https, change), change, snapshot)
        validated = remoting.https_certificate_validated(main.endpoint, snapshot.listeners, snapshot.firewall)
        judge, _stig = controls.judgement(args["controls"], system.to_dict())
        for view in (change.before, change.after) + ((after,) if after is not change.before else ()):
            controls.evaluate(remoting.with_verdict(view, system, validated), **judge)
        return len(change.steps)
    finally:
        main.session.close()
        https.session.close()


def plain(hosts: dict, threads: int, check: bool) -> float:
    """Wall time of the plain script over every host; a host that fails is said, not fatal."""
    failures = []

    def one(host_vars: dict) -> None:
        try:
            plain_host(host_vars, check)
        except Exception as error:  # pylint: disable=broad-except  # a benchmark reports, it does not stop
            failures.append("%s: %s" % (host_vars["ansible_host"], str(error)[:200]))

    sent = count_exchanges()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, hosts.values()))
    wall = time.monotonic() - started
    # The same requests as the playbook's converge task: compare with the counts printed first.
    per_host = (count_exchanges() - sent) / len(hosts)
    print("    plain script (%s): %.1f HTTP exchanges per host" % ("audit" if check else "rerun", per_host))
    if failures:
        print("    plain script: %d host(s) failed, e.g. %s" % (len(failures), failures[0]))
    return wall


def plain_cpu(hosts: dict, sample: int) -> dict:
    """Controller CPU per host of the plain script's audit, one host at a time (no threads, so no lock
    contention): in this process, warm, and in a child forked for each host from it, as Ansible forks a
    worker per host and task (the pages a child writes are copied from its parent: the fork's price in
    system time). The first ``sample`` hosts, after one host to warm the process."""
    chosen = list(hosts.values())[:sample + 1]
    plain_host(chosen[0], True)
    warm = _usage(lambda: [plain_host(host_vars, True) for host_vars in chosen[1:]])
    forked = [0.0, 0.0, 0]
    failed = 0
    for host_vars in chosen[1:]:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one host, its own usage to the parent, no cleanup of the parent's state
            os.close(reader)
            try:
                used = _usage(lambda host_vars=host_vars: plain_host(host_vars, True))
                os.write(writer, json.dumps(used).encode())
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, "rb") as handle:
            answer = handle.read()
        os.waitpid(pid, 0)
        if not answer:
            failed += 1
            continue
        used = json.loads(answer)
        forked = [forked[0] + used["user"], forked[1] + used["sys"], forked[2] + used["faults"]]
    count = max(1, len(chosen) - 1)
    return {"hosts": len(chosen) - 1, "failed": failed,
            "warm": {"user": warm["user"] / count, "sys": warm["sys"] / count, "faults": warm["faults"] / count},
            "forked": {"user": forked[0] / count, "sys": forked[1] / count, "faults": forked[2] / count}}


def _ms(usage: dict) -> float:
    return (usage["user"] + usage["sys"]) * 1000


def _usage(work: t.Callable[[], object]) -> dict:
    before = resource.getrusage(resource.RUSAGE_SELF)
    work()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "faults": after.ru_minflt - before.ru_minflt}


_EXCHANGES = [0]
_EXCHANGES_LOCK = threading.Lock()


def count_exchanges() -> int:
    """Every HTTP exchange this process sends so far (requests' transport adapter, counted here once)."""
    import requests.adapters

    adapter = requests.adapters.HTTPAdapter
    if not getattr(adapter.send, "_counted", False):
        original = adapter.send

        def send(self, request, *args, **kwargs):
            with _EXCHANGES_LOCK:
                _EXCHANGES[0] += 1
            return original(self, request, *args, **kwargs)

        send._counted = True
        adapter.send = send
    return _EXCHANGES[0]


def start_fleet(work: str, count: int, profiles: str, base: str) -> FleetProcess:
    fleet = FleetProcess(os.path.join(work, "state"), hosts=count, profiles=profiles, base_address=base,
                         ready_timeout=600).start()
    return fleet


def exchanges(profiles: str, forks: int) -> dict[str, dict[str, float]]:
    """HTTP exchanges per host and operation, one host per profile (counted at the controller)."""
    names = profiles.split(",")
    counts: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="wsman-bench-count-") as work:
        fleet = start_fleet(work, len(names), profiles, "127.0.225.1")
        try:
            # The inventory as written first (the rerun goes through the fallback), in the admin's shape.
            inventory = admin_inventory(fleet.inventory_path, os.path.join(work, "inventory.yml"))
            site = os.path.join(work, "site")
            os.makedirs(site)
            with open(os.path.join(site, "sitecustomize.py"), "w", encoding="utf-8") as handle:
                handle.write(COUNTER)
            by_address = {host_vars["ansible_host"]: host_vars["wsman_winrm_sim_profile"]
                          for host_vars in fleet.hosts().values()}
            for operation, check in (("audit", True), ("apply", False), ("rerun", False)):
                log = os.path.join(work, operation + ".exchanges")
                env = {"PYTHONPATH": site + os.pathsep + os.environ.get("PYTHONPATH", ""), "WSMAN_BENCH_EXCHANGES": log}
                run = playbook(inventory, work, forks, check, env)
                if run["errors"]:
                    print("  %s: %d host(s) failed, e.g. %s" % (operation, len(run["failed"]), run["errors"][0]))
                per_host: collections.Counter = collections.Counter()
                unauthorized: collections.Counter = collections.Counter()
                lines = []
                if os.path.exists(log):  # no file: not one exchange got an answer (every host refused)
                    with open(log, encoding="utf-8") as handle:
                        lines = handle.readlines()
                for line in lines:
                    address, status = line.split()
                    per_host[by_address.get(address, address)] += 1
                    unauthorized[by_address.get(address, address)] += status == "401"
                for profile in names:
                    counts.setdefault(profile, {})[operation] = per_host[profile]
                    counts[profile][operation + "_401"] = unauthorized[profile]
        finally:
            fleet.stop()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="100,300,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--profile", default="server2022,winrm11,upgraded11,gpo")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain script")
    parser.add_argument("--plain-sample", type=int, default=100,
                        help="hosts whose plain audit is timed one at a time for its CPU per host")
    parser.add_argument("--operations", default="audit,apply,rerun", help="which of audit, apply, rerun (in order)")
    args = parser.parse_args()

    print("HTTP exchanges per host (401 = authentication legs), one host per profile:")
    for profile, counts in exchanges(args.profile, args.forks).items():
        print("  %-11s audit %2d (%d x 401)  apply %2d (%d x 401)  rerun %2d (%d x 401)" % (
            profile, counts["audit"], counts["audit_401"], counts["apply"], counts["apply_401"],
            counts["rerun"], counts["rerun_401"]))
    rows = []
    for size in (int(item) for item in args.hosts.split(",")):
        with tempfile.TemporaryDirectory(prefix="wsman-bench-") as work:
            started = time.monotonic()
            fleet = start_fleet(work, size, args.profile, "127.0.230.1")
            try:
                print(f"\nfleet: {size} simulated hosts ({args.profile}) ready in {time.monotonic() - started:.1f} s, "
                      f"forks {args.forks}")
                # The inventory as the simulator first wrote it (every variable under every host), and in the
                # admin's shape (what hosts share in the group's vars), which the playbook runs use.
                as_written = os.path.join(work, "simulator-inventory.yml")
                with open(fleet.inventory_path, encoding="utf-8") as source, open(as_written, "w", encoding="utf-8") as out:
                    out.write(source.read())
                inventory = admin_inventory(as_written, os.path.join(work, "inventory.yml"))
                hosts = fleet.hosts()
                floors = {}
                for shape, path in (("simulator's inventory", as_written), ("admin's inventory", inventory)):
                    floor_run = floors[shape] = floor(path, work, args.forks)
                    print("  floor %6.1f s wall  controller CPU %6.1f s (%4.0f ms/host)  peak RSS %5.0f MiB  one debug "
                          "task per host, %s, %d hosts, %d failed, rc %d" % (
                              floor_run["wall"], floor_run["cpu"], floor_run["cpu"] / size * 1000, floor_run["rss_mib"],
                              shape, floor_run["hosts"], len(floor_run["failed"]), floor_run["rc"]))
                    for error in floor_run["errors"]:
                        print("    " + error)
                plain_audit = None if args.no_plain else plain(hosts, args.forks, check=True)
                alone = None if args.no_plain else plain_cpu(hosts, args.plain_sample)
                if alone:
                    print("  plain script's audit one host at a time (%d hosts, %d failed): controller CPU per host "
                          "%.1f ms warm (user %.1f, system %.1f), %.1f ms in a child forked per host (user %.1f, "
                          "system %.1f, %.0f page faults)" % (
                              alone["hosts"], alone["failed"], _ms(alone["warm"]), alone["warm"]["user"] * 1000,
                              alone["warm"]["sys"] * 1000, _ms(alone["forked"]), alone["forked"]["user"] * 1000,
                              alone["forked"]["sys"] * 1000, alone["forked"]["faults"]))
                for operation, check in (("audit", True), ("apply", False), ("rerun", False)):
                    if operation not in args.operations.split(","):
                        continue
                    sim_before = cpu_seconds(fleet.pid)
                    run = playbook(inventory, work, args.forks, check)
                    run.update(size=size, operation=operation, sim_cpu=cpu_seconds(fleet.pid) - sim_before,
                               floor=floors["admin's inventory"]["cpu"] / size * 1000, alone=alone)
                    if operation == "audit":
                        run["plain"] = plain_audit
                    elif operation == "rerun" and not args.no_plain:
                        run["plain"] = plain(hosts, args.forks, check=False)  # no change left: the same reads
                    rows.append(run)
                    for error in run["errors"]:
                        print("    " + error)
                    print("  %-5s %6.1f s wall  controller CPU %6.1f s (%4.0f ms/host)  simulator CPU %6.1f s  "
                          "peak RSS %5.0f MiB  %d hosts, %d failed%s" % (
                              operation, run["wall"], run["cpu"], run["cpu"] / size * 1000, run["sim_cpu"],
                              run["rss_mib"], run["hosts"], len(run["failed"]),
                              "  plain script %.1f s (x%.2f)" % (run["plain"], run["wall"] / run["plain"])
                              if run.get("plain") else ""))
            finally:
                fleet.stop()
    print("\n| hosts | operation | wall | controller CPU | per host | one-task floor | plain CPU per host "
          "(warm / forked) | simulator CPU | peak RSS | plain script | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in rows:
        alone = run.get("alone") if run["operation"] == "audit" else None
        print("| %d | %s | %.1f s | %.1f s | %.0f ms | %.0f ms | %s | %.1f s | %.0f MiB | %s | %s |" % (
            run["size"], run["operation"], run["wall"], run["cpu"], run["cpu"] / run["size"] * 1000, run["floor"],
            "%.0f / %.0f ms" % (_ms(alone["warm"]), _ms(alone["forked"])) if alone else "-", run["sim_cpu"],
            run["rss_mib"], "%.1f s" % run["plain"] if run.get("plain") else "-",
            "%.2f" % (run["wall"] / run["plain"]) if run.get("plain") else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
