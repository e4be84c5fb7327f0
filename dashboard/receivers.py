"""Receivers of ingest's signals: they only record work and enqueue tasks after commit."""

from django.db import transaction

from dashboard.derive.backlog import runs_derive_request
from dashboard.tasks import project_stats_rebuild as project_stats_rebuild_task
from dashboard.tasks import run_stats_update as run_stats_update_task


def on_upload_processed(
    sender, *, upload_id: int, run_id: int, project_id: int, run_completed=False, **kwargs
) -> None:
    """Update the run's rollups once the upload's results are committed.

    When this upload also completed the run (one final part: the common case), the
    run-completed task computes the rollups itself; a second task would only redo them.
    """
    if run_completed:
        return
    # Robust: with the broker down the run's completion (or the next part) derives them.
    transaction.on_commit(lambda: run_stats_update_task.delay(run_id), robust=True)


def on_run_completed(sender, *, run_id: int, project_id: int, **kwargs) -> None:
    """Record the completed run in the derive backlog and ask for its project's pass.

    A burst of completions of one project costs one pass (``dashboard.derive.backlog``).
    """
    transaction.on_commit(lambda: runs_derive_request(project_id=project_id, run_ids=[run_id]))


def on_project_recategorized(sender, *, project_id: int, **kwargs) -> None:
    """Rebuild every rollup of the project from its re-categorised results (then trends)."""
    transaction.on_commit(lambda: project_stats_rebuild_task.delay(project_id))
