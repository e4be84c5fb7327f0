"""Compute a run's rollups (RunStats, RunCategoryStats) from its stored results.

Counting rules, per project settings:

- ``passed``: outcome passed; with ``flaky_counts_as_pass`` off, a passed result that
  is also flaky is counted in ``failed`` instead (it failed on some attempt, and a
  pass that needed a retry is then treated as not passing). It stays in ``flaky``.
- ``total`` = passed + failed + error + skipped, or without skipped when
  ``skipped_in_total`` is off (skipped never counts as passed either way).
- ``flaky``: results flaky in the run, whatever their merged outcome.

PostgreSQL: ONE statement groups the run's results by category and upserts the
category rows, deletes the rows of categories the run no longer has, and upserts the
run's row (``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``). SQLite: one
aggregation query, then upserts of the few category rows. No Python loop over results
either way, and no lock beyond the rollup rows themselves.
"""

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Project, Result, Run

COUNT_FIELDS = ("passed", "failed", "error", "skipped", "flaky", "total", "duration")
META_FIELDS = ("project_id", "branch", "started_at", "is_complete")

_PG_ROLLUP = """
WITH agg AS (
    SELECT r.category_id,
           COUNT(*) FILTER (WHERE r.outcome = 1) AS n_passed,
           COUNT(*) FILTER (WHERE r.outcome = 2) AS n_failed,
           COUNT(*) FILTER (WHERE r.outcome = 3) AS n_error,
           COUNT(*) FILTER (WHERE r.outcome = 4) AS n_skipped,
           COUNT(*) FILTER (WHERE r.flaky) AS n_flaky,
           COUNT(*) FILTER (WHERE r.flaky AND r.outcome = 1) AS n_flaky_passed,
           COALESCE(SUM(r.duration), 0) AS duration
    FROM {result} r
    WHERE r.run_id = %(run)s
    GROUP BY r.category_id
), counts AS (
    SELECT category_id,
           n_passed - CASE WHEN %(flaky_pass)s THEN 0 ELSE n_flaky_passed END AS passed,
           n_failed + CASE WHEN %(flaky_pass)s THEN 0 ELSE n_flaky_passed END AS failed,
           n_error AS error,
           n_skipped AS skipped,
           n_flaky AS flaky,
           n_passed + n_failed + n_error
             + CASE WHEN %(skipped_in_total)s THEN n_skipped ELSE 0 END AS total,
           duration
    FROM agg
), gone AS (
    DELETE FROM {category_stats}
    WHERE run_id = %(run)s AND category_id NOT IN (SELECT category_id FROM counts)
), per_category AS (
    INSERT INTO {category_stats} AS s (
        run_id, category_id, project_id, branch, started_at, is_complete,
        passed, failed, error, skipped, flaky, total, duration)
    SELECT %(run)s, category_id, %(project)s, %(branch)s, %(started_at)s, %(complete)s,
           passed, failed, error, skipped, flaky, total, duration
    FROM counts
    ON CONFLICT (run_id, category_id) DO UPDATE SET
        project_id = EXCLUDED.project_id, branch = EXCLUDED.branch,
        started_at = EXCLUDED.started_at, is_complete = EXCLUDED.is_complete,
        passed = EXCLUDED.passed, failed = EXCLUDED.failed, error = EXCLUDED.error,
        skipped = EXCLUDED.skipped, flaky = EXCLUDED.flaky, total = EXCLUDED.total,
        duration = EXCLUDED.duration
)
INSERT INTO {run_stats} AS s (
    run_id, project_id, branch, started_at, is_complete,
    passed, failed, error, skipped, flaky, total, duration,
    flag_denominator, flag_incomplete, flag_reasons, updated_at)
SELECT %(run)s, %(project)s, %(branch)s, %(started_at)s, %(complete)s,
       COALESCE(SUM(passed), 0), COALESCE(SUM(failed), 0), COALESCE(SUM(error), 0),
       COALESCE(SUM(skipped), 0), COALESCE(SUM(flaky), 0), COALESCE(SUM(total), 0),
       COALESCE(SUM(duration), 0), false, false, '[]'::jsonb, %(now)s
FROM counts
ON CONFLICT (run_id) DO UPDATE SET
    project_id = EXCLUDED.project_id, branch = EXCLUDED.branch,
    started_at = EXCLUDED.started_at, is_complete = EXCLUDED.is_complete,
    passed = EXCLUDED.passed, failed = EXCLUDED.failed, error = EXCLUDED.error,
    skipped = EXCLUDED.skipped, flaky = EXCLUDED.flaky, total = EXCLUDED.total,
    duration = EXCLUDED.duration, updated_at = EXCLUDED.updated_at
"""


def counts_from_row(*, row: dict, skipped_in_total: bool, flaky_counts_as_pass: bool) -> dict:
    """Turn one aggregated row (raw outcome counts) into rollup counts."""
    passed = row["n_passed"]
    failed = row["n_failed"]
    if not flaky_counts_as_pass:
        passed -= row["n_flaky_passed"]
        failed += row["n_flaky_passed"]
    total = passed + failed + row["n_error"] + (row["n_skipped"] if skipped_in_total else 0)
    return {
        "passed": passed,
        "failed": failed,
        "error": row["n_error"],
        "skipped": row["n_skipped"],
        "flaky": row["n_flaky"],
        "total": total,
        "duration": float(row["duration"] or 0.0),
    }


def run_rollup_update(*, run_id: int) -> RunStats | None:
    """Recompute the rollups of one run from its results; idempotent.

    Return the run's RunStats, or None when the run no longer exists. Category rows of
    categories that no longer have results in the run are deleted.
    """
    run = Run.objects.select_related("project").filter(pk=run_id).first()
    if run is None:
        return None
    if connection.vendor == "postgresql":
        _rollup_postgresql(run)
    else:
        _rollup_orm(run)
    return RunStats.objects.get(run_id=run_id)


def run_rollup_meta_update(*, run_id: int) -> bool | None:
    """Copy the run's branch, start time and completeness onto its existing rollups.

    Return True when they changed, False when the rollups already had them, and None
    (writing nothing) when the run or its rollups do not exist yet. No result is read.
    """
    run = Run.objects.filter(pk=run_id).values("branch", "started_at", "is_complete").first()
    if run is None:
        return None
    stale = ~Q(branch=run["branch"]) | ~Q(started_at=run["started_at"])
    stale |= ~Q(is_complete=run["is_complete"])
    with transaction.atomic():
        if RunStats.objects.filter(Q(run_id=run_id) & stale).update(
            **run, updated_at=timezone.now()
        ):
            RunCategoryStats.objects.filter(run_id=run_id).update(**run)
            return True
    return False if RunStats.objects.filter(run_id=run_id).exists() else None


def project_rollups_update(*, project_id: int) -> int:
    """Recompute the rollups of every run of a project (after re-categorising).

    Each run is its own statement and transaction, so uploads and readers interleave.
    Return the number of runs recomputed.
    """
    run_ids = list(Run.objects.filter(project_id=project_id).values_list("pk", flat=True))
    for run_id in run_ids:
        run_rollup_update(run_id=run_id)
    return len(run_ids)


def _rollup_postgresql(run: Run) -> None:
    project: Project = run.project
    sql = _PG_ROLLUP.format(
        result=Result._meta.db_table,
        category_stats=RunCategoryStats._meta.db_table,
        run_stats=RunStats._meta.db_table,
    )
    params = {
        "run": run.pk,
        "project": project.pk,
        "branch": run.branch,
        "started_at": run.started_at,
        "complete": run.is_complete,
        "flaky_pass": project.flaky_counts_as_pass,
        "skipped_in_total": project.skipped_in_total,
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rollup_orm(run: Run) -> None:
    project: Project = run.project
    outcome = Result.Outcome
    rows = (
        Result.objects.filter(run=run)
        .values("category_id")
        .annotate(
            n_passed=Count("id", filter=Q(outcome=outcome.PASSED)),
            n_failed=Count("id", filter=Q(outcome=outcome.FAILED)),
            n_error=Count("id", filter=Q(outcome=outcome.ERROR)),
            n_skipped=Count("id", filter=Q(outcome=outcome.SKIPPED)),
            n_flaky=Count("id", filter=Q(flaky=True)),
            n_flaky_passed=Count("id", filter=Q(flaky=True, outcome=outcome.PASSED)),
            duration=Sum("duration"),
        )
        .order_by("category_id")
    )
    meta = {
        "project_id": project.pk,
        "branch": run.branch,
        "started_at": run.started_at,
        "is_complete": run.is_complete,
    }
    overall = dict.fromkeys(COUNT_FIELDS, 0)
    overall["duration"] = 0.0
    per_category = []
    for row in rows:  # one row per category, not per result
        counts = counts_from_row(
            row=row,
            skipped_in_total=project.skipped_in_total,
            flaky_counts_as_pass=project.flaky_counts_as_pass,
        )
        per_category.append(
            RunCategoryStats(run_id=run.pk, category_id=row["category_id"], **meta, **counts)
        )
        for name in COUNT_FIELDS:
            overall[name] += counts[name]
    update_fields = [*COUNT_FIELDS, "project", "branch", "started_at", "is_complete"]
    with transaction.atomic():
        RunCategoryStats.objects.filter(run_id=run.pk).exclude(
            category_id__in=[s.category_id for s in per_category]
        ).delete()
        RunCategoryStats.objects.bulk_create(
            per_category,
            update_conflicts=True,
            unique_fields=["run", "category"],
            update_fields=update_fields,
        )
        RunStats.objects.bulk_create(
            [RunStats(run_id=run.pk, **meta, **overall, updated_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["run"],
            update_fields=[*update_fields, "updated_at"],
        )
