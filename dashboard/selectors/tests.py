"""Tests: one test's history, the failing tests of a category, the slowest results.

"Failing since" comes from ``TestStats`` (the default branch's streak, kept by the
derive side) through ``analytics.regressions.failing_since``: the category page and
the test page show the same figure. A test's history is filtered by branch like every
other page (``?branch=``, default: the project's default branch), so the history and
the streak describe the same runs.
"""

from django.utils import timezone

from dashboard.analytics.outcomes import ERROR, FAILED, NAMES
from dashboard.analytics.regressions import failing_since
from dashboard.models import RunCategoryStats, RunStats, TestStats
from ingest.models import Category, Project, Result, Test


def _failing_since(stats: TestStats | None, now) -> dict | None:
    if stats is None or not stats.failing_runs:
        return None
    run = stats.failing_since_run
    return failing_since(
        run=run.key if run else None,
        started_at=run.started_at if run else None,
        runs=stats.failing_runs,
        now=now,
    )


def test_get(*, project: Project, test_id: int) -> Test | None:
    """Return the project's test ``test_id``, or None."""
    return Test.objects.filter(project=project, pk=test_id).first()


test_get.__test__ = False  # not a pytest test, despite its name


def test_history_get(*, project: Project, test: Test, branch: str, limit: int = 200) -> dict:
    """Return a test's latest ``limit`` results on ``branch`` (oldest first) and its stats.

    Keys: branch, results (Result with run and category), stats (TestStats or None),
    failing_since ({run, started_at, runs, days} or None), last_failure (the newest
    result shown that failed, errored or was flaky, or None). Queries: 2.
    """
    results = list(
        Result.objects.filter(test=test, run__branch=branch)
        .select_related("run", "category")
        .order_by("-run__started_at", "-run_id")[:limit]
    )
    results.reverse()
    stats = TestStats.objects.filter(test=test).select_related("failing_since_run").first()
    last_failure = next(
        (r for r in reversed(results) if r.outcome in (FAILED, ERROR) or r.flaky), None
    )
    return {
        "branch": branch,
        "results": results,
        "stats": stats,
        "failing_since": _failing_since(stats, timezone.now()),
        "last_failure": last_failure,
    }


test_history_get.__test__ = False  # not a pytest test, despite its name


def failing_tests_list(
    *, project: Project, category: Category | None = None, limit: int | None = 200
) -> list[dict]:
    """Return currently failing tests, longest streak first, with "failing since".

    Each item: test_id, classname, name, category (name or None), last_outcome (word),
    failing_since {run, started_at, runs, days}. Queries: 1.
    """
    qs = TestStats.objects.filter(project=project, failing_runs__gt=0)
    if category is not None:
        qs = qs.filter(category=category)
    # Plain values, not models: a 100k-test project lists 200 of thousands of failing
    # tests, and model instances of four tables (the run's every column) cost more
    # than the query.
    rows = qs.order_by("-failing_runs", "test__classname", "test__name").values_list(
        "test_id",
        "test__classname",
        "test__name",
        "category__name",
        "last_outcome",
        "failing_runs",
        "failing_since_run__key",
        "failing_since_run__started_at",
    )
    now = timezone.now()
    return [
        {
            "test_id": test_id,
            "classname": classname,
            "name": name,
            "category": category_name,
            "last_outcome": NAMES.get(last_outcome),
            "failing_since": failing_since(
                run=since_key, started_at=since_at, runs=failing_runs, now=now
            ),
        }
        for (
            test_id,
            classname,
            name,
            category_name,
            last_outcome,
            failing_runs,
            since_key,
            since_at,
        ) in rows[:limit]
    ]


def slowest_results_list(
    *, project: Project, category: Category, branch: str, limit: int = 15
) -> list[Result]:
    """Return the category's slowest results in the latest complete run on ``branch``.

    Results have no index by category (see ``Result.category``): they are read through
    the run's (run, test) index, and only when the run's rollup says the category has
    results in it, so that a category absent from a 100k run costs no pass over it.
    Queries: 1 (the latest run, its rollup and the slowest rows are subqueries).
    """
    latest = (
        RunStats.objects.filter(project=project, branch=branch, is_complete=True)
        .order_by("-started_at", "-run_id")
        .values("run_id")[:1]
    )
    holding = RunCategoryStats.objects.filter(
        run_id__in=latest, category=category, total__gt=0
    ).values("run_id")
    # The slowest rows are picked before their tests are joined: joined first, PostgreSQL
    # may read a test row for each of the category's 25,000 results of a 100k run to keep
    # 15 of them (55 of its 85 ms, measured).
    slowest = (
        Result.objects.filter(run_id__in=holding, category=category)
        .order_by("-duration", "pk")
        .values("pk")[:limit]
    )
    return list(
        Result.objects.filter(pk__in=slowest).select_related("test").order_by("-duration", "pk")
    )
