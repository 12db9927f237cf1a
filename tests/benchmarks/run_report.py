"""Benchmark: the run-level report task's work (wsman.winrm.compliance_report) for N hosts, one
process after the other against the two-process split it uses (report_files.side_by_side). Prints
figures; asserts nothing.

    python tests/benchmarks/run_report.py [--hosts 300,1000] [--rounds 2]

The host reports are real: four simulated hosts (server2022, winrm11, upgraded11, gpo) audited by
the shipped playbook, each report then copied under N host names. Per size and round: wall time of
reading the N reports and writing the run's JSON, Markdown, HTML, JUnit, dashboard and checklists,
both ways (alternated, so a drift of the machine's speed hits both). Run from the repository root
with the virtualenv's Python after ``make collection``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet as bench  # noqa: E402  (the fleet benchmark's helpers: the fleet, the shipped playbook)

from ansible_collections.wsman.winrm.plugins.module_utils import controls  # noqa: E402
from ansible_collections.wsman.winrm.plugins.plugin_utils import report_files  # noqa: E402


def host_reports(work: str) -> list[dict]:
    """The reports the shipped playbook's audit writes for one host of each profile."""
    fleet = bench.start_fleet(work, 4, "server2022,winrm11,upgraded11,gpo", "127.0.226.1")
    try:
        run = bench.playbook(fleet.inventory_path, work, 4, check=True)
        if run["failed"] or not run["hosts"]:
            raise SystemExit("the audit failed: %s" % run["errors"])
    finally:
        fleet.stop()
    return [report_files.read_host_report(os.path.join(work, "reports"), host) for host in sorted(fleet.hosts())]


def run_report(directory: str, hosts: list[str], split: bool) -> None:
    """What compliance_report does after reading its arguments, with or without the second process."""
    records = {host: report_files.read_host_report(directory, host) for host in hosts}
    after = {host: record.get("after") or [] for host, record in records.items()}
    run = report_files.provenance(controls.DEFAULT_BENCHMARK, None, None)
    provenance = {host: record.get("provenance") or {} for host, record in records.items()}

    def fleet_files() -> None:
        report_files.write_junit(directory, "run", after, "wsman.winrm run", run, provenance)
        report_files.write_dashboard(directory, "run", after, records, [], run, "benchmark", {})
        report_files.write_checklists(os.path.join(directory, "checklists"), after, records, run)

    def the_rest() -> None:
        report_files.write_reports(directory, "run", after, None, records, "benchmark", "wsman.winrm run",
                                   run=run, host_provenance=provenance, junit=False)

    if split:
        report_files.side_by_side(fleet_files, the_rest)
    else:
        fleet_files()
        the_rest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="300,1000", help="fleet sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsman-bench-report-") as work:
        samples = host_reports(work)
        for size in (int(item) for item in args.hosts.split(",")):
            directory = os.path.join(work, "run-%d" % size)
            os.makedirs(directory)
            hosts = ["HOST-%04d" % index for index in range(size)]
            for index, host in enumerate(hosts):
                with open(os.path.join(directory, host + ".json"), "w", encoding="utf-8") as handle:
                    json.dump(dict(samples[index % len(samples)], host=host), handle)
            for round_ in range(args.rounds):
                for split in (False, True) if round_ % 2 == 0 else (True, False):
                    started = time.monotonic()
                    run_report(directory, hosts, split)
                    way = "two processes" if split else "one process"
                    print("%5d hosts  %-22s %6.2f s wall" % (size, way, time.monotonic() - started), flush=True)
            shutil.rmtree(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
