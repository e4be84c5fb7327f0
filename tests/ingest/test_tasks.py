"""Celery tasks of ingest are thin: ids in, one service call, retries on outages."""

import pytest
from django.db import OperationalError

from ingest import processing, tasks
from ingest.models import Upload
from tests.factories import ProjectFactory
from tests.ingest.test_processing import case, report, stored_upload

pytestmark = pytest.mark.django_db


def test_upload_process_task_processes_the_upload():
    upload = stored_upload(ProjectFactory(), {"r.xml": report(case("a"), case("b", "failed"))})
    tasks.upload_process.delay(upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.tests, upload.failed) == (Upload.Status.PROCESSED, 2, 1)


def test_upload_process_task_retries_on_database_outage(monkeypatch):
    upload = stored_upload(ProjectFactory(), {"r.xml": report(case("a"))})
    calls = []
    real = processing.upload_process

    def flaky_service(*, upload_id):
        calls.append(upload_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection")
        real(upload_id=upload_id)

    monkeypatch.setattr(tasks, "upload_process_service", flaky_service)
    # Eager mode runs the retry in-process right away.
    tasks.upload_process.apply(args=[upload.pk])
    assert calls == [upload.pk, upload.pk]
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED


def test_task_options_keep_messages_until_done():
    task = tasks.upload_process
    assert task.acks_late
    assert task.reject_on_worker_lost
    assert OperationalError in task.autoretry_for


def test_runs_complete_quiet_and_recategorize_tasks_call_services(monkeypatch):
    monkeypatch.setattr(tasks, "runs_complete_quiet_service", lambda: 3)
    monkeypatch.setattr(tasks, "project_recategorize_service", lambda *, project_id: project_id)
    assert tasks.runs_complete_quiet.apply().get() == 3
    assert tasks.project_recategorize.apply(args=[7]).get() == 7
    assert tasks.project_recategorize.name == "ingest.tasks.project_recategorize"


def test_beat_schedules_quiet_run_completion(settings):
    entries = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "ingest.tasks.runs_complete_quiet" in entries
