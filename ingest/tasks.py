"""Celery tasks of ingest: thin adapters that take ids and call one service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ingest.categorize import project_recategorize as project_recategorize_service
from ingest.processing import upload_process as upload_process_service
from ingest.runs import runs_complete_quiet as runs_complete_quiet_service

# Database or storage outages are worth retrying; a bad report is not (it is recorded
# as a failed upload by the service and never raises).
TRANSIENT = (OperationalError, InterfaceError, OSError)
RECHECK_SECONDS = 5


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
    reject_on_worker_lost=True,
)
def upload_process(self, upload_id: int, recheck: bool = True) -> None:
    """Parse and store one upload (idempotent: a processed upload is left alone).

    When a live worker holds the upload, look once more after RECHECK_SECONDS: a
    message redelivered after its worker died can arrive a moment before the database
    notices the death. Later, the heartbeat and the dispatcher take over.
    """
    busy = upload_process_service(upload_id=upload_id)
    if busy and recheck:
        self.apply_async((upload_id,), {"recheck": False}, countdown=RECHECK_SECONDS)


@shared_task
def runs_complete_quiet() -> int:
    """Complete runs that received no part for PASSLINE_RUN_QUIET_MINUTES."""
    return runs_complete_quiet_service()


@shared_task(
    bind=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=5
)
def project_recategorize(self, project_id: int) -> int:
    """Re-apply the project's category rules to its stored results."""
    return project_recategorize_service(project_id=project_id)
