"""Periodic maintenance tasks (retention, upload dispatcher) and re-categorise progress.

Imported by ``IngestConfig.ready`` so the tasks are registered and the Celery signal
receivers below are connected in every process (web, worker, beat).
"""

import logging

from celery import shared_task
from celery.signals import task_failure, task_postrun, task_prerun
from django.db.models import Q
from django.utils import timezone

from ingest.dispatcher import recategorize_jobs_dispatch, uploads_dispatch
from ingest.models import RecategorizeJob, Result
from ingest.retention import retention_prune

logger = logging.getLogger("passline.ingest")

RECATEGORIZE_TASK = "ingest.tasks.project_recategorize"
J = RecategorizeJob.Status


@shared_task(name="ingest.maintenance_tasks.retention_prune")
def retention_prune_task() -> dict:
    """Prune old raw uploads and results; return the counts."""
    report = retention_prune()
    return {"uploads": report.uploads, "raw_files": report.raw_files, "results": report.results}


@shared_task(name="ingest.maintenance_tasks.uploads_dispatch")
def uploads_dispatch_task() -> dict:
    """Publish uploads (and re-categorisations) that need it, quarantine hopeless uploads.

    Return the ids of each.
    """
    report = uploads_dispatch()
    return {
        "published": report.published,
        "requeued": report.requeued,
        "quarantined": report.quarantined,
        "recategorize_jobs": recategorize_jobs_dispatch(),
    }


# The name beat used before the dispatcher: deployments with the DatabaseScheduler keep
# that periodic task row, so the name stays registered and does the same work.
uploads_sweep_task = shared_task(name="ingest.maintenance_tasks.uploads_sweep")(
    uploads_dispatch_task.run
)


def _project_id(args, kwargs) -> int | None:
    value = (kwargs or {}).get("project_id", args[0] if args else None)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# One task run re-applies the current rules, so it settles every job queued before it.
@task_prerun.connect
def _recategorize_started(sender=None, args=None, kwargs=None, **_) -> None:
    if getattr(sender, "name", None) != RECATEGORIZE_TASK:
        return
    project_id = _project_id(args, kwargs)
    RecategorizeJob.objects.filter(project_id=project_id, status=J.QUEUED).update(
        status=J.RUNNING, started_at=timezone.now()
    )


@task_postrun.connect
def _recategorize_finished(sender=None, args=None, kwargs=None, retval=None, state=None, **_):
    if getattr(sender, "name", None) != RECATEGORIZE_TASK or state != "SUCCESS":
        return
    project_id = _project_id(args, kwargs)
    RecategorizeJob.objects.filter(
        Q(status=J.RUNNING) | Q(status=J.QUEUED), project_id=project_id
    ).update(
        status=J.DONE,
        changed=retval if isinstance(retval, int) and retval >= 0 else None,
        results=Result.objects.filter(run__project_id=project_id).count(),
        finished_at=timezone.now(),
    )


@task_failure.connect
def _recategorize_failed(sender=None, args=None, kwargs=None, exception=None, **_) -> None:
    if getattr(sender, "name", None) != RECATEGORIZE_TASK:
        return
    project_id = _project_id(args, kwargs)
    RecategorizeJob.objects.filter(
        Q(status=J.RUNNING) | Q(status=J.QUEUED), project_id=project_id
    ).update(status=J.FAILED, error=repr(exception)[:2000], finished_at=timezone.now())
