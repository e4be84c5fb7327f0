"""Publish upload processing to the broker: the database is the outbox.

An accepted upload is committed (status queued, ``dispatched_at`` NULL) before the API
answers 202. Publishing its processing task is best effort after commit:
``upload_enqueue`` hands the id to a background publisher thread of the process, so
that no request ever waits for the broker, and a successful publish sets
``dispatched_at``. ``uploads_dispatch`` (beat, every PASSLINE_DISPATCH_SECONDS on the
``maintenance`` queue) then publishes whatever still needs it:

- a queued upload never published (the broker was down, the web process died), once
  it is PASSLINE_DISPATCH_GRACE_SECONDS old (the publisher usually got there first);
- a queued upload published more than PASSLINE_STUCK_UPLOAD_MINUTES ago and still not
  picked up (a message the broker lost);
- a processing upload whose heartbeat is older than PASSLINE_HEARTBEAT_TIMEOUT_SECONDS
  (its worker died or hangs; see ``ingest.processing``): it is put back to queued first.

Publishing twice is harmless: processing claims an upload with a conditional UPDATE.
An upload whose ``attempts`` reached PASSLINE_MAX_UPLOAD_ATTEMPTS and that is not
processed (failed, queued again, or stuck processing) is *quarantined* instead: it keeps
its error, gets a ``quarantine_reason`` and is no longer retried until an admin presses
"retry".
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ingest.models import RecategorizeJob, Upload
from ingest.processing import stale_processing
from passline.publisher import BackgroundPublisher, publish_each

logger = logging.getLogger("passline.ingest")

S = Upload.Status
# Uploads published per dispatcher run: bounds one run's time when a backlog is large
# (the next run, seconds later, continues).
DISPATCH_BATCH = 2000


@dataclass
class DispatchReport:
    """Ids of the uploads a dispatcher run published, re-queued and quarantined."""

    published: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """Return a one-line human summary."""
        return (
            f"published {len(self.published)} upload(s) "
            f"({len(self.requeued)} stuck processing), quarantined {len(self.quarantined)}"
        )


def _publish(upload_ids: list[int]) -> list[int]:
    """Publish processing of each upload, in order; mark and return those published."""
    # Imported late: ingest.tasks imports the processing pipeline.
    from ingest.tasks import upload_process as upload_process_task

    return publish_each(
        upload_ids,
        send=upload_process_task.delay,
        mark=lambda ids: Upload.objects.filter(pk__in=ids).update(dispatched_at=timezone.now()),
    )


class _Publisher(BackgroundPublisher):
    """The process's publisher of upload processing (``passline.publisher``)."""

    def __init__(self) -> None:
        # A lambda, so that tests replacing ``_publish`` are honoured.
        super().__init__(what="upload processing", publish=lambda ids: _publish(ids))


_publisher = _Publisher()


def upload_enqueue(*, upload_id: int) -> None:
    """Publish processing of the upload once the current transaction commits.

    Best effort and never blocking: with a broker, a background thread publishes; with
    the embedded default (eager Celery) the upload is processed right after commit.
    """
    _publisher.publish_on_commit(upload_id)


def uploads_dispatch(*, now: dt.datetime | None = None) -> DispatchReport:
    """Publish the uploads that need it and quarantine hopeless ones (see module doc)."""
    now = now or timezone.now()
    max_attempts = settings.PASSLINE_MAX_UPLOAD_ATTEMPTS
    stuck_processing = stale_processing(now=now)
    report = DispatchReport()
    with transaction.atomic():
        # Processing never claims an upload out of attempts, so a queued one is hopeless
        # at once; a processing one may still be on its last attempt until it goes stale.
        hopeless = Upload.objects.filter(
            Q(status__in=[S.FAILED, S.QUEUED]) | stuck_processing, attempts__gte=max_attempts
        ).select_for_update(skip_locked=True)
        for upload in hopeless.only("pk", "attempts", "status"):
            reason = (
                f"Gave up after {upload.attempts} attempt(s) (limit {max_attempts}); "
                f"last status {upload.status} at {now:%Y-%m-%d %H:%M} UTC."
            )
            # Conditional on the status seen, so a worker finishing meanwhile wins.
            if Upload.objects.filter(pk=upload.pk, status=upload.status).update(
                status=S.QUARANTINED, quarantine_reason=reason
            ):
                report.quarantined.append(upload.pk)
                logger.warning(
                    "upload quarantined upload_id=%s attempts=%s", upload.pk, upload.attempts
                )
        stuck = Upload.objects.filter(stuck_processing, attempts__lt=max_attempts)
        for pk in stuck.values_list("pk", flat=True)[:DISPATCH_BATCH]:
            if Upload.objects.filter(stuck_processing, pk=pk).update(
                status=S.QUEUED, dispatched_at=None
            ):
                report.requeued.append(pk)
                logger.info("stuck upload re-queued upload_id=%s", pk)
    grace = now - dt.timedelta(seconds=settings.PASSLINE_DISPATCH_GRACE_SECONDS)
    lost = now - dt.timedelta(minutes=settings.PASSLINE_STUCK_UPLOAD_MINUTES)
    due = Upload.objects.filter(
        Q(dispatched_at__isnull=True, created_at__lt=grace)
        | Q(dispatched_at__isnull=True, pk__in=report.requeued)
        | Q(dispatched_at__lt=lost),
        status=S.QUEUED,
        attempts__lt=max_attempts,
    ).order_by("pk")
    ids = list(due.values_list("pk", flat=True)[:DISPATCH_BATCH])
    if ids:
        report.published = _publish(ids)
        logger.info("uploads published by the dispatcher", extra={"uploads": len(ids)})
    return report


def upload_retry(*, upload: Upload) -> bool:
    """Put a failed or quarantined upload back in the queue with fresh attempts.

    Return False (and change nothing) when the upload is in another state or its raw
    files were already pruned (there is nothing left to process).
    """
    with transaction.atomic():
        updated = Upload.objects.filter(
            pk=upload.pk, status__in=[S.FAILED, S.QUARANTINED], raw_pruned_at__isnull=True
        ).update(status=S.QUEUED, attempts=0, quarantine_reason="", dispatched_at=None)
        if updated:
            upload_enqueue(upload_id=upload.pk)
            logger.info("upload retry requested upload_id=%s", upload.pk)
    return bool(updated)


# Re-categorisation jobs use the same outbox: the job row is committed (queued,
# ``published_at`` NULL) before the settings page answers, its task is published from
# the background publisher, and the dispatcher publishes what is still due.


def _recategorize_publish(job_ids: list[int]) -> list[int]:
    """Publish the task of each queued job, in order; mark and return those published."""
    # Imported late: ingest.tasks imports the processing pipeline.
    from ingest.tasks import project_recategorize as project_recategorize_task

    queued = RecategorizeJob.objects.filter(pk__in=job_ids, status=RecategorizeJob.Status.QUEUED)
    project_of = dict(queued.values_list("pk", "project_id"))
    return publish_each(
        sorted(project_of),
        send=lambda job_id: project_recategorize_task.delay(project_of[job_id]),
        mark=lambda ids: RecategorizeJob.objects.filter(pk__in=ids).update(
            published_at=timezone.now()
        ),
    )


_recategorize_publisher = BackgroundPublisher(
    what="re-categorisation", publish=lambda ids: _recategorize_publish(ids)
)


def recategorize_enqueue(*, job_id: int) -> None:
    """Publish the job's task once the current transaction commits (never blocking)."""
    _recategorize_publisher.publish_on_commit(job_id)


def recategorize_jobs_dispatch(*, now: dt.datetime | None = None) -> list[int]:
    """Publish queued jobs never published (after the grace) or published long ago.

    Return the ids of the jobs published. Publishing twice is harmless: one task run
    applies the rules as they are and settles every job of the project queued before.
    """
    now = now or timezone.now()
    grace = now - dt.timedelta(seconds=settings.PASSLINE_DISPATCH_GRACE_SECONDS)
    lost = now - dt.timedelta(minutes=settings.PASSLINE_STUCK_UPLOAD_MINUTES)
    due = RecategorizeJob.objects.filter(
        Q(published_at__isnull=True, created_at__lt=grace) | Q(published_at__lt=lost),
        status=RecategorizeJob.Status.QUEUED,
    )
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:DISPATCH_BATCH])
    if not ids:
        return []
    published = _recategorize_publish(ids)
    logger.info("re-categorisations published by the dispatcher", extra={"jobs": len(published)})
    return published
