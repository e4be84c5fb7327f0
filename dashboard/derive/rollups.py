"""Compute a run's rollups (RunStats, RunCategoryStats) from its stored results.

Counting rules, per project settings:

- ``passed``: outcome passed; with ``flaky_counts_as_pass`` off, a passed result that
  is also flaky is counted in ``failed`` instead (it failed on some attempt, and a
  pass that needed a retry is then treated as not passing). It stays in ``flaky``.
- ``total`` = passed + failed + error + skipped, or without skipped when
  ``skipped_in_total`` is off (skipped never counts as passed either way).
- ``flaky``: results flaky in the run, whatever their merged outcome.

PostgreSQL: ONE statement groups the results of a batch of runs by run and category,
upserts the category rows, deletes the rows of categories a run no longer has, and
upserts each run's row (``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``).
SQLite: one aggregation query per run, then upserts of the few category rows. No
Python loop over results either way, and no lock beyond the rollup rows themselves.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Project, Result, Run

COUNT_FIELDS = ("passed", "failed", "error", "skipped", "flaky", "total", "duration")
META_FIELDS = ("project_id", "branch", "started_at", "is_complete")

_PG_ROLLUP = """
WITH runs AS (
    SELECT id, branch, started_at, is_complete FROM {run}
    WHERE id = ANY(%(runs)s) AND project_id = %(project)s
), agg AS (
    SELECT r.run_id, r.category_id,
           COUNT(*) FILTER (WHERE r.outcome = 1) AS n_passed,
           COUNT(*) FILTER (WHERE r.outcome = 2) AS n_failed,
           COUNT(*) FILTER (WHERE r.outcome = 3) AS n_error,
           COUNT(*) FILTER (WHERE r.outcome = 4) AS n_skipped,
           COUNT(*) FILTER (WHERE r.flaky) AS n_flaky,
           COUNT(*) FILTER (WHERE r.flaky AND r.outcome = 1) AS n_flaky_passed,
           COALESCE(SUM(r.duration), 0) AS duration
    FROM {result} r
    WHERE r.run_id IN (SELECT id FROM runs)
    GROUP BY r.run_id, r.category_id
), counts AS (
    SELECT run_id, category_id,
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
    DELETE FROM {category_stats} s
    WHERE s.run_id IN (SELECT id FROM runs)
      AND NOT EXISTS (
          SELECT 1 FROM counts c WHERE c.run_id = s.run_id AND c.category_id = s.category_id)
), per_category AS (
    INSERT INTO {category_stats} AS s (
        run_id, category_id, project_id, branch, started_at, is_complete,
        passed, failed, error, skipped, flaky, total, duration)
    SELECT c.run_id, c.category_id, %(project)s, runs.branch, runs.started_at,
           runs.is_complete, c.passed, c.failed, c.error, c.skipped, c.flaky, c.total,
           c.duration
    FROM counts c JOIN runs ON runs.id = c.run_id
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
SELECT runs.id, %(project)s, runs.branch, runs.started_at, runs.is_complete,
       COALESCE(SUM(c.passed), 0), COALESCE(SUM(c.failed), 0), COALESCE(SUM(c.error), 0),
       COALESCE(SUM(c.skipped), 0), COALESCE(SUM(c.flaky), 0), COALESCE(SUM(c.total), 0),
       COALESCE(SUM(c.duration), 0), false, false, '[]'::jsonb, %(now)s
FROM runs LEFT JOIN counts c ON c.run_id = runs.id
GROUP BY runs.id, runs.branch, runs.started_at, runs.is_complete
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
    project_id = Run.objects.filter(pk=run_id).values_list("project_id", flat=True).first()
    if project_id is None:
        return None
    runs_rollups_update(project_id=project_id, run_ids=[run_id])
    return RunStats.objects.filter(run_id=run_id).first()


def runs_rollups_update(*, project_id: int, run_ids: list[int]) -> int:
    """Recompute the rollups of several runs of one project from their results.

    PostgreSQL: one statement (results grouped by run and category). Runs that no
    longer exist, or belong to another project, are skipped. Return the runs written.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not run_ids:
        return 0
    if connection.vendor == "postgresql":
        return _rollup_postgresql(project, run_ids)
    runs = list(Run.objects.filter(project=project, pk__in=run_ids))
    for run in runs:
        run.project = project
        _rollup_orm(run)
    return len(runs)


def project_rollups_update(*, project_id: int) -> int:
    """Recompute the rollups of every run of a project (after re-categorising).

    Runs go in chunks of PASSLINE_DERIVE_BATCH, each chunk its own statement and
    transaction, so uploads and readers interleave. Return the number of runs.
    """
    run_ids = list(Run.objects.filter(project_id=project_id).values_list("pk", flat=True))
    size = getattr(settings, "PASSLINE_DERIVE_BATCH", 100)
    for start in range(0, len(run_ids), size):
        runs_rollups_update(project_id=project_id, run_ids=run_ids[start : start + size])
    return len(run_ids)


def _rollup_postgresql(project: Project, run_ids: list[int]) -> int:
    sql = _PG_ROLLUP.format(
        run=Run._meta.db_table,
        result=Result._meta.db_table,
        category_stats=RunCategoryStats._meta.db_table,
        run_stats=RunStats._meta.db_table,
    )
    params = {
        "runs": list(run_ids),
        "project": project.pk,
        "flaky_pass": project.flaky_counts_as_pass,
        "skipped_in_total": project.skipped_in_total,
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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
