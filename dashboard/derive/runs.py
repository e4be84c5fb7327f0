"""What the derive layer does when an upload is processed and when runs complete.

- ``run_stats_update`` (each processed upload that did not complete its run): the
  run's rollups from its results, its flags and those of the next complete run (which
  compares with it); when the run is already complete, a coalesced trend refresh.
- ``runs_figures_update`` and ``runs_fold`` (a batch of one project's completed runs,
  from the two passes over the backlog, ``dashboard.derive.backlog``): their rollups
  in one statement, their flags and a coalesced trend refresh request (what makes
  them fresh); then one fold of the batch into the per-test stats and one into the
  flaky detectors. ``runs_derive`` does both, and ``run_completed_derive`` both for
  one run, at once.
- ``project_stats_rebuild`` (after re-categorising): every run's rollups and flags.
"""

from django.conf import settings

from dashboard.derive.coalesce import trend_refresh_request
from dashboard.derive.detect import runs_detect
from dashboard.derive.flags import runs_flags_update
from dashboard.derive.rollups import project_rollups_update, run_rollup_update, runs_rollups_update
from dashboard.derive.teststats import runs_test_stats_fold
from dashboard.models import RunStats
from ingest.models import Run


def run_stats_update(*, run_id: int) -> RunStats | None:
    """Recompute one run's rollups and flags, and the flags of the next complete run.

    Return None when the run no longer exists.
    """
    stats = run_rollup_update(run_id=run_id)
    if stats is None:
        return None
    runs_flags_update(project_id=stats.project_id, run_ids=[run_id])
    if stats.is_complete:
        # A part processed after completion changed a complete run's counts.
        trend_refresh_request(project_id=stats.project_id)
    return RunStats.objects.get(run_id=run_id)


def runs_figures_update(*, project_id: int, run_ids: list[int]) -> int:
    """Make a batch of a project's completed runs fresh; return the runs written.

    Their rollups (one statement), their flags, then a coalesced trend refresh
    request (the refresh, on another derive worker, reads rollups only). Runs that no
    longer exist are skipped.
    """
    derived = runs_rollups_update(project_id=project_id, run_ids=run_ids)
    if derived:
        runs_flags_update(project_id=project_id, run_ids=run_ids)
        trend_refresh_request(project_id=project_id)
    return derived


def runs_fold(*, project_id: int, run_ids: list[int]) -> None:
    """Fold a batch of a project's completed runs into per-test stats and flaky signals.

    Each fold equals folding the runs one by one in start order; only complete
    default-branch runs count.
    """
    runs_test_stats_fold(project_id=project_id, run_ids=run_ids)
    # Flaky detection, quarantine suggestions and auto-lift (dashboard.derive.detect).
    runs_detect(project_id=project_id, run_ids=run_ids)


def runs_derive(*, project_id: int, run_ids: list[int]) -> int:
    """Derive all a batch of completed runs changes, at once; return the runs derived.

    Each step is its own short transaction and recomputes from stored rows, so a
    retry is harmless.
    """
    derived = runs_figures_update(project_id=project_id, run_ids=run_ids)
    if derived:
        runs_fold(project_id=project_id, run_ids=run_ids)
    return derived


def run_completed_derive(*, run_id: int) -> RunStats | None:
    """Derive what one completed run changes, now; None when the run no longer exists."""
    project_id = Run.objects.filter(pk=run_id).values_list("project_id", flat=True).first()
    if project_id is None or not runs_derive(project_id=project_id, run_ids=[run_id]):
        return None
    return RunStats.objects.get(run_id=run_id)


def project_stats_rebuild(*, project_id: int) -> int:
    """Recompute the rollups and flags of every run of a project, oldest first.

    Flags go in batches of PASSLINE_DERIVE_BATCH runs in start order. Then ask for a
    trend refresh; return the number of runs.
    """
    count = project_rollups_update(project_id=project_id)
    run_ids = list(
        Run.objects.filter(project_id=project_id)
        .order_by("started_at", "id")
        .values_list("pk", flat=True)
    )
    size = getattr(settings, "PASSLINE_DERIVE_BATCH", 100)
    for start in range(0, len(run_ids), size):
        runs_flags_update(project_id=project_id, run_ids=run_ids[start : start + size])
    if count:
        trend_refresh_request(project_id=project_id)
    return count
