"""Benchmark derive throughput for small runs: batched passes vs one run at a time.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passline_derive_batch \\
        .venv/bin/python benchmarks/derive_batch.py [--runs 400] [--history 300]
        [--batches 1,10,25,100]

Creates the database of DATABASE_URL if missing and migrates it. A project with 4
categories gets ``--history`` earlier small runs (20-50 tests, about 10% failing,
some flaky), derived, so every measurement sees a project with history. Then, for
each mode, ``--runs`` new complete runs are written straight into the results table
(ingest is not measured) and derived:

- ``one by one (before)``: the derive code of commit BASELINE_COMMIT (exported into a
  temporary package), ``run_completed_derive`` once per run, as its
  ``run_completed_refresh`` task did;
- ``batch N``: every run recorded in the backlog at once, then derive passes (figures
  passes, ``derive_pass_claimed``, and fold passes, ``fold_pass_claimed``) until none
  is queued, PASSLINE_DERIVE_BATCH = N (N = 1: one pass of each kind per run, claims
  included). Also printed: the rate of the figures passes alone (what makes a run
  fresh).

Trend refreshes are only requested, never run, in every mode (they are coalesced
either way); their cost is printed once. Prints completed runs derived per second
(everything: rollups, flags, per-test stats, flaky signals), queries per run, and the
ratio of each mode to the baseline measured in the same run, with the calibration
loop before and after (shared machines drift).
"""

import argparse
import importlib
import os
import random
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_derive_batch")

BASELINE_COMMIT = "bca6da8"  # before derive passes: one task per completed run
CATEGORIES = ("Auth", "Cache", "Database", "Api")


def baseline_code():
    """Import dashboard/derive of BASELINE_COMMIT as package ``old_derive``."""
    folder = Path(tempfile.mkdtemp(prefix="old-derive-"))
    package = folder / "old_derive"
    package.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{BASELINE_COMMIT}:dashboard/derive"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:dashboard/derive/{name}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (package / name).write_text(source.replace("dashboard.derive.", "old_derive."))
    sys.path.insert(0, str(folder))
    return importlib.import_module("old_derive.runs")


def project_create(slug: str):
    from ingest.models import Category, Project, Result

    old = Project.objects.filter(slug=slug).first()
    if old is not None:
        Result.objects.filter(run__project=old).delete()
        old.delete()
    project = Project.objects.create(slug=slug, name=slug, target_bp=9000)
    Category.objects.bulk_create(Category(project=project, name=name) for name in CATEGORIES)
    return project


def runs_create(project, count: int, start: datetime, seed: int) -> list[int]:
    """Create `count` complete small runs, one second apart; return their ids."""
    from ingest.identity import test_identity
    from ingest.models import Category, Result, Run, Test, Upload

    rng = random.Random(seed)
    categories = list(Category.objects.filter(project=project).order_by("pk"))
    names = [f"test_{j}" for j in range(50)]
    Test.objects.bulk_create(
        [
            Test(project=project, identity=test_identity("bench", n), classname="bench", name=n)
            for n in names
        ],
        ignore_conflicts=True,
    )
    tests = {t.name: t for t in Test.objects.filter(project=project)}
    ids, rows = [], []
    for i in range(count):
        run = Run.objects.create(
            project=project,
            key=f"s{seed}-{i}",
            branch="main",
            started_at=start + timedelta(seconds=i),
            is_complete=True,
            completed_at=start + timedelta(seconds=i),
        )
        n = 20 + rng.randrange(31)
        upload = Upload.objects.create(
            project=project, run=run, status=Upload.Status.PROCESSED, tests=n
        )
        for j in range(n):
            roll = rng.random()
            rows.append(
                Result(
                    run=run,
                    test=tests[names[j]],
                    upload=upload,
                    category=categories[j % len(categories)],
                    outcome=Result.Outcome.FAILED if roll < 0.1 else Result.Outcome.PASSED,
                    flaky=0.1 <= roll < 0.12,
                    duration=0.01,
                )
            )
        ids.append(run.pk)
    Result.objects.bulk_create(rows, batch_size=5000)
    return ids


def timed_queries(fn) -> tuple[float, int]:
    """Return (seconds, SQL statements) of fn()."""
    from django.db import connection

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        fn()
        seconds = time.perf_counter() - started
    return seconds, count


def one_by_one(old_runs, run_ids: list[int]) -> tuple[float, int]:
    def work():
        for run_id in run_ids:
            old_runs.run_completed_derive(run_id=run_id)

    return timed_queries(work)


def drain(project, run_ids: list[int]) -> tuple[int, float]:
    """Record the runs, then run derive passes until none is queued.

    Return (passes, seconds spent in figures passes: rollups, flags).
    """
    from dashboard.derive import backlog

    sent: list[tuple[str, int]] = []
    passes, figures_s = 0, 0.0

    def figures(project_id):
        sent.append(("figures", project_id))

    def fold(project_id):
        sent.append(("fold", project_id))

    backlog.runs_derive_request(project_id=project.pk, run_ids=run_ids, enqueue=figures)
    while sent:
        kind, project_id = sent.pop(0)
        if kind == "figures":
            started = time.perf_counter()
            done = backlog.derive_pass_claimed(
                project_id=project_id, enqueue=figures, enqueue_fold=fold
            )
            figures_s += time.perf_counter() - started
        else:
            done = backlog.fold_pass_claimed(project_id=project_id, enqueue=fold)
        passes += done is not None
    return passes, figures_s


def batched(project, run_ids: list[int], size: int) -> tuple[float, int, int, float]:
    from django.test import override_settings

    out = []
    with override_settings(PASSLINE_DERIVE_BATCH=size):
        seconds, queries = timed_queries(lambda: out.append(drain(project, run_ids)))
    return seconds, queries, *out[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=400, help="runs derived per mode")
    parser.add_argument("--history", type=int, default=300)
    parser.add_argument("--batches", default="1,10,25,100", help="PASSLINE_DERIVE_BATCH values")
    args = parser.parse_args()
    sizes = [int(x) for x in args.batches.split(",")]

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from unittest import mock

    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    from dashboard import tasks
    from dashboard.derive.coalesce import trend_refresh_claimed
    from passline.celery import app

    app.conf.task_always_eager = False  # requests only record; this script runs passes
    old_runs = baseline_code()
    before = calibration_ms()
    print(f"derive throughput, small runs (20-50 tests), PostgreSQL; calibration {before:.0f} ms")

    trends: list[int] = []
    with mock.patch.object(
        # Sent with a countdown (PASSLINE_TREND_REFRESH_DELAY_SECONDS): record the project.
        tasks.trend_refresh,
        "apply_async",
        lambda args, kwargs=None, **_: trends.append(args[0]),
    ):
        project = project_create("derive-batch")
        now = datetime.now(UTC).replace(microsecond=0)
        clock = now - timedelta(days=2)
        ids = runs_create(project, args.history, clock, seed=0)
        started = time.perf_counter()
        drain(project, ids)
        print(f"history: {args.history} runs derived in {time.perf_counter() - started:.1f} s")
        trend_s, _ = timed_queries(lambda: trend_refresh_claimed(project_id=project.pk))
        print(f"one trend refresh (coalesced, not in the figures below): {trend_s * 1000:.0f} ms")

        modes = [("one by one (before)", None), *((f"batch {n}", n) for n in sizes)]
        results = {}
        for seed, (label, size) in enumerate(modes, start=1):
            clock += timedelta(seconds=args.runs + 10)
            run_ids = runs_create(project, args.runs, clock, seed=seed)
            if size is None:
                seconds, queries = one_by_one(old_runs, run_ids)
                passes, figures = len(run_ids), ""
            else:
                seconds, queries, passes, figures_s = batched(project, run_ids, size)
                figures = f"  (fresh: {len(run_ids) / figures_s:7.1f} runs/s)"
            results[label] = rate = len(run_ids) / seconds
            print(
                f"  {label:<20} {rate:7.1f} runs/s  {seconds:6.2f} s  "
                f"{queries / len(run_ids):5.1f} queries/run  {passes} passes{figures}"
            )
    base = results["one by one (before)"]
    print("ratios to one by one (before), same run:")
    for label, rate in results.items():
        if label != "one by one (before)":
            print(f"  {label:<20} {rate / base:5.1f}x")
    print(f"calibration loop: {before:.0f} ms before, {calibration_ms():.0f} ms after")


if __name__ == "__main__":
    main()
