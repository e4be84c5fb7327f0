"""Benchmark the server time of every dashboard page on a long history.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_pages_bench \\
        .venv/bin/python benchmarks/pages.py [--runs 10000] [--categories 10] [-n 30]

Creates the database of DATABASE_URL if missing, migrates it and generates a public
project with `--runs` complete runs x `--categories` categories straight into the
rollup tables (RunStats, RunCategoryStats), cached trends, and the results of the
baseline and latest runs (1,000 tests each, which the compare page reads). Then it
times the project list, overview, a category, the latest run, a test, compare and the
report through Django's test Client (the whole request: middleware, queries, charts,
template), median of `-n` requests after a warm-up, with the query count of each.
It prints which checkout's code it measured: run the same script from another
checkout (``--reuse`` keeps the generated data) for a before/after comparison. The
baseline, measured in the same run, is the same pages on a project with 10 runs: the
ratio shows how much history costs.
Budget: < 100 ms per page.
"""

import argparse
import os
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_pages_bench")
os.environ.setdefault(
    "STATICFILES_STORAGE_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
)

TESTS = 1000


def generate(slug: str, runs: int, categories: int) -> None:
    """Write a project with `runs` x `categories` rollups, trends and two runs' results."""
    from dashboard.derive.trends import trend_refresh
    from dashboard.models import RunCategoryStats, RunStats
    from ingest.identity import test_identity
    from ingest.models import Category, Project, Result, Run, Test, Upload

    # Results protect their categories: delete them before the project.
    Result.objects.filter(run__project__slug=slug).delete()
    Project.objects.filter(slug=slug).delete()
    project = Project.objects.create(slug=slug, name=slug.title(), is_public=True)
    cats = Category.objects.bulk_create(
        Category(project=project, name=f"Service {i:02d}") for i in range(categories)
    )
    end = datetime.now(UTC)
    start = end - timedelta(hours=runs)
    per_cat = TESTS // categories
    run_rows = Run.objects.bulk_create(
        (
            Run(project=project, key=f"ci-{i}", branch="main", is_complete=True,
                started_at=start + timedelta(hours=i))
            for i in range(runs)
        ),
        batch_size=5000,
    )  # fmt: skip

    def passed_in(i: int, c: int) -> int:
        # Climbs from ~60% to ~85% with a little noise.
        return min(per_cat, int(per_cat * (0.6 + 0.25 * i / max(runs - 1, 1))) + (i * 7 + c) % 3)

    stats, cat_stats = [], []
    for i, run in enumerate(run_rows):
        passed = [passed_in(i, c) for c in range(categories)]
        common = {"project": project, "branch": "main", "started_at": run.started_at,
                  "is_complete": True}  # fmt: skip
        stats.append(RunStats(run=run, passed=sum(passed), failed=TESTS - sum(passed),
                              total=per_cat * categories, **common))  # fmt: skip
        for c, cat in enumerate(cats):
            cat_stats.append(RunCategoryStats(run=run, category=cat, passed=passed[c],
                                              failed=per_cat - passed[c], total=per_cat,
                                              **common))  # fmt: skip
    RunStats.objects.bulk_create(stats, batch_size=5000)
    RunCategoryStats.objects.bulk_create(cat_stats, batch_size=10000)
    tests = Test.objects.bulk_create(
        Test(project=project, classname=f"svc{t % categories}", name=f"test_{t}",
             identity=test_identity(f"svc{t % categories}", f"test_{t}"))
        for t in range(per_cat * categories)
    )  # fmt: skip
    for i in (0, runs - 1):
        run = run_rows[i]
        upload = Upload.objects.create(project=project, run=run, status="processed")
        ok = {c: passed_in(i, c) for c in range(categories)}
        Result.objects.bulk_create(
            (
                Result(run=run, test=t, upload=upload, category=cats[n % categories],
                       outcome=1 if n // categories < ok[n % categories] else 2)
                for n, t in enumerate(tests)
            ),
            batch_size=5000,
        )  # fmt: skip
    trend_refresh(project_id=project.pk, now=end)


def time_page(client, url: str, n: int) -> tuple[float, float, int]:
    """Return the median server time and Python CPU time (ms) of `n` GETs of `url`, and
    its query count.

    The CPU time (this process only: Django, templates, charts, result parsing) does
    not count time spent waiting for PostgreSQL or for a busy machine's CPU, so it is
    the steadier figure when other work shares the machine.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    samples, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(samples), statistics.median(cpu), len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=10)
    parser.add_argument("-n", type=int, default=30, help="requests per page")
    parser.add_argument("--reuse", action="store_true", help="keep existing generated data")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ingest.models import Project

    call_command("migrate", verbosity=0)
    big, small = "bench-big", "bench-small"
    t0 = time.perf_counter()
    if not (args.reuse and Project.objects.filter(slug=big).exists()):
        generate(big, args.runs, args.categories)
    generate(small, 10, args.categories)
    if connection.vendor == "postgresql":
        # Autovacuum would do this soon after a real bulk load; without it the planner
        # has no statistics and index-only scans still visit the heap.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"generated {args.runs} runs x {args.categories} categories "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    import dashboard
    from ingest.models import Run, Test

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"code: {Path(dashboard.__file__).resolve().parent.parent}; load average {load}")
    client = Client(HTTP_HOST="localhost")
    print(
        f"{'page':<10}{'runs':>8}{'median ms':>12}{'cpu ms':>8}{'queries':>9}{'ratio':>8}  budget"
    )
    pages = (
        ("list", lambda slug: "/"),
        ("overview", lambda slug: f"/p/{slug}/"),
        ("category", lambda slug: f"/p/{slug}/c/Service 00/"),
        ("run", lambda slug: f"/p/{slug}/runs/{_latest(Run, slug)}/"),
        ("test", lambda slug: f"/p/{slug}/tests/{_first_test(Test, slug)}/"),
        ("compare", lambda slug: f"/p/{slug}/compare/"),
        ("report", lambda slug: f"/p/{slug}/report/"),
    )
    for page, path in pages:
        base_ms, base_cpu, base_q = time_page(client, path(small), args.n)
        ms, cpu, queries = time_page(client, path(big), args.n)
        verdict = "ok" if ms < 100 else "OVER"
        print(f"{page:<10}{10:>8}{base_ms:>12.1f}{base_cpu:>8.1f}{base_q:>9}{1:>8.2f}")
        print(f"{page:<10}{args.runs:>8}{ms:>12.1f}{cpu:>8.1f}{queries:>9}{ms / base_ms:>8.2f}  "
              f"<100 ms {verdict}")  # fmt: skip


def _latest(run_model, slug: str) -> str:
    runs = run_model.objects.filter(project__slug=slug).order_by("-started_at")
    return runs.values_list("key", flat=True)[0]


def _first_test(test_model, slug: str) -> int:
    return (
        test_model.objects.filter(project__slug=slug).order_by("pk").values_list("pk", flat=True)[0]
    )


if __name__ == "__main__":
    main()
