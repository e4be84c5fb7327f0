"""Flaky tests and per-test stats.

A result is flaky in a run when its test had both failing and passing attempts there
(ingest sets ``Result.flaky``). A test's flake rate = runs in which it was flaky /
runs in which it had a result, over the complete runs of the default branch within
the last PASSLINE_FLAKY_WINDOW_DAYS days (default: the trend window).

- ``test_stats_refresh(project_id=, now=None)`` (service, Celery beat, hourly):
  rebuild TestStats from the window's results.
- ``run_test_stats_update(run_id=)`` (service, after each completed run): fold one
  run's results into TestStats without reading the history (the hourly rebuild then
  drops results that left the window).
The read side is ``dashboard.selectors.flaky``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.analytics.outcomes import is_passing
from dashboard.models import TestStats
from ingest.models import Project, Result, Run


def flaky_window_days() -> int:
    """Return the flake-rate window in days."""
    return getattr(settings, "PASSLINE_FLAKY_WINDOW_DAYS", settings.PASSLINE_TREND_WINDOW_DAYS)


def test_stats_refresh(*, project_id: int, now: datetime | None = None) -> int:
    """Rebuild the TestStats rows of a project from the window's results; return rows.

    ``failing_since_run`` and ``failing_runs`` only look inside the window; the
    per-test history (``test_history_get``) gives the full streak.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    now = now or timezone.now()
    rows = (
        Result.objects.filter(
            run__project=project,
            run__branch=project.default_branch,
            run__is_complete=True,
            run__started_at__gte=now - timedelta(days=flaky_window_days()),
            run__started_at__lte=now,
        )
        .order_by("test_id", "-run__started_at", "-run_id")
        .values_list("test_id", "run_id", "outcome", "flaky", "category_id")
    )
    built: list[TestStats] = []
    current: TestStats | None = None
    streak_open = False
    for test_id, run_id, outcome, flaky, category_id in rows.iterator(chunk_size=5000):
        if current is None or current.test_id != test_id:
            current = TestStats(
                test_id=test_id,
                project=project,
                category_id=category_id,
                last_run_id=run_id,
                last_outcome=outcome,
                computed_at=now,
            )
            built.append(current)
            streak_open = True
        passing = is_passing(
            outcome=outcome, flaky=flaky, flaky_counts_as_pass=project.flaky_counts_as_pass
        )
        if streak_open:
            # The streak is the newest results that do not pass (skipped included).
            if passing:
                streak_open = False
            else:
                current.failing_runs += 1
                current.failing_since_run_id = run_id
        current.window_runs += 1
        current.flaky_runs += int(flaky)
    for stats in built:
        stats.flake_rate = stats.flaky_runs / stats.window_runs if stats.window_runs else 0.0
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        TestStats.objects.filter(project=project).delete()
        TestStats.objects.bulk_create(built, batch_size=2000)
    return len(built)


def run_test_stats_update(*, run_id: int) -> int:
    """Fold one complete default-branch run's results into TestStats; return rows touched.

    Tests whose stats already come from a later run are left alone (a late, older run
    is picked up by the next rebuild).
    """
    run = Run.objects.select_related("project").filter(pk=run_id, is_complete=True).first()
    if run is None or run.branch != run.project.default_branch:
        return 0
    project = run.project
    now = timezone.now()
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        existing = {
            s.test_id: s
            for s in TestStats.objects.filter(project=project).select_related("last_run")
        }
        to_create, to_update = [], []
        for test_id, outcome, flaky, category_id in Result.objects.filter(run=run).values_list(
            "test_id", "outcome", "flaky", "category_id"
        ):
            stats = existing.get(test_id)
            last = stats.last_run if stats is not None else None
            if last is not None and (last.started_at, last.pk) >= (run.started_at, run.pk):
                continue
            if stats is None:
                stats = TestStats(test_id=test_id, project=project)
                to_create.append(stats)
            else:
                to_update.append(stats)
            stats.category_id = category_id
            stats.last_run = run
            stats.last_outcome = outcome
            if is_passing(
                outcome=outcome, flaky=flaky, flaky_counts_as_pass=project.flaky_counts_as_pass
            ):
                stats.failing_runs = 0
                stats.failing_since_run = None
            else:
                stats.failing_runs += 1
                if stats.failing_since_run_id is None:
                    stats.failing_since_run = run
            stats.window_runs += 1
            stats.flaky_runs += int(flaky)
            stats.flake_rate = stats.flaky_runs / stats.window_runs
            stats.computed_at = now
        TestStats.objects.bulk_create(to_create, batch_size=2000)
        TestStats.objects.bulk_update(
            to_update,
            [
                "category",
                "last_run",
                "last_outcome",
                "failing_runs",
                "failing_since_run",
                "window_runs",
                "flaky_runs",
                "flake_rate",
                "computed_at",
            ],
            batch_size=2000,
        )
    return len(to_create) + len(to_update)


# Not a pytest test, despite its name, when a test module imports it.
test_stats_refresh.__test__ = False
