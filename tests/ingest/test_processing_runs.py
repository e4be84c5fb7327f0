"""Run completion after a quiet period (runs_complete_quiet)."""

import datetime as dt

import pytest
from django.utils import timezone

from ingest import signals
from ingest.models import Run, Upload
from ingest.runs import runs_complete_quiet
from tests.factories import RunFactory, UploadFactory

pytestmark = pytest.mark.django_db


def _run(minutes_ago: int, *statuses: str) -> Run:
    run = RunFactory(is_complete=False)
    for status in statuses:
        UploadFactory(run=run, status=status)
    Run.objects.filter(pk=run.pk).update(
        last_upload_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return run


def test_completes_quiet_runs_with_processed_parts_only(
    settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_RUN_QUIET_MINUTES = 60
    quiet = _run(61, Upload.Status.PROCESSED, Upload.Status.FAILED)
    recent = _run(59, Upload.Status.PROCESSED)
    busy = _run(120, Upload.Status.PROCESSED, Upload.Status.PROCESSING)
    queued = _run(120, Upload.Status.PROCESSED, Upload.Status.QUEUED)
    only_failed = _run(120, Upload.Status.FAILED)
    received = []

    def on_completed(**kwargs):
        received.append(kwargs["run_id"])

    signals.run_completed.connect(on_completed)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert runs_complete_quiet() == 1
    finally:
        signals.run_completed.disconnect(on_completed)
    assert received == [quiet.pk]
    states = {r.pk: r.is_complete for r in Run.objects.all()}
    assert states == {
        quiet.pk: True,
        recent.pk: False,
        busy.pk: False,
        queued.pk: False,
        only_failed.pk: False,
    }
    assert Run.objects.get(pk=quiet.pk).completed_at is not None
    # Idempotent: nothing left to complete.
    assert runs_complete_quiet() == 0


def test_now_argument_moves_the_quiet_window(settings):
    settings.PASSLINE_RUN_QUIET_MINUTES = 60
    run = _run(10, Upload.Status.PROCESSED)
    assert runs_complete_quiet() == 0
    assert runs_complete_quiet(now=timezone.now() + dt.timedelta(hours=1)) == 1
    run.refresh_from_db()
    assert run.is_complete
