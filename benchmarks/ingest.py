"""Benchmark ingest end to end: upload_create + upload_process into PostgreSQL.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/ingest.py [--cases 100000] [--big 1000000]

Creates (and afterwards drops) a scratch database ``<name>_ingestbench`` on the server of
DATABASE_URL, generates reports with failures, skips and flaky tests, and ingests them
through the same code path as an HTTP upload. After a small warm-up upload (so that
one-time imports, such as the URLconf the 202 body reverses, are not timed, as in a
running server), it prints the median testcases/s of ``--repeat`` ingests of the 100k
report into new projects (every test new) and into a project that knows them (a later
CI run), then testcases/s plus peak RSS of a fresh process ingesting the big report.
The naive baseline, measured in the same run, parses with junitparser's full tree
(JUnitXml.fromfile) and writes with Django bulk_create; the ratio is ours / baseline.
Each median run also shows its CPU: this process (parser and writer thread) and, when
the server is on this host, the PostgreSQL backend. A pure-Python calibration loop,
timed before and after, tells whether figures of two runs (or two machines) compare.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import BackendCpu, calibration_ms  # noqa: E402
from benchmarks.production_shape import recreate_database  # noqa: E402


def generate(path: Path, cases: int, *, per_suite: int = 1000) -> None:
    """Write a JUnit report with `cases` testcases: ~2% failed, 1% skipped, 0.5% flaky."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        for start in range(0, cases, per_suite):
            suite = start // per_suite
            out.write(
                f'<testsuite name="suite{suite}" timestamp="2026-01-01T00:00:00" '
                f'file="tests/test_mod{suite}.py">\n'
            )
            for i in range(start, min(cases, start + per_suite)):
                cls = f"pkg.mod{suite}.TestClass{i % 50}"
                head = f'<testcase classname="{cls}" name="test_case_{i}"'
                if i % 50 == 7:
                    out.write(
                        f'{head} time="0.012"><failure message="assert 1 == 2">'
                        "Traceback\nAssertionError</failure></testcase>\n"
                    )
                elif i % 100 == 9:
                    out.write(f'{head} time="0.001"><skipped message="not today"/></testcase>\n')
                elif i % 200 == 11:
                    out.write(
                        f'{head} time="0.3"><flakyFailure message="timeout">x</flakyFailure>'
                        "</testcase>\n"
                    )
                else:
                    out.write(f'{head} time="0.004"/>\n')
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


def bench_url(url: str) -> str:
    """Return the scratch database's URL: DATABASE_URL's name + ``_ingestbench``.

    Named after the given database, so two checkouts (or test runs) benchmarking on one
    server never drop each other's scratch database.
    """
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "passline"
    return urlunsplit(parts._replace(path=f"/{name}_ingestbench"))


def setup_django(url: str, media: str, code: Path = ROOT) -> None:
    """Configure Django for `url`, importing passline from the checkout at `code`."""
    code = code.resolve()
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = media
    # Queue to an in-memory broker so processing is timed on its own, not inside
    # upload_create's on-commit hook.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
    # A throwaway process with DEBUG off (as in production): the settings need a key.
    os.environ.setdefault("SECRET_KEY", "passline-benchmark-only-key-not-for-any-deployment")
    sys.path.insert(0, str(code))
    # Celery's Django fixup puts the working directory first on sys.path while Django
    # sets up: run from `code`, or the apps would come from wherever this was started.
    os.chdir(code)
    import django

    django.setup()
    measured = imported_code()
    if measured != code:
        sys.exit(f"asked to measure {code}, but passline was imported from {measured}")


def imported_code() -> Path:
    """Return the checkout whose passline packages this process imported."""
    import importlib

    packages = [importlib.import_module(name) for name in ("passline", "ingest", "dashboard")]
    folders = {Path(package.__file__).resolve().parent.parent for package in packages}
    if len(folders) != 1:
        sys.exit(f"passline's packages come from different checkouts: {sorted(folders)}")
    return folders.pop()


def ingest(path: Path, *, slug: str, run_key: str, backend=None) -> dict:
    """Ingest one report through upload_create + upload_process; return timings.

    With `backend` (a common.BackendCpu), also the CPU seconds PostgreSQL spent.
    """
    from ingest.models import Project
    from ingest.processing import upload_process
    from ingest.services.uploads import IncomingReport, upload_create

    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
    started = time.perf_counter()
    with path.open("rb") as stream:
        report = IncomingReport(
            filename=path.name,
            content_type="application/xml",
            stream=stream,
            size=path.stat().st_size,
        )
        upload = upload_create(project=project, reports=[report], run_key=run_key)
    stored = time.perf_counter()
    cpu, server = time.process_time(), backend.seconds() if backend else None
    upload_process(upload_id=upload.pk)
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    if server is not None:
        server = backend.seconds() - server
    upload.refresh_from_db()
    assert upload.status == "processed", (upload.status, upload.error)
    return {
        "tests": upload.tests,
        "store_s": stored - started,
        "process_s": done - stored,
        "total_s": done - started,
        "rate": upload.tests / (done - started),
        "python_cpu_s": cpu,
        "postgres_cpu_s": server,
    }


def baseline(path: Path, *, slug: str) -> dict:
    """Naive ingest: junitparser full-tree parse, then Django bulk_create of rows."""
    from django.db import transaction
    from django.utils import timezone
    from junitparser import Error, Failure, JUnitXml, Skipped

    from ingest.identity import normalise_name, test_identity
    from ingest.models import Category, Project, Result, Run, Test, Upload

    started = time.perf_counter()
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
    category, _ = Category.objects.get_or_create(project=project, name="Uncategorized")
    xml = JUnitXml.fromfile(str(path))
    rows = {}
    for suite in xml:
        for case in suite:
            classname, name = normalise_name(case.classname), normalise_name(case.name)
            outcome = Result.Outcome.PASSED
            for result in case.result:
                if isinstance(result, Error):
                    outcome = Result.Outcome.ERROR
                elif isinstance(result, Failure):
                    outcome = Result.Outcome.FAILED
                elif isinstance(result, Skipped):
                    outcome = Result.Outcome.SKIPPED
            rows[test_identity(classname, name)] = (classname, name, outcome, case.time or 0.0)
    with transaction.atomic():
        run = Run.objects.create(project=project, key="baseline", started_at=timezone.now())
        upload = Upload.objects.create(project=project, run=run, status="processed")
        Test.objects.bulk_create(
            [Test(project=project, identity=k, classname=v[0], name=v[1]) for k, v in rows.items()],
            batch_size=5000,
            ignore_conflicts=True,
        )
        ids = dict(Test.objects.filter(project=project).values_list("identity", "pk"))
        Result.objects.bulk_create(
            [
                Result(
                    run=run,
                    test_id=ids[k],
                    upload=upload,
                    category=category,
                    outcome=v[2],
                    duration=v[3],
                )
                for k, v in rows.items()
            ],
            batch_size=5000,
        )
    elapsed = time.perf_counter() - started
    return {"tests": len(rows), "total_s": elapsed, "rate": len(rows) / elapsed}


def cpu_split(run: dict) -> str:
    """Describe where one ingest's CPU went: this process and the PostgreSQL backend."""
    text = f"python {run['python_cpu_s']:.2f} s (both threads)"
    if run["postgres_cpu_s"] is not None:
        text += f", postgres backend {run['postgres_cpu_s']:.2f} s"
    return text


def median_run(runs: list[dict]) -> dict:
    """Return the run with the median rate (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r["rate"])[(len(runs) - 1) // 2]


def peak_rss_mb() -> float:
    """Return this process's peak RSS in MB.

    Linux: VmHWM, which exec resets. ru_maxrss is not used there because a child
    started by fork+exec inherits the parent's RSS at fork time as its maximum.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> None:
    """Ingest the big report in this fresh process and print JSON with its peak RSS."""
    setup_django(args.url, args.media, args.code)
    result = ingest(Path(args.report), slug="big", run_key="big-1")
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 skips the big report")
    parser.add_argument("--repeat", type=int, default=3, help="ingests per 100k measurement")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="measure the passline checkout in this folder (default: this one)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON figures")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    source_url = os.environ.get("DATABASE_URL", "")
    if not source_url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1/postgres"
        )
    url = bench_url(source_url)
    recreate_database(url)
    with tempfile.TemporaryDirectory(prefix="passline-bench-") as tmp:
        tmp_path = Path(tmp)
        media = str(tmp_path / "media")
        setup_django(url, media, args.code)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        try:
            small = tmp_path / "report-small.xml"
            generate(small, args.cases)
            size_mb = small.stat().st_size / 1e6
            print(f"report: {args.cases} testcases, {size_mb:.1f} MB")
            warm = tmp_path / "report-warm.xml"
            generate(warm, 1000)
            ingest(warm, slug="warm-up", run_key="warm-up")
            from django.db import connection

            backend = BackendCpu(connection)
            calibration = calibration_ms()
            new = [
                ingest(small, slug=f"bench-{i}", run_key="run-1", backend=backend)
                for i in range(args.repeat)
            ]
            known = [
                ingest(small, slug="bench-0", run_key=f"run-{i + 2}", backend=backend)
                for i in range(args.repeat)
            ]
            figures = {"new": median_run(new)["rate"], "known": median_run(known)["rate"]}
            for label, runs in (("new tests", new), ("known tests", known)):
                r = median_run(runs)
                every = ", ".join(f"{x['rate']:,.0f}" for x in runs)
                print(
                    f"passline  {label:11}: {r['rate']:>9,.0f} testcases/s median of {len(runs)} "
                    f"({r['total_s']:.2f} s = store {r['store_s']:.2f} + process "
                    f"{r['process_s']:.2f}; all: {every})"
                )
                print(f"           processing CPU: {cpu_split(r)}")
            if not args.no_baseline:
                naive = baseline(small, slug="baseline")
                rate, secs = naive["rate"], naive["total_s"]
                print(f"baseline  new tests  : {rate:>9,.0f} testcases/s ({secs:.2f} s)")
                print(f"ratio passline/baseline (new tests): {figures['new'] / rate:.1f}x")
            after = calibration_ms()
            figures["calibration_ms"] = (calibration + after) / 2
            print(
                f"machine: calibration loop {calibration:.0f} ms before, {after:.0f} ms after "
                "(compare figures only between runs where it is alike)"
            )

            if args.big:
                big = tmp_path / "report-big.xml"
                generate(big, args.big)
                from django.db import connections

                connections.close_all()
                out = subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--child",
                        "--url",
                        url,
                        "--media",
                        media,
                        "--report",
                        str(big),
                        "--code",
                        str(args.code),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(
                    f"passline  {args.big} testcases ({big.stat().st_size / 1e6:.0f} MB): "
                    f"{r['rate']:,.0f} testcases/s ({r['total_s']:.1f} s), "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB (fresh process)"
                )
                figures |= {"big": r["rate"], "big_peak_rss_mb": r["peak_rss_mb"]}
            if args.json:
                print(json.dumps(figures | {"code": str(imported_code())}))
        finally:
            from django.db import connections

            connections.close_all()
            if not args.keep:
                recreate_database(url, drop_only=True)


if __name__ == "__main__":
    main()
