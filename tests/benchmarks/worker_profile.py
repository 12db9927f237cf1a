"""Benchmark: where a converge worker's CPU goes - the shipped playbook's audit of one simulated fleet
with cProfile in every worker Ansible forks (a CPU clock: user and system time), merged and split by
layer. Prints figures; asserts nothing.

    python tests/benchmarks/worker_profile.py [--hosts 100] [--forks 50] [--top 25] [--operation audit]

A sitecustomize loaded by ansible-playbook and its forks (benchmark only) wraps ansible-core's
``WorkerProcess._run`` in a profiler and writes each worker's statistics and its own CPU (getrusage)
next to the run; the main process is the tree's CPU (wait4) less the workers'. Each function's own
time (not its callees') goes to the layer its file belongs to: the collection by module, pypsrp,
pyspnego, cryptography, requests, urllib3, the standard library's HTTP and sockets, XML, Jinja2,
ansible-core, other. cProfile adds its own cost per call, so a layer of many small calls reads
higher than it costs unprofiled: compare the layers' shares, and the total against the unprofiled
run printed first. Run from the repository root with the virtualenv's Python after ``make collection``.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import pstats
import shutil
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet as bench  # noqa: E402  (the fleet benchmark's helpers: the fleet, the shipped playbook, CPU)

PROFILER = textwrap.dedent('''
    """Benchmark only: cProfile around every Ansible worker's task, with a CPU clock."""
    import cProfile
    import os
    import resource
    import sys
    import time

    try:
        from ansible.executor.process import worker
    except ImportError:
        worker = None
    if worker is not None:
        _run = worker.WorkerProcess._run

        def _profiled(self):
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            try:
                return _run(self)
            finally:
                profile.disable()
                base = os.path.join(os.environ["WSMAN_BENCH_PROFILES"], str(os.getpid()))
                profile.dump_stats(base + ".prof")
                used = resource.getrusage(resource.RUSAGE_SELF)
                with open(base + ".cpu", "w") as handle:
                    handle.write("%f %f" % (used.ru_utime, used.ru_stime))

        worker.WorkerProcess._run = _profiled

    if os.environ.get("WSMAN_BENCH_PROFILE_MAIN") and os.path.basename(sys.argv[0]) == "ansible-playbook":
        import atexit

        _main = cProfile.Profile(time.process_time)

        def _dump_main():
            _main.disable()
            _main.dump_stats(os.path.join(os.environ["WSMAN_BENCH_PROFILES"], "main.stats"))

        atexit.register(_dump_main)
        _main.enable()
''')

# The first matching fragment of a function's file (or of a built-in's name) names its layer.
LAYERS = (
    ("ansible_collections/wsman/winrm/", None),  # the collection: by module, below
    ("/pypsrp/", "pypsrp"),
    ("/spnego/", "pyspnego"),
    ("/cryptography/", "cryptography"),
    ("/requests/", "requests"),
    ("/urllib3/", "urllib3"),
    ("/jinja2/", "jinja2"),
    ("/markupsafe/", "jinja2"),
    ("/ansible/", "ansible-core"),
    ("/yaml/", "ansible-core"),
    ("/http/", "stdlib http"),
    ("/email/", "stdlib http"),
    ("/socket.py", "stdlib sockets+ssl"),
    ("/ssl.py", "stdlib sockets+ssl"),
    ("/selectors.py", "stdlib sockets+ssl"),
    ("_socket.socket", "stdlib sockets+ssl"),
    ("_ssl.", "stdlib sockets+ssl"),
    ("/xml/", "xml"),
    ("xml.etree", "xml"),
    ("ElementTree", "xml"),
    ("pyexpat", "xml"),
    ("/json/", "json"),
    ("_json.", "json"),
    ("posix.fork", "fork/exit"),
    ("/multiprocessing/", "multiprocessing"),
    ("_pickle", "multiprocessing"),
)


def layer(filename: str, name: str) -> str:
    where = filename if filename != "~" else name
    for fragment, label in LAYERS:
        if fragment in where:
            if label is None:
                return "ours: " + where.split("ansible_collections/wsman/winrm/", 1)[1]
            return label
    return "builtins" if filename == "~" else "other python"


def fleet_run_arguments(description: str) -> argparse.ArgumentParser:
    """The options of a benchmark that runs the shipped playbook once over one simulated fleet."""
    parser = argparse.ArgumentParser(description=description.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--profile", default="server2022,winrm11,upgraded11,gpo")
    parser.add_argument("--operation", default="audit", choices=("audit", "apply"))
    return parser


def main() -> int:
    parser = fleet_run_arguments(__doc__)
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    parser.add_argument("--save", help="also write the merged statistics here (for pstats; the main process's"
                        " to the same name with .main)")
    parser.add_argument("--main", action="store_true", help="profile ansible-playbook's main process too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsman-bench-profile-") as work:
        started = time.monotonic()
        fleet = bench.start_fleet(work, args.hosts, args.profile, "127.0.232.1")
        try:
            ready = time.monotonic() - started
            print("fleet: %d simulated hosts ready in %.1f s, forks %d" % (args.hosts, ready, args.forks), flush=True)
            inventory = bench.admin_inventory(fleet.inventory_path, os.path.join(work, "inventory.yml"))
            check = args.operation == "audit"
            plain_run = bench.playbook(inventory, work, args.forks, check)
            print("unprofiled %s: %.1f s wall, controller CPU %.1f s (%.0f ms/host), %d hosts, %d failed" % (
                args.operation, plain_run["wall"], plain_run["cpu"], plain_run["cpu"] / args.hosts * 1000,
                plain_run["hosts"], len(plain_run["failed"])))
            if not check:  # an apply leaves nothing to apply: a fresh fleet for the profiled run
                fleet.stop()
                fleet = bench.start_fleet(work + "/second", args.hosts, args.profile, "127.0.232.1")
                bench.admin_inventory(fleet.inventory_path, inventory)
            site, profiles = os.path.join(work, "site"), os.path.join(work, "profiles")
            os.makedirs(site)
            os.makedirs(profiles)
            with open(os.path.join(site, "sitecustomize.py"), "w", encoding="utf-8") as handle:
                handle.write(PROFILER)
            env = {"PYTHONPATH": site + os.pathsep + os.environ.get("PYTHONPATH", ""), "WSMAN_BENCH_PROFILES": profiles}
            if args.main:
                env["WSMAN_BENCH_PROFILE_MAIN"] = "1"
            run = bench.playbook(inventory, work, args.forks, check, env)
            for error in run["errors"]:
                print("  " + error)
            report(run, profiles, args.hosts, args.top, args.save)
            if args.main and os.path.exists(os.path.join(profiles, "main.stats")):
                main_report(os.path.join(profiles, "main.stats"), args.hosts, args.top)
                if args.save:
                    shutil.copy(os.path.join(profiles, "main.stats"), args.save + ".main")
        finally:
            fleet.stop()
    return 0


def report(run: dict, profiles: str, hosts: int, top: int, save: str | None = None) -> None:
    files = sorted(glob.glob(os.path.join(profiles, "*.prof")))
    user = system = 0.0
    for path in glob.glob(os.path.join(profiles, "*.cpu")):
        with open(path, encoding="ascii") as handle:
            used = [float(value) for value in handle.read().split()]
        user, system = user + used[0], system + used[1]
    workers = user + system
    print("profiled: %.1f s wall, controller CPU %.1f s, %d hosts, %d failed; %d workers: %.1f s "
          "(%.0f ms each, %.0f ms of it system time); main process and the rest %.1f s (%.0f ms/host)" % (
              run["wall"], run["cpu"], run["hosts"], len(run["failed"]), len(files), workers,
              workers / max(len(files), 1) * 1000, system / max(len(files), 1) * 1000,
              run["cpu"] - workers, (run["cpu"] - workers) / hosts * 1000))
    if not files:
        return
    stats = pstats.Stats(files[0])
    for path in files[1:]:
        stats.add(path)
    if save:
        stats.dump_stats(save)
    by_layer: collections.Counter = collections.Counter()
    profiled_total = 0.0
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[layer(filename, name)] += own
        profiled_total += own
    count = len(files)
    print("\nown time per worker by layer (profiled total %.0f ms per worker):" % (profiled_total / count * 1000))
    for label, own in by_layer.most_common():
        if own / count >= 0.0005:
            print("  %-42s %6.1f ms  %4.1f %%" % (label, own / count * 1000, own / profiled_total * 100))
    print("\ntop %d functions by own time per worker:" % top)
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in rows:
        where = filename.split("site-packages/")[-1].split("ansible_collections/")[-1]
        print("  %6.2f ms own %6.2f ms cum %7.1f calls  %s:%d %s" % (
            own / count * 1000, cumulative / count * 1000, calls / count, where, line, name))


def main_report(path: str, hosts: int, top: int) -> None:
    """The main process: its layers and its most expensive calls (cumulative), per host of the fleet."""
    stats = pstats.Stats(path)
    by_layer: collections.Counter = collections.Counter()
    total = 0.0
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[layer(filename, name)] += own
        total += own
    print("\nmain process (profiled total %.1f s, %.0f ms per host), own time by layer:" % (total, total / hosts * 1000))
    for label, own in by_layer.most_common(12):
        print("  %-42s %6.1f ms/host  %4.1f %%" % (label, own / hosts * 1000, own / total * 100))
    print("\nmain process, top %d calls of ansible-core and the collection by cumulative time per host:" % top)
    rows = sorted(((key, value) for key, value in stats.stats.items()  # type: ignore[attr-defined]
                   if "/ansible" in key[0]), key=lambda item: -item[1][3])[:top]
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in rows:
        where = filename.split("site-packages/")[-1].split("ansible_collections/")[-1]
        print("  %7.2f ms cum %6.2f ms own %8.1f calls  %s:%d %s" % (
            cumulative / hosts * 1000, own / hosts * 1000, calls / hosts, where, line, name))


if __name__ == "__main__":
    sys.exit(main())
