"""Coalesce trend refreshes per project with conditional UPDATEs on ``TrendClaim``.

- ``trend_refresh_request`` marks the project's refresh as queued; only the request
  that flips ``queued`` from false to true enqueues a task (after commit), so a burst
  of completions enqueues one refresh.
- ``trends_refresh_all`` (beat) asks for every project and re-sends the task of a
  refresh left queued, so a message lost at commit delays a refresh, never stops it.
- ``trend_refresh_claimed`` (the task body) claims the queued refresh by flipping
  ``queued`` back to false and setting ``running_since``, in one UPDATE that only
  matches when no refresh is running. When another refresh is running it returns at
  once: that refresh re-enqueues on its way out when it finds ``queued`` set, so a
  completion during a refresh causes exactly one more.

A refresh whose worker died keeps ``running_since``; after
PASSLINE_TREND_CLAIM_STALE_SECONDS another claim takes over. Nothing here asks the
broker what is queued or running.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dashboard.derive.trends import trend_refresh
from dashboard.models import TrendClaim
from ingest.models import Project


def _enqueue(project_id: int) -> None:
    # Imported late: dashboard.tasks imports this module.
    from dashboard.tasks import trend_refresh as trend_refresh_task

    trend_refresh_task.delay(project_id)


def trend_refresh_request(*, project_id: int, enqueue: Callable[[int], None] = _enqueue) -> bool:
    """Ask for a refresh of the project's trends; return True when a task was enqueued.

    The task is sent after the current transaction commits.
    """
    TrendClaim.objects.bulk_create([TrendClaim(project_id=project_id)], ignore_conflicts=True)
    flipped = TrendClaim.objects.filter(project_id=project_id, queued=False).update(
        queued=True, requested=F("requested") + 1
    )
    if not flipped:
        TrendClaim.objects.filter(project_id=project_id).update(requested=F("requested") + 1)
        return False
    transaction.on_commit(lambda: enqueue(project_id))
    return True


def trend_refresh_claimed(
    *, project_id: int, enqueue: Callable[[int], None] = _enqueue
) -> int | None:
    """Run the project's queued trend refresh if no other is running.

    Return the rows written, or None when there was nothing to claim (not queued, or
    another refresh is running and will pick the request up).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "PASSLINE_TREND_CLAIM_STALE_SECONDS", 600))
    claimed = (
        TrendClaim.objects.filter(project_id=project_id, queued=True)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(queued=False, running_since=now, refreshed=F("refreshed") + 1)
    )
    if not claimed:
        return None
    try:
        return trend_refresh(project_id=project_id)
    except Exception:
        # Queued again, so that the task's retry (or the next request) claims it.
        TrendClaim.objects.filter(project_id=project_id).update(queued=True)
        raise
    finally:
        TrendClaim.objects.filter(project_id=project_id, running_since=now).update(
            running_since=None
        )
        # Requests that arrived while this refresh ran: exactly one more refresh.
        if TrendClaim.objects.filter(project_id=project_id, queued=True).exists():
            transaction.on_commit(lambda: enqueue(project_id))


def trends_refresh_all(*, enqueue: Callable[[int], None] = _enqueue) -> int:
    """Ask for a trend refresh of every project; return the number of projects.

    Also the sweeper of lost messages: a project whose refresh stayed queued (its
    task was never sent, e.g. the broker was down at commit) is enqueued again; a
    duplicate message finds nothing to claim.
    """
    ids = list(Project.objects.values_list("pk", flat=True))
    sent = {pid for pid in ids if trend_refresh_request(project_id=pid, enqueue=enqueue)}
    stuck = (
        TrendClaim.objects.filter(project_id__in=ids, queued=True, running_since__isnull=True)
        .exclude(project_id__in=sent)
        .values_list("project_id", flat=True)
    )
    for project_id in stuck:
        transaction.on_commit(lambda project_id=project_id: enqueue(project_id))
    return len(ids)
