"""Stuck-upload sweeper: re-enqueue stuck uploads, quarantine those out of attempts."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ingest.models import Upload
from ingest.sweeper import uploads_sweep
from tests.factories import UploadFactory

pytestmark = pytest.mark.django_db

S = Upload.Status


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PASSLINE_STUCK_UPLOAD_MINUTES = 15
    settings.PASSLINE_MAX_UPLOAD_ATTEMPTS = 3


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr("ingest.tasks.upload_process.delay", calls.append)
    return calls


def upload(status, *, age_minutes=0, started_minutes=None, attempts=0, error=""):
    now = timezone.now()
    row = UploadFactory(status=status, attempts=attempts, error=error)
    started = None if started_minutes is None else now - dt.timedelta(minutes=started_minutes)
    Upload.objects.filter(pk=row.pk).update(
        created_at=now - dt.timedelta(minutes=age_minutes), started_at=started
    )
    return row


def test_requeues_stuck_uploads_after_commit(sent, django_capture_on_commit_callbacks):
    queued = upload(S.QUEUED, age_minutes=20)
    dead_worker = upload(S.PROCESSING, age_minutes=40, started_minutes=30, attempts=1)
    fresh = upload(S.QUEUED, age_minutes=5)
    busy = upload(S.PROCESSING, age_minutes=40, started_minutes=5, attempts=1)
    done = upload(S.PROCESSED, age_minutes=60, attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = uploads_sweep()
    assert sent == []  # only after commit
    for callback in callbacks:
        callback()
    assert sorted(report.requeued) == sorted([queued.pk, dead_worker.pk])
    assert sorted(sent) == sorted([queued.pk, dead_worker.pk])
    dead_worker.refresh_from_db()
    assert dead_worker.status == S.QUEUED
    for row, status in ((fresh, S.QUEUED), (busy, S.PROCESSING), (done, S.PROCESSED)):
        row.refresh_from_db()
        assert row.status == status
    assert report.quarantined == []


def test_quarantines_uploads_out_of_attempts_keeping_their_error(
    sent, django_capture_on_commit_callbacks
):
    failed = upload(S.FAILED, attempts=3, error="database went away")
    released = upload(S.QUEUED, attempts=3, error="")
    stale = upload(S.PROCESSING, age_minutes=60, started_minutes=30, attempts=3)
    last_try = upload(S.PROCESSING, age_minutes=60, started_minutes=2, attempts=3)
    bad_xml = upload(S.FAILED, attempts=1, error="not JUnit")
    with django_capture_on_commit_callbacks(execute=True):
        report = uploads_sweep()
    assert sorted(report.quarantined) == sorted([failed.pk, released.pk, stale.pk])
    assert sent == []
    failed.refresh_from_db()
    assert failed.status == S.QUARANTINED
    assert failed.error == "database went away"
    assert "Gave up after 3 attempt(s) (limit 3)" in failed.quarantine_reason
    for row, status in ((last_try, S.PROCESSING), (bad_xml, S.FAILED)):
        row.refresh_from_db()
        assert row.status == status


def test_sweep_end_to_end_processes_a_stuck_upload(django_capture_on_commit_callbacks):
    """With the real task (eager), a lost message is recovered by the sweeper."""
    from django.core.files.base import ContentFile

    from ingest.models import UploadFile

    row = upload(S.QUEUED, age_minutes=30)
    body = b'<testsuite name="s"><testcase classname="a.B" name="t"/></testsuite>'
    upload_file = UploadFile(upload=row, filename="r.xml", size=len(body), sha256="cd" * 32)
    upload_file.raw.save("r.xml", ContentFile(body), save=True)
    with django_capture_on_commit_callbacks(execute=True):
        uploads_sweep()
    row.refresh_from_db()
    assert row.status == S.PROCESSED
    assert row.tests == 1


def test_command_and_beat_entry(sent, settings, django_capture_on_commit_callbacks):
    stuck = upload(S.QUEUED, age_minutes=20)
    hopeless = upload(S.FAILED, attempts=5)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweepuploads", stdout=out)
    assert "re-enqueued 1 upload(s), quarantined 1" in out.getvalue()
    assert f"quarantined upload {hopeless.pk}" in out.getvalue()
    assert sent == [stuck.pk]
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "ingest.maintenance_tasks.uploads_sweep"
    ]
    assert entries and entries[0]["schedule"] == 300
