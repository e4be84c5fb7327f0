"""Celery tasks of the dashboard: thin adapters that take ids and call one service.

Every task is idempotent (it recomputes from stored rows), so a retry or a duplicate
message is harmless. Arguments are plain ids, never pickled objects.
"""

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from dashboard.flaky import run_test_stats_update as run_test_stats_update_service
from dashboard.flaky import test_stats_refresh as test_stats_refresh_service
from dashboard.services import project_stats_rebuild as project_stats_rebuild_service
from dashboard.services import run_stats_update as run_stats_update_service
from dashboard.services import test_stats_refresh_all as test_stats_refresh_all_service
from dashboard.services import trend_refresh as trend_refresh_service
from dashboard.services import trends_refresh_all as trends_refresh_all_service

# IntegrityError: two workers creating the same run's rollup rows at once; the retry
# finds the other's rows and updates them.
TRANSIENT = (OperationalError, InterfaceError, IntegrityError)
RETRY = {
    "bind": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(**RETRY)
def run_stats_update(self, run_id: int) -> None:
    """Recompute one run's rollups and denominator flags."""
    run_stats_update_service(run_id=run_id)


@shared_task(**RETRY)
def project_stats_rebuild(self, project_id: int) -> int:
    """Recompute every run's rollups of a project (after re-categorising)."""
    return project_stats_rebuild_service(project_id=project_id)


@shared_task(**RETRY)
def trend_refresh(self, project_id: int) -> int:
    """Recompute a project's cached trends."""
    return trend_refresh_service(project_id=project_id)


@shared_task(**RETRY)
def test_stats_refresh(self, project_id: int) -> int:
    """Recompute a project's per-test stats (failing streaks, flake rates)."""
    return test_stats_refresh_service(project_id=project_id)


@shared_task(**RETRY)
def run_completed_refresh(self, run_id: int, project_id: int) -> None:
    """After a run completes: its rollups, the project's trends, the run's test stats."""
    run_stats_update_service(run_id=run_id)
    trend_refresh_service(project_id=project_id)
    run_test_stats_update_service(run_id=run_id)


@shared_task(**RETRY)
def trends_refresh_all(self) -> int:
    """Refresh the trends of every project (Celery beat, every 15 minutes)."""
    return trends_refresh_all_service()


@shared_task(**RETRY)
def test_stats_refresh_all(self) -> int:
    """Rebuild the per-test stats of every project (Celery beat, hourly)."""
    return test_stats_refresh_all_service()
