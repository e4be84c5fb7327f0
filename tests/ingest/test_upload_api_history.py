"""Upload tokens cannot rewrite history: closed runs, the baseline, dates before it."""
# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from ingest.models import Run, Upload
from ingest.processing import upload_process
from tests.ingest.upload_api_helpers import (  # noqa: F401 (fixtures)
    _fresh_rate_limit_counts,
    client,
    post_xml,
    project,
    upload_token,
)

pytestmark = pytest.mark.django_db


def completed_run(project, key, *, minutes_ago, started="2026-11-01T00:00Z"):
    run = Run.objects.create(project=project, key=key, started_at=started)
    Run.objects.filter(pk=run.pk).update(
        is_complete=True, completed_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return run


def assert_run_closed(response, *fragments):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "run_closed"
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]


def test_part_for_a_run_completed_long_ago_is_refused(client, project, settings):
    settings.PASSLINE_RUN_REOPEN_MINUTES = 60
    run = completed_run(project, "old", minutes_ago=61)
    response = post_xml(client, query="run=old")
    assert_run_closed(response, "'old'", "more than 60 minutes ago", "new run key")
    assert not run.uploads.exists()


def test_part_for_a_recently_completed_run_is_accepted(client, project, settings):
    settings.PASSLINE_RUN_REOPEN_MINUTES = 60
    run = completed_run(project, "late-shard", minutes_ago=59)
    assert post_xml(client, query="run=late-shard").status_code == 202
    assert run.uploads.count() == 1


def test_the_reopen_window_is_a_setting(client, project, settings):
    settings.PASSLINE_RUN_REOPEN_MINUTES = 5
    completed_run(project, "r", minutes_ago=6)
    assert_run_closed(post_xml(client, query="run=r"), "more than 5 minutes ago")


def test_part_for_the_baseline_run_is_refused_even_when_incomplete(client, project):
    baseline = Run.objects.create(project=project, key="base", started_at="2026-11-01T00:00Z")
    project.baseline_run = baseline
    project.save()
    assert_run_closed(post_xml(client, query="run=base"), "'base'", "baseline")
    assert not baseline.uploads.exists()


def test_implicit_baseline_is_the_first_complete_default_branch_run(client, project):
    run = completed_run(project, "first", minutes_ago=1)
    Run.objects.filter(pk=run.pk).update(branch=project.default_branch)
    assert_run_closed(post_xml(client, query="run=first"), "baseline")


def test_timestamp_before_the_baseline_is_refused(client, project):
    baseline = Run.objects.create(project=project, key="base", started_at="2026-11-01T00:00Z")
    project.baseline_run = baseline
    project.save()
    response = post_xml(client, query="run=new&timestamp=2026-10-31T23:59:00Z")
    assert_run_closed(response, "before the project's baseline run")
    assert not Run.objects.filter(key="new").exists()
    assert not Upload.objects.exists()
    # An existing run cannot be moved there either.
    assert post_xml(client, query="run=later&timestamp=2026-11-02T00:00:00Z").status_code == 202
    response = post_xml(client, query="run=later&timestamp=2026-10-01T00:00:00Z")
    assert_run_closed(response, "before the project's baseline run")
    assert Run.objects.get(key="later").started_at == dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    assert post_xml(client, query="run=after&timestamp=2026-11-01T00:00:00Z").status_code == 202


def test_report_timestamp_before_the_baseline_is_ignored_with_a_warning(client, project):
    baseline = Run.objects.create(project=project, key="base", started_at="2026-11-01T00:00Z")
    project.baseline_run = baseline
    project.save()
    body = (
        b'<testsuite name="s" timestamp="2026-10-01T00:00:00">'
        b'<testcase classname="a.B" name="t"/></testsuite>'
    )
    response = post_xml(client, body, query="run=r")
    assert response.status_code == 202
    upload = Upload.objects.get()
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PROCESSED
    assert any("before the project's baseline run" in w for w in upload.warnings)
    baseline.refresh_from_db()
    assert Run.objects.get(key="r").started_at > baseline.started_at


def test_admin_commands_are_not_limited(project, tmp_path):
    """importreports is the operator's tool for history: it may add to old runs."""
    completed_run(project, "old", minutes_ago=600)
    report = tmp_path / "r.xml"
    report.write_bytes(b'<testsuite name="s"><testcase classname="a.B" name="t"/></testsuite>')
    call_command("importreports", "shop", str(report), "--run", "old", stdout=io.StringIO())
    assert Run.objects.get(key="old").uploads.count() == 1
