"""Find uploads that processing left behind: re-enqueue the stuck, quarantine the hopeless.

An upload is *stuck* when it is still queued, or still processing, more than
``PASSLINE_STUCK_UPLOAD_MINUTES`` after it was created (queued) or picked up
(processing): its broker message was lost or its worker died. It is put back to
queued and ``ingest.tasks.upload_process`` is enqueued again after commit.

An upload whose ``attempts`` reached ``PASSLINE_MAX_UPLOAD_ATTEMPTS`` and that is not
processed (failed, queued again, or stuck processing) is *quarantined*: it keeps its error, gets a
``quarantine_reason`` and is no longer retried until an admin presses "retry".
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ingest.models import Upload

logger = logging.getLogger("passline.ingest")

S = Upload.Status


@dataclass
class SweepReport:
    """Ids of the uploads the sweep re-enqueued and quarantined."""

    requeued: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """Return a one-line human summary."""
        return f"re-enqueued {len(self.requeued)} upload(s), quarantined {len(self.quarantined)}"


def upload_enqueue(*, upload_id: int) -> None:
    """Enqueue processing of the upload once the current transaction commits."""

    def send() -> None:
        # Imported late: ingest.tasks imports the processing pipeline.
        from ingest.tasks import upload_process as upload_process_task

        upload_process_task.delay(upload_id)

    transaction.on_commit(send)


def uploads_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """Re-enqueue stuck uploads and quarantine those out of attempts (see module doc)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.PASSLINE_STUCK_UPLOAD_MINUTES)
    max_attempts = settings.PASSLINE_MAX_UPLOAD_ATTEMPTS
    report = SweepReport()
    stale_processing = Q(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff),
        status=S.PROCESSING,
    )
    stuck = Q(status=S.QUEUED, created_at__lt=cutoff) | stale_processing
    with transaction.atomic():
        # Processing never claims an upload out of attempts, so a queued one is hopeless
        # at once; a processing one may still be on its last attempt until it goes stale.
        hopeless = Upload.objects.filter(
            Q(status__in=[S.FAILED, S.QUEUED]) | stale_processing, attempts__gte=max_attempts
        ).select_for_update()
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
        for pk, status in Upload.objects.filter(stuck, attempts__lt=max_attempts).values_list(
            "pk", "status"
        ):
            if Upload.objects.filter(pk=pk, status=status).update(status=S.QUEUED):
                report.requeued.append(pk)
                upload_enqueue(upload_id=pk)
                logger.info("stuck upload re-enqueued upload_id=%s was=%s", pk, status)
    return report


def upload_retry(*, upload: Upload) -> bool:
    """Put a failed or quarantined upload back in the queue with fresh attempts.

    Return False (and change nothing) when the upload is in another state or its raw
    files were already pruned (there is nothing left to process).
    """
    with transaction.atomic():
        updated = Upload.objects.filter(
            pk=upload.pk, status__in=[S.FAILED, S.QUARANTINED], raw_pruned_at__isnull=True
        ).update(status=S.QUEUED, attempts=0, quarantine_reason="")
        if updated:
            upload_enqueue(upload_id=upload.pk)
            logger.info("upload retry requested upload_id=%s", upload.pk)
    return bool(updated)
