"""Benchmark a run's verdict (GET …/runs/<key>/verdict) against the length of history.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_verdict_bench \\
        .venv/bin/python benchmarks/verdict.py [--tests 2000] [--runs 100] [-n 20]

Creates the database of DATABASE_URL if missing, migrates it and generates two public
projects whose default branch has `--runs` complete runs (the baseline project: 10)
of `--tests` tests each, written with set-based SQL, then a feature-branch run with
5 % regressions, 2 % fixes, 1 % added failing tests and 1 % flaky ones. It times the
verdict through Django's test Client (the whole request: token check, queries,
serialisation), median of `-n` requests after a warm-up, with its query count, and
prints the ratio long history / baseline measured in the same run: the verdict reads
the two runs' results (and the listed tests' results in the branch's last 50 runs),
so the ratio should stay near 1.
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

from benchmarks.common import calibration_ms, ensure_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pl_verdict_bench")


def _results_sql(run_id: int, upload_id: int, category_id: int, first_test: int, tests: int,
                 outcome_sql: str, flaky_sql: str = "false") -> tuple[str, list]:  # fmt: skip
    sql = f"""
        INSERT INTO ingest_result (run_id, test_id, upload_id, category_id, category_forced,
                                   outcome, flaky, attempts, duration, message)
        SELECT %s, %s + i, %s, %s, false, {outcome_sql}, {flaky_sql}, 1, 0.01,
               CASE WHEN {outcome_sql} = 1 THEN '' ELSE 'AssertionError: boom ' || i END
        FROM generate_series(0, %s - 1) AS i
    """
    return sql, [run_id, first_test, upload_id, category_id, tests]


def generate(slug: str, *, runs: int, tests: int) -> str:
    """Create project `slug` with `runs` main runs and one feature run; return a read token."""
    from django.db import connection

    from dashboard.derive.runs import run_stats_update
    from ingest.models import Category, Project, Result, Run, Test, Upload
    from ingest.services.tokens import token_create

    Result.objects.filter(run__project__slug=slug).delete()
    Project.objects.filter(slug=slug).delete()
    project = Project.objects.create(slug=slug, name=slug, is_public=False)
    category = Category.objects.create(project=project, name="All")
    extra = tests // 100  # tests added by the feature run
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO ingest_test (project_id, identity, classname, name, file, suite,
                                        first_seen_at)
               SELECT %s, md5(%s || i), 'pkg.Class' || (i / 50), 'test_' || i, '', '', now()
               FROM generate_series(0, %s - 1) AS i""",
            [project.pk, slug, tests + extra],
        )
    first = Test.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)[0]
    start = datetime.now(UTC) - timedelta(hours=runs + 2)
    # Main: 90 % pass; test i fails when i % 10 = 0.
    for r in range(runs):
        run = Run.objects.create(
            project=project, key=f"m{r}", branch="main", started_at=start + timedelta(hours=r),
            is_complete=True,
        )  # fmt: skip
        upload = Upload.objects.create(project=project, run=run, status="processed")
        with connection.cursor() as cursor:
            cursor.execute(
                *_results_sql(run.pk, upload.pk, category.pk, first, tests,
                              "CASE WHEN i %% 10 = 0 THEN 2 ELSE 1 END")
            )  # fmt: skip
        run_stats_update(run_id=run.pk)
    head = Run.objects.create(
        project=project, key="feature-1", branch="feature", is_complete=True,
        started_at=start + timedelta(hours=runs + 1),
    )  # fmt: skip
    upload = Upload.objects.create(project=project, run=head, status="processed")
    # 5 % regressions (i % 20 = 1), 2 % fixed (i % 50 = 0 were failing), 1 % flaky.
    outcome = (
        "CASE WHEN i %% 20 = 1 THEN 2 WHEN i %% 50 = 0 THEN 1 WHEN i %% 10 = 0 THEN 2 ELSE 1 END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            *_results_sql(head.pk, upload.pk, category.pk, first, tests, outcome,
                          "i %% 100 = 3")
        )  # fmt: skip
        cursor.execute(*_results_sql(head.pk, upload.pk, category.pk, first + tests, extra, "2"))
    run_stats_update(run_id=head.pk)
    with connection.cursor() as cursor:
        # As autovacuum would after such inserts: fresh row estimates for the planner.
        cursor.execute("ANALYZE ingest_result")
        cursor.execute("ANALYZE ingest_test")
    _, token = token_create(project=project, scope="read")
    return token


def measure(slug: str, token: str, n: int) -> tuple[float, int, dict]:
    """Return (median ms, queries, body) of the verdict request, after a warm-up."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    url = f"/api/v1/projects/{slug}/runs/feature-1/verdict"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.get(url, **headers)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return statistics.median(times), len(queries), response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    print(f"machine: calibration loop {calibration_ms():.0f} ms")
    base_token = generate("verdict-short", runs=10, tests=args.tests)
    long_token = generate("verdict-long", runs=args.runs, tests=args.tests)
    short_ms, short_q, body = measure("verdict-short", base_token, args.n)
    long_ms, long_q, long_body = measure("verdict-long", long_token, args.n)
    assert body["new_failures_total"] == long_body["new_failures_total"]
    print(
        f"verdict of a {args.tests}-test run: {body['new_failures_total']} new failures, "
        f"{body['fixed_total']} fixed, {body['flaky_total']} flaky, "
        f"{body['still_failing']} still failing"
    )
    print(f"baseline  (10 runs of history): {short_ms:7.1f} ms  {short_q} queries")
    print(f"passline  ({args.runs} runs of history): {long_ms:7.1f} ms  {long_q} queries")
    print(f"ratio long/baseline: {long_ms / short_ms:.2f}")


if __name__ == "__main__":
    main()
