"""Flaky tests and per-test stats.

A result is flaky in a run when its test had both failing and passing attempts there
(ingest sets ``Result.flaky``). A test's flake rate = runs in which it was flaky /
runs in which it had a result, over the complete runs of the default branch within
the last PASSLINE_FLAKY_WINDOW_DAYS days (default: the trend window).

TestStats are written by ``dashboard.derive.teststats`` (folded in per run, rebuilt
hourly). Here:

- ``flaky_tests_list(project=, category=None, limit=50)`` (selector): from TestStats.
- ``run_flaky_tests_list(run=, limit=200)`` (selector): flaky results of one run.
"""

from dashboard.models import TestStats
from ingest.models import Category, Project, Result, Run


def is_passing(*, outcome: int, flaky: bool, flaky_counts_as_pass: bool) -> bool:
    """Return True when a result counts as passed under the project's flaky setting."""
    return outcome == Result.Outcome.PASSED and (flaky_counts_as_pass or not flaky)


def flaky_tests_list(
    *, project: Project, category: Category | None = None, limit: int = 50
) -> list[dict]:
    """Return the project's flaky tests (flake rate > 0), most flaky first.

    Each item: test_id, name, classname, category (name or None), flaky_runs,
    window_runs, flake_rate (fraction), last_outcome (Result.Outcome value).
    """
    qs = TestStats.objects.filter(project=project, flaky_runs__gt=0)
    if category is not None:
        qs = qs.filter(category=category)
    qs = qs.select_related("test", "category").order_by("-flake_rate", "-flaky_runs", "test_id")
    return [
        {
            "test_id": s.test_id,
            "name": s.test.name,
            "classname": s.test.classname,
            "category": s.category.name if s.category else None,
            "flaky_runs": s.flaky_runs,
            "window_runs": s.window_runs,
            "flake_rate": s.flake_rate,
            "last_outcome": s.last_outcome,
        }
        for s in qs[:limit]
    ]


def run_flaky_tests_list(*, run: Run, limit: int = 200) -> list[dict]:
    """Return the flaky results of one run: test_id, name, classname, category, outcome."""
    qs = (
        Result.objects.filter(run=run, flaky=True)
        .select_related("test", "category")
        .order_by("category__name", "test__classname", "test__name")
    )
    return [
        {
            "test_id": r.test_id,
            "name": r.test.name,
            "classname": r.test.classname,
            "category": r.category.name,
            "outcome": r.outcome,
            "attempts": r.attempts,
        }
        for r in qs[:limit]
    ]
