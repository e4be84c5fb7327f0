"""The outbox of completed runs' feedback (``FeedbackRequest``).

The ``run_completed`` receiver records a run's request, then hands it to the process's
background publisher, which publishes ``run_notify``. ``run_notify`` marks the request
done once the run's deliveries are recorded. So when the broker is down at completion
the request stays, unpublished, and ``feedback_sweep`` (Celery beat, every minute)
publishes it once the broker is back. A request published long ago and not done (its
message lost, or its task gave up) is published again: ``run_notify`` is idempotent, a
duplicate adds nothing. A run completed at least a minute ago with no request at all
(its worker died between the commit and the receiver) gets one, if its project had a
webhook or a forge by then. Requests are kept ``GIVE_UP`` (a day): one not done by
then is dropped with a warning, as a PR comment or a chat message a day late would
mislead more than help.
"""

import datetime as dt
import logging

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ingest.models import Run
from notify.models import FeedbackRequest, ForgeIntegration, Webhook

logger = logging.getLogger("passline.ops")

# A request not published this long after it was made: its publish failed.
UNPUBLISHED_AFTER = dt.timedelta(seconds=30)
# A published request still here after this: its message or its task was lost.
REPUBLISH_AFTER = dt.timedelta(minutes=10)
GIVE_UP = dt.timedelta(hours=24)
# A completed run without a request this long after completion: its receiver never ran.
RECEIVER_MISSED_AFTER = dt.timedelta(seconds=60)


def feedback_request(*, run_id: int) -> None:
    """Record that run `run_id`'s feedback is to be decided (a request already there,
    done or not, is left as it is: ``run_notify`` is idempotent)."""
    FeedbackRequest.objects.bulk_create([FeedbackRequest(run_id=run_id)], ignore_conflicts=True)


def feedback_published(run_ids: list[int], *, now: dt.datetime | None = None) -> None:
    """Mark the requests of `run_ids` published (their task is with the broker)."""
    FeedbackRequest.objects.filter(run_id__in=run_ids).update(published_at=now or timezone.now())


def feedback_done(*, run_id: int) -> None:
    """Mark run `run_id`'s request done: its deliveries are recorded."""
    FeedbackRequest.objects.filter(run_id=run_id).update(done_at=timezone.now())


def feedback_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Return the runs whose feedback must be published (again), oldest first.

    First drops requests older than ``GIVE_UP`` (a warning for those not done) and
    records the requests of runs whose receiver never ran (``_missed_record``).
    """
    now = now or timezone.now()
    expired = FeedbackRequest.objects.filter(requested_at__lt=now - GIVE_UP)
    dropped = list(expired.filter(done_at__isnull=True).values_list("run_id", flat=True)[:limit])
    if dropped:
        logger.warning(
            "run feedback given up: not sent within a day",
            extra={"runs": len(dropped), "run_ids": dropped[:20]},
        )
    expired.delete()
    _missed_record(now=now, limit=limit)
    due = FeedbackRequest.objects.filter(done_at__isnull=True).filter(
        Q(published_at__isnull=True, requested_at__lt=now - UNPUBLISHED_AFTER)
        | Q(published_at__lt=now - REPUBLISH_AFTER)
    )
    return list(due.order_by("requested_at").values_list("run_id", flat=True)[:limit])


def _missed_record(*, now: dt.datetime, limit: int) -> None:
    """Request the feedback of recently completed runs whose receiver never ran.

    Only runs of projects that had an active webhook or a forge when the run completed
    (a receiver added later does not send for older runs), started within ``GIVE_UP``
    (the runs' time index) and completed at least ``RECEIVER_MISSED_AFTER`` ago.
    """
    hook = Webhook.objects.filter(
        project_id=OuterRef("project_id"), is_active=True, created_at__lte=OuterRef("completed_at")
    )
    forge = ForgeIntegration.objects.filter(
        project_id=OuterRef("project_id"), created_at__lte=OuterRef("completed_at")
    )
    projects = set(Webhook.objects.filter(is_active=True).values_list("project_id", flat=True))
    projects |= set(ForgeIntegration.objects.values_list("project_id", flat=True))
    if not projects:
        return
    missed = list(
        Run.objects.filter(
            project_id__in=projects,
            is_complete=True,
            started_at__gte=now - GIVE_UP,
            completed_at__lt=now - RECEIVER_MISSED_AFTER,
        )
        .filter(Exists(hook) | Exists(forge))
        .filter(~Exists(FeedbackRequest.objects.filter(run_id=OuterRef("pk"))))
        .values_list("pk", flat=True)[:limit]
    )
    if missed:
        asked = now - UNPUBLISHED_AFTER - dt.timedelta(seconds=1)  # due at once
        FeedbackRequest.objects.bulk_create(
            [FeedbackRequest(run_id=pk, requested_at=asked) for pk in missed],
            ignore_conflicts=True,
        )
        logger.warning(
            "run feedback requested by the sweep: the run's receiver never ran",
            extra={"runs": len(missed), "run_ids": missed[:20]},
        )
