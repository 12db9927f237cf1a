"""Benchmark: the fleet dashboard of N simulated hosts, rendered and opened in headless Chromium.
Prints figures; asserts nothing.

    python tests/benchmarks/dashboard.py [--hosts 1000] [--threads 16] [--opens 3]

Starts N simulated hosts (server2022, winrm11, upgraded11 and gpo profiles, every tenth a workstation
with no listener, which cannot be assessed), reads each one's WinRM configuration over WS-Management
as wsman.winrm.info does (the collection's session and model, without Ansible, to keep the benchmark
short), judges it with the compliance catalog, renders the page with wsman.winrm.compliance_dashboard
and opens it in Chromium: time from navigation to the grid drawn, page size, JS heap, and the time a
status filter and a host drill-down take. Runs from the repository root with the virtualenv's Python.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import conftest as _collection_paths  # noqa: E402,F401  (puts the collection on sys.path)
from browser import Chromium  # noqa: E402
from winrm_sim.cli import FleetProcess  # noqa: E402

PROFILES = ("server2022", "winrm11", "upgraded11", "gpo", "server2022", "winrm11", "upgraded11", "gpo",
            "server2022", "workstation")
JUDGING = {"server2022": "domain_kerberos", "gpo": "domain_kerberos", "upgraded11": "workgroup_https",
           "winrm11": "workgroup_https"}


# Click, then wait (in the page) until every row of the filtered grid is drawn; the milliseconds it took.
UNTIL_DRAWN = ("new Promise(function(done){var t=performance.now(); %s.click(); (function wait(){"
               "if (document.body.getAttribute('data-ready') === 'true') done(performance.now()-t);"
               " else setTimeout(wait, 0);})();})")


def read_info(host_vars: dict) -> dict:
    """What wsman.winrm.info returns for the host (its report), or the failure."""
    from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve
    from ansible_collections.wsman.winrm.plugins.module_utils.resources import read_all
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session, WSManError

    try:
        with Session(resolve(host_vars, "winrm")) as session:
            return read_all(session).to_dict()
    except WSManError as error:
        return {"failed": True, "msg": str(error)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--opens", type=int, default=3, help="page loads to time (a fresh tab each)")
    args = parser.parse_args()

    from ansible_collections.wsman.winrm.plugins.filter.compliance_dashboard import compliance_dashboard
    from ansible_collections.wsman.winrm.plugins.module_utils import controls

    output = os.path.join(ROOT, "tests", "output", "benchmarks")
    os.makedirs(output, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wsman-bench-") as work:
        started = time.monotonic()
        fleet = FleetProcess(os.path.join(work, "state"), hosts=args.hosts, profiles=",".join(PROFILES),
                             base_address="127.0.232.1",
                             # 1,000 hosts take over the default 2 minutes to come up on a busy 2-core machine
                             ready_timeout=max(120.0, 0.6 * args.hosts)).start()
        try:
            hosts = fleet.hosts()
            print(f"fleet: {len(hosts)} simulated hosts ready in {time.monotonic() - started:.1f} s")
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.threads) as pool:
                infos = dict(zip(hosts, pool.map(read_info, hosts.values())))
            print(f"read: {len(infos)} hosts over WS-Management in {time.monotonic() - started:.1f} s "
                  f"({args.threads} threads)")
        finally:
            fleet.stop()

    rows, not_assessed, groups = {}, {}, {}
    for name, info in infos.items():
        profile = hosts[name]["wsman_winrm_sim_profile"]
        groups.setdefault("sim_" + profile, []).append(name)
        if info.get("failed"):
            not_assessed[name] = info["msg"]
        else:
            rows[name] = controls.evaluate(info, JUDGING[profile])
    cells = sum(len(r) for r in rows.values())

    started = time.perf_counter()
    page = compliance_dashboard(rows, groups=groups, not_assessed=not_assessed,
                                provenance={"benchmark": "tests/benchmarks/dashboard.py"})
    render_ms = (time.perf_counter() - started) * 1000
    path = os.path.join(output, "dashboard-%d.html" % args.hosts)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    print(f"render: {len(rows)} hosts judged, {len(not_assessed)} not assessed, {cells} cells; "
          f"wsman.winrm.compliance_dashboard {render_ms:.0f} ms; page {len(page.encode()) / 1024:.0f} KiB")

    loads, ready, paints, heaps, filters, drills = [], [], [], [], [], []
    with Chromium(width=1500, height=1100) as browser:
        for attempt in range(args.opens):
            browser.open("about:blank")
            started = time.perf_counter()
            browser.open("file://" + path)
            browser.wait_for("document.body.getAttribute('data-ready') === 'true'")
            loads.append((time.perf_counter() - started) * 1000)
            ready.append(browser.evaluate("performance.getEntriesByName('dashboard-ready')[0].startTime"))
            paints.append(browser.wait_for("(performance.getEntriesByName('dashboard-painted')[0] || {}).startTime"))
            heaps.append(browser.metrics()["JSHeapUsedSize"] / 2 ** 20)
            if attempt == 0:
                browser.screenshot(os.path.join(output, "dashboard-%d.png" % args.hosts))
            filters.append(browser.evaluate(UNTIL_DRAWN % "document.querySelector('button.status[data-status=\"fail\"]')"))
            browser.evaluate(UNTIL_DRAWN % "document.querySelector('button.status[data-status=\"fail\"]')")
            drills.append(browser.evaluate(
                "(function(){var h=document.querySelector('#grid tbody tr th.host');"
                "var t=performance.now(); h.dispatchEvent(new MouseEvent('click', {bubbles: true}));"
                "return performance.now()-t;})()"))
        problems = browser.console_problems()
        requests = sorted(set(browser.requests()) - {"about:blank"})
    print(f"chromium, {args.opens} opens, median ms after navigation start (the page's own marks): "
          f"worst hosts on screen {statistics.median(paints):.0f} (max {max(paints):.0f}), every row in the grid "
          f"{statistics.median(ready):.0f} (max {max(ready):.0f}); open to drawn as the test sees it "
          f"{statistics.median(loads):.0f}; JS heap {statistics.median(heaps):.1f} MiB")
    print(f"interaction: status filter, click to every row drawn {statistics.median(filters):.0f} ms, host drill-down "
          f"{statistics.median(drills):.0f} ms (median)")
    print(f"requests: {requests}; console problems: {len(problems)}")
    print(f"page: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
