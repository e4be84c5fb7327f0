"""Services that write the dashboard's cached analytics.

- ``run_stats_update(run_id=)``: rollups + denominator flags of one run.
- ``project_stats_rebuild(project_id=)``: all rollups of a project (after re-categorising).
- ``trend_refresh(project_id=, now=None)``: Trend rows of the default branch, overall
  and per category, over the last PASSLINE_TREND_WINDOW_DAYS days of complete runs.
- ``trends_refresh_all()``: trend_refresh for every project (Celery beat).
- ``test_stats_refresh(project_id=)``: see ``dashboard.flaky``;
  ``test_stats_refresh_all()`` for every project (Celery beat, hourly).

Runs flagged incomplete are left out of trends: a missing shard is not a real dip.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.analytics import trends
from dashboard.analytics.targets import target_reached, tests_needed
from dashboard.flags import run_flags_update
from dashboard.flaky import test_stats_refresh
from dashboard.models import RunCategoryStats, RunStats, Trend
from dashboard.rollups import project_rollups_update, run_rollup_update
from ingest.models import Category, Project, Run


def run_stats_update(*, run_id: int) -> RunStats | None:
    """Recompute one run's rollups and flags, then the flags of the next complete run.

    The next run's flags depend on this one (it is its "previous run").
    """
    stats = run_rollup_update(run_id=run_id)
    if stats is None:
        return None
    stats = run_flags_update(run_id=run_id)
    following = (
        RunStats.objects.filter(
            project_id=stats.project_id,
            branch=stats.branch,
            is_complete=True,
            started_at__gt=stats.started_at,
        )
        .order_by("started_at", "run_id")
        .values_list("run_id", flat=True)
        .first()
    )
    if following is not None:
        run_flags_update(run_id=following)
    return stats


def project_stats_rebuild(*, project_id: int) -> int:
    """Recompute the rollups and flags of every run of a project, oldest first."""
    count = project_rollups_update(project_id=project_id)
    run_ids = Run.objects.filter(project_id=project_id).order_by("started_at", "id")
    for run_id in run_ids.values_list("pk", flat=True):
        run_flags_update(run_id=run_id)
    return count


def _trend_row(
    *,
    points: list[tuple[datetime, int, int]],
    target_bp: int,
    due,
    now: datetime,
) -> dict:
    """Return Trend field values for (started_at, passed, total) points in time order."""
    fit = trends.theil_sen([(t, p / n) for t, p, n in points if n])
    latest = points[-1] if points else None
    reached = bool(latest) and target_reached(
        target_bp=target_bp, passed=latest[1], total=latest[2]
    )
    needed = tests_needed(target_bp=target_bp, passed=latest[1], total=latest[2]) if latest else 0
    eta_at = None if reached else trends.eta(fit=fit, target=target_bp / 10_000, now=now)
    weeks = trends.weeks_left(due=due, now=now)
    rate_needed = None
    if latest and latest[2] and not reached and weeks is not None and weeks > 0:
        rate_needed = (target_bp / 10_000 - latest[1] / latest[2]) / weeks
    return {
        "n_points": len(points),
        "slope_per_day": fit.slope_per_day if fit else None,
        "intercept": fit.intercept if fit else None,
        "anchor_at": fit.anchor_at if fit else None,
        "target_bp": target_bp,
        "target_reached": reached,
        "eta": eta_at,
        "on_track": trends.on_track(reached=reached, eta_at=eta_at, due=due, fit=fit),
        "needed_per_week": trends.needed_per_week(needed=needed, due=due, now=now),
        "rate_needed_per_week": rate_needed,
        "computed_at": now,
    }


def trend_refresh(*, project_id: int, now: datetime | None = None) -> int:
    """Recompute and cache the default branch's trends of a project; return rows written.

    Points are complete runs not flagged incomplete, started within the window
    before ``now`` (UTC, default: the current time).
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    now = now or timezone.now()
    window = settings.PASSLINE_TREND_WINDOW_DAYS
    filters = {
        "project_id": project.pk,
        "branch": project.default_branch,
        "is_complete": True,
        "started_at__gte": now - timedelta(days=window),
        "started_at__lte": now,
    }
    # Timestamps are read once per run, not once per run x category: parsing
    # datetimes dominates the cost on long histories.
    runs = list(
        RunStats.objects.filter(**filters, flag_incomplete=False)
        .order_by("started_at", "run_id")
        .values_list("run_id", "started_at", "passed", "total")
    )
    overall = [(started_at, passed, total) for _, started_at, passed, total in runs]
    started = {run_id: started_at for run_id, started_at, _, _ in runs}
    per_category: dict[int, list] = {}
    for category_id, run_id, passed, total in (
        RunCategoryStats.objects.filter(**filters)
        .order_by("started_at", "run_id")
        .values_list("category_id", "run_id", "passed", "total")
    ):
        if run_id in started:  # not flagged incomplete
            per_category.setdefault(category_id, []).append((started[run_id], passed, total))
    categories = Category.objects.filter(project=project)
    rows = [
        (
            None,
            _trend_row(
                points=overall, target_bp=project.target_bp, due=project.target_due, now=now
            ),
        )
    ]
    for category in categories:
        rows.append(
            (
                category,
                _trend_row(
                    points=per_category.get(category.pk, []),
                    target_bp=category.target_bp
                    if category.target_bp is not None
                    else project.target_bp,
                    due=category.target_due or project.target_due,
                    now=now,
                ),
            )
        )
    with transaction.atomic():
        # Serialise refreshes of one project so two workers cannot both insert.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        Trend.objects.filter(project=project).exclude(branch=project.default_branch).delete()
        Trend.objects.filter(project=project, branch=project.default_branch).delete()
        Trend.objects.bulk_create(
            Trend(
                project=project,
                category=category,
                branch=project.default_branch,
                window_days=window,
                **values,
            )
            for category, values in rows
        )
    return len(rows)


def test_stats_refresh_all(*, now: datetime | None = None) -> int:
    """Rebuild the per-test stats of every project; return the number of projects."""
    ids = list(Project.objects.values_list("pk", flat=True))
    for project_id in ids:
        test_stats_refresh(project_id=project_id, now=now)
    return len(ids)


test_stats_refresh_all.__test__ = False  # not a pytest test, despite its name


def trends_refresh_all(*, now: datetime | None = None) -> int:
    """Refresh the trends of every project; return the number of projects."""
    ids = list(Project.objects.values_list("pk", flat=True))
    for project_id in ids:
        trend_refresh(project_id=project_id, now=now)
    return len(ids)
