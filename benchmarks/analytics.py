"""Benchmark analytics on a long history: trend refresh and the summary API.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_analytics_bench \\
        .venv/bin/python benchmarks/analytics.py [--runs 10000] [--categories 10] [-n 30]

Creates the database of DATABASE_URL if missing, migrates it and generates a public
project with `--runs` complete default-branch runs x `--categories` categories
straight into the rollup tables (RunStats, RunCategoryStats), one run every
`--spacing-minutes` (default 6: 10,000 runs span ~42 days, so the 30-day trend window
holds ~7,200 points per series). Then it prints:

- trend_refresh: time to recompute every cached trend/ETA of the project (overall +
  each category), median of 3; baseline in the same run: the exact all-pairs
  Theil-Sen on one 2,000-point series (what a naive fit costs) against ours on it.
- summary: server time of GET /api/v1/projects/<slug>/summary through Django's test
  Client (middleware, auth, queries, JSON), median of `-n` after a warm-up, with its
  query count; baseline: the same endpoint on a project with 3 runs.

Budget: summary < 100 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
# A throwaway process with DEBUG off (as in production): the settings need a key.
os.environ.setdefault("SECRET_KEY", "passline-benchmark-only-key-not-for-any-deployment")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_analytics_bench")


def generate(slug: str, runs: int, categories: int, spacing: timedelta, now: datetime):
    """Write a public project with `runs` x `categories` rollups ending at `now`."""
    from dashboard.models import RunCategoryStats, RunStats
    from ingest.models import Category, Project, Run

    rng = random.Random(42)
    Project.objects.filter(slug=slug).delete()
    project = Project.objects.create(slug=slug, name=slug, is_public=True, target_bp=9000)
    cats = Category.objects.bulk_create(
        Category(project=project, name=f"Category {i}") for i in range(categories)
    )
    start = now - spacing * runs
    run_rows = Run.objects.bulk_create(
        (
            Run(
                project=project,
                key=str(100_000 + i),
                branch="main",
                started_at=start + spacing * (i + 1),
                is_complete=True,
            )
            for i in range(runs)
        ),
        batch_size=2000,
    )
    stats, cat_stats = [], []
    for i, run in enumerate(run_rows):
        progress = i / max(runs - 1, 1)
        overall = dict.fromkeys(("passed", "failed", "skipped", "total"), 0)
        for cat in cats:
            total = 50
            passed = min(total, int(total * (0.6 + 0.3 * progress)) + rng.randint(-3, 3))
            skipped = rng.randint(0, 2)
            failed = total - passed - skipped
            if failed < 0:
                skipped, failed = total - passed, 0
            counts = {"passed": passed, "failed": failed, "skipped": skipped, "total": total}
            cat_stats.append(
                RunCategoryStats(
                    run=run,
                    category=cat,
                    project=project,
                    branch="main",
                    started_at=run.started_at,
                    is_complete=True,
                    **counts,
                )
            )
            for key, value in counts.items():
                overall[key] += value
        stats.append(
            RunStats(
                run=run,
                project=project,
                branch="main",
                started_at=run.started_at,
                is_complete=True,
                **overall,
            )
        )
    RunStats.objects.bulk_create(stats, batch_size=2000)
    RunCategoryStats.objects.bulk_create(cat_stats, batch_size=5000)
    return project


def median_ms(fn, n: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(n):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("--spacing-minutes", type=float, default=6.0)
    parser.add_argument("-n", type=int, default=30, help="summary requests")
    parser.add_argument("--reuse", action="store_true", help="keep existing generated data")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        ensure_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from dashboard.analytics import trends
    from dashboard.derive.trends import trend_refresh

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    spacing = timedelta(minutes=args.spacing_minutes)
    t0 = time.perf_counter()
    from ingest.models import Project

    big = Project.objects.filter(slug="bench-analytics").first()
    if big is None or not args.reuse:
        big = generate("bench-analytics", args.runs, args.categories, spacing, now)
    else:
        now = big.runs.order_by("-started_at").values_list("started_at", flat=True).first()
    small = generate("bench-analytics-small", 3, args.categories, spacing, now)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"database {connection.vendor}; {'reused' if args.reuse else 'generated'} "
        f"{args.runs} runs x {args.categories} categories in {time.perf_counter() - t0:.1f} s"
    )

    refresh_ms = median_ms(lambda: trend_refresh(project_id=big.pk, now=now), 3)
    trend_refresh(project_id=small.pk, now=now)
    points = [
        (now - spacing * i, 0.6 + 0.3 * (1 - i / 2000) + random.random() * 0.02)
        for i in range(2000)
    ]
    ours_ms = median_ms(lambda: trends.theil_sen(points), 3)
    saved, trends.MAX_PAIRS = trends.MAX_PAIRS, 10**12
    try:
        exact_ms = median_ms(lambda: trends.theil_sen(points), 1)
    finally:
        trends.MAX_PAIRS = saved
    from dashboard.models import Trend

    window_points = Trend.objects.get(project=big, category=None).n_points
    print(
        f"trend_refresh (overall + {args.categories} categories, {window_points} points "
        f"per series in the window): {refresh_ms:.0f} ms"
    )
    print(
        f"  one 2,000-point fit: ours {ours_ms:.1f} ms, exact all pairs {exact_ms:.1f} ms "
        f"(ratio ours/exact {ours_ms / exact_ms:.3f})"
    )

    client = Client()
    rows = []
    for project in (big, small):
        path = f"/api/v1/projects/{project.slug}/summary"
        response = client.get(path)
        assert response.status_code == 200, response.content[:300]
        # Count with a wrapper: Django clears connection.queries at each request start.
        queries: list[str] = []

        def record(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            client.get(path)
        rows.append(
            (
                median_ms(lambda path=path: client.get(path), args.n),
                median_ms(lambda path=path: client.get(path), args.n, time.process_time),
                len(queries),
            )
        )
    (big_ms, big_cpu, big_q), (small_ms, small_cpu, small_q) = rows
    print(
        f"summary: {big_ms:.1f} ms median over {args.n} requests ({big_q} queries) with "
        f"{args.runs} runs; {small_ms:.1f} ms ({small_q} queries) with 3 runs; "
        f"ratio {big_ms / small_ms:.2f}; budget 100 ms: {'OK' if big_ms < 100 else 'OVER'}"
    )
    # CPU time of this process per request: less sensitive to other load on the machine.
    print(
        f"summary CPU time: {big_cpu:.1f} ms with {args.runs} runs; {small_cpu:.1f} ms with 3 runs"
    )


if __name__ == "__main__":
    main()
