"""Decide what a completed run sends: one Delivery per (target, event, run)."""

import logging

from django.db import transaction

from dashboard.derive.runs import run_stats_update
from ingest.models import Run
from notify import events
from notify.models import (
    FORGE_EVENT,
    Delivery,
    ForgeIntegration,
    TargetWatch,
    Webhook,
)
from notify.selectors import rollups_fresh, target_scopes_get, verdict_get
from notify.services.feedback import feedback_done

logger = logging.getLogger(__name__)


def _target_events(*, run: Run, verdict: dict) -> list[events.TargetScope]:
    """Return the run's target scopes with their previous state, and record the new one."""
    if run.branch != run.project.default_branch:
        return []
    scopes = target_scopes_get(run=run)
    watches = {
        w.category_id: w
        for w in TargetWatch.objects.select_for_update(of=("self",))
        .filter(project=run.project)
        .select_related("run")
    }
    result = []
    for scope in scopes:
        watch = watches.get(scope.category_id)
        if watch is not None and watch.run_id == run.pk:
            # The same run again (a retried task): judge it as the first time did.
            was = watch.previous_reached
        else:
            was = watch.reached if watch is not None else None
        scope = events.TargetScope(**{**scope.__dict__, "was_reached": was})
        result.append(scope)
        if watch is None:
            TargetWatch.objects.create(
                project=run.project,
                category_id=scope.category_id,
                reached=scope.reached,
                previous_reached=None,
                run=run,
            )
        elif watch.run_id != run.pk and (
            watch.run is None or watch.run.started_at <= run.started_at
        ):
            watch.previous_reached, watch.reached, watch.run = was, scope.reached, run
            watch.save(update_fields=["previous_reached", "reached", "run", "updated_at"])
        elif watch.run_id != run.pk:
            # An older run completing late does not move the watch backwards.
            result.pop()
    return result


def run_notify(*, run_id: int) -> list[int]:
    """Record the deliveries a completed run raises; return the ids still to send.

    Then the run's feedback request (``notify.services.feedback``) is done.
    """
    ids = _deliveries_record(run_id=run_id)
    feedback_done(run_id=run_id)
    return ids


def _deliveries_record(*, run_id: int) -> list[int]:
    run = Run.objects.select_related("project").filter(pk=run_id, is_complete=True).first()
    if run is None:
        return []
    project = run.project
    webhooks = [w for w in Webhook.objects.filter(project=project, is_active=True)]
    forge = ForgeIntegration.objects.filter(project=project).first()
    pr = getattr(run, "pr", None)
    if not webhooks and not (forge and pr):
        return []
    if not rollups_fresh(run=run):
        # The derive queue has not refreshed this run yet: do it here (per run, set-based,
        # idempotent) rather than wait behind that queue.
        run_stats_update(run_id=run.pk)
    verdict = verdict_get(run=run)
    with transaction.atomic():
        raised = events.run_events(
            verdict=verdict,
            default_branch=project.default_branch,
            targets=_target_events(run=run, verdict=verdict),
        )
        rows = [
            Delivery(
                project=project, webhook=w, event=event, run=run, verdict=verdict, detail=detail
            )
            for event, detail in raised
            for w in webhooks
            if event in w.events
        ]
        if forge and pr:
            rows.append(
                Delivery(project=project, forge=forge, event=FORGE_EVENT, run=run, verdict=verdict)
            )
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = Delivery.objects.filter(run=run, status=Delivery.Status.PENDING).values_list(
        "pk", flat=True
    )
    logger.info(
        "run feedback recorded",
        extra={"run_id": run.pk, "project_id": project.pk, "events": [e for e, _ in raised]},
    )
    return list(ids)
