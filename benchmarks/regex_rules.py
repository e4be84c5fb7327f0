"""Time per match of hostile category rules: Python's backtracking `re` against RE2.

    .venv/bin/python benchmarks/regex_rules.py [--length 1000] [--cap 2.0]

For each pattern it prints the worst time per match of ``ingest.patterns`` (RE2 for
regexes, atomic-group globs) on hostile names of ``--length`` characters, and, as the
baseline measured in the same run, Python's ``re.search`` (what passline used before):
the longest name ``re`` finishes within ``--cap`` seconds, its time there and the
growth per extra character. A pattern RE2 refuses is shown as "refused" (saving it
fails with a message). The budget is 100 ms per match.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import calibration_ms
from ingest.patterns import PatternError, pattern_compile

# (kind, pattern, hostile name of n characters)
CASES = [
    ("regex", "(?>(a+)+c)", lambda n: "a" * n),
    ("regex", "(a|a)*c", lambda n: "a" * n),
    ("regex", "a{0,100}a{0,100}a{0,100}a{0,100}c", lambda n: "a" * n),
    ("regex", "(a+)+c", lambda n: "a" * n),
    ("regex", r"(\w+\s?)*$", lambda n: "word " * (n // 5 - 1) + "!!!!!"),
    ("regex", "(?:.{0,100}){10}c", lambda n: "a" * n),
    ("regex", "(?:[a-z0-9_/.:]{0,100}){10}z", lambda n: "a" * n),
    ("glob", "*a*a*a*a*a*a*a*a*a*a*b", lambda n: "a" * n),
]


def best_of(func, value: str, repeat: int = 3) -> float:
    """Return the fastest of `repeat` calls of func(value), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        func(value)
        best = min(best, time.perf_counter() - started)
    return best


def baseline(kind: str, pattern: str, make, cap: float, length: int) -> str:
    """Describe how Python's backtracking `re` does on growing names, up to `cap` s."""
    source = pattern if kind == "regex" else fnmatch.translate(pattern)
    search = re.compile(source).search if kind == "regex" else re.compile(source).match
    previous, n, seconds = None, 8, 0.0
    while True:
        seconds = best_of(search, make(n), repeat=1)
        if seconds > cap:
            break
        previous = (n, seconds)
        if n >= length:
            break
        # One character at a time once a match takes measurable time: an exponential
        # pattern doubles per character, so a bigger step could run for hours.
        n = n + 1 if seconds > 1e-4 else min(n * 2, length)
    if previous is None:
        return f"re: over {cap:.1f} s already at {n} characters"
    if previous[0] >= length:
        return f"re: {previous[1] * 1000:9.2f} ms at {previous[0]} characters"
    growth = seconds / previous[1] if previous[1] else float("inf")
    return (
        f"re: {previous[1] * 1000:9.2f} ms at {previous[0]} characters, "
        f"x{growth:.1f} per extra character -> gave up at {n} (> {cap:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--length", type=int, default=1000, help="name length (characters)")
    parser.add_argument("--cap", type=float, default=2.0, help="seconds per re.search try")
    args = parser.parse_args()
    print(f"machine: calibration loop {calibration_ms():.0f} ms")
    print(f"names of {args.length} characters; budget 100 ms per match")
    worst = 0.0
    for kind, pattern, make in CASES:
        label = f"{kind:5} {pattern[:36]:36}"
        try:
            match = pattern_compile(kind=kind, pattern=pattern)
        except PatternError:
            passline = "passline: refused when saved"
        else:
            names = [make(args.length), make(args.length - 1) + "!", "b" * args.length]
            seconds = max(best_of(match, name) for name in names)
            worst = max(worst, seconds)
            passline = f"passline: {seconds * 1000:7.3f} ms"
        print(f"{label} {passline:30} | {baseline(kind, pattern, make, args.cap, args.length)}")
    print(f"worst passline match: {worst * 1000:.3f} ms (budget 100 ms, ratio {worst / 0.1:.3f})")


if __name__ == "__main__":
    main()
