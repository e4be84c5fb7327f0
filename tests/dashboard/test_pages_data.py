"""Shared data builders for the dashboard page tests (no tests in this module)."""

from datetime import timedelta

from django.utils import timezone

from dashboard.derive.teststats import test_stats_refresh
from dashboard.derive.trends import trend_refresh
from ingest.models import Project
from tests.dashboard.analytics_data import F, P, make_run

XSS = "<script>alert(1)</script>"
XSS_CATEGORY = "<img src=x onerror=alert(2)>"


def build_history(
    project: Project,
    *,
    n_runs: int = 5,
    categories: tuple[str, ...] = ("Auth", "Cache"),
    tests_per_category: int = 4,
    branch: str | None = None,
    key_prefix: str = "r",
    step: timedelta = timedelta(hours=1),
    refresh: bool = True,
) -> list:
    """Create `n_runs` complete runs whose pass rate climbs; return them oldest first.

    In run i, test j of each category passes when j < 1 + 2 * i // (n_runs - 1), so
    the first run passes 1 test per category and the last passes 3 (one keeps failing).
    """
    start = timezone.now() - step * (n_runs + 1)
    runs = []
    for i in range(n_runs):
        passing = 1 + (2 * i) // max(n_runs - 1, 1)
        results = [
            (f"{c}.t{j}", P if j < passing else F, c)
            for c in categories
            for j in range(tests_per_category)
        ]
        runs.append(make_run(project, f"{key_prefix}{i}", start + step * i, results, branch=branch))
    if refresh:
        trend_refresh(project_id=project.pk)
        test_stats_refresh(project_id=project.pk)
    return runs
