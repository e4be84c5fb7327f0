"""Recompute a run's rollups (RunStats, RunCategoryStats) from its stored results.

Counting rules, per project settings:

- ``passed``: outcome passed; with ``flaky_counts_as_pass`` off, a passed result that
  is also flaky is counted in ``failed`` instead (it failed on some attempt, and a
  pass that needed a retry is then treated as not passing). It stays in ``flaky``.
- ``total`` = passed + failed + error + skipped, or without skipped when
  ``skipped_in_total`` is off (skipped never counts as passed either way).
- ``flaky``: results flaky in the run, whatever their merged outcome.
"""

from django.db import transaction
from django.db.models import Count, Q, Sum

from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Result, Run

COUNT_FIELDS = ("passed", "failed", "error", "skipped", "flaky", "total", "duration")


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


def _aggregate(run: Run) -> list[dict]:
    # One GROUP BY over the run's results, using the (run, test) index.
    outcome = Result.Outcome
    return list(
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


def run_rollup_update(*, run_id: int) -> RunStats | None:
    """Recompute the rollups of one run from its results; idempotent.

    Return the run's RunStats, or None when the run no longer exists. Category rows of
    categories that no longer have results in the run are deleted.
    """
    run = Run.objects.select_related("project").filter(pk=run_id).first()
    if run is None:
        return None
    project = run.project
    rows = _aggregate(run)
    common = {
        "project_id": project.pk,
        "branch": run.branch,
        "started_at": run.started_at,
        "is_complete": run.is_complete,
    }
    overall = dict.fromkeys(COUNT_FIELDS, 0)
    overall["duration"] = 0.0
    per_category = {}
    for row in rows:
        counts = counts_from_row(
            row=row,
            skipped_in_total=project.skipped_in_total,
            flaky_counts_as_pass=project.flaky_counts_as_pass,
        )
        per_category[row["category_id"]] = counts
        for name in COUNT_FIELDS:
            overall[name] += counts[name]
    with transaction.atomic():
        stats, _ = RunStats.objects.update_or_create(run=run, defaults={**common, **overall})
        RunCategoryStats.objects.filter(run=run).exclude(category_id__in=per_category).delete()
        existing = {
            s.category_id: s for s in RunCategoryStats.objects.filter(run=run).select_for_update()
        }
        to_create, to_update = [], []
        for category_id, counts in per_category.items():
            row = existing.get(category_id) or RunCategoryStats(
                run=run, category_id=category_id, **common
            )
            for name, value in {**common, **counts}.items():
                setattr(row, name, value)
            (to_update if row.pk else to_create).append(row)
        RunCategoryStats.objects.bulk_create(to_create)
        if to_update:
            RunCategoryStats.objects.bulk_update(
                to_update, [*COUNT_FIELDS, "branch", "started_at", "is_complete"]
            )
    return stats


def project_rollups_update(*, project_id: int) -> int:
    """Recompute the rollups of every run of a project (after re-categorising).

    Return the number of runs recomputed.
    """
    run_ids = list(Run.objects.filter(project_id=project_id).values_list("pk", flat=True))
    for run_id in run_ids:
        run_rollup_update(run_id=run_id)
    return len(run_ids)
