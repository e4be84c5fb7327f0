"""Load the public demo project through the real ingest path (see ``dashboard.demo``).

Idempotent: when the project ``demo`` exists the command does nothing unless
``--reset`` is given, which deletes it (with its stored raw uploads) and loads it again.

Each generated report is stored with ``ingest.services.uploads.upload_create`` exactly
as the upload API stores it, and processed by the ingest task. While the command runs,
Celery tasks run in-process (eagerly) even when ``CELERY_BROKER_URL`` is set, so the
demo loads without a worker and never waits on a broker; an upload that is still
queued afterwards (e.g. inside an outer transaction) is processed synchronously with
the idempotent ``ingest.processing.upload_process``.

Each processed upload updates its run's rollups as usual, but the per-run
"run completed" refresh (trends and test stats over the whole project, quadratic over
a bulk load) is held back while loading; the rollups, trends, test stats and the flaky
detectors' windows are then rebuilt once, so the demo is complete when the command
returns.
"""

import io
import time
from contextlib import contextmanager
from datetime import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from dashboard import demo, receivers
from dashboard.derive.detect import runs_detect
from dashboard.derive.runs import project_stats_rebuild
from dashboard.derive.teststats import test_stats_refresh
from dashboard.derive.trends import trend_refresh
from dashboard.models import RunStats
from ingest import signals
from ingest.models import Category, CategoryRule, Project, Result, Upload, UploadFile
from ingest.processing import upload_process
from ingest.services.projects import project_create
from ingest.services.uploads import IncomingReport, upload_create

# The dispatch_uid dashboard.apps uses for its run_completed receiver.
_RUN_COMPLETED_UID = "dashboard.run_completed"


@contextmanager
def _bulk_load():
    """Run Celery tasks eagerly and hold back per-run refreshes for the duration."""
    from passline.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    signals.run_completed.disconnect(dispatch_uid=_RUN_COMPLETED_UID)
    try:
        yield
    finally:
        signals.run_completed.connect(receivers.on_run_completed, dispatch_uid=_RUN_COMPLETED_UID)
        app.conf.task_always_eager = previous


def demo_project_delete(*, project: Project) -> None:
    """Delete a project, its rows and its raw upload files."""
    for raw in UploadFile.objects.filter(upload__project=project).values_list("raw", flat=True):
        if raw:
            UploadFile.raw.field.storage.delete(raw)
    with transaction.atomic():
        # Results first, in one statement over the project's runs.
        Result.objects.filter(run__project=project).delete()
        project.delete()


def demo_project_create() -> Project:
    """Create the public demo project with its categories and classname rules."""
    project = project_create(
        slug=demo.SLUG,
        name=demo.NAME,
        target_percent=demo.TARGET_PERCENT,
        default_branch=demo.DEFAULT_BRANCH,
        is_public=True,
    )
    for position, (name, (glob, *_counts)) in enumerate(demo.CATEGORIES.items()):
        category = Category.objects.create(project=project, name=name)
        CategoryRule.objects.create(
            project=project,
            category=category,
            position=position,
            field=CategoryRule.Field.CLASSNAME,
            kind=CategoryRule.Kind.GLOB,
            pattern=glob,
        )
    return project


def demo_load(*, project: Project, now: datetime) -> int:
    """Upload the demo history into ``project``; return the number of uploads."""
    uploads = 0
    for run in demo.demo_history(now=now):
        for part in run.parts:
            reports = [
                IncomingReport(
                    filename=filename,
                    content_type="application/xml",
                    stream=io.BytesIO(data),
                    size=len(data),
                )
                for filename, data in part.reports
            ]
            upload = upload_create(
                project=project,
                reports=reports,
                run_key=run.key,
                branch=run.branch,
                commit=run.commit,
                build_url=run.build_url,
                final=part.final,
                timestamp=run.started_at,
            )
            if Upload.objects.filter(pk=upload.pk, status=Upload.Status.QUEUED).exists():
                upload_process(upload_id=upload.pk)
            uploads += 1
    # Rollups are current when every upload's tasks ran; not so when the signals'
    # on_commit callbacks were deferred by an outer transaction.
    stats = RunStats.objects.filter(project=project)
    if stats.count() != project.runs.count() or stats.filter(is_complete=False).exists():
        project_stats_rebuild(project_id=project.pk)
    trend_refresh(project_id=project.pk)
    test_stats_refresh(project_id=project.pk)
    # The flaky detectors' windows (the flaky page, a category's flaky tests, a test's
    # flake rate): folded once over the whole history, as each run would have.
    runs_detect(project_id=project.pk, run_ids=list(project.runs.values_list("pk", flat=True)))
    return uploads


class Command(BaseCommand):
    help = "Create the public demo project 'demo' with a few weeks of generated history."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo project if it exists and load it again.",
        )

    def handle(self, *args, reset: bool = False, **options):
        existing = Project.objects.filter(slug=demo.SLUG).first()
        if existing is not None and not reset:
            self.stdout.write(
                f"Project {demo.SLUG!r} already exists; left as is (use --reset to reload it)."
            )
            return
        started = time.monotonic()
        with _bulk_load():
            if existing is not None:
                demo_project_delete(project=existing)
            project = demo_project_create()
            uploads = demo_load(project=project, now=timezone.now())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded project {demo.SLUG!r}: {project.runs.count()} runs from {uploads} "
                f"uploads in {time.monotonic() - started:.1f} s. Open /p/{demo.SLUG}/"
            )
        )
