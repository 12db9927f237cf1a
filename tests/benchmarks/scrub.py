"""How long the session's scrubber takes on hostile fault texts of 1 KB, 64 KB and 1 MB.

    .venv/bin/python tests/benchmarks/scrub.py            # the scrubber as shipped
    .venv/bin/python tests/benchmarks/scrub.py --before   # and the quadratic regex it replaced, up to 16 KB

Each shape is what a hostile server can put into a fault message: one long run of letters (what
made the old URL-credential pattern backtrack), many URL-like tokens, many password assignments,
and a mix that also contains the secrets. Prints one line per size and shape: best of 3, seconds.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402,F401  # pylint: disable=unused-import  # makes the collection importable from the tree

from ansible_collections.wsman.winrm.plugins.module_utils.wsman import cap, scrub  # noqa: E402

SECRETS = ("Pa55-w0rd!", "p")
SIZES = {"1 KB": 1024, "64 KB": 64 * 1024, "1 MB": 1024 * 1024}
SHAPES = {
    "letters": lambda n: "a" * n,
    "url-like": lambda n: ("x://" * (n // 4 + 1))[:n],
    "assignments": lambda n: ("password " * (n // 9 + 1))[:n],
    "mixed": lambda n: ("http://u:Pa55-w0rd!@h/ password=Pa55-w0rd! p q " * (n // 44 + 1))[:n],
}

# The pattern scrub() used before: an unbounded scheme that backtracks on long runs of letters.
_OLD_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<secret>[^@/\s]*)@", re.I)


def best_of(function, text: str, runs: int = 3) -> float:
    timings = []
    for _run in range(runs):
        started = time.perf_counter()
        function(text)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true", help="also time the replaced pattern (1 KB and 16 KB)")
    args = parser.parse_args()
    print("%-7s %-12s %10s %14s" % ("size", "shape", "scrub (s)", "result chars"))
    for size_name, size in SIZES.items():
        for shape_name, make in SHAPES.items():
            text = make(size)
            seconds = best_of(lambda value: cap(scrub(value, SECRETS)), text)
            print("%-7s %-12s %10.4f %14d" % (size_name, shape_name, seconds, len(cap(scrub(text, SECRETS)))))
    if args.before:
        print("\nthe replaced pattern (quadratic), on a run of letters:")
        for size_name, size in (("1 KB", 1024), ("16 KB", 16 * 1024)):
            seconds = best_of(lambda value: _OLD_URL.sub("", value), "a" * size, runs=1)
            print("%-7s %-12s %10.4f" % (size_name, "letters", seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
