"""What the derive layer does when an upload is processed and when a run completes.

- ``run_stats_update`` (each processed upload): the run's rollups from its results,
  its flags and those of the next complete run (which compares with it); when the run
  is already complete, a coalesced trend refresh.
- ``run_completed_derive`` (the run completed): copy completeness onto the rollups
  (or compute them if the upload's task has not yet), flags, ask for a coalesced
  trend refresh, then fold the run into the per-test stats and the flaky detectors.
- ``project_stats_rebuild`` (after re-categorising): every run's rollups and flags.
"""

from dashboard.derive.coalesce import trend_refresh_request
from dashboard.derive.detect import run_detect
from dashboard.derive.flags import run_flags_update
from dashboard.derive.rollups import (
    project_rollups_update,
    run_rollup_meta_update,
    run_rollup_update,
)
from dashboard.derive.teststats import run_test_stats_update
from dashboard.models import RunStats
from ingest.models import Run


def _flags_update(stats: RunStats) -> RunStats:
    """Recompute the run's flags, then those of the next complete run on its branch."""
    stats = run_flags_update(run_id=stats.run_id)
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


def run_stats_update(*, run_id: int) -> RunStats | None:
    """Recompute one run's rollups and flags, and the flags of the next complete run.

    Return None when the run no longer exists.
    """
    stats = run_rollup_update(run_id=run_id)
    if stats is None:
        return None
    stats = _flags_update(stats)
    if stats.is_complete:
        # A part processed after completion changed a complete run's counts.
        trend_refresh_request(project_id=stats.project_id)
    return stats


def run_completed_derive(*, run_id: int) -> RunStats | None:
    """Derive what a completed run changes: rollups' completeness, flags, test stats, trends.

    Return None when the run no longer exists.
    """
    changed = run_rollup_meta_update(run_id=run_id)
    if changed is None:
        # The upload's own task has not run yet (or the run is gone): compute them.
        if run_rollup_update(run_id=run_id) is None:
            return None
        changed = True
    stats = RunStats.objects.get(run_id=run_id)
    if changed:
        stats = _flags_update(stats)
    # else: the upload's task already computed the flags of the complete run.
    # Trends first: the refresh (another derive worker) reads rollups only, so the
    # summary's trend is fresh while this task folds the run into per-test stats.
    trend_refresh_request(project_id=stats.project_id)
    run_test_stats_update(run_id=run_id)
    # Flaky detection, quarantine suggestions and auto-lift (dashboard.derive.detect).
    run_detect(run_id=run_id)
    return stats


def project_stats_rebuild(*, project_id: int) -> int:
    """Recompute the rollups and flags of every run of a project, oldest first.

    Then ask for a trend refresh; return the number of runs.
    """
    count = project_rollups_update(project_id=project_id)
    run_ids = Run.objects.filter(project_id=project_id).order_by("started_at", "id")
    for run_id in run_ids.values_list("pk", flat=True):
        run_flags_update(run_id=run_id)
    if count:
        trend_refresh_request(project_id=project_id)
    return count
