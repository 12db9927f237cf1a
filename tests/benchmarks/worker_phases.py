"""Benchmark: where a converge worker's CPU goes, phase by phase, with nothing but the kernel's own
counters - the shipped playbook's audit (or apply) of one simulated fleet. Prints figures; asserts
nothing.

    python tests/benchmarks/worker_phases.py [--hosts 100] [--forks 50] [--operation audit]

A sitecustomize loaded by ansible-playbook and its forks (benchmark only) wraps ansible-core's
``WorkerProcess._run`` and, inside each worker, a few calls of ansible-core and of the collection
with ``getrusage``: user time, system time and minor page faults (in a forked worker mostly the
copies of the pages it writes that it shares with the main process). Unlike a profiler, it adds
only two getrusage calls per wrapped call, and the phases run from ``_run``'s start to its end, so
they add up to the worker's whole cost; they are coarse by design. Per converge worker:

- Ansible before the action: the fork's first steps, the task's templating and the plugin's load;
- the action before its work: argument validation, the connection variables, endpoint resolution;
- WS-Man, HTTP and message encryption: pypsrp's transport (requests, urllib3, http.client,
  pyspnego), NTLM's legs included;
- WS-Man, envelopes and reply XML: the rest of the session's calls (``Session._call`` less the
  transport and the session's opening);
- opening the session (the client, the hardened requests session);
- the host's report files (``write_reports``);
- the rest of the action: the replies read into the model, the plan, the controls judged;
- after the action: the result cleaned, pickled and sent to the main process.

Also the run-level report's worker (its child included) and the main process (the tree's CPU from
wait4, less every worker's). Run from the repository root with the virtualenv's Python after
``make collection``.
"""

from __future__ import annotations

import collections
import glob
import os
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet as bench  # noqa: E402  (the fleet benchmark's helpers: the fleet, the shipped playbook, CPU)
from worker_profile import fleet_run_arguments  # noqa: E402

RECORDER = textwrap.dedent('''
    """Benchmark only: getrusage around each Ansible worker's task and a few calls inside it."""
    import functools
    import os
    import resource

    def _now():
        used = resource.getrusage(resource.RUSAGE_SELF)
        return (used.ru_utime, used.ru_stime, used.ru_minflt)

    try:
        from ansible.executor.process import worker
    except ImportError:
        worker = None

    def _instrument(marks, totals):
        """Wrap the calls whose boundaries make the phases; imported in the worker, after the fork."""
        from ansible.executor import task_queue_manager
        from ansible_collections.wsman.winrm.plugins.action import converge
        from ansible_collections.wsman.winrm.plugins.module_utils import compat, wsman

        def mark(owner, name, label):
            original = getattr(owner, name)

            @functools.wraps(original)
            def wrapper(*args, **kwargs):
                marks.append((label + " start", _now()))
                try:
                    return original(*args, **kwargs)
                finally:
                    marks.append((label + " end", _now()))
            setattr(owner, name, wrapper)

        def total(owner, name, label):
            original = getattr(owner, name)

            @functools.wraps(original)
            def wrapper(*args, **kwargs):
                before = _now()
                try:
                    return original(*args, **kwargs)
                finally:
                    after = _now()
                    entry = totals.setdefault(label, [0, 0.0, 0.0, 0])
                    entry[0] += 1
                    for index in range(3):
                        entry[index + 1] += after[index] - before[index]
            setattr(owner, name, wrapper)

        mark(converge.ActionModule, "run", "action")
        mark(converge.ActionModule, "manage", "manage")
        mark(task_queue_manager.FinalQueue, "send_task_result", "send")
        total(wsman.Session, "_call", "call")
        total(wsman.Session, "_open", "open")
        total(compat._HardenedTransport, "_send_request", "transport")
        total(converge, "write_reports", "reports")

    if worker is not None:
        _run = worker.WorkerProcess._run

        def _recorded(self):
            marks, totals = [("fork", _now())], {}
            try:
                _instrument(marks, totals)
            except ImportError:
                pass
            try:
                return _run(self)
            finally:
                marks.append(("exit", _now()))
                path = os.path.join(os.environ["WSMAN_BENCH_PHASES"], str(os.getpid()))
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(self._task.action + "\\n")
                    for label, (user, system, faults) in marks:
                        handle.write("mark\\t%s\\t%f\\t%f\\t%d\\n" % (label, user, system, faults))
                    for label, (calls, user, system, faults) in totals.items():
                        handle.write("total\\t%s\\t%f\\t%f\\t%d\\t%d\\n" % (label, user, system, faults, calls))

        worker.WorkerProcess._run = _recorded
''')

PHASES = (
    ("Ansible before the action (worker start, task templating, plugin load)", ("fork", "action start")),
    ("the action before its work (arguments, connection variables, endpoint)", ("action start", "manage start")),
    ("the action's work (manage), of which:", ("manage start", "manage end")),
    ("after the action (result cleaned, pickled, sent)", ("manage end", "exit")),
)


def read_workers(directory: str) -> list[dict]:
    workers = []
    for path in glob.glob(os.path.join(directory, "*")):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        marks, totals = {}, {}
        for line in lines[1:]:
            kind, label, *values = line.split("\t")
            if kind == "mark":
                marks.setdefault(label, tuple(float(value) for value in values))  # the first of each
            else:
                totals[label] = tuple(float(value) for value in values)
        workers.append({"action": lines[0], "marks": marks, "totals": totals})
    return workers


def _between(worker: dict, start: str, end: str) -> tuple[float, float, float] | None:
    marks = worker["marks"]
    if start not in marks or end not in marks:
        return None
    return tuple(marks[end][index] - marks[start][index] for index in range(3))  # type: ignore[return-value]


def _line(label: str, figures: tuple[float, float, float], count: int, extra: str = "") -> str:
    user, system, faults = (value / count for value in figures)
    return "  %-74s %6.1f %6.1f %6.1f %7.0f%s" % (
        label, (user + system) * 1000, user * 1000, system * 1000, faults, extra)


def report(workers: list[dict], run: dict, hosts: int) -> None:
    converge = [worker for worker in workers if worker["action"].endswith("converge")]
    others = [worker for worker in workers if not worker["action"].endswith("converge")]
    count = max(len(converge), 1)
    unfinished = sum(1 for worker in converge if "manage end" not in worker["marks"])
    print("\nper converge worker (%d workers%s): CPU ms, user ms, system ms, page faults" % (
        len(converge), ", %d of them without the action's work: counted as 0" % unfinished if unfinished else ""))
    whole = [0.0, 0.0, 0.0]
    for label, (start, end) in PHASES:
        sums = [0.0, 0.0, 0.0]
        for worker in converge:
            figures = _between(worker, start, end) or (0.0, 0.0, 0.0)
            for index in range(3):
                sums[index] += figures[index]
        whole = [whole[index] + sums[index] for index in range(3)]
        print(_line(label, tuple(sums), count))  # type: ignore[arg-type]
        if start == "manage start":
            totals = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
            for worker in converge:
                for name, values in worker["totals"].items():
                    for index in range(4):
                        totals[name][index] += values[index]
            http, session_open, calls, files = (totals[name] for name in ("transport", "open", "call", "reports"))
            envelopes = [calls[index] - http[index] - session_open[index] for index in range(3)]
            rest = [sums[index] - calls[index] - files[index] for index in range(3)]
            print(_line("  WS-Man: HTTP and message encryption (pypsrp's transport, NTLM legs included)",
                        tuple(http[:3]), count, "  %.1f sends" % (http[3] / count)))  # type: ignore[arg-type]
            print(_line("  WS-Man: envelopes and reply XML (the session's calls less the transport)",
                        tuple(envelopes), count, "  %.1f calls" % (calls[3] / count)))  # type: ignore[arg-type]
            print(_line("  opening the session", tuple(session_open[:3]), count))  # type: ignore[arg-type]
            print(_line("  the host's report files", tuple(files[:3]), count))  # type: ignore[arg-type]
            print(_line("  the rest: replies read into the model, the plan, the controls judged",
                        tuple(rest), count))  # type: ignore[arg-type]
    print(_line("total", tuple(whole), count))  # type: ignore[arg-type]
    whole_workers = {id(worker): _between(worker, "fork", "exit") or (0.0, 0.0, 0.0) for worker in workers}
    worker_cpu = sum(figures[0] + figures[1] for figures in whole_workers.values())
    for worker in others:
        figures = whole_workers[id(worker)]
        print("other worker %-45s %6.1f ms CPU (its own; a child it forks is in the main process's figure)" % (
            worker["action"], (figures[0] + figures[1]) * 1000))
    main = run["cpu"] - worker_cpu
    print("main process and children of workers: %.1f s (%.1f ms/host)" % (main, main / hosts * 1000))


def main() -> int:
    args = fleet_run_arguments(__doc__).parse_args()
    with tempfile.TemporaryDirectory(prefix="wsman-bench-phases-") as work:
        started = time.monotonic()
        fleet = bench.start_fleet(work, args.hosts, args.profile, "127.0.236.1")
        try:
            print("fleet: %d simulated hosts ready in %.1f s, forks %d" % (
                args.hosts, time.monotonic() - started, args.forks), flush=True)
            inventory = bench.admin_inventory(fleet.inventory_path, os.path.join(work, "inventory.yml"))
            site, phases = os.path.join(work, "site"), os.path.join(work, "phases")
            os.makedirs(site)
            os.makedirs(phases)
            with open(os.path.join(site, "sitecustomize.py"), "w", encoding="utf-8") as handle:
                handle.write(RECORDER)
            env = {"PYTHONPATH": site + os.pathsep + os.environ.get("PYTHONPATH", ""), "WSMAN_BENCH_PHASES": phases}
            run = bench.playbook(inventory, work, args.forks, args.operation == "audit", env)
            print("%s: %.1f s wall, controller CPU %.1f s (%.0f ms/host), %d hosts, %d failed, rc %d" % (
                args.operation, run["wall"], run["cpu"], run["cpu"] / args.hosts * 1000, run["hosts"],
                len(run["failed"]), run["rc"]))
            for error in run["errors"]:
                print("  " + error)
            report(read_workers(phases), run, args.hosts)
        finally:
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
