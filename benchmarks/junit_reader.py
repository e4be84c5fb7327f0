"""Benchmark the streaming JUnit reader alone (no database).

Usage::

    .venv/bin/python benchmarks/junit_reader.py [--cases 100000] [--big 1000000]

Generates reports with failures, skips, flaky reruns and output, then prints testcases/s
(CPU time of this process, best of three, so that other load on the machine matters
less) for: ReportReader; a bare lxml iterparse loop that only counts and frees
testcases (the floor any iterparse reader pays); the same loop with junitparser's
TestCase wrapping each element; and junitparser's full-tree parse (JUnitXml.fromfile).
Ratios are ReportReader over each baseline, measured in the same run. Peak RSS is
measured in a fresh process that reads the big report.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from junitparser import JUnitXml, xunit2  # noqa: E402
from lxml import etree  # noqa: E402

from ingest.junit import ReportReader  # noqa: E402
from ingest.junit.prolog import PARSER_OPTIONS  # noqa: E402


def generate(path: Path, cases: int, *, per_suite: int = 1000) -> None:
    """Write a report: ~2% failed, 1% skipped, 0.5% flaky, some captured output."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        for start in range(0, cases, per_suite):
            suite = start // per_suite
            out.write(f'<testsuite name="suite{suite}" timestamp="2026-01-01T00:00:00">\n')
            for i in range(start, min(cases, start + per_suite)):
                head = (
                    f'  <testcase classname="tests.test_mod{suite}.TestThing" '
                    f'name="test_case_{i}" file="tests/test_mod{suite}.py" line="{i % 500}" '
                    f'time="0.{i % 997:03d}"'
                )
                kind = i % 200
                if kind < 4:
                    out.write(
                        f'{head}><failure message="assert {i} == 0">Traceback (most recent '
                        "call last):\n  ...\nAssertionError</failure></testcase>\n"
                    )
                elif kind < 6:
                    out.write(f'{head}><skipped message="not on this platform"/></testcase>\n')
                elif kind == 6:
                    out.write(f'{head}><flakyFailure message="timeout"/></testcase>\n')
                elif kind == 7:
                    out.write(f"{head}><system-out>log line\nlog line</system-out></testcase>\n")
                else:
                    out.write(f"{head}/>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


def reader_count(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in ReportReader(stream))


def bare_iterparse(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        for _event, element in etree.iterparse(
            stream, events=("end",), tag="{*}testcase", **PARSER_OPTIONS
        ):
            count += 1
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def junitparser_wrapped(path: Path) -> int:
    count = 0
    with path.open("rb") as stream:
        for _event, element in etree.iterparse(
            stream, events=("end",), tag="{*}testcase", **PARSER_OPTIONS
        ):
            case = xunit2.TestCase.fromelem(element)
            _ = (case.name, case.classname, case.is_passed, case.is_flaky)
            count += 1
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def junitparser_full(path: Path) -> int:
    xml = JUnitXml.fromfile(str(path))
    return sum(1 for suite in xml for _case in suite)


def rate(function, path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        count = function(path)
        best = min(best, time.process_time() - started)
    return count / best


def peak_rss_mib(path: Path) -> tuple[int, float, float]:
    """Read `path` in a fresh process; return (testcases, peak RSS MiB, RSS MiB after import).

    VmHWM from /proc is used because ru_maxrss survives exec and would report this
    process's own peak.
    """
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from ingest.junit import ReportReader;"
        "hwm = lambda: next(int(l.split()[1]) for l in open('/proc/self/status')"
        " if l.startswith('VmHWM'));"
        "base = hwm(); n = sum(1 for _ in ReportReader(open(sys.argv[1], 'rb')));"
        "print(n, hwm(), base)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1]) / 1024, int(out[2]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.xml"
        generate(small, args.cases)
        ours = rate(reader_count, small)
        print(f"ReportReader, {args.cases} cases: {ours:,.0f} testcases/s (CPU)")
        for label, function in (
            ("bare lxml iterparse loop", bare_iterparse),
            ("iterparse + junitparser TestCase per case", junitparser_wrapped),
            ("junitparser full tree (JUnitXml.fromfile)", junitparser_full),
        ):
            theirs = rate(function, small)
            print(f"  {label}: {theirs:,.0f} testcases/s; ratio ours/that {ours / theirs:.2f}")
        big = Path(folder) / "big.xml"
        generate(big, args.big)
        count, rss, base = peak_rss_mib(big)
        print(
            f"ReportReader, {count} cases in a fresh process: peak RSS {rss:.0f} MiB "
            f"({base:.0f} MiB of it after imports, before reading)"
        )


if __name__ == "__main__":
    main()
