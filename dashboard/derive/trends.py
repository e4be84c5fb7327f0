"""Cache a project's trends (Trend rows) from one read of the window's rollups.

``trend_refresh`` reads the default branch's complete runs in the window once for the
overall scope (RunStats) and once for every category (RunCategoryStats), computes each
scope's figures with ``dashboard.analytics.trends.trend_figures`` (pure maths) and
replaces the project's Trend rows in one short transaction under the project's trend
advisory lock. Runs flagged
incomplete are left out: a missing shard is not a real dip. Callers normally go
through ``dashboard.derive.coalesce`` so that a burst of completions costs one refresh.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.analytics.targets import effective_target_bp
from dashboard.analytics.trends import trend_figures
from dashboard.derive.locks import TRENDS, project_xact_lock
from dashboard.models import RunCategoryStats, RunStats, Trend
from ingest.models import Category, Project


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
    rows = [
        (
            None,
            trend_figures(
                points=overall, target_bp=project.target_bp, due=project.target_due, now=now
            ),
        )
    ]
    for category in Category.objects.filter(project=project):
        rows.append(
            (
                category,
                trend_figures(
                    points=per_category.get(category.pk, []),
                    target_bp=effective_target_bp(
                        project_bp=project.target_bp, category_bp=category.target_bp
                    ),
                    due=category.target_due or project.target_due,
                    now=now,
                ),
            )
        )
    with transaction.atomic():
        # Serialises writers of this project's trends only; uploads never wait on it.
        project_xact_lock(namespace=TRENDS, project_id=project.pk)
        Trend.objects.filter(project=project).delete()
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
