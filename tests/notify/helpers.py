"""Complete a run the way ingest does: the ``run_completed`` signal, after commit."""

from ingest import signals
from ingest.models import Run


def complete(capture, run: Run) -> None:
    """Send ``run_completed`` for ``run`` and run what its receivers queued (eager)."""
    with capture(execute=True):
        signals.run_completed.send(sender=Run, run_id=run.pk, project_id=run.project_id)
