"""Benchmark the derive step of a 100,000-test run: rollups, flags, test stats, trends.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passline_write \\
        .venv/bin/python benchmarks/derive.py [--tests 100000] [--history 150] [--runs 5]
        [--no-old]

The replaced code's per-test stats update is quadratic (Django ``bulk_update`` of
2,000-row CASE statements over every test of the project): at 10,000 tests its runs 2
and 3 take about 100 s each, so run the baseline with ``--tests 10000`` and the 100k
measurement with ``--no-old``.

Creates the database of DATABASE_URL if missing and migrates it. Results are written
straight into the results table with set-based SQL (ingest is not measured here), as
``--runs`` runs of the same tests (the first one sees new tests), each with a
different 5% failing (and 0.5% flaky).
For every run it times what the derive queue does for it:

- ``processed``: ``run_stats_update`` (the run's rollups from its results + flags),
- ``completed``: ``run_completed_derive`` (what a derive pass does for a batch of one
  run: its rollups again, flags, a coalesced trend request, the run folded into
  TestStats and the flaky signals; in production a single-part run skips
  ``processed``),
- ``trend``: the coalesced trend refresh that request causes,

on a fresh project and on a project with ``--history`` earlier complete runs (rollups,
results of 2,000 tests each, folded into TestStats) to show the work does not grow with
history. Then the hourly rebuild (``test_stats_refresh``) of the history project.

Baseline in the same run (unless ``--no-old``): the code this replaced, exported from
git commit a4e1ba0 into a temporary package (``dashboard/rollups.py``, ``flags.py``,
``flaky.py``, ``services.py``), on a third project with the same three runs: its
``run_stats_update``, then ``run_completed_refresh`` (rollups again, the whole
trend window, and every TestStats of the project loaded, updated and written back
under a row lock on the project), and its hourly rebuild.
"""

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import calibration_ms, ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_derive_bench")

OLD_COMMIT = "a4e1ba0"
OLD_MODULES = ("rollups", "flags", "flaky", "services")
CATEGORIES = 10


def old_code():
    """Import the replaced derive modules of OLD_COMMIT as package ``old_derive``."""
    folder = Path(tempfile.mkdtemp(prefix="old-derive-"))
    package = folder / "old_derive"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in OLD_MODULES:
        source = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:dashboard/{name}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for other in OLD_MODULES:
            source = source.replace(
                f"from dashboard.{other} import", f"from old_derive.{other} import"
            )
        # The pure maths it used moved into dashboard.analytics, unchanged.
        source = source.replace(
            "from dashboard import trends", "from dashboard.analytics import trends"
        )
        source = source.replace(
            "from dashboard.targets import", "from dashboard.analytics.targets import"
        )
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("old_derive.services"), importlib.import_module(
        "old_derive.flaky"
    )


def project_create(slug: str, tests: int):
    """Create a project with CATEGORIES categories and `tests` tests (set-based)."""
    from django.db import connection

    from ingest.models import Category, Project, Result

    old = Project.objects.filter(slug=slug).first()
    if old is not None:
        Result.objects.filter(run__project=old).delete()
        old.delete()
    project = Project.objects.create(slug=slug, name=slug, target_bp=9000)
    Category.objects.bulk_create(
        Category(project=project, name=f"Category {i}") for i in range(CATEGORIES)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ingest_test (project_id, identity, classname, name, file, suite,
                                     first_seen_at)
            SELECT %s, md5(%s || ':' || i), 'pkg.C' || (i %% 500), 't' || i, '', '', now()
            FROM generate_series(1, %s) AS i
            """,
            [project.pk, project.slug, tests],
        )
    return project


def run_create(project, key: str, started_at: datetime, *, seed: int, limit: int | None = None):
    """Create a complete run with a result for each test (or the first `limit` tests).

    5% fail (a different 5% for each seed), 0.5% are flaky passes.
    """
    from django.db import connection

    from ingest.models import Category, Run, Upload

    run = Run.objects.create(
        project=project, key=key, branch="main", started_at=started_at, is_complete=True
    )
    upload = Upload.objects.create(project=project, run=run, status=Upload.Status.PROCESSED)
    categories = list(
        Category.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO ingest_result (run_id, test_id, upload_id, category_id,
                category_forced, outcome, flaky, attempts, duration, message)
            SELECT %s, t.id, %s, (%s::bigint[])[1 + t.id %% {CATEGORIES}], false,
                   CASE WHEN (t.id * 7 + %s) %% 20 = 0 THEN 2 ELSE 1 END,
                   (t.id * 11 + %s) %% 200 = 0, 1, 0.01, ''
            FROM (SELECT id FROM ingest_test WHERE project_id = %s ORDER BY id LIMIT %s) t
            """,
            [run.pk, upload.pk, categories, seed * 13, seed * 3, project.pk, limit],
        )
    return run


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def derive_new(run) -> dict:
    """Time the new derive path of one completed run (``fold``: part of ``completed``)."""
    from unittest import mock

    from django.db import transaction

    from dashboard.derive import runs
    from dashboard.derive.coalesce import trend_refresh_claimed

    sent, fold = [], []
    real_fold = runs.runs_test_stats_fold

    def timed_fold(**kwargs):
        started = time.perf_counter()
        try:
            return real_fold(**kwargs)
        finally:
            fold.append(time.perf_counter() - started)

    times = {"processed": timed(lambda: runs.run_stats_update(run_id=run.pk))}
    with mock.patch.object(runs, "runs_test_stats_fold", timed_fold):
        # The trend request's on_commit fires at the end of this block.
        times["completed"] = timed(
            lambda: transaction.atomic()(runs.run_completed_derive)(run_id=run.pk)
        )
    times["trend"] = timed(
        lambda: trend_refresh_claimed(project_id=run.project_id, enqueue=sent.append)
    )
    times["total"] = times["processed"] + times["completed"] + times["trend"]
    times["(fold)"] = sum(fold)
    return times


def history_create(project, runs: int, now: datetime) -> None:
    """Add `runs` earlier complete runs (2,000 tests each) with their derived figures."""
    from dashboard.derive.runs import run_completed_derive, run_stats_update

    start = now - timedelta(days=29)
    step = timedelta(days=28) / max(runs, 1)
    for i in range(runs):
        run = run_create(project, f"h{i}", start + step * i, seed=100 + i, limit=2000)
        run_stats_update(run_id=run.pk)
        run_completed_derive(run_id=run.pk)


def small_runs_burst(project, count: int, now: datetime) -> None:
    """Complete `count` 20-test runs back to back; a derive worker drains every 25.

    Prints the time per completion (rollups, flags, test stats, the trend request)
    and how many coalesced trend refreshes ran, with their mean time.
    """
    from unittest import mock

    from dashboard import tasks
    from dashboard.derive.coalesce import trend_refresh_claimed
    from dashboard.derive.runs import run_completed_derive, run_stats_update

    sent, refreshes, per_run = [], [], []
    with mock.patch.object(
        # Sent with a countdown (PASSLINE_TREND_REFRESH_DELAY_SECONDS): record the project.
        tasks.trend_refresh,
        "apply_async",
        lambda args, kwargs=None, **_: sent.append(args[0]),
    ):
        for i in range(count):
            run = run_create(project, f"s{i}", now - timedelta(seconds=count - i), seed=i, limit=20)
            started = time.perf_counter()
            run_stats_update(run_id=run.pk)
            run_completed_derive(run_id=run.pk)
            per_run.append(time.perf_counter() - started)
            if (i + 1) % 25 == 0:
                pending, sent[:] = list(sent), []
                for project_id in pending:
                    refreshes.append(
                        timed(
                            lambda project_id=project_id: trend_refresh_claimed(
                                project_id=project_id, enqueue=sent.append
                            )
                        )
                    )
    print(
        f"  {count} small runs completed back to back: "
        f"{statistics.median(per_run) * 1000:.0f} ms median per completion; "
        f"{len(refreshes)} coalesced trend refreshes ran "
        f"({statistics.mean(refreshes) * 1000:.0f} ms mean), not {count}"
    )


def show(label: str, times: dict) -> None:
    parts = "  ".join(f"{k} {v * 1000:7.0f} ms" for k, v in times.items())
    print(f"  {label:<34}{parts}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5, help="runs per project (>= 3)")
    parser.add_argument("--no-old", action="store_true", help="skip the baseline")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from dashboard.derive.teststats import test_stats_refresh
    from dashboard.models import TestStats
    from passline.celery import app

    app.conf.task_always_eager = False  # requests only record; this script runs refreshes

    now = datetime.now(UTC).replace(microsecond=0)
    print(f"derive benchmark: {args.tests:,} tests per run, 5% failing, PostgreSQL")
    print(f"machine: calibration loop {calibration_ms():.0f} ms")
    results = {}
    for slug, history in (("derive-fresh", 0), ("derive-history", args.history)):
        project = project_create(slug, args.tests)
        if history:
            started = time.perf_counter()
            history_create(project, history, now - timedelta(hours=4))
            print(
                f"{slug}: {history} earlier runs created in {time.perf_counter() - started:.1f} s"
            )
        print(f"{slug} (earlier complete runs: {history}):")
        for n in range(1, args.runs + 1):
            run = run_create(project, f"big{n}", now - timedelta(hours=args.runs - n), seed=n)
            times = derive_new(run)
            results[(slug, n)] = times
            show(f"run {n} ({'new tests' if n == 1 else 'same tests'})", times)
        if history:
            small_runs_burst(project, 200, now)
        rows = TestStats.objects.filter(project=project).count()
        rebuild = timed(lambda project=project: test_stats_refresh(project_id=project.pk))
        results[(slug, "rebuild")] = rebuild
        print(f"  hourly rebuild of {rows:,} TestStats: {rebuild * 1000:.0f} ms")

    if not args.no_old:
        old_services, old_flaky = old_code()
        project = project_create("derive-old", args.tests)
        print(f"baseline: the code of {OLD_COMMIT} (earlier complete runs: 0):")
        for n in (1, 2, 3):
            run = run_create(project, f"big{n}", now - timedelta(hours=3 - n), seed=n)
            processed = timed(lambda run=run: old_services.run_stats_update(run_id=run.pk))

            def completed(run=run):
                # dashboard.tasks.run_completed_refresh of OLD_COMMIT, step by step.
                old_services.run_stats_update(run_id=run.pk)
                old_services.trend_refresh(project_id=run.project_id)
                old_flaky.run_test_stats_update(run_id=run.pk)

            times = {"processed": processed, "completed": timed(completed)}
            times["total"] = sum(times.values())
            results[("old", n)] = times
            show(f"run {n} ({'new tests' if n == 1 else 'same tests'})", times)
        rebuild = timed(lambda: old_flaky.test_stats_refresh(project_id=project.pk))
        results[("old", "rebuild")] = rebuild
        print(f"  hourly rebuild: {rebuild * 1000:.0f} ms")
        print("ratios old/new (total derive time per run, fresh project):")
        for n in (1, 2, 3):
            old, new = results[("old", n)]["total"], results[("derive-fresh", n)]["total"]
            print(f"  run {n}: {old:.2f} s / {new:.2f} s = {old / new:.1f}x")
        old, new = results[("old", "rebuild")], results[("derive-fresh", "rebuild")]
        print(f"  hourly rebuild: {old:.2f} s / {new:.2f} s = {old / new:.1f}x")

    same = range(2, args.runs + 1)  # runs of known tests: the steady state
    fresh = statistics.median(results[("derive-fresh", n)]["total"] for n in same)
    history = statistics.median(results[("derive-history", n)]["total"] for n in same)
    print(
        f"steady state (runs 2-{args.runs}, same tests): median derive time per run "
        f"{fresh:.3f} s on the fresh project, {history:.3f} s with {args.history} earlier "
        f"runs (ratio {history / fresh:.2f}); calibration loop now {calibration_ms():.0f} ms"
    )


if __name__ == "__main__":
    main()
