"""Regressions, fixes and failing streaks between consecutive complete runs.

- ``previous_complete_run(*, run) -> Run | None``: the complete run on the same branch
  started just before ``run``.
- ``run_regressions_get(*, run, limit=200) -> dict``: {previous_run, regressed, fixed,
  regressed_total, fixed_total}; a regression passed in the previous complete run and
  does not pass in ``run`` (skipped included); each item is {test_id, classname, name,
  category, base_outcome, head_outcome}.
- ``failing_tests_list(*, project, category=None, limit=100) -> list[dict]``: tests
  whose latest default-branch results do not pass, longest streak first, each with
  ``failing_since`` = {run, started_at, runs, days} (from TestStats: within the
  flaky/trend window).
"""

from django.utils import timezone

from dashboard.compare import runs_compare
from dashboard.models import TestStats
from dashboard.trends import iso
from ingest.models import Category, Project, Run


def previous_complete_run(*, run: Run) -> Run | None:
    """Return the complete run on the same branch started just before ``run``."""
    return (
        Run.objects.filter(
            project_id=run.project_id,
            branch=run.branch,
            is_complete=True,
            started_at__lt=run.started_at,
        )
        .order_by("-started_at", "-id")
        .first()
    )


def run_regressions_get(*, run: Run, limit: int = 200) -> dict:
    """Return the regressions and fixes of ``run`` against the previous complete run."""
    previous = previous_complete_run(run=run)
    if previous is None:
        return {
            "previous_run": None,
            "regressed": [],
            "fixed": [],
            "regressed_total": 0,
            "fixed_total": 0,
        }
    # The comparison reads both runs' results whatever its cap, so ask for every
    # change and cut each list to ``limit`` here.
    result = runs_compare(project=run.project, base_run=previous, head_run=run, limit=10**6)
    changes = result["changes"]
    regressed = [c for c in changes if c["change"] == "regressed"]
    fixed = [c for c in changes if c["change"] == "fixed"]
    return {
        "previous_run": previous.key,
        "regressed": regressed[:limit],
        "fixed": fixed[:limit],
        "regressed_total": result["overall"]["regressed"],
        "fixed_total": result["overall"]["fixed"],
    }


def failing_tests_list(
    *, project: Project, category: Category | None = None, limit: int = 100
) -> list[dict]:
    """Return currently failing tests with "failing since run X (N runs, N days)"."""
    qs = TestStats.objects.filter(project=project, failing_runs__gt=0)
    if category is not None:
        qs = qs.filter(category=category)
    qs = qs.select_related("test", "category", "failing_since_run").order_by(
        "-failing_runs", "test_id"
    )
    now = timezone.now()
    items = []
    for s in qs[:limit]:
        since = s.failing_since_run
        items.append(
            {
                "test_id": s.test_id,
                "classname": s.test.classname,
                "name": s.test.name,
                "category": s.category.name if s.category else None,
                "failing_since": {
                    "run": since.key if since else None,
                    "started_at": iso(since.started_at) if since else None,
                    "runs": s.failing_runs,
                    "days": (now - since.started_at).days if since else None,
                },
            }
        )
    return items
