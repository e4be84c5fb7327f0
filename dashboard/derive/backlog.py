"""The backlog of completed runs waiting for derive, drained per project in passes.

A run's completion records it in ``DeriveBacklog`` and asks for a derive pass of its
project, coalesced on ``DeriveClaim`` (``dashboard.derive.coalesce``): at most one
pass queued and one running per project; completions during a pass cause exactly
one more. A pass (``derive_pass_claimed``) takes the project's oldest requests, up to
PASSLINE_DERIVE_BATCH runs and PASSLINE_DERIVE_BATCH_RESULTS results (at least one
run), derives them together (``dashboard.derive.runs.runs_derive``: one statement
per step for the whole batch), deletes the requests it served, and queues one more
pass when requests are left. So under a burst the work per run shrinks, and the work
per pass does not grow with the project's history.

Nothing is lost with a message: the request is a row. ``derive_sweep`` (beat, every
minute) asks again for every project with requests older than
PASSLINE_DERIVE_SWEEP_SECONDS, re-sends a pass left queued (its message lost at
commit), and records the recently started complete runs that have neither complete
rollups nor a request (their completion's receiver never ran). A duplicate message
finds nothing to claim; a pass whose worker died is taken over after
PASSLINE_DERIVE_CLAIM_STALE_SECONDS.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.derive.coalesce import Enqueue, claim_request, claim_run, claims_resend
from dashboard.derive.runs import runs_derive
from dashboard.models import DeriveBacklog, DeriveClaim, RunStats
from ingest.models import Run, Upload


def _enqueue(project_id: int) -> None:
    # Imported late: dashboard.tasks imports this module.
    from dashboard.tasks import derive_pass as derive_pass_task

    derive_pass_task.delay(project_id)


_RECORD = """
INSERT INTO {backlog} (run_id, project_id, queued_at)
SELECT id, project_id, %s FROM {run} WHERE project_id = %s AND id IN ({runs})
ON CONFLICT (run_id) DO UPDATE SET queued_at = excluded.queued_at
"""


def runs_derive_request(
    *, project_id: int, run_ids: list[int], enqueue: Enqueue = _enqueue
) -> bool:
    """Record completed runs of a project for derive and ask for a pass.

    Return True when this call enqueued a pass (sent after the current transaction
    commits). Asking again for a run already waiting moves its request to now; runs
    that no longer exist are not recorded.
    """
    if not run_ids:
        return False
    sql = _RECORD.format(
        backlog=DeriveBacklog._meta.db_table,
        run=Run._meta.db_table,
        runs=", ".join(["%s"] * len(run_ids)),
    )
    params = [connection.ops.adapt_datetimefield_value(timezone.now()), project_id, *run_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not cursor.rowcount:
            return False
    return claim_request(model=DeriveClaim, project_id=project_id, enqueue=enqueue)


def derive_pass_claimed(*, project_id: int, enqueue: Enqueue = _enqueue) -> int | None:
    """Run the project's queued derive pass unless one is running (coalesced).

    Return the runs derived, or None when there was nothing to claim.
    """
    return claim_run(
        model=DeriveClaim,
        project_id=project_id,
        work=lambda: backlog_drain(project_id=project_id),
        stale_seconds=getattr(settings, "PASSLINE_DERIVE_CLAIM_STALE_SECONDS", 120),
        enqueue=enqueue,
    )


def backlog_drain(*, project_id: int) -> int:
    """Derive the project's oldest waiting runs in one batch; return how many were served.

    When requests are left, the project's pass is queued again (the claim's owner
    sends the task on its way out).
    """
    limit = getattr(settings, "PASSLINE_DERIVE_BATCH", 100)
    budget = getattr(settings, "PASSLINE_DERIVE_BATCH_RESULTS", 200_000)
    tests = Upload.objects.filter(run=OuterRef("run_id")).values("run").annotate(n=Sum("tests"))
    waiting = list(
        DeriveBacklog.objects.filter(project_id=project_id)
        .annotate(results=Coalesce(Subquery(tests.values("n")), 0))
        .order_by("queued_at", "run_id")
        .values_list("run_id", "queued_at", "results")[: limit + 1]
    )
    batch, results = [], 0
    for run_id, queued_at, n in waiting[:limit]:
        if batch and results + n > budget:
            break
        batch.append((run_id, queued_at))
        results += n
    if not batch:
        return 0
    run_ids = [run_id for run_id, _ in batch]
    runs_derive(project_id=project_id, run_ids=run_ids)
    # Only the requests served: a run asked for again during the pass keeps its row.
    DeriveBacklog.objects.filter(
        run_id__in=run_ids, queued_at__lte=max(queued_at for _, queued_at in batch)
    ).delete()
    if len(waiting) > len(batch):
        DeriveClaim.objects.filter(project_id=project_id).update(queued=True)
    return len(batch)


def derive_sweep(*, now: datetime | None = None, enqueue: Enqueue = _enqueue) -> int:
    """Pick up derive work whose message or receiver was lost; return the projects asked.

    Set-based and bounded: it reads the backlog's old rows and the complete runs
    started within PASSLINE_DERIVE_SWEEP_LOOKBACK_HOURS (the runs' time index).
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=getattr(settings, "PASSLINE_DERIVE_SWEEP_SECONDS", 30))
    since = now - timedelta(hours=getattr(settings, "PASSLINE_DERIVE_SWEEP_LOOKBACK_HOURS", 24))
    fresh = RunStats.objects.filter(run_id=OuterRef("pk"), is_complete=True)
    waiting = DeriveBacklog.objects.filter(run_id=OuterRef("pk"))
    missed = list(
        Run.objects.filter(is_complete=True, started_at__gte=since, completed_at__lt=cutoff)
        .filter(~Exists(fresh), ~Exists(waiting))
        .values_list("pk", "project_id")[:5000]
    )
    by_project: dict[int, list[int]] = {}
    for run_id, project_id in missed:
        by_project.setdefault(project_id, []).append(run_id)
    sent = set()
    for project_id, run_ids in by_project.items():
        if runs_derive_request(project_id=project_id, run_ids=run_ids, enqueue=enqueue):
            sent.add(project_id)
    old = set(
        DeriveBacklog.objects.filter(queued_at__lt=cutoff)
        .values_list("project_id", flat=True)
        .distinct()
    )
    for project_id in old - set(by_project):
        if claim_request(model=DeriveClaim, project_id=project_id, enqueue=enqueue):
            sent.add(project_id)
    claims_resend(model=DeriveClaim, project_ids=(old | set(by_project)) - sent, enqueue=enqueue)
    return len(old | set(by_project))
