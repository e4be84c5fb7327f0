"""Benchmark the report readers of every format next to JUnit's, and memory under abuse.

Usage::

    .venv/bin/python benchmarks/formats.py [--cases 100000] [--big 1000000]
        [--formats junit,nunit3,...] [--no-abuse] [--worker-db URL]

1. Rate: a generated report of `--cases` tests per format (about 2% failed, 1%
   skipped, some output), read with `ingest.reports.open_reader` (sniffing included);
   testcases/s of CPU time, best of three, and the ratio to JUnit's rate measured in
   the same run (budget: every format at least 0.5); the rate in MB/s of report; and
   each format's parse floor, the same file read with no work done, in tests/s and as
   a ratio to JUnit's reader: for XML formats lxml with a parser target whose methods
   do nothing (what any streaming target pays) and a tag-filtered lxml pull parser
   that builds the tree C-side and drops it as it goes (what C-side tag filtering
   pays), for TRX also that pull parser reading each test's fields (what a reader on
   it pays before making a record); for CTRF ijson's events; for `go test -json`
   every line through the stdlib JSON decoder.
2. Memory: peak RSS of a fresh process reading a `--big`-test report of each format,
   and how much of it came after the imports (budget: under 200 MB).
3. Abuse (issue 13): the element-flood gzip (19 KB expanding to 20 MB: a <testsuite>
   with 5,000,000 <x/> and one testcase) and a report whose first testcase holds a
   30 MB <system-out> (plain text, then CDATA); the same three hazards inside a TRX
   result (`write_trx_hostile`), where a reader building a tree would hold them. Each
   read (a) by the reader alone and (b) by the worker path, upload_create +
   upload_process, in a fresh process against a scratch database (SQLite unless
   --worker-db). Printed: RSS growth (peak minus before), seconds, outcome. Figures
   only; nothing here asserts a time.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ijson  # noqa: E402
from lxml import etree  # noqa: E402

from benchmarks.common import calibration_ms  # noqa: E402
from benchmarks.junit_reader import generate as generate_junit  # noqa: E402
from ingest.junit import ReportLimits  # noqa: E402
from ingest.junit.events import TARGET_PARSER_OPTIONS  # noqa: E402
from ingest.junit.prolog import PARSER_OPTIONS  # noqa: E402
from ingest.reports import open_reader  # noqa: E402

TRX_NS = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"
ROOT_TAGS = [
    "testsuites",
    "testsuite",
    "test-run",
    "test-results",
    "assemblies",
    f"{{{TRX_NS}}}TestRun",
]
PER_GROUP = 1000


def kind(i: int) -> str:
    """Return the outcome of generated test `i`: 2% failed, 1% skipped, else passed."""
    k = i % 100
    return "failed" if k < 2 else "skipped" if k == 2 else "passed"


def generate_nunit3(path: Path, cases: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<test-run id="0" total="{cases}" ')
        out.write('start-time="2026-01-01 00:00:00Z">\n')
        out.write('<test-suite type="Assembly" name="Bench.Tests.dll" fullname="/b/Bench.dll">\n')
        for start in range(0, cases, PER_GROUP):
            g = start // PER_GROUP
            cls = f"Bench.Module{g}.Fixture"
            out.write(f' <test-suite type="TestFixture" name="Fixture" fullname="{cls}">\n')
            for i in range(start, min(cases, start + PER_GROUP)):
                head = (
                    f'  <test-case id="{i}" name="Test{i}" fullname="{cls}.Test{i}" '
                    f'methodname="Test{i}" classname="{cls}" duration="0.{i % 997:03d}"'
                )
                k = kind(i)
                if k == "failed":
                    out.write(
                        f'{head} result="Failed"><failure><message><![CDATA[Expected {i} but '
                        "was 0]]></message><stack-trace><![CDATA[at Bench.Fixture.Test()"
                        "]]></stack-trace></failure></test-case>\n"
                    )
                elif k == "skipped":
                    out.write(
                        f'{head} result="Skipped" label="Ignored"><reason><message>later'
                        "</message></reason></test-case>\n"
                    )
                else:
                    out.write(f'{head} result="Passed" />\n')
            out.write(" </test-suite>\n")
        out.write("</test-suite>\n</test-run>\n")


def generate_nunit2(path: Path, cases: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n')
        out.write(f'<test-results name="Bench.dll" total="{cases}" date="2026-01-01" ')
        out.write('time="00:00:00">\n<test-suite type="Assembly" name="C:\\b\\Bench.dll">')
        out.write("<results>\n")
        for start in range(0, cases, PER_GROUP):
            g = start // PER_GROUP
            out.write(f' <test-suite type="TestFixture" name="Fixture{g}"><results>\n')
            for i in range(start, min(cases, start + PER_GROUP)):
                head = f'  <test-case name="Bench.Module{g}.Fixture.Test{i}" time="0,{i % 997:03d}"'
                k = kind(i)
                if k == "failed":
                    out.write(
                        f'{head} executed="True" result="Failure" success="False"><failure>'
                        f"<message><![CDATA[Expected {i} but was 0]]></message><stack-trace>"
                        "<![CDATA[at Bench.Fixture.Test()]]></stack-trace></failure>"
                        "</test-case>\n"
                    )
                elif k == "skipped":
                    out.write(
                        f'{head} executed="False" result="Ignored"><reason><message>later'
                        "</message></reason></test-case>\n"
                    )
                else:
                    out.write(f'{head} executed="True" result="Success" success="True" />\n')
            out.write(" </results></test-suite>\n")
        out.write("</results></test-suite>\n</test-results>\n")


def generate_xunit(path: Path, cases: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<assemblies>\n')
        out.write(
            '<assembly name="/b/Bench.Tests.dll" run-date="2026-01-01" run-time="00:00:00">\n'
        )
        for start in range(0, cases, PER_GROUP):
            g = start // PER_GROUP
            cls = f"Bench.Module{g}.Fixture"
            out.write(f' <collection name="Test collection for {cls}">\n')
            for i in range(start, min(cases, start + PER_GROUP)):
                head = (
                    f'  <test name="{cls}.Test{i}" type="{cls}" method="Test{i}" '
                    f'time="0.{i % 997:03d}"'
                )
                k = kind(i)
                if k == "failed":
                    out.write(
                        f'{head} result="Fail"><failure exception-type="Xunit.Sdk.EqualException">'
                        f"<message><![CDATA[Expected {i} but was 0]]></message><stack-trace>"
                        "<![CDATA[at Bench.Fixture.Test()]]></stack-trace></failure></test>\n"
                    )
                elif k == "skipped":
                    out.write(f'{head} result="Skip"><reason><![CDATA[later]]></reason></test>\n')
                else:
                    out.write(f'{head} result="Pass" />\n')
            out.write(" </collection>\n")
        out.write("</assembly>\n</assemblies>\n")


def generate_trx(path: Path, cases: int) -> None:
    """Write a TRX in VSTest's own order: results first, then definitions and entries."""

    def test_id(i: int) -> str:
        return f"{i:08x}-0000-4000-8000-{i:012x}"

    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<TestRun id="r" xmlns="{TRX_NS}">\n')
        out.write('  <Times start="2026-01-01T00:00:00.0000000+00:00" />\n  <Results>\n')
        for i in range(cases):
            head = (
                f'    <UnitTestResult executionId="e{i}" testId="{test_id(i)}" '
                f'testName="Test{i}" computerName="ci" duration="00:00:00.{i % 997:07d}" '
                'testType="13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b" testListId="l1"'
            )
            k = kind(i)
            if k == "failed":
                out.write(
                    f'{head} outcome="Failed"><Output><ErrorInfo><Message>Expected {i} but '
                    "was 0</Message><StackTrace>at Bench.Fixture.Test()</StackTrace>"
                    "</ErrorInfo></Output></UnitTestResult>\n"
                )
            elif k == "skipped":
                out.write(f'{head} outcome="NotExecuted" />\n')
            else:
                out.write(f'{head} outcome="Passed" />\n')
        out.write("  </Results>\n  <TestDefinitions>\n")
        for i in range(cases):
            cls = f"Bench.Module{i // PER_GROUP}.Fixture"
            out.write(
                f'    <UnitTest name="Test{i}" storage="/b/bench.tests.dll" id="{test_id(i)}">'
                f'<Execution id="e{i}" /><TestMethod codeBase="/b/Bench.Tests.dll" '
                f'className="{cls}" name="Test{i}" /></UnitTest>\n'
            )
        out.write("  </TestDefinitions>\n  <TestEntries>\n")
        for i in range(cases):
            out.write(
                f'    <TestEntry testId="{test_id(i)}" executionId="e{i}" testListId="l1" />\n'
            )
        out.write("  </TestEntries>\n</TestRun>\n")


def generate_ctrf(path: Path, cases: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"reportFormat": "CTRF", "specVersion": "0.0.0", "results": {')
        summary = json.dumps({"tests": cases})
        out.write(f'"tool": {{"name": "jest"}}, "summary": {summary}, "tests": [\n')
        for i in range(cases):
            test = {
                "name": f"test {i}",
                "status": kind(i),
                "duration": i % 997,
                "suite": [f"module {i // PER_GROUP}", "fixture"],
                "filePath": f"src/module{i // PER_GROUP}.test.js",
            }
            if test["status"] == "failed":
                test["message"] = f"Expected {i} but was 0"
                test["trace"] = "at Object.<anonymous> (src/x.test.js:1:1)"
            out.write(("," if i else "") + json.dumps(test) + "\n")
        out.write("]}}\n")


def generate_gotest(path: Path, cases: int) -> None:
    """Write test2json output as `go test -json` does: compact, keys in its order."""

    def line(action: str, pkg: str, test: str | None = None, **more) -> str:
        event = {"Time": "2026-01-01T00:00:00.000000Z", "Action": action, "Package": pkg}
        if test:
            event["Test"] = test
        event.update(more)
        return json.dumps(event, separators=(",", ":")) + "\n"

    with path.open("w", encoding="utf-8") as out:
        for start in range(0, cases, PER_GROUP):
            pkg = f"example.com/bench/module{start // PER_GROUP}"
            out.write(line("start", pkg))
            for i in range(start, min(cases, start + PER_GROUP)):
                test = f"Test{i}"
                action = {"passed": "pass", "failed": "fail", "skipped": "skip"}[kind(i)]
                out.write(line("run", pkg, test))
                out.write(line("output", pkg, test, Output=f"=== RUN   {test}\n"))
                if action == "fail":
                    text = f"    x_test.go:12: got {i}, want 0\n"
                    out.write(line("output", pkg, test, Output=text))
                verdict = action.upper() if action != "pass" else "PASS"
                out.write(line("output", pkg, test, Output=f"--- {verdict}: {test} (0.00s)\n"))
                out.write(line(action, pkg, test, Elapsed=0.001))
            out.write(line("pass", pkg, Elapsed=1.0))


GENERATORS = {
    "junit": generate_junit,
    "nunit3": generate_nunit3,
    "nunit2": generate_nunit2,
    "xunit": generate_xunit,
    "trx": generate_trx,
    "ctrf": generate_ctrf,
    "gotest": generate_gotest,
}


def read_count(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in open_reader(stream))


def rate(path: Path, function=read_count, tests: int = 0) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        count = function(path)
        best = min(best, time.process_time() - started)
    return (tests or count) / best


class _NoOpTarget:
    """A parser target that does nothing: the floor any target-based reader pays."""

    def start(self, tag, attrib):
        pass

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return 0


def bare_target(path: Path) -> int:
    """Feed `path` to lxml with a no-op parser target (same options as the readers)."""
    parser = etree.XMLParser(target=_NoOpTarget(), **TARGET_PARSER_OPTIONS)
    with path.open("rb") as stream:
        while chunk := stream.read(64 * 1024):
            parser.feed(chunk)
    return parser.close()


def pruned_tree(path: Path) -> int:
    """Feed `path` to a tag-filtered lxml pull parser; drop the finished tree each chunk.

    Only the root's start reaches Python (and a JUnit <testsuite> a thousand tests):
    this is the floor of reading with C-side tag filtering (iterparse), which builds
    every element in C first.
    """
    parser = etree.XMLPullParser(events=("start",), tag=ROOT_TAGS, **PARSER_OPTIONS)
    root = None
    with path.open("rb") as stream:
        while chunk := stream.read(64 * 1024):
            parser.feed(chunk)
            for _event, element in parser.read_events():
                if root is None:
                    root = element
            _prune_open_path(root)
    parser.close()
    return 0


def _prune_open_path(root) -> None:
    """Drop every finished element: only the last child chain from the root is open."""
    node = root
    while node is not None and len(node):
        if len(node) > 1:
            del node[:-1]
        node = node[-1]


_TRX_PULLED = [f"{{{TRX_NS}}}{name}" for name in ("TestRun", "UnitTestResult", "TestMethod")]


def trx_pulled_fields(path: Path) -> int:
    """The pruned tree, plus reading the fields a TRX reader needs from each test.

    `pruned_tree` lets no test reach Python; here the pull parser hands over each
    <UnitTestResult> and <TestMethod> (end events) and their attributes are read
    (testId, testName, outcome, duration, startTime; className and its <UnitTest>'s id
    and storage). Nothing is made of them: no record, no join, no message, no limit.
    """
    parser = etree.XMLPullParser(events=("end",), tag=_TRX_PULLED, **PARSER_OPTIONS)
    result, method = _TRX_PULLED[1:]
    root = None
    with path.open("rb") as stream:
        while chunk := stream.read(64 * 1024):
            parser.feed(chunk)
            for _event, element in parser.read_events():
                tag = element.tag
                if tag == result:
                    get = element.get
                    _ = (get("testId"), get("testName"), get("outcome"), get("duration"))
                    _ = get("startTime")
                elif tag == method:
                    test = element.getparent()
                    _ = (test.get("id"), test.get("storage"), element.get("className"))
                if root is None:
                    root = element.getroottree().getroot()
            _prune_open_path(root)
    parser.close()
    return 0


def json_events(path: Path) -> int:
    """Read `path` through ijson's events, doing nothing (the CTRF reader's floor)."""
    with path.open("rb") as stream:
        for _ in ijson.parse(stream, use_float=True):
            pass
    return 0


_DECODE = json.JSONDecoder().scan_once


def json_lines(path: Path) -> int:
    """Decode every line of `path` with the stdlib JSON decoder (a line reader's floor)."""
    with path.open("rb") as stream:
        for line in stream:
            if line.strip():
                _DECODE(line.decode(), 0)
    return 0


XML_FLOORS = (("no-op parser target", bare_target), ("pruned lxml tree", pruned_tree))
FLOORS = {
    "ctrf": (("ijson events", json_events),),
    "gotest": (("json per line", json_lines),),
    "trx": (*XML_FLOORS, ("pruned tree + fields read", trx_pulled_fields)),
}


_CHILD_READ = """
import sys, time
sys.path.insert(0, sys.argv[2])
from ingest.decompress import open_report
from ingest.junit import JUnitError, ReportLimits
from ingest.reports import open_reader
def status(key):
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key))
before = status('VmRSS')
started = time.perf_counter()
outcome = 'read'
limit = int(sys.argv[3]) if len(sys.argv) > 3 else ReportLimits().max_decompressed_bytes
with open(sys.argv[1], 'rb') as raw:
    stream = open_report(raw, max_decompressed_bytes=limit)
    try:
        reader = open_reader(stream)
        n = sum(1 for _ in reader)
        outcome = f'{n} tests, {len(reader.warnings)} warnings'
    except JUnitError as exc:
        n, outcome = 0, f'refused: {exc.code}'
print(n, status('VmHWM'), before, time.perf_counter() - started, '|', outcome)
"""


def child_read(path: Path, max_bytes: int = 0) -> tuple[int, float, float, float, str]:
    """Read `path` in a fresh process: (tests, peak MiB, MiB before reading, s, outcome).

    `max_bytes` replaces the default decompression limit when given.
    """
    limit = [str(max_bytes)] if max_bytes else []
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_READ, str(path), str(ROOT), *limit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures, _, outcome = out.partition("|")
    n, peak, before, seconds = figures.split()
    return int(n), int(peak) / 1024, int(before) / 1024, float(seconds), outcome.strip()


_CHILD_WORKER = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from benchmarks.ingest import setup_django
setup_django(sys.argv[1], sys.argv[2])
from django.core.management import call_command
call_command('migrate', verbosity=0)
from ingest.models import Project, Upload
from ingest.processing import upload_process
from ingest.services.uploads import IncomingReport, upload_create
def status(key):
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key))
project, _ = Project.objects.get_or_create(slug='abuse', defaults={'name': 'abuse'})
path = Path(sys.argv[4])
with path.open('rb') as stream:
    report = IncomingReport(filename=path.name, content_type='application/xml',
                            stream=stream, size=path.stat().st_size)
    upload = upload_create(project=project, reports=[report])
before = status('VmRSS')
started = time.perf_counter()
upload_process(upload_id=upload.pk)
seconds = time.perf_counter() - started
upload.refresh_from_db()
outcome = f'{upload.status}: tests={upload.tests} warnings={len(upload.warnings)} {upload.error}'
print(status('VmHWM'), before, seconds, '|', outcome)
"""


def child_worker(path: Path, db_url: str, media: str) -> tuple[float, float, float, str]:
    """Process `path` as an upload in a fresh Django process: (peak, before MiB, s, outcome)."""
    env = {**os.environ, "LOG_LEVEL": "ERROR"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_WORKER, db_url, media, str(ROOT), str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    ).stdout
    figures, _, outcome = out.strip().splitlines()[-1].partition("|")
    peak, before, seconds = figures.split()
    return int(peak) / 1024, int(before) / 1024, float(seconds), outcome.strip()


def write_flood(path: Path, elements: int = 5_000_000) -> None:
    """The issue's element flood: <testsuite> with `elements` <x/> and one testcase, gzip."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"<testsuite>")
        _write_x_elements(out, elements)
        out.write(b'<testcase classname="flood" name="survivor"/></testsuite>')


def _write_x_elements(out, elements: int) -> None:
    """Write `elements` empty <x/> elements (in whole blocks of 10,000)."""
    block = b"<x/>" * 10_000
    for _ in range(elements // 10_000):
        out.write(block)


def write_long_output(path: Path, *, cdata: bool, size: int = 30 * 1024 * 1024) -> None:
    """A report whose first testcase holds `size` bytes of <system-out>, then another."""
    line = b"2026-01-01 00:00:00 INFO chatty integration test log line\n"
    with path.open("wb") as out:
        out.write(b'<testsuite name="it"><testcase classname="it.Chatty" name="first">')
        out.write(b"<system-out>" + (b"<![CDATA[" if cdata else b""))
        written = 0
        while written < size:
            out.write(line)
            written += len(line)
        out.write((b"]]>" if cdata else b"") + b"</system-out></testcase>")
        out.write(b'<testcase classname="it.Chatty" name="second"/></testsuite>')


def write_trx_hostile(
    path: Path, kind: str, size: int = 30 * 1024 * 1024, elements: int = 5_000_000
) -> None:
    """A TRX of two failed results whose first holds the hazard `kind`, then definitions.

    "flood": `elements` <x/> inside its <Output> (gzip, as the issue's flood); "text": a
    `size`-byte <StdOut>; "cdata": a `size`-byte <Message> in one CDATA section (the
    message kept is cut to the limit). The hazards a reader building a tree would hold.
    """
    line = b"2026-01-01 00:00:00 INFO chatty integration test log line\n"
    block = line * 1000
    blocks = -(-size // len(block))  # at least `size` bytes
    opener = gzip.open if kind == "flood" else open
    with opener(path, "wb") as out:
        out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<TestRun xmlns="{TRX_NS}">'.encode())
        out.write(b"<Results>")
        for i in (1, 2):
            out.write(
                f'<UnitTestResult testId="t{i}" testName="Test{i}" duration="00:00:01" '
                'outcome="Failed"><Output>'.encode()
            )
            if i == 1 and kind == "flood":
                _write_x_elements(out, elements)
            if i == 1 and kind == "text":
                out.write(b"<StdOut>")
                for _ in range(blocks):
                    out.write(block)
                out.write(b"</StdOut>")
            out.write(b"<ErrorInfo><Message>")
            if i == 1 and kind == "cdata":
                out.write(b"<![CDATA[")
                for _ in range(blocks):
                    out.write(block)
                out.write(b"]]>")
            out.write(f"boom {i}</Message></ErrorInfo></Output></UnitTestResult>".encode())
        out.write(b"</Results><TestDefinitions>")
        for i in (1, 2):
            out.write(
                f'<UnitTest id="t{i}" storage="/b/x.dll"><TestMethod className="Hostile" '
                f'name="Test{i}"/></UnitTest>'.encode()
            )
        out.write(b"</TestDefinitions></TestRun>")


def abuse(folder: Path, db_url: str | None) -> None:
    cases = {
        "element flood (19 KB gzip -> 20 MB, 5,000,000 <x/>)": folder / "flood.xml.gz",
        "30 MB <system-out> text": folder / "long-text.xml",
        "30 MB <system-out> CDATA": folder / "long-cdata.xml",
    }
    write_flood(cases["element flood (19 KB gzip -> 20 MB, 5,000,000 <x/>)"])
    write_long_output(cases["30 MB <system-out> text"], cdata=False)
    write_long_output(cases["30 MB <system-out> CDATA"], cdata=True)
    for kind, label in (
        ("flood", "TRX: 5,000,000 <x/> in a result's <Output> (gzip)"),
        ("text", "TRX: 30 MB <StdOut> text"),
        ("cdata", "TRX: 30 MB <Message> CDATA"),
    ):
        cases[label] = folder / f"trx-{kind}.trx{'.gz' if kind == 'flood' else ''}"
        write_trx_hostile(cases[label], kind)
    media = str(folder / "media")
    url = db_url or f"sqlite:///{folder / 'worker.sqlite3'}"
    print(f"\nAbuse, each in a fresh process (worker path against {url.split('@')[-1]}):")
    for label, path in cases.items():
        size = path.stat().st_size
        _n, peak, before, seconds, outcome = child_read(path)
        print(f"  {label} [{size:,} bytes on disk]")
        print(
            f"    reader : RSS +{peak - before:.0f} MiB (peak {peak:.0f}), "
            f"{seconds:.2f} s, {outcome}"
        )
        peak, before, seconds, outcome = child_worker(path, url, media)
        print(
            f"    worker : RSS +{peak - before:.0f} MiB (peak {peak:.0f}), "
            f"{seconds:.2f} s, {outcome}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 skips peak RSS")
    parser.add_argument("--formats", default=",".join(GENERATORS))
    parser.add_argument("--no-abuse", action="store_true", help="skip the flood/long-text runs")
    parser.add_argument("--worker-db", help="DATABASE_URL for the worker runs (default SQLite)")
    args = parser.parse_args()
    formats = args.formats.split(",")
    if "junit" not in formats:
        formats.insert(0, "junit")
    print(f"machine: calibration loop {calibration_ms():.0f} ms")
    print(f"limits: {ReportLimits()}")
    with tempfile.TemporaryDirectory(prefix="passline-formats-") as tmp:
        folder = Path(tmp)
        rates = {}
        print(f"\nRate, {args.cases:,} tests per report (CPU, best of 3):")
        for name in formats:
            path = folder / f"small.{name}"
            GENERATORS[name](path, args.cases)
            rates[name] = rate(path)
            size = path.stat().st_size / 1e6
            floors = []
            for label, function in FLOORS.get(name, XML_FLOORS):
                floor = rate(path, function, args.cases)
                floors.append(f"{label} {floor:,.0f}/s ({floor / rates['junit']:.2f})")
            print(
                f"  {name:7} {rates[name]:>10,.0f} testcases/s  ratio to JUnit "
                f"{rates[name] / rates['junit']:.2f}  {size:5.1f} MB, "
                f"{rates[name] * size / args.cases:5.1f} MB/s"
            )
            print(f"          floors: {'; '.join(floors)}")
            path.unlink()
        if args.big:
            print(f"\nPeak RSS, {args.big:,} tests, each in a fresh process:")
            for name in formats:
                path = folder / f"big.{name}"
                GENERATORS[name](path, args.big)
                size = path.stat().st_size
                over = size > ReportLimits().max_decompressed_bytes
                # A report over the default decompression limit is measured with the
                # limit raised, and said so: the default would refuse it.
                n, peak, before, seconds, outcome = child_read(path, size + 1 if over else 0)
                print(
                    f"  {name:7} peak {peak:.0f} MiB ({before:.0f} MiB after imports, "
                    f"+{peak - before:.0f} MiB reading {n:,} tests of {size / 1e6:.0f} MB "
                    f"in {seconds:.1f} s){' [over the default 500 MiB limit]' if over else ''}"
                )
                if not n:
                    print(f"          {outcome}")
                path.unlink()
        if not args.no_abuse:
            abuse(folder, args.worker_db)


if __name__ == "__main__":
    main()
