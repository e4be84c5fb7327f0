"""Split one 100k-case ingest into its phases, beside the floor measured in the same run.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/ingest_split.py [--cases 100000] [--runs 3]

The report is the production-shape one of ``benchmarks/pipeline.py`` (gzipped, four
categories by classname glob rules, a different 5% failing each run). The first run
creates the tests (not reported); each later run into the same project is timed:

- the **floor** (``pipeline.floor``: lxml iterparse of the gzip + COPY into a temp
  table), measured right before the run;
- **parse**: CPU seconds of the reader alone (gunzip + the JUnit parser target);
- **parse + records**: CPU seconds of the production loop of ``_read_file`` (identity,
  category) into a writer that keeps nothing;
- **writer alone**: wall seconds of a ResultWriter fed the same records parsed
  beforehand, committed into a run of its own (new tests in a project of their own with
  ``--new-tests``): the write path with no parser beside it;
- the real ``upload_process``, with each phase timed by wrapping its functions: the
  claim, the main thread's parse loop (minus its waits for the writer), the writer
  thread's test-id lookup, test and result COPY, ``finish``, the closing updates and
  the commit; and the CPU seconds of this process (both threads) and of its
  PostgreSQL backend (when the server is local). On a busy shared machine the CPU
  seconds move far less than the wall times: compare revisions by them.

It works in a scratch database ``<name>_ingestsplit``, dropped afterwards. Times are
wall seconds of one process on a shared machine: read them as shares of the run.
"""

import argparse
import gzip
import io
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import BackendCpu  # noqa: E402
from benchmarks.ingest import setup_django  # noqa: E402
from benchmarks.pipeline import CATEGORIES, big_report, floor  # noqa: E402
from benchmarks.production_shape import recreate_database  # noqa: E402


class Timer:
    """Wall seconds per phase; `wrap` times every call of an object's method."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._patched: list[tuple[object, str, object]] = []

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def wrap(self, owner, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            with self.phase(name):
                return original(*args, **kwargs)

        self._patched.append((owner, attribute, original))
        setattr(owner, attribute, timed)

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._patched):
            setattr(owner, attribute, original)
        self._patched.clear()


def scratch_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "passline"
    return urlunsplit(parts._replace(path=f"/{name}_ingestsplit"))


def post(project, gz: bytes, run_key: str):
    from ingest.services.uploads import IncomingReport, upload_create

    report = IncomingReport(
        filename="report.xml.gz",
        content_type="application/gzip",
        stream=io.BytesIO(gz),
        size=len(gz),
    )
    return upload_create(project=project, reports=[report], run_key=run_key, final=True)


def parse_only(gz: bytes) -> float:
    from ingest.junit import ReportLimits
    from ingest.reports import open_reader

    started = time.process_time()
    for _ in open_reader(gzip.GzipFile(fileobj=io.BytesIO(gz)), ReportLimits()):
        pass
    return time.process_time() - started


class NullWriter:
    def add(self, *row) -> None:
        pass


def stored_file(gz: bytes):
    """Return an object that `processing._read_file` reads like a stored UploadFile."""

    class File:
        filename = "report.xml.gz"

        class raw:  # mimics a FieldFile
            @staticmethod
            def open(mode):
                return io.BytesIO(gz)

    return File


def parse_and_records(gz: bytes, project_id: int) -> float:
    """The production loop (_read_file) into a writer that keeps nothing."""
    from ingest import processing
    from ingest.categorize import CategoryMatcher
    from ingest.junit import ReportLimits

    matcher = CategoryMatcher.for_project(project_id)
    started = time.process_time()
    processing._read_file(stored_file(gz), ReportLimits(), matcher, NullWriter())
    return time.process_time() - started


class Records:
    """A writer stand-in that keeps every staged record, to replay it later."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, *row) -> None:
        self.rows.append(row)


def writer_alone(gz: bytes, project) -> float:
    """Wall seconds of the write path alone: a ResultWriter fed records parsed beforehand.

    Into a run of its own of `project`, committed, as upload_process writes one (same
    chunks, helper thread and COPY path), but with no parser competing for the GIL.
    """
    from django.db import transaction

    from ingest import processing
    from ingest.categorize import CategoryMatcher
    from ingest.junit import ReportLimits
    from ingest.result_store import ResultWriter

    records = Records()
    matcher = CategoryMatcher.for_project(project.pk)
    processing._read_file(stored_file(gz), ReportLimits(), matcher, records)
    upload = post(project, gz, f"writer-alone-{time.time_ns()}")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        ResultWriter(
            project_id=project.pk,
            run_id=upload.run_id,
            upload_id=upload.pk,
            category_forced=False,
            run_has_results=False,
        ) as writer,
    ):
        add = writer.add
        for row in records.rows:
            add(*row)
        writer.finish()
    return time.perf_counter() - started


def timed_process(upload_id: int) -> dict[str, float]:
    """Run upload_process with its phases timed; return seconds per phase."""
    from django.db import connection

    from ingest import processing
    from ingest.result_store import copy, setbased, test_ids, writer

    timer = Timer()
    timer.wrap(processing, "_claim", "claim")
    timer.wrap(processing, "_lock_run_results", "run lock + has results")
    timer.wrap(processing.CategoryMatcher, "for_project", "compile rules")
    timer.wrap(writer.ResultWriter, "_wait", "main: waits for the writer")
    read_file = processing._read_file

    def read_file_timed(*args):
        waited = timer.seconds["main: waits for the writer"]
        with timer.phase("main: parse loop (incl. waits)"):
            reader = read_file(*args)
        waited = timer.seconds["main: waits for the writer"] - waited
        timer.seconds["main: waits for the writer while parsing"] += waited
        return reader

    processing._read_file = read_file_timed
    timer.wrap(writer.ResultWriter, "finish", "finish (last chunk, counts)")
    timer.wrap(test_ids.TestIds, "resolve", "writer: test ids")
    timer.wrap(copy.CopyStore, "_create_tests", "writer: COPY new tests")
    timer.wrap(copy.CopyStore, "_copy_results", "writer: COPY results")
    timer.wrap(setbased.SetBasedStore, "write_chunk", "writer: set-based merge")
    timer.wrap(processing, "_not_before_baseline", "baseline check")
    original_ingest = processing._ingest

    def ingest(upload):
        with timer.phase("ingest (until commit)"):
            result = original_ingest(upload)
        timer.seconds["_ingest_done"] = time.perf_counter()
        return result

    processing._ingest = ingest
    backend = BackendCpu(connection)
    try:
        server, cpu = backend.seconds(), time.process_time()
        started = time.perf_counter()
        processing.upload_process(upload_id=upload_id)
        ended = time.perf_counter()
        cpu = time.process_time() - cpu
        server = backend.seconds() - server if server is not None else 0.0
    finally:
        processing._ingest = original_ingest
        processing._read_file = read_file
        timer.restore()
    seconds = dict(timer.seconds)
    seconds["commit + signals + unlock"] = ended - seconds.pop("_ingest_done")
    seconds["total"] = ended - started
    seconds["CPU: python (both threads)"] = cpu
    seconds["CPU: postgres backend"] = server
    waited = seconds.pop("main: waits for the writer while parsing")
    seconds["main: parse loop (excl. waits)"] = seconds["main: parse loop (incl. waits)"] - waited
    return seconds


def _cell(seconds: float, floor_s: float) -> str:
    return f"{seconds:6.3f} ({seconds / floor_s:4.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument(
        "--new-tests",
        action="store_true",
        help="time first runs instead: each run goes into a new project, all its tests new",
    )
    args = parser.parse_args()
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server")
    url = scratch_url(source)
    recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="passline-split-") as tmp:
            setup_django(url, str(Path(tmp) / "media"), args.code)
            run(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(url, drop_only=True)


def new_project(slug: str):
    """Create a project with the four categories of the pipeline's classname rules."""
    from ingest.models import Category, CategoryRule, Project

    project = Project.objects.create(slug=slug, name=slug)
    for position, (name, prefix) in enumerate(CATEGORIES.items()):
        category = Category.objects.create(project=project, name=name)
        CategoryRule.objects.create(
            project=project,
            category=category,
            field="classname",
            kind="glob",
            pattern=f"bench.{prefix}.*",
            position=position,
        )
    return project


def run(args, url: str) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    project = new_project("split")
    reports = [gzip.compress(big_report(args.cases, run)) for run in range(args.runs + 1)]
    from ingest.processing import upload_process

    if not args.new_tests:
        upload_process(upload_id=post(project, reports[0], "run-0").pk)  # creates the tests
    rows: list[dict[str, float]] = []
    for index in range(1, args.runs + 1):
        gz = reports[index]
        figures = {"floor": floor(url, gz), "CPU: parse only": parse_only(gz)}
        figures["CPU: parse + records"] = parse_and_records(gz, project.pk)
        # The same tests as the timed run finds: new ones in a project of its own, or
        # the known ones of this project.
        alone_in = new_project(f"alone-{index}") if args.new_tests else project
        figures["writer alone (parsed beforehand)"] = writer_alone(gz, alone_in)
        if args.new_tests:
            project = new_project(f"split-{index}")
        upload = post(project, gz, f"run-{index}")
        figures |= timed_process(upload.pk)
        rows.append(figures)
    names = list(rows[0])
    known = "all tests new" if args.new_tests else "project knows the tests"
    print(f"{args.cases:,} testcases, {known}; seconds per run, and / floor")
    for name in names:
        cells = "  ".join(_cell(r.get(name, 0.0), r["floor"]) for r in rows)
        print(f"  {name:34} {cells}")


if __name__ == "__main__":
    main()
