"""Store the denominator-watch flags of a run (rules: ``dashboard.analytics.denominator``).

Reads rollups, plus one set-based count over two runs' results when the rate rose
(tests not passing in the compared run that vanished from this run).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.db import connection

from dashboard.analytics.denominator import (
    RunFigures,
    denominator_reasons,
    incomplete_reasons,
    rate_rose,
)
from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Category, Project, Result, Run

_VANISHED = """
SELECT COUNT(*) FROM {result} b
WHERE b.run_id = %s AND NOT ({passing})
  AND NOT EXISTS (SELECT 1 FROM {result} h WHERE h.run_id = %s AND h.test_id = b.test_id)
"""


def compare_url(*, slug: str, base_key: str, head_key: str) -> str:
    """Return the path of the compare page of two runs of a project."""
    return f"/p/{slug}/compare/?{urlencode({'base': base_key, 'head': head_key})}"


def vanished_not_passing_count(*, base_run_id: int, head_run_id: int, project: Project) -> int:
    """Count tests present and not passing in the base run and absent from the head run."""
    passing = "b.outcome = 1" if project.flaky_counts_as_pass else "b.outcome = 1 AND NOT b.flaky"
    sql = _VANISHED.format(result=Result._meta.db_table, passing=passing)
    with connection.cursor() as cursor:
        cursor.execute(sql, [base_run_id, head_run_id])
        return cursor.fetchone()[0]


def run_flags_update(*, run_id: int) -> RunStats | None:
    """Recompute the denominator-watch flags of one run from rollups; idempotent.

    The compared run and the recent runs are the latest earlier complete runs on the
    run's branch that are not flagged incomplete.
    """
    stats = RunStats.objects.filter(run_id=run_id).select_related("run__project").first()
    if stats is None:
        return None
    run: Run = stats.run
    project = run.project
    lookback = getattr(settings, "PASSLINE_INCOMPLETE_LOOKBACK_RUNS", 10)
    recent = list(
        RunStats.objects.filter(
            project_id=stats.project_id,
            branch=stats.branch,
            is_complete=True,
            flag_incomplete=False,
            started_at__lt=stats.started_at,
        )
        .exclude(run_id=run_id)
        .select_related("run")
        .order_by("-started_at", "-run_id")[:lookback]
    )
    compared = recent[0] if recent else None
    recent_ids = [r.run_id for r in recent]
    by_run: dict[int, set[int]] = {rid: set() for rid in [*recent_ids, run_id]}
    for rid, category_id in RunCategoryStats.objects.filter(
        run_id__in=by_run, total__gt=0
    ).values_list("run_id", "category_id"):
        by_run[rid].add(category_id)
    all_ids = set().union(*by_run.values())
    names = dict(Category.objects.filter(pk__in=all_ids).values_list("pk", "name"))

    head = _figures(stats)
    base = _figures(compared) if compared is not None else None
    vanished, url = 0, ""
    if compared is not None and rate_rose(run=head, compared=base):
        vanished = vanished_not_passing_count(
            base_run_id=compared.run_id, head_run_id=run_id, project=project
        )
        url = compare_url(slug=project.slug, base_key=base.key, head_key=head.key)
    denominator = denominator_reasons(
        run=head, compared=base, vanished_not_passing=vanished, compare_url=url
    )
    incomplete = incomplete_reasons(
        total=stats.total,
        categories=by_run[run_id],
        recent_totals=[r.total for r in recent],
        recent_categories=[by_run[rid] for rid in recent_ids],
        names=names,
        total_ratio=getattr(settings, "PASSLINE_INCOMPLETE_TOTAL_RATIO", 0.5),
        category_share=getattr(settings, "PASSLINE_INCOMPLETE_CATEGORY_SHARE", 0.8),
    )
    RunStats.objects.filter(pk=stats.pk).update(
        flag_denominator=bool(denominator),
        flag_incomplete=bool(incomplete),
        flag_reasons=denominator + incomplete,
        compared_run_id=compared.run_id if compared is not None else None,
    )
    stats.refresh_from_db()
    return stats


def _figures(stats: RunStats) -> RunFigures:
    return RunFigures(
        key=stats.run.key, passed=stats.passed, total=stats.total, skipped=stats.skipped
    )
