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

import atexit
import datetime as dt
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from ingest.models import Upload
from ingest.processing import stale_processing

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
    """Publish processing of each upload, in order; mark and return those published.

    Stop at the first failure (the broker is down: the rest would fail too) and
    re-raise it after marking what was published.
    """
    # Imported late: ingest.tasks imports the processing pipeline.
    from ingest.tasks import upload_process as upload_process_task

    published: list[int] = []
    try:
        for upload_id in upload_ids:
            upload_process_task.delay(upload_id)
            published.append(upload_id)
    finally:
        if published:
            Upload.objects.filter(pk__in=published).update(dispatched_at=timezone.now())
    return published


class _Publisher:
    """A daemon thread per process that publishes the ids handed to it, in batches."""

    MAX_BACKLOG = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[int] = queue.Queue(self.MAX_BACKLOG)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` seconds for what was handed over to be published.

        Run at exit, so that a short-lived process (``manage.py importreports``) does
        not leave its uploads to the dispatcher.
        """
        if self._pid != os.getpid():
            return
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)

    def submit(self, upload_id: int) -> None:
        """Queue `upload_id` for publishing; never block (the dispatcher is the backstop)."""
        with self._lock:
            if self._pid != os.getpid():
                # First use in this process (gunicorn forks after import).
                self._queue = queue.Queue(self.MAX_BACKLOG)
                threading.Thread(target=self._run, name="passline-publisher", daemon=True).start()
                self._pid = os.getpid()
                atexit.register(self.drain)
        try:
            self._queue.put_nowait(upload_id)
        except queue.Full:
            logger.warning(
                "publish backlog full; left to the dispatcher", extra={"upload_id": upload_id}
            )

    def _run(self) -> None:
        pending = self._queue
        while True:
            batch = [pending.get()]
            while len(batch) < 500:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            close_old_connections()
            try:
                _publish(batch)
            except Exception:
                # The broker (or the database) is down: the dispatcher publishes these
                # once it is back; nothing is lost, the uploads are committed.
                logger.warning(
                    "could not publish upload processing; left to the dispatcher",
                    extra={"uploads": len(batch)},
                    exc_info=True,
                )
            finally:
                close_old_connections()
                for _ in batch:
                    pending.task_done()


_publisher = _Publisher()


def upload_enqueue(*, upload_id: int) -> None:
    """Publish processing of the upload once the current transaction commits.

    Best effort and never blocking: with a broker, a background thread publishes; with
    the embedded default (eager Celery) the upload is processed right after commit.
    """
    from passline.celery import app

    if app.conf.task_always_eager:
        transaction.on_commit(lambda: _publish([upload_id]), robust=True)
    else:
        transaction.on_commit(lambda: _publisher.submit(upload_id), robust=True)


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
