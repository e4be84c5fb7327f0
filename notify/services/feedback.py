"""The outbox of completed runs' feedback (``FeedbackRequest``).

The ``run_completed`` receiver records a run's request, then hands it to the process's
background publisher, which publishes ``run_notify``. ``run_notify`` removes the request
once the run's deliveries are recorded. So when the broker is down at completion the
request stays, unpublished, and ``feedback_sweep`` (Celery beat, every minute)
publishes it once the broker is back. A request published long ago and still there
(its message lost, or its task gave up) is published again: ``run_notify`` is
idempotent, a duplicate adds nothing. A request older than ``GIVE_UP`` is dropped with
a warning: a PR comment or a chat message a day late would mislead more than help.
"""

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from notify.models import FeedbackRequest

logger = logging.getLogger("passline.ops")

# A request not published this long after it was made: its publish failed.
UNPUBLISHED_AFTER = dt.timedelta(seconds=30)
# A published request still here after this: its message or its task was lost.
REPUBLISH_AFTER = dt.timedelta(minutes=10)
GIVE_UP = dt.timedelta(hours=24)


def feedback_request(*, run_id: int) -> None:
    """Record that run `run_id`'s feedback is to be decided (again, if already recorded)."""
    FeedbackRequest.objects.bulk_create([FeedbackRequest(run_id=run_id)], ignore_conflicts=True)


def feedback_published(run_ids: list[int], *, now: dt.datetime | None = None) -> None:
    """Mark the requests of `run_ids` published (their task is with the broker)."""
    FeedbackRequest.objects.filter(run_id__in=run_ids).update(published_at=now or timezone.now())


def feedback_done(*, run_id: int) -> None:
    """Remove run `run_id`'s request: its deliveries are recorded."""
    FeedbackRequest.objects.filter(run_id=run_id).delete()


def feedback_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Return the runs whose feedback must be published (again), oldest first.

    Requests older than ``GIVE_UP`` are dropped first, with a warning each batch.
    """
    now = now or timezone.now()
    expired = FeedbackRequest.objects.filter(requested_at__lt=now - GIVE_UP)
    dropped = list(expired.values_list("run_id", flat=True)[:limit])
    if dropped:
        FeedbackRequest.objects.filter(run_id__in=dropped).delete()
        logger.warning(
            "run feedback given up: not sent within a day",
            extra={"runs": len(dropped), "run_ids": dropped[:20]},
        )
    due = FeedbackRequest.objects.filter(
        Q(published_at__isnull=True, requested_at__lt=now - UNPUBLISHED_AFTER)
        | Q(published_at__lt=now - REPUBLISH_AFTER)
    )
    return list(due.order_by("requested_at").values_list("run_id", flat=True)[:limit])
