"""Retention: old raw files and old results go, in batches; runs and rollups stay."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import RunStats
from ingest.categorize import category_uncategorized
from ingest.models import Result, Run, Upload, UploadFile
from ingest.retention import retention_prune
from tests.factories import ProjectFactory, RunFactory, TestFactory, UploadFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.PASSLINE_RAW_RETENTION_DAYS = 30
    settings.PASSLINE_RESULT_RETENTION_DAYS = 100


def upload_with_file(run, *, created_at, status=Upload.Status.PROCESSED, body=b"<testsuite/>"):
    upload = UploadFactory(run=run, status=status)
    Upload.objects.filter(pk=upload.pk).update(created_at=created_at)
    upload_file = UploadFile(upload=upload, filename="r.xml", size=len(body), sha256="ab" * 32)
    upload_file.raw.save("r.xml", ContentFile(body), save=True)
    return upload, upload_file


def run_with_results(project, *, started_at, n):
    run = RunFactory(project=project, started_at=started_at)
    upload = UploadFactory(run=run)
    category = category_uncategorized(project_id=project.pk)
    for _ in range(n):
        test = TestFactory(project=project)
        Result.objects.create(run=run, test=test, upload=upload, category_id=category, outcome=1)
    return run


def test_deletes_only_raw_files_older_than_the_window():
    run = RunFactory()
    old, old_file = upload_with_file(run, created_at=NOW - dt.timedelta(days=31))
    new, new_file = upload_with_file(run, created_at=NOW - dt.timedelta(days=29))
    old_name, new_name = old_file.raw.name, new_file.raw.name
    report = retention_prune(now=NOW)
    assert (report.uploads, report.raw_files, report.raw_bytes) == (1, 1, len(b"<testsuite/>"))
    assert not default_storage.exists(old_name)
    assert default_storage.exists(new_name)
    old_file.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert old_file.raw.name == ""
    assert old.raw_pruned_at is not None
    assert new.raw_pruned_at is None
    # A second prune finds nothing more.
    assert retention_prune(now=NOW).raw_files == 0


def test_keeps_raw_files_of_uploads_still_waiting_to_be_processed():
    _upload, upload_file = upload_with_file(
        RunFactory(), created_at=NOW - dt.timedelta(days=90), status=Upload.Status.QUEUED
    )
    assert retention_prune(now=NOW).raw_files == 0
    assert default_storage.exists(upload_file.raw.name)


def test_deletes_only_old_results_and_keeps_runs_tests_and_rollups():
    project = ProjectFactory()
    old = run_with_results(project, started_at=NOW - dt.timedelta(days=101), n=3)
    new = run_with_results(project, started_at=NOW - dt.timedelta(days=99), n=2)
    RunStats.objects.create(run=old, project=project, started_at=old.started_at, passed=3)
    report = retention_prune(now=NOW)
    assert report.results == 3
    assert not Result.objects.filter(run=old).exists()
    assert Result.objects.filter(run=new).count() == 2
    assert Run.objects.filter(pk=old.pk).exists()
    assert project.tests.count() == 5
    assert RunStats.objects.filter(run=old).exists()


def test_results_are_deleted_in_batches_of_the_given_size():
    project = ProjectFactory()
    run_with_results(project, started_at=NOW - dt.timedelta(days=200), n=7)
    with CaptureQueriesContext(connection) as queries:
        report = retention_prune(now=NOW, batch_size=3)
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert report.results == 7
    assert len(deletes) == 3  # 3 + 3 + 1 rows, one short transaction each
    assert not Result.objects.exists()


def test_dry_run_counts_and_changes_nothing():
    project = ProjectFactory()
    run_with_results(project, started_at=NOW - dt.timedelta(days=200), n=4)
    _, upload_file = upload_with_file(
        RunFactory(project=project), created_at=NOW - dt.timedelta(days=40)
    )
    report = retention_prune(now=NOW, dry_run=True, batch_size=2)
    assert (report.results, report.raw_files, report.dry_run) == (4, 1, True)
    assert Result.objects.count() == 4
    assert default_storage.exists(upload_file.raw.name)
    assert Upload.objects.filter(raw_pruned_at__isnull=False).count() == 0


def test_prune_command_reports_what_it_removed(time_machine):
    time_machine.move_to(NOW)
    project = ProjectFactory()
    run_with_results(project, started_at=NOW - dt.timedelta(days=200), n=2)
    upload_with_file(RunFactory(project=project), created_at=NOW - dt.timedelta(days=40))
    from io import StringIO

    out = StringIO()
    call_command("prune", "--dry-run", stdout=out)
    assert "would remove 1 raw file(s)" in out.getvalue()
    assert "and 2 result row(s)" in out.getvalue()
    out = StringIO()
    call_command("prune", stdout=out)
    assert out.getvalue().startswith("removed 1 raw file(s)")
    assert not Result.objects.exists()


def test_periodic_task_is_scheduled_and_prunes(settings):
    from ingest.maintenance_tasks import retention_prune_task

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "ingest.maintenance_tasks.retention_prune" in names
    project = ProjectFactory()
    run_with_results(project, started_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), n=2)
    assert retention_prune_task.delay().get()["results"] == 2
