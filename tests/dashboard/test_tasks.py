"""Dashboard Celery tasks: thin, idempotent, ids in, scheduled by beat, routed by queue."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError

from dashboard import tasks
from dashboard.models import RunCategoryStats, RunStats, TestStats, Trend, TrendClaim
from passline.celery import app
from tests.dashboard.analytics_data import category_results, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    now = datetime.now(UTC)
    with django_capture_on_commit_callbacks(execute=True):
        make_run(project, "r0", now - timedelta(days=2), category_results({"A": (5, 10)}))
    return make_run(
        project, "r1", now - timedelta(days=1), category_results({"A": (7, 10)}), update=False
    )


def test_run_stats_update_task_is_idempotent(run):
    tasks.run_stats_update.delay(run.pk)
    first = RunStats.objects.get(run=run)
    tasks.run_stats_update.delay(run.pk)
    assert RunStats.objects.filter(run=run).count() == 1
    assert RunCategoryStats.objects.filter(run=run).count() == 1
    again = RunStats.objects.get(run=run)
    assert (again.pk, again.passed, again.total) == (first.pk, 7, 10)


def test_run_completed_refresh_builds_trends_and_test_stats(
    run, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_completed_refresh.delay(run.pk, run.project_id)
    trend = Trend.objects.get(project=run.project, category=None)
    assert trend.n_points == 2
    assert trend.slope_per_day == pytest.approx(0.2)
    stats = TestStats.objects.filter(project=run.project)
    assert stats.count() == 10
    assert set(stats.values_list("last_run_id", flat=True)) == {run.pk}
    assert stats.filter(failing_runs=1, failing_since_run=run).count() == 3


def test_trends_refresh_all_covers_every_project(run, django_capture_on_commit_callbacks):
    other = ProjectFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.trends_refresh_all.delay().get() == 2
    assert Trend.objects.filter(project=other, category=None).get().n_points == 0
    assert Trend.objects.filter(project=run.project, category=None).get().n_points == 1
    assert TrendClaim.objects.filter(queued=False, running_since=None).count() == 2


def test_tasks_take_json_ids_only(run):
    # A real worker receives JSON: the arguments must survive a round trip.
    signature = tasks.run_completed_refresh.s(run.pk, run.project_id)
    assert json.loads(json.dumps(list(signature.args))) == [run.pk, run.project_id]
    assert app.conf.task_serializer == "json"


def test_tasks_are_registered_and_scheduled():
    app.loader.import_default_modules()
    for name in (
        "dashboard.tasks.run_stats_update",
        "dashboard.tasks.run_completed_refresh",
        "dashboard.tasks.project_stats_rebuild",
        "dashboard.tasks.trend_refresh",
        "dashboard.tasks.test_stats_refresh",
        "dashboard.tasks.trends_refresh_all",
        "dashboard.tasks.test_stats_refresh_all",
    ):
        assert name in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["trends-refresh"]
    assert entry == {"task": "dashboard.tasks.trends_refresh_all", "schedule": 15 * 60}
    entry = settings.CELERY_BEAT_SCHEDULE["test-stats-refresh"]
    assert entry == {"task": "dashboard.tasks.test_stats_refresh_all", "schedule": 3600}


def test_concurrent_insert_race_is_retried():
    assert IntegrityError in tasks.run_stats_update.autoretry_for
    assert tasks.run_stats_update.acks_late is True


def test_missing_rows_are_a_no_op(run):
    tasks.run_stats_update.delay(run.pk)
    before = list(RunStats.objects.values_list("run_id", "passed", "total", "updated_at"))
    tasks.run_stats_update.delay(10**9)
    tasks.run_completed_refresh.delay(10**9, 10**9)
    tasks.trend_refresh.delay(10**9)
    tasks.project_stats_rebuild.delay(10**9)
    tasks.test_stats_refresh.delay(10**9)
    after = list(RunStats.objects.values_list("run_id", "passed", "total", "updated_at"))
    assert after == before and len(after) == 2
    assert not TrendClaim.objects.filter(project_id=10**9).exists()
    assert set(Trend.objects.values_list("project_id", flat=True)) == {run.project_id}
