"""Benchmark: the shipped playbook's audit of one simulated fleet with two installed copies of the
collection, alternated (A, B, B, A, ...), so a change is compared on the same hosts and a drift of
the machine's speed hits both. Prints figures; asserts nothing.

    python tests/benchmarks/audit_ab.py --before /tmp/old-install [--after .cache/installed] [--hosts 300] [--rounds 2]

``--before``/``--after``: a collections path holding ansible_collections/wsman/winrm (build and
install the older commit with ansible-galaxy, as ``make collection`` does). Per run: wall,
controller CPU (ansible-playbook and its forks), simulator CPU, peak RSS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet as bench  # noqa: E402  (the fleet benchmark's helpers: the fleet, the shipped playbook, CPU)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default=os.path.join(bench.ROOT, ".cache", "installed"))
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--profile", default="server2022,winrm11,upgraded11,gpo")
    args = parser.parse_args()
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    with tempfile.TemporaryDirectory(prefix="wsman-bench-ab-") as work:
        started = time.monotonic()
        fleet = bench.start_fleet(work, args.hosts, args.profile, "127.0.230.1")
        print("fleet: %d simulated hosts ready in %.1f s, forks %d" % (args.hosts, time.monotonic() - started,
                                                                       args.forks), flush=True)
        try:
            for round_ in range(args.rounds):
                for label in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                    os.environ["WSMAN_COLLECTIONS_PATH"] = trees[label]  # harness.installed_collections
                    simulator = bench.cpu_seconds(fleet.pid)
                    run = bench.playbook(fleet.inventory_path, work, args.forks, check=True)
                    print("%-6s audit %6.1f s wall  controller CPU %6.1f s (%4.0f ms/host)  simulator CPU %5.1f s  "
                          "peak RSS %4.0f MiB  %d hosts, %d failed" % (
                              label, run["wall"], run["cpu"], run["cpu"] / args.hosts * 1000,
                              bench.cpu_seconds(fleet.pid) - simulator, run["rss_mib"], run["hosts"],
                              len(run["failed"])), flush=True)
        finally:
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
