"""Run completion: a run is complete after a final part, or after a quiet period."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ingest import signals
from ingest.models import Run, Upload

logger = logging.getLogger("passline.ingest")


def runs_complete_quiet(*, now: dt.datetime | None = None) -> int:
    """Mark complete the runs that received no part for PASSLINE_RUN_QUIET_MINUTES.

    Only runs with at least one processed upload and none still queued or processing
    qualify. Sends ``run_completed`` after commit for each. Returns how many completed.
    """
    now = now or timezone.now()
    quiet_before = now - dt.timedelta(minutes=settings.PASSLINE_RUN_QUIET_MINUTES)
    uploads = Upload.objects.filter(run=OuterRef("pk"))
    candidates = Run.objects.filter(is_complete=False, last_upload_at__lt=quiet_before).filter(
        Exists(uploads.filter(status=Upload.Status.PROCESSED)),
        ~Exists(uploads.filter(status__in=[Upload.Status.QUEUED, Upload.Status.PROCESSING])),
    )
    completed = 0
    for run_id, project_id in candidates.values_list("pk", "project_id")[:5000]:
        with transaction.atomic():
            # Conditional update: a concurrent final part may have completed it already.
            if not Run.objects.filter(pk=run_id, is_complete=False).update(
                is_complete=True, completed_at=now
            ):
                continue
            ids = {"run_id": run_id, "project_id": project_id}
            transaction.on_commit(lambda ids=ids: signals.run_completed.send(sender=Run, **ids))
        completed += 1
        logger.info("run completed after quiet period", extra=ids)
    return completed
