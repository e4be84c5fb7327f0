"""Receivers of ingest's and the lifecycle's signals: they only enqueue a task after commit."""

from django.db import transaction

from notify.tasks import lifecycle_notify as lifecycle_notify_task
from notify.tasks import run_notify as run_notify_task


def on_run_completed(sender, *, run_id: int, project_id: int, **kwargs) -> None:
    """Decide and send the completed run's feedback on the ``notify`` queue."""
    transaction.on_commit(lambda: run_notify_task.delay(run_id))


def on_lifecycle_event(sender, *, event: str, project_id: int, payload: dict, **kwargs) -> None:
    """Send a lifecycle event (``test.quarantined``, …) on the ``notify`` queue."""
    transaction.on_commit(lambda: lifecycle_notify_task.delay(event, project_id, payload))
