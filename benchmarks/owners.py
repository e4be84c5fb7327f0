"""Benchmark CODEOWNERS matching: pre-filtered rules against a plain rule-by-rule scan.

Usage::

    .venv/bin/python benchmarks/owners.py [--tests 100000] [--rules 500]

Generates a CODEOWNERS of ``--rules`` rules (directories, extensions, ``**`` and
anchored patterns, a catch-all first) and ``--tests`` test paths (half from files,
half from classnames), then prints, each the median of 3:

- parse: parsing and compiling the file (once per process and version);
- page: owners of 200 tests (what a page resolves);
- all: owners of every test, once per distinct path (``owners_map``);
- baseline in the same run: the same ``all`` by a scan of every rule's regex, last
  rule first (what a naive matcher does), and a floor: one dict lookup per test.
Pure Python, no database.
"""

import argparse
import os
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dashboard.analytics.owners import owners_map, parse, pattern_regex, test_path


def _codeowners(rules: int, rng: random.Random) -> str:
    lines = ["* @org/everyone"]
    for i in range(rules - 1):
        kind = i % 5
        if kind == 0:
            lines.append(f"/src/svc{i}/ @org/team{i % 40}")
        elif kind == 1:
            lines.append(f"*.ext{i} @user{i % 90}")
        elif kind == 2:
            lines.append(f"**/com/acme/mod{i}/ @org/team{i % 40}")
        elif kind == 3:
            lines.append(f"tests/unit/svc{i}/test_*.py @user{i % 90} @org/team{i % 40}")
        else:
            lines.append(f"docs{i}/* @org/docs")
    return "\n".join(lines) + "\n"


def _tests(n: int, rules: int, rng: random.Random) -> dict[int, tuple[str, str]]:
    tests = {}
    for i in range(n):
        k = rng.randrange(rules)
        if i % 2:
            tests[i] = (f"tests/unit/svc{k}/test_{i % 977}.py", "")
        else:
            tests[i] = ("", f"com.acme.mod{k}.sub{i % 13}.Test{i}")
    return tests


def _median(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)
    text = _codeowners(args.rules, rng)
    tests = _tests(args.tests, args.rules, rng)
    codeowners = parse(text)
    page = dict(list(tests.items())[:200])

    naive = [(re.compile(pattern_regex(r.pattern)), r.owners) for r in codeowners.rules]

    def scan_all():
        out = {}
        for test_id, (file, classname) in tests.items():
            path = test_path(file=file, classname=classname)
            out[test_id] = next((o for rx, o in reversed(naive) if rx.fullmatch(path)), ())
        return out

    paths = {k: test_path(file=f, classname=c) for k, (f, c) in tests.items()}
    floor_map = {p: () for p in paths.values()}

    parse_s = _median(lambda: parse(text + "\n# v" + str(time.perf_counter())))
    page_s = _median(lambda: owners_map(codeowners, page))
    all_s = _median(lambda: owners_map(codeowners, tests))
    scan_s = _median(scan_all, repeat=1)  # slow: once
    floor_s = _median(lambda: [floor_map[p] for p in paths.values()])
    scanned = scan_all()
    assert owners_map(codeowners, tests) == scanned, "the two matchers disagree"
    print(f"rules={len(codeowners.rules)} tests={len(tests)}")
    print(f"parse+compile          {parse_s * 1000:9.1f} ms")
    print(f"page (200 tests)       {page_s * 1000:9.2f} ms")
    print(f"all tests, ours       {all_s * 1000:9.1f} ms")
    print(
        f"all tests, rule scan   {scan_s * 1000:9.1f} ms"
        f"  (baseline; ours is {scan_s / all_s:.1f}x faster)"
    )
    print(
        f"all tests, dict lookup {floor_s * 1000:9.1f} ms"
        f"  (floor; ours is {all_s / floor_s:.1f}x of it)"
    )


if __name__ == "__main__":
    main()
