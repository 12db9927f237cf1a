"""Benchmark: the controller's CPU per WS-Man exchange, the collection's request path against
pypsrp's own, on one session to one simulated host. Prints figures; asserts nothing.

    python tests/benchmarks/exchange.py [--exchanges 300] [--rounds 3]

The collection's path (module_utils/compat.py) writes the envelope as text and copies the
session's first prepared request of each shape; pypsrp's path is WSMan.invoke and requests'
prepare_request, switched on the same session (NTLM with message encryption over HTTP, as the
audit of a workgroup host runs). Three requests the audit sends: a small StdRegProv EnumKey, the
Get of winrm/config, and the GetBinaryValue of a certificate blob (a 1.4 KiB byte array, one XML
element per byte). The two paths alternate, so a drift of the machine's speed hits both. Run
from the repository root with the virtualenv's Python.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet as bench  # noqa: E402  (the fleet benchmark's helpers: paths, the simulated fleet)

import requests  # noqa: E402
from pypsrp.wsman import WSMan  # noqa: E402

from ansible_collections.wsman.winrm.plugins.module_utils import certificates, certstore, compat  # noqa: E402
from ansible_collections.wsman.winrm.plugins.module_utils.endpoint import resolve  # noqa: E402
from ansible_collections.wsman.winrm.plugins.module_utils.wsman import Session, method_input  # noqa: E402

ROOTS = r"SOFTWARE\Microsoft\SystemCertificates\Root\Certificates"


def requests_of(session: Session) -> dict:
    """One callable per kind of request, each one exchange."""
    uri = certificates.STDREGPROV_URI
    thumbprint = session.invoke(uri, "EnumKey", method_input(uri, "EnumKey", {
        "hDefKey": certstore.HKEY_LOCAL_MACHINE, "sSubKeyName": ROOTS})).findtext("{%s}sNames" % uri)
    return {
        "StdRegProv EnumKey": lambda: session.invoke(uri, "EnumKey", method_input(uri, "EnumKey", {
            "hDefKey": certstore.HKEY_LOCAL_MACHINE, "sSubKeyName": ROOTS})),
        "Get winrm/config": lambda: session.get("winrm/config"),
        "GetBinaryValue (blob)": lambda: session.invoke(uri, "GetBinaryValue", method_input(uri, "GetBinaryValue", {
            "hDefKey": certstore.HKEY_LOCAL_MACHINE, "sSubKeyName": ROOTS + "\\" + thumbprint,
            "sValueName": certstore.BLOB_VALUE})),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--exchanges", type=int, default=300, help="exchanges per kind, path and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsman-bench-exchange-") as work:
        fleet = bench.start_fleet(work, 1, "server2022", "127.0.231.1")
        try:
            session = Session(resolve(next(iter(fleet.hosts().values())), "winrm"))
            kinds = requests_of(session)
            # The benchmark switches the path of this very session.
            client = session._client  # pylint: disable=protected-access
            http = client.transport.session
            paths = {
                "collection": (http.prepare_request, types.MethodType(compat.WSManClient.invoke, client)),
                "pypsrp": (types.MethodType(requests.Session.prepare_request, http),
                           types.MethodType(WSMan.invoke, client)),
            }
            print("ms of controller CPU per exchange (NTLM, message encryption, HTTP), %d exchanges each"
                  % args.exchanges)
            for name, send in kinds.items():
                for _warm in range(20):
                    send()
                figures: dict[str, list[float]] = {"collection": [], "pypsrp": []}
                for round_ in range(args.rounds):
                    for path in ("collection", "pypsrp") if round_ % 2 == 0 else ("pypsrp", "collection"):
                        http.prepare_request, client.invoke = paths[path]
                        started = time.process_time()
                        for _exchange in range(args.exchanges):
                            send()
                        figures[path].append((time.process_time() - started) / args.exchanges * 1000)
                ours, theirs = (" ".join("%.3f" % figure for figure in figures[path]) for path in ("collection", "pypsrp"))
                print("  %-22s collection %s   pypsrp %s" % (name, ours, theirs), flush=True)
            session.close()
        finally:
            fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
