"""Trend refresh coalesced per project: one queued, one running, exactly one more."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.derive import coalesce
from dashboard.models import Trend, TrendClaim
from tests.dashboard.analytics_data import category_results, make_run
from tests.factories import ProjectFactory

# Autocommit, as in a worker: on_commit callbacks run at once.
pytestmark = pytest.mark.django_db(transaction=True)


class Broker:
    """Stands in for Celery: records enqueued project ids, runs them on demand."""

    def __init__(self):
        self.sent: list[int] = []

    def __call__(self, project_id: int) -> None:
        self.sent.append(project_id)

    def deliver(self, broker_runner) -> None:
        pending, self.sent = self.sent, []
        for project_id in pending:
            broker_runner(project_id)


def test_many_completions_enqueue_one_refresh():
    project, other = ProjectFactory(), ProjectFactory()
    broker = Broker()
    results = [
        coalesce.trend_refresh_request(project_id=project.pk, enqueue=broker) for _ in range(50)
    ]
    coalesce.trend_refresh_request(project_id=other.pk, enqueue=broker)
    assert results.count(True) == 1
    assert broker.sent == [project.pk, other.pk]
    claim = TrendClaim.objects.get(project=project)
    assert (claim.queued, claim.requested, claim.refreshed) == (True, 50, 0)
    # The one message runs one refresh; a duplicate message finds nothing to claim.
    assert coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=broker) == 1
    assert coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=broker) is None
    assert TrendClaim.objects.get(project=project).refreshed == 1
    assert Trend.objects.filter(project=project).count() == 1


def test_completion_during_a_refresh_causes_exactly_one_more():
    project = ProjectFactory()
    broker = Broker()
    calls = []
    real_refresh = coalesce.trend_refresh

    def slow_refresh(*, project_id):
        calls.append(project_id)
        if len(calls) == 1:
            # Three completions arrive while the first refresh runs; their task is
            # delivered at once to a second worker, which must not start a second
            # refresh of the same project.
            for _ in range(3):
                coalesce.trend_refresh_request(project_id=project_id, enqueue=broker)
            assert broker.sent == [project_id]
            broker.deliver(
                lambda pid: coalesce.trend_refresh_claimed(project_id=pid, enqueue=broker)
            )
            assert calls == [project_id]
        return real_refresh(project_id=project_id)

    coalesce.trend_refresh_request(project_id=project.pk, enqueue=broker)
    with mock.patch.object(coalesce, "trend_refresh", slow_refresh):
        broker.deliver(lambda pid: coalesce.trend_refresh_claimed(project_id=pid, enqueue=broker))
        # The first refresh, on its way out, re-enqueued the queued request once.
        assert broker.sent == [project.pk]
        broker.deliver(lambda pid: coalesce.trend_refresh_claimed(project_id=pid, enqueue=broker))
    assert calls == [project.pk, project.pk]
    assert broker.sent == []
    claim = TrendClaim.objects.get(project=project)
    assert (claim.queued, claim.running_since, claim.requested, claim.refreshed) == (
        False,
        None,
        4,
        2,
    )


def test_a_dead_workers_claim_is_taken_over_when_stale(settings):
    settings.PASSLINE_TREND_CLAIM_STALE_SECONDS = 60
    project = ProjectFactory()
    TrendClaim.objects.create(
        project=project, queued=True, running_since=timezone.now() - timedelta(seconds=30)
    )
    assert coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=Broker()) is None
    TrendClaim.objects.filter(project=project).update(
        running_since=timezone.now() - timedelta(seconds=90)
    )
    assert coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=Broker()) == 1
    assert TrendClaim.objects.get(project=project).running_since is None


def test_beat_resends_a_refresh_left_queued():
    stuck, idle = ProjectFactory(), ProjectFactory()
    # Queued, but its message was lost (never sent at commit).
    TrendClaim.objects.create(project=stuck, queued=True)
    broker = Broker()
    assert coalesce.trends_refresh_all(enqueue=broker) == 2
    assert sorted(broker.sent) == sorted([stuck.pk, idle.pk])
    broker.deliver(lambda pid: coalesce.trend_refresh_claimed(project_id=pid, enqueue=broker))
    assert set(Trend.objects.values_list("project_id", flat=True)) == {stuck.pk, idle.pk}


@pytest.mark.django_db  # inside the test's transaction: SAVEPOINT, not BEGIN/COMMIT
def test_refresh_reads_the_window_once_per_scope(django_assert_num_queries):
    project = ProjectFactory()
    now = datetime.now(UTC)
    for i in range(3):
        spec = {"A": (5 + i, 10), "B": (3, 10), "C": (1, 10)}
        make_run(project, f"r{i}", now - timedelta(days=3 - i), category_results(spec))
    # project, RunStats of the window, RunCategoryStats of the window, categories,
    # then SAVEPOINT, advisory lock (PostgreSQL only), delete, insert, RELEASE.
    expected = 9 if connection.vendor == "postgresql" else 8
    with django_assert_num_queries(expected):
        assert coalesce.trend_refresh(project_id=project.pk) == 4
    more = ProjectFactory()
    for i in range(12):
        make_run(more, f"r{i}", now - timedelta(hours=20 - i), category_results({"A": (i, 12)}))
    with django_assert_num_queries(expected):
        assert coalesce.trend_refresh(project_id=more.pk) == 2


def test_a_failed_refresh_stays_queued_for_its_retry():
    project = ProjectFactory()
    broker = Broker()
    coalesce.trend_refresh_request(project_id=project.pk, enqueue=broker)
    with (
        mock.patch.object(coalesce, "trend_refresh", side_effect=RuntimeError("db gone")),
        pytest.raises(RuntimeError),
    ):
        coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=broker)
    claim = TrendClaim.objects.get(project=project)
    assert (claim.queued, claim.running_since) == (True, None)
    assert coalesce.trend_refresh_claimed(project_id=project.pk, enqueue=broker) == 1
