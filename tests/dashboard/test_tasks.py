"""Dashboard Celery tasks: thin, idempotent, ids in, scheduled by beat."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError

from dashboard import tasks
from dashboard.models import RunCategoryStats, RunStats, TestStats, Trend
from passline.celery import app
from tests.dashboard.analytics_data import category_results, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    project = ProjectFactory()
    now = datetime.now(UTC)
    make_run(project, "r0", now - timedelta(days=2), category_results({"A": (5, 10)}))
    return make_run(
        project, "r1", now - timedelta(days=1), category_results({"A": (7, 10)}), update=False
    )


def test_run_stats_update_task_is_idempotent(run):
    tasks.run_stats_update.delay(run.pk)
    tasks.run_stats_update.delay(run.pk)
    assert RunStats.objects.filter(run=run).count() == 1
    assert RunCategoryStats.objects.filter(run=run).count() == 1
    assert RunStats.objects.get(run=run).passed == 7


def test_run_completed_refresh_builds_trends_and_test_stats(run):
    tasks.run_completed_refresh.delay(run.pk, run.project_id)
    trend = Trend.objects.get(project=run.project, category=None)
    assert trend.n_points == 2
    assert trend.slope_per_day == pytest.approx(0.2)
    assert TestStats.objects.filter(project=run.project).count() == 10


def test_trends_refresh_all_covers_every_project(run):
    other = ProjectFactory()
    assert tasks.trends_refresh_all.delay().get() == 2
    assert Trend.objects.filter(project=other, category=None).get().n_points == 0


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


def test_missing_rows_are_a_no_op():
    tasks.run_stats_update.delay(10**9)
    tasks.trend_refresh.delay(10**9)
    tasks.project_stats_rebuild.delay(10**9)
    assert not RunStats.objects.exists()
