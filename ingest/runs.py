"""Runs: completion after a final part or a quiet period; what an upload may still change.

An upload token adds parts to runs, but it may not rewrite history: a part for the
project's baseline run, or for a run completed more than PASSLINE_RUN_REOPEN_MINUTES
ago, is refused, and so is a ``timestamp`` that dates a run before the baseline.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ingest import signals
from ingest.models import Project, Run, Upload

logger = logging.getLogger("passline.ingest")


class RunClosed(Exception):
    """An upload would rewrite history; ``detail`` says why in one sentence."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def baseline_run_id(*, project: Project) -> int | None:
    """Return the baseline run's id: the marked run, else the first complete default-branch run.

    The same rule as the dashboard's baseline figures.
    """
    if project.baseline_run_id:
        return project.baseline_run_id
    return (
        Run.objects.filter(project=project, branch=project.default_branch, is_complete=True)
        .order_by("started_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def baseline_start(*, project: Project, excluding_run_id: int | None = None) -> dt.datetime | None:
    """Return when the baseline run started (UTC), or None without a baseline.

    None also when the baseline is `excluding_run_id`: a run is never "before itself".
    """
    run_id = baseline_run_id(project=project)
    if run_id is None or run_id == excluding_run_id:
        return None
    return Run.objects.filter(pk=run_id).values_list("started_at", flat=True).first()


def run_part_check(
    *, project: Project, run: Run, created: bool, timestamp: dt.datetime | None
) -> None:
    """Raise RunClosed when an upload token may not add this part (see module doc)."""
    if not created:
        if run.pk == baseline_run_id(project=project):
            raise RunClosed(
                f"Run {run.key!r} is the project's baseline run; its results cannot be "
                "changed by an upload. Use a new run key."
            )
        window = dt.timedelta(minutes=settings.PASSLINE_RUN_REOPEN_MINUTES)
        if run.is_complete and run.completed_at and run.completed_at < timezone.now() - window:
            raise RunClosed(
                f"Run {run.key!r} was completed more than "
                f"{settings.PASSLINE_RUN_REOPEN_MINUTES} minutes ago "
                "(PASSLINE_RUN_REOPEN_MINUTES); a part cannot be added to it. "
                "Use a new run key."
            )
    if timestamp is not None:
        earliest = baseline_start(project=project, excluding_run_id=run.pk)
        if earliest is not None and timestamp < earliest:
            raise RunClosed(
                f"The timestamp {timestamp.isoformat()} is before the project's baseline run "
                f"({earliest.isoformat()}); a run cannot be dated before the baseline."
            )


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
            signals.send_after_commit(signals.run_completed, **ids)
        completed += 1
        logger.info("run completed after quiet period", extra=ids)
    return completed
