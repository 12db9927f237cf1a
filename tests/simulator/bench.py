#!/usr/bin/env python
"""Benchmark the simulator: requests/s and server memory for fleets of 1, 50 and 200 hosts.

    python tests/simulator/bench.py [--sizes 1,50,200] [--threads 4] [--seconds 5] [--engine real]

For each fleet size it starts ``winrm-sim serve`` in one process, then measures with pypsrp over
NTLM with HTTP message encryption (the default for the collection over HTTP), from client threads
in this process:

- ``keepalive``: each thread keeps one session per host and loops ``Get winrm/config`` over the
  hosts (one authenticated connection per host, the collection's normal case within a task);
- ``new-session``: each request opens a new session (TCP connect, NTLM handshake, empty
  encryption-setup POST, then the Get): the cost of a task that starts cold.

It also reports the server's RSS after start and after load, its startup time, and the CPU it
burns while idle (listeners waiting). Loopback only; every phase is bounded in time.

``--get-cost`` measures the engine alone instead: one Get of ``winrm/config`` handed to a host in this
process (no HTTP, no NTLM), profiled: Python function calls, Group Policy computations, and the
mean time over 2,000 Gets.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from winrm_sim.cli import FleetProcess  # noqa: E402

CONFIG = "http://schemas.microsoft.com/wbem/wsman/1/config"
PASSWORD = "Bench-Passw0rd!"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks     # utime + stime


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def make_request(engine: str):
    from pypsrp.wsman import WSMan

    def open_session(address: str):
        return WSMan(address, port=5985, username="Administrator", password=PASSWORD, ssl=False, auth="ntlm",
                     encryption="always", connection_timeout=10, read_timeout=30)

    def request(wsman) -> None:
        if engine == "stub":
            wsman.transport.send(b"<bench/>")
        else:
            wsman.get(CONFIG)

    return open_session, request


def run_phase(addresses: list[str], threads: int, seconds: float, mode: str, engine: str) -> tuple[int, int, float]:
    open_session, request = make_request(engine)
    counts = [0] * threads
    errors = [0] * threads
    stop_at = time.monotonic() + seconds

    def worker(index: int) -> None:
        sessions = {}
        position = index
        while time.monotonic() < stop_at:
            address = addresses[position % len(addresses)]
            position += threads
            try:
                if mode == "keepalive":
                    wsman = sessions.get(address)
                    if wsman is None:
                        wsman = sessions[address] = open_session(address)
                    request(wsman)
                else:
                    with open_session(address) as wsman:
                        request(wsman)
                counts[index] += 1
            except Exception:  # noqa: BLE001 - counted and reported
                errors[index] += 1
                sessions.pop(address, None)
        for wsman in sessions.values():
            wsman.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    started = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(seconds + 60)
    elapsed = time.monotonic() - started
    return sum(counts), sum(errors), elapsed


def bench_size(size: int, args) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"winrm-sim-bench-{size}-") as state_dir:
        fleet = FleetProcess(state_dir, hosts=size, profiles="server2022", base_address=args.base_address,
                             password=PASSWORD, engine=args.engine, ready_timeout=300)
        started = time.monotonic()
        fleet.start()
        startup = time.monotonic() - started
        try:
            pid = fleet.pid
            addresses = [h["ansible_host"] for h in fleet.hosts().values()]
            rss_start = rss_mb(pid)
            cpu_before = cpu_seconds(pid)
            time.sleep(args.idle_seconds)
            idle_cpu = (cpu_seconds(pid) - cpu_before) / args.idle_seconds * 100
            result = {"hosts": size, "startup_s": startup, "rss_start_mb": rss_start, "idle_cpu_pct": idle_cpu}
            for mode in ("keepalive", "new-session"):
                cpu_before = cpu_seconds(pid)
                done, errors, elapsed = run_phase(addresses, args.threads, args.seconds, mode, args.engine)
                result[f"{mode}_rps"] = done / elapsed
                result[f"{mode}_errors"] = errors
                result[f"{mode}_server_cpu_pct"] = (cpu_seconds(pid) - cpu_before) / elapsed * 100
            result["rss_after_mb"] = rss_mb(pid)
            result["server_threads"] = thread_count(pid)
        finally:
            fleet.stop()
        return result


GET_CONFIG = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
              b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
              b'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
              b'<a:To>http://127.0.10.1:5985/wsman</a:To><w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>'
              b'<a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID>'
              b'<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/config</w:ResourceURI>'
              b'<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action></s:Header><s:Body/></s:Envelope>')


def get_cost() -> None:
    """Function calls, policy computations and time of one in-process Get of winrm/config."""
    import cProfile
    import pstats
    import timeit

    from winrm_sim.host import Principal, SimHost
    from winrm_sim.pki import PKI

    with tempfile.TemporaryDirectory(prefix="winrm-sim-getcost-") as state_dir:
        store = PKI(state_dir).host_store("SIM-2022-01", "127.0.10.1")
        host = SimHost("SIM-2022-01", "127.0.10.1", "server2022", os.path.join(state_dir, "host.json"), store,
                       {"Administrator": {"password": PASSWORD, "admin": True}})
        principal = Principal("Administrator", "ntlm", "http", True)
        status, _reply = host.handle(GET_CONFIG, principal)
        assert status == 200, status
        profile = cProfile.Profile()
        profile.runcall(host.handle, GET_CONFIG, principal)
        stats = pstats.Stats(profile)
        # the function that derives the config overrides from the policy registry values
        policy = sum(v[1] for k, v in stats.stats.items()
                     if k[2] == "policy_overrides" or (k[2] == "_compute" and k[0].endswith("policy.py")))
        count = 2000
        seconds = timeit.timeit(lambda: host.handle(GET_CONFIG, principal), number=count)
        print(f"Get winrm/config in-process: {stats.total_calls} function calls ({stats.prim_calls} primitive), "
              f"{policy} policy computations, {seconds / count * 1e6:.0f} us per Get")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,50,200")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--engine", choices=("real", "stub"), default="real")
    parser.add_argument("--base-address", default="127.0.40.1")
    parser.add_argument("--get-cost", action="store_true", help="profile one in-process Get of winrm/config")
    args = parser.parse_args()
    if args.get_cost:
        get_cost()
        return 0
    header = (f"{'hosts':>5} {'start s':>7} {'RSS MB':>7} {'idle CPU%':>9} {'keepalive r/s':>13} "
              f"{'srv CPU%':>8} {'new-session r/s':>15} {'srv CPU%':>8} {'RSS after':>9} {'threads':>7} errors")
    print(f"engine={args.engine} client threads={args.threads} phase={args.seconds:.0f}s cores={os.cpu_count()}")
    print(header)
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench_size(size, args)
        print(f"{r['hosts']:>5} {r['startup_s']:>7.1f} {r['rss_start_mb']:>7.1f} {r['idle_cpu_pct']:>9.1f} "
              f"{r['keepalive_rps']:>13.0f} {r['keepalive_server_cpu_pct']:>8.0f} {r['new-session_rps']:>15.0f} "
              f"{r['new-session_server_cpu_pct']:>8.0f} {r['rss_after_mb']:>9.1f} {r['server_threads']:>7} "
              f"{r['keepalive_errors'] + r['new-session_errors']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
