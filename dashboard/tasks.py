"""Celery tasks of the dashboard: thin adapters that take ids and call one service.

Every task is idempotent (it recomputes from stored rows), so a retry or a duplicate
message is harmless. Arguments are plain ids, never pickled objects. Routing
(``passline.queues``): the per-run and per-project work goes to the ``derive`` queue,
the beat-driven sweeps (``*_all``, ``test_stats_refresh``) to ``maintenance``.
"""

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from dashboard.derive.backlog import derive_pass_claimed as derive_pass_claimed_service
from dashboard.derive.backlog import derive_sweep as derive_sweep_service
from dashboard.derive.backlog import fold_pass_claimed as fold_pass_claimed_service
from dashboard.derive.backlog import runs_derive_request as runs_derive_request_service
from dashboard.derive.coalesce import trend_refresh_claimed as trend_refresh_claimed_service
from dashboard.derive.coalesce import trends_refresh_all as trends_refresh_all_service
from dashboard.derive.runs import project_stats_rebuild as project_stats_rebuild_service
from dashboard.derive.runs import run_stats_update as run_stats_update_service
from dashboard.derive.teststats import test_stats_refresh as test_stats_refresh_service
from dashboard.derive.teststats import test_stats_refresh_all as test_stats_refresh_all_service
from dashboard.services.digest import digests_weekly_send as digests_weekly_send_service
from dashboard.services.quarantine import quarantines_expire as quarantines_expire_service

# IntegrityError: a rollup row's run or category deleted under the upsert; the retry
# finds the rows as they are now.
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
    """Recompute one run's rollups and denominator flags (an upload was processed)."""
    run_stats_update_service(run_id=run_id)


@shared_task(**RETRY)
def run_completed_refresh(self, run_id: int, project_id: int) -> None:
    """Record a completed run for its project's next derive pass (messages sent before
    the backlog existed; completions now record it in their receiver)."""
    runs_derive_request_service(project_id=project_id, run_ids=[run_id])


@shared_task(**RETRY)
def derive_pass(self, project_id: int) -> int | None:
    """Make the project's waiting completed runs fresh in one batch (coalesced)."""
    return derive_pass_claimed_service(project_id=project_id)


@shared_task(**RETRY)
def derive_fold(self, project_id: int) -> int | None:
    """Fold the project's fresh runs into per-test stats and flaky signals (coalesced)."""
    return fold_pass_claimed_service(project_id=project_id)


@shared_task(**RETRY)
def derive_sweep(self) -> int:
    """Re-send derive passes whose message was lost (Celery beat, every minute)."""
    return derive_sweep_service()


@shared_task(**RETRY)
def project_stats_rebuild(self, project_id: int) -> int:
    """Recompute every run's rollups of a project (after re-categorising)."""
    return project_stats_rebuild_service(project_id=project_id)


@shared_task(**RETRY)
def trend_refresh(self, project_id: int) -> int | None:
    """Run the project's queued trend refresh unless one is running (coalesced)."""
    return trend_refresh_claimed_service(project_id=project_id)


@shared_task(**RETRY)
def test_stats_refresh(self, project_id: int) -> int:
    """Rebuild a project's per-test stats (failing streaks, flake rates) in batches."""
    return test_stats_refresh_service(project_id=project_id)


@shared_task(**RETRY)
def trends_refresh_all(self) -> int:
    """Ask for a trend refresh of every project (Celery beat, every 15 minutes)."""
    return trends_refresh_all_service()


@shared_task(**RETRY)
def test_stats_refresh_all(self) -> int:
    """Rebuild the per-test stats of every project (Celery beat, hourly)."""
    return test_stats_refresh_all_service()


@shared_task(**RETRY)
def quarantines_expire(self) -> int:
    """Lift the quarantines past their expiry (Celery beat, hourly)."""
    return quarantines_expire_service()


@shared_task(**RETRY)
def digests_weekly_send(self) -> int:
    """Send every project's weekly flaky-test digest (Celery beat, weekly)."""
    return digests_weekly_send_service()
