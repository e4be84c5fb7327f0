"""Receivers of ingest's signals: they only enqueue notify's task after commit."""

from django.db import transaction

from notify.tasks import run_notify as run_notify_task


def on_run_completed(sender, *, run_id: int, project_id: int, **kwargs) -> None:
    """Decide and send the completed run's feedback on the ``notify`` queue."""
    transaction.on_commit(lambda: run_notify_task.delay(run_id))
