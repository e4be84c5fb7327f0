"""The backlog of completed runs waiting for derive, drained per project in two passes.

A run's completion records it in ``DeriveBacklog`` (stage ``figures``) and asks for a
figures pass of its project. Both passes are coalesced per project
(``dashboard.derive.coalesce``; ``DeriveClaim`` and ``FoldClaim``): at most one
queued and one running; requests during a pass cause exactly one more. Each pass
takes the project's oldest rows of its stage, up to PASSLINE_DERIVE_BATCH runs and
PASSLINE_DERIVE_BATCH_RESULTS results (at least one run), works on them as one batch
(one statement per step), and queues itself once more when rows are left:

- the figures pass (``derive_pass_claimed``): rollups, flags and a trend refresh
  request (``runs_figures_update``): the runs are fresh. It moves the rows to stage
  ``fold`` and asks for a fold pass;
- the fold pass (``fold_pass_claimed``): per-test stats and flaky signals
  (``runs_fold``), the slower part. It deletes the rows.

Two passes, so that a run's figures never wait behind the previous run's fold (a
100,000-test fold takes seconds): on two derive workers they run side by side. Under
a burst the work per run shrinks, and the work per pass never grows with history.

Nothing is lost with a message: the request is a row. ``derive_sweep`` (beat, every
minute) asks again for every project with rows older than
PASSLINE_DERIVE_SWEEP_SECONDS, re-sends a pass left queued (its message lost at
commit), and records the recently started complete runs that have neither complete
rollups nor a row (their completion's receiver never ran). A duplicate message finds
nothing to claim; a pass whose worker died is taken over after
PASSLINE_DERIVE_CLAIM_STALE_SECONDS.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.derive.coalesce import (
    Enqueue,
    claim_request,
    claim_requeue,
    claim_run,
    claims_resend,
)
from dashboard.derive.runs import runs_figures_update, runs_fold
from dashboard.models import DeriveBacklog, DeriveClaim, FoldClaim, RunStats
from ingest.models import Run, Upload

FIGURES, FOLD = DeriveBacklog.Stage.FIGURES, DeriveBacklog.Stage.FOLD

_RECORD = """
INSERT INTO {backlog} (run_id, project_id, stage, queued_at)
SELECT id, project_id, %s, %s FROM {run} WHERE project_id = %s AND id IN ({runs})
ON CONFLICT (run_id) DO UPDATE SET stage = excluded.stage, queued_at = excluded.queued_at
"""


def _enqueue(project_id: int) -> None:
    # Imported late: dashboard.tasks imports this module.
    from dashboard.tasks import derive_pass as derive_pass_task

    derive_pass_task.delay(project_id)


def _enqueue_fold(project_id: int) -> None:
    from dashboard.tasks import derive_fold as derive_fold_task

    # Sent a little late: the next upload of a CI pipeline's shards usually arrives
    # meanwhile, and the pass then waits for it (``fold_yields``) instead of taking a
    # core from its ingest.
    delay = getattr(settings, "PASSLINE_FOLD_YIELD_SECONDS", 1)
    derive_fold_task.apply_async((project_id,), countdown=delay or None)


def runs_derive_request(
    *, project_id: int, run_ids: list[int], enqueue: Enqueue = _enqueue
) -> bool:
    """Record completed runs of a project for derive and ask for a figures pass.

    Return True when this call enqueued a pass (sent after the current transaction
    commits). Asking again for a run already waiting puts it back to the figures
    stage, requested now; runs that no longer exist are not recorded.
    """
    if not run_ids:
        return False
    sql = _RECORD.format(
        backlog=DeriveBacklog._meta.db_table,
        run=Run._meta.db_table,
        runs=", ".join(["%s"] * len(run_ids)),
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # One commit for the row and the claim (the ingest worker pays for it per run).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [int(FIGURES), now, project_id, *run_ids])
        if not cursor.rowcount:
            return False
        return claim_request(model=DeriveClaim, project_id=project_id, enqueue=enqueue)


def _stale_seconds() -> int:
    return getattr(settings, "PASSLINE_DERIVE_CLAIM_STALE_SECONDS", 120)


def derive_pass_claimed(
    *, project_id: int, enqueue: Enqueue = _enqueue, enqueue_fold: Enqueue = _enqueue_fold
) -> int | None:
    """Run the project's queued figures pass unless one is running (coalesced).

    Return the runs made fresh, or None when there was nothing to claim.
    """
    return claim_run(
        model=DeriveClaim,
        project_id=project_id,
        work=lambda: figures_drain(project_id=project_id, enqueue_fold=enqueue_fold),
        stale_seconds=_stale_seconds(),
        enqueue=enqueue,
    )


def fold_yields(*, project_id: int, now: datetime | None = None) -> bool:
    """Whether the project's fold pass should wait for its uploads being ingested.

    A 100,000-test fold takes about a core-second of PostgreSQL; run beside the next
    upload of the same project it slowed that upload's ingest by a third (two cores).
    So the fold pass is sent PASSLINE_FOLD_YIELD_SECONDS after it is asked for, and waits
    (sent again as late) while an upload of the project is queued or processing, until
    its oldest waiting run has waited PASSLINE_FOLD_YIELD_MAX_SECONDS (then it runs
    whatever else is going on: a stream of uploads never starves it). The runs' figures
    are fresh already; per-test stats and flaky signals lag by at most that much, and
    the runs that wait meanwhile are folded in one batch.
    """
    from passline.celery import app

    longest = getattr(settings, "PASSLINE_FOLD_YIELD_MAX_SECONDS", 10)
    if not longest or app.conf.task_always_eager:  # eager: a countdown would not wait
        return False
    oldest = (
        DeriveBacklog.objects.filter(project_id=project_id, stage=FOLD)
        .order_by("queued_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    now = now or timezone.now()
    if oldest is None or now - oldest >= timedelta(seconds=longest):
        return False
    busy = (Upload.Status.QUEUED, Upload.Status.PROCESSING)
    return Upload.objects.filter(project_id=project_id, status__in=busy).exists()


def fold_pass_claimed(*, project_id: int, enqueue: Enqueue = _enqueue_fold) -> int | None:
    """Run the project's queued fold pass unless one is running (coalesced).

    Return the runs folded, or None when there was nothing to claim or the pass was
    sent again (PASSLINE_FOLD_YIELD_SECONDS later) because the project's uploads are
    being ingested (``fold_yields``: the claim stays queued, its message is the new one).
    """
    if fold_yields(project_id=project_id):
        enqueue(project_id)
        return None
    return claim_run(
        model=FoldClaim,
        project_id=project_id,
        work=lambda: fold_drain(project_id=project_id),
        stale_seconds=_stale_seconds(),
        enqueue=enqueue,
    )


def _batch_take(*, project_id: int, stage: int) -> tuple[list[int], datetime | None, bool]:
    """Return the oldest waiting runs of a stage that fit one pass, their newest request
    time, and whether more are waiting."""
    limit = getattr(settings, "PASSLINE_DERIVE_BATCH", 100)
    budget = getattr(settings, "PASSLINE_DERIVE_BATCH_RESULTS", 200_000)
    tests = Upload.objects.filter(run=OuterRef("run_id")).values("run").annotate(n=Sum("tests"))
    waiting = list(
        DeriveBacklog.objects.filter(project_id=project_id, stage=stage)
        .annotate(results=Coalesce(Subquery(tests.values("n")), 0))
        .order_by("queued_at", "run_id")
        .values_list("run_id", "queued_at", "results")[: limit + 1]
    )
    run_ids, newest, results = [], None, 0
    for run_id, queued_at, n in waiting[:limit]:
        if run_ids and results + n > budget:
            break
        run_ids.append(run_id)
        newest = queued_at if newest is None else max(newest, queued_at)
        results += n
    return run_ids, newest, len(waiting) > len(run_ids)


def figures_drain(*, project_id: int, enqueue_fold: Enqueue = _enqueue_fold) -> int:
    """Make the project's oldest waiting runs fresh in one batch; return how many.

    The runs move on to the fold stage and a fold pass is asked for. When runs are
    left, the figures pass is queued again (the claim's owner sends it on its way out).
    """
    run_ids, newest, more = _batch_take(project_id=project_id, stage=FIGURES)
    if not run_ids:
        return 0
    runs_figures_update(project_id=project_id, run_ids=run_ids)
    with transaction.atomic():
        # Only the requests served: a run asked for again during the pass stays here.
        DeriveBacklog.objects.filter(
            run_id__in=run_ids, stage=FIGURES, queued_at__lte=newest
        ).update(stage=FOLD)
        claim_request(model=FoldClaim, project_id=project_id, enqueue=enqueue_fold)
    if more:
        claim_requeue(model=DeriveClaim, project_id=project_id)
    return len(run_ids)


def fold_drain(*, project_id: int) -> int:
    """Fold the project's oldest made-fresh runs in one batch; return how many."""
    run_ids, newest, more = _batch_take(project_id=project_id, stage=FOLD)
    if not run_ids:
        return 0
    runs_fold(project_id=project_id, run_ids=run_ids)
    DeriveBacklog.objects.filter(run_id__in=run_ids, stage=FOLD, queued_at__lte=newest).delete()
    if more:
        claim_requeue(model=FoldClaim, project_id=project_id)
    return len(run_ids)


def derive_sweep(
    *,
    now: datetime | None = None,
    enqueue: Enqueue = _enqueue,
    enqueue_fold: Enqueue = _enqueue_fold,
) -> int:
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
    for project_id, run_ids in by_project.items():
        runs_derive_request(project_id=project_id, run_ids=run_ids, enqueue=enqueue)
    asked = set(by_project)
    for stage, model, send in ((FIGURES, DeriveClaim, enqueue), (FOLD, FoldClaim, enqueue_fold)):
        old = set(
            DeriveBacklog.objects.filter(stage=stage, queued_at__lt=cutoff)
            .values_list("project_id", flat=True)
            .distinct()
        )
        if stage == FIGURES:
            old -= set(by_project)  # just asked for
        sent = {p for p in old if claim_request(model=model, project_id=p, enqueue=send)}
        claims_resend(model=model, project_ids=old - sent, enqueue=send)
        asked |= old
    return len(asked)
