"""Flaky tests of a project (from TestStats).

A result is flaky in a run when its test had both failing and passing attempts there
(ingest sets ``Result.flaky``). A test's flake rate
(``analytics.flaky.flake_rate``) = runs in which it was flaky / runs in which it had a
result, over the complete default-branch runs of the flaky window.
"""

from dashboard.analytics.flaky import flake_rate
from dashboard.models import TestStats
from ingest.models import Category, Project


def flaky_tests_list(
    *, project: Project, category: Category | None = None, limit: int = 50
) -> list[dict]:
    """Return the project's flaky tests (flaky in a run of the window), most flaky first.

    Each item: test_id, name, classname, category (name or None), flaky_runs,
    window_runs, flake_rate (fraction), last_outcome (Result.Outcome value). Queries: 1.
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
            "flake_rate": flake_rate(flaky_runs=s.flaky_runs, window_runs=s.window_runs),
            "last_outcome": s.last_outcome,
        }
        for s in qs[:limit]
    ]
