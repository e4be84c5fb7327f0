"""Coalesce per-project work with conditional UPDATEs on a claim row (``ProjectClaim``).

Two kinds of work use it: trend refreshes (``TrendClaim``) and derive passes over the
backlog of completed runs (``DeriveClaim``, ``dashboard.derive.backlog``).

- ``claim_request`` marks the project's work as queued; only the request that flips
  ``queued`` from false to true enqueues a task (after commit), so a burst of requests
  enqueues one task.
- ``claim_run`` (the task body) claims the queued work by flipping ``queued`` back to
  false and setting ``running_since``, in one UPDATE that only matches when no run of
  the work is in progress. When another is running it marks ``resend`` and returns at
  once: its message is used up, so the running one sends one task on its way out.
  A request whose message is still waiting in the broker needs no other, so a
  request during a run causes exactly one more run, and the broker holds at most
  one message per queued request (a backlog of messages cannot build up).
- ``claims_resend`` (beat sweeps) re-sends the task of work left queued, so a message
  lost at commit delays the work, never stops it; a duplicate message finds nothing to
  claim.

A run whose worker died keeps ``running_since``; after the kind's stale limit another
claim takes over. Nothing here asks the broker what is queued or running.

The trend refresh's entry points (``trend_refresh_request``, ``trend_refresh_claimed``,
``trends_refresh_all``) are defined here too.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dashboard.derive.trends import trend_refresh
from dashboard.models import ProjectClaim, TrendClaim
from ingest.models import Project

Enqueue = Callable[[int], None]


def claim_request(*, model: type[ProjectClaim], project_id: int, enqueue: Enqueue) -> bool:
    """Mark the project's work queued; return True when this call enqueued a task.

    The task is sent after the current transaction commits.
    """
    model.objects.bulk_create([model(project_id=project_id)], ignore_conflicts=True)
    flipped = model.objects.filter(project_id=project_id, queued=False).update(
        queued=True, requested=F("requested") + 1
    )
    if not flipped:
        model.objects.filter(project_id=project_id).update(requested=F("requested") + 1)
        return False
    # A message lost to a broker outage leaves the work queued: the kind's sweep sends it.
    transaction.on_commit(lambda: enqueue(project_id), robust=True)
    return True


def claim_run(
    *,
    model: type[ProjectClaim],
    project_id: int,
    work: Callable[[], int],
    stale_seconds: int,
    enqueue: Enqueue,
) -> int | None:
    """Run the project's queued work if no other run of it is in progress.

    Return what ``work`` returned, or None when there was nothing to claim (not
    queued, or another run is in progress and will pick the request up).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=stale_seconds)
    if not _claim(model=model, project_id=project_id, now=now, stale=stale):
        # Another run is in progress: this message is used up, so that run sends one
        # task for the request on its way out ("resend").
        running = model.objects.filter(project_id=project_id, queued=True, running_since__gte=stale)
        if running.update(resend=True):
            return None
        # Nothing queued, or the other run has just finished: claim once more.
        if not _claim(model=model, project_id=project_id, now=now, stale=stale):
            return None
    try:
        return work()
    except Exception:
        # Queued again, so that the task's retry (or the next request) claims it.
        model.objects.filter(project_id=project_id).update(queued=True)
        raise
    finally:
        with transaction.atomic():
            # Locked, so that a message being used up waits and then claims itself.
            state = (
                model.objects.select_for_update()
                .filter(project_id=project_id, running_since=now)
                .values_list("queued", "resend")
                .first()
            )
            model.objects.filter(project_id=project_id, running_since=now).update(
                running_since=None, resend=False
            )
        # A request whose message was used up while this ran: exactly one more run.
        # (A request whose message is still on its way needs none.)
        if state is not None and all(state):
            transaction.on_commit(lambda: enqueue(project_id), robust=True)


def claim_requeue(*, model: type[ProjectClaim], project_id: int) -> None:
    """From inside a run: queue one more run of the work (more is left to do).

    The run in progress sends its task on the way out, unless a request's message
    is already on its way.
    """
    model.objects.filter(project_id=project_id, queued=False).update(queued=True, resend=True)


def _claim(*, model, project_id: int, now, stale) -> bool:
    return bool(
        model.objects.filter(project_id=project_id, queued=True)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(queued=False, resend=False, running_since=now, refreshed=F("refreshed") + 1)
    )


def claims_resend(
    *, model: type[ProjectClaim], project_ids: Iterable[int], enqueue: Enqueue
) -> list[int]:
    """Send the task again for every listed project whose work stayed queued, idle.

    Return those project ids. A duplicate message finds nothing to claim.
    """
    stuck = list(
        model.objects.filter(
            project_id__in=list(project_ids), queued=True, running_since__isnull=True
        ).values_list("project_id", flat=True)
    )
    for project_id in stuck:
        transaction.on_commit(lambda project_id=project_id: enqueue(project_id), robust=True)
    return stuck


def _enqueue(project_id: int) -> None:
    # Imported late: dashboard.tasks imports this module.
    from dashboard.tasks import trend_refresh as trend_refresh_task

    # A refresh reads the whole window's rollups; under a stream of completions it would
    # run back to back and take a core from ingest. Sent this many seconds late, every
    # completion meanwhile is absorbed by the one refresh. The summary's latest run and
    # its counts come from the rollups and are fresh at once; only the trend (slope,
    # ETA) lags, by at most this delay plus one refresh.
    delay = getattr(settings, "PASSLINE_TREND_REFRESH_DELAY_SECONDS", 0)
    trend_refresh_task.apply_async((project_id,), countdown=delay or None)


def trend_refresh_request(*, project_id: int, enqueue: Enqueue = _enqueue) -> bool:
    """Ask for a refresh of the project's trends; return True when a task was enqueued."""
    return claim_request(model=TrendClaim, project_id=project_id, enqueue=enqueue)


def trend_refresh_claimed(*, project_id: int, enqueue: Enqueue = _enqueue) -> int | None:
    """Run the project's queued trend refresh if no other is running.

    Return the rows written, or None when there was nothing to claim.
    """
    return claim_run(
        model=TrendClaim,
        project_id=project_id,
        # Looked up at call time, so tests can stand a slow refresh in.
        work=lambda: trend_refresh(project_id=project_id),
        stale_seconds=getattr(settings, "PASSLINE_TREND_CLAIM_STALE_SECONDS", 600),
        enqueue=enqueue,
    )


def trends_refresh_all(*, enqueue: Enqueue = _enqueue) -> int:
    """Ask for a trend refresh of every project; return the number of projects.

    Also the sweeper of lost messages: a project whose refresh stayed queued (its
    task was never sent, e.g. the broker was down at commit) is enqueued again.
    """
    ids = list(Project.objects.values_list("pk", flat=True))
    sent = {pid for pid in ids if trend_refresh_request(project_id=pid, enqueue=enqueue)}
    claims_resend(model=TrendClaim, project_ids=set(ids) - sent, enqueue=enqueue)
    return len(ids)
