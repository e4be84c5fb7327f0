"""Re-categorisation jobs: one request to re-apply a project's rules, with its progress.

The settings page, the admin and the API record a job; ``ingest.dispatcher`` publishes
its task without making the request wait for the broker, and the task's signals
(``ingest.maintenance_tasks``) move it to running, then done or failed.
"""

import datetime as dt
import logging

from django.utils import timezone

from ingest.dispatcher import recategorize_enqueue
from ingest.models import Project, RecategorizeJob

logger = logging.getLogger("passline.ingest")

# A queued job younger than this is reused: its task will apply the latest rules.
JOB_COALESCE = dt.timedelta(minutes=10)


def recategorize_job_start(*, project: Project, user=None) -> RecategorizeJob:
    """Record a re-categorisation request and publish its task after commit.

    A job still queued (and recent) is returned instead: one task run applies the rules
    as they are when it starts, so it covers every change made before.
    """
    pending = (
        RecategorizeJob.objects.filter(
            project=project,
            status=RecategorizeJob.Status.QUEUED,
            created_at__gte=timezone.now() - JOB_COALESCE,
        )
        .order_by("-created_at")
        .first()
    )
    if pending is not None:
        return pending
    job = RecategorizeJob.objects.create(project=project, created_by=user)
    # Never waits for the broker: the job row is the outbox (ingest.dispatcher).
    recategorize_enqueue(job_id=job.pk)
    logger.info("recategorize enqueued project_id=%s job_id=%s", project.pk, job.pk)
    return job


def recategorize_job_latest(*, project: Project) -> RecategorizeJob | None:
    """Return the project's newest re-categorisation job, if any (1 query)."""
    return RecategorizeJob.objects.filter(project=project).order_by("-created_at", "-id").first()
