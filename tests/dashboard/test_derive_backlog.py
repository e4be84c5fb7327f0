"""The derive backlog: completions recorded, one coalesced pass per project, nothing lost."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from dashboard.derive import backlog
from dashboard.models import DeriveBacklog, DeriveClaim, RunStats, TestStats
from ingest.models import Run
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory

# Autocommit, as in a worker: on_commit callbacks run at once.
pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Broker:
    """Stands in for Celery: records enqueued project ids, runs them on demand."""

    def __init__(self):
        self.sent: list[int] = []

    def __call__(self, project_id: int) -> None:
        self.sent.append(project_id)

    def deliver(self) -> list:
        pending, self.sent = self.sent, []
        return [backlog.derive_pass_claimed(project_id=pid, enqueue=self) for pid in pending]


def completed_runs(project, n: int, *, start: int = 0) -> list[Run]:
    """Create n complete runs whose derive has not run (as ingest leaves them)."""
    return [
        make_run(
            project,
            f"r{start + i}",
            T0 + timedelta(hours=start + i),
            [("a", P, "A"), ("b", F if (start + i) % 2 else P, "B")],
            update=False,
        )
        for i in range(n)
    ]


def test_a_burst_of_completions_costs_one_pass_that_derives_them_all():
    project, other = ProjectFactory(), ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 30)
    sent = [
        backlog.runs_derive_request(project_id=project.pk, run_ids=[r.pk], enqueue=broker)
        for r in runs
    ]
    backlog.runs_derive_request(
        project_id=other.pk, run_ids=[completed_runs(other, 1)[0].pk], enqueue=broker
    )
    assert sent.count(True) == 1
    assert broker.sent == [project.pk, other.pk]
    assert DeriveBacklog.objects.filter(project=project).count() == 30

    with mock.patch.object(backlog, "runs_derive", wraps=backlog.runs_derive) as derive:
        assert broker.deliver() == [30, 1]
    # One call per project: the 30 runs went through every step together.
    assert [len(call.kwargs["run_ids"]) for call in derive.call_args_list] == [30, 1]
    assert not DeriveBacklog.objects.exists()
    assert RunStats.objects.filter(project=project, is_complete=True).count() == 30
    b = TestStats.objects.get(project=project, test__name="b")
    assert (b.window_runs, b.last_run.key, b.failing_runs) == (30, "r29", 1)
    assert DeriveClaim.objects.get(project=project).refreshed == 1
    # A duplicate message finds nothing to claim.
    assert backlog.derive_pass_claimed(project_id=project.pk, enqueue=broker) is None
    assert broker.sent == []


def test_completions_during_a_pass_cause_exactly_one_more():
    project = ProjectFactory()
    broker = Broker()
    first, later = completed_runs(project, 2), completed_runs(project, 3, start=2)
    for run in first:
        backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker)
    real = backlog.runs_derive
    seen = []

    def derive_while_runs_complete(*, project_id, run_ids):
        seen.append(sorted(run_ids))
        if len(seen) == 1:
            for run in later:
                backlog.runs_derive_request(project_id=project_id, run_ids=[run.pk], enqueue=broker)
            # Their one message reaches a second worker: it must not start a pass.
            assert broker.sent == [project.pk]
            assert broker.deliver() == [None]
        return real(project_id=project_id, run_ids=run_ids)

    with mock.patch.object(backlog, "runs_derive", derive_while_runs_complete):
        assert broker.deliver() == [2]
        # The first pass, on its way out, sent the queued request once.
        assert broker.sent == [project.pk]
        assert broker.deliver() == [3]
    assert seen == [sorted(r.pk for r in first), sorted(r.pk for r in later)]
    assert broker.sent == []
    assert not DeriveBacklog.objects.exists()


@override_settings(PASSLINE_DERIVE_BATCH=4)
def test_a_pass_is_bounded_and_queues_one_more_for_the_rest():
    project = ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 10)
    backlog.runs_derive_request(project_id=project.pk, run_ids=[r.pk for r in runs], enqueue=broker)
    done = []
    while broker.sent:
        done += broker.deliver()
    assert done == [4, 4, 2]
    assert RunStats.objects.filter(project=project, is_complete=True).count() == 10


@override_settings(PASSLINE_DERIVE_BATCH_RESULTS=5)
def test_a_pass_stops_at_its_results_budget_but_takes_at_least_one_run():
    project = ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 3)
    # Each run has 2 results; the counts are read from the uploads.
    runs[0].uploads.update(tests=9)
    runs[1].uploads.update(tests=2)
    runs[2].uploads.update(tests=2)
    backlog.runs_derive_request(project_id=project.pk, run_ids=[r.pk for r in runs], enqueue=broker)
    done = []
    while broker.sent:
        done += broker.deliver()
    assert done == [1, 2]


def test_a_failed_pass_keeps_its_runs_and_is_retried():
    project = ProjectFactory()
    broker = Broker()
    run = completed_runs(project, 1)[0]
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker)
    with (
        mock.patch.object(backlog, "runs_derive", side_effect=RuntimeError("db went away")),
        pytest.raises(RuntimeError),
    ):
        broker.deliver()
    assert DeriveBacklog.objects.filter(run=run).exists()
    claim = DeriveClaim.objects.get(project=project)
    assert (claim.queued, claim.running_since) == (True, None)
    # The task's retry claims it again and derives the run.
    assert backlog.derive_pass_claimed(project_id=project.pk, enqueue=broker) == 1
    assert RunStats.objects.filter(run=run, is_complete=True).exists()


def test_the_sweep_resends_a_pass_whose_message_was_lost():
    project = ProjectFactory()
    lost, broker = [], Broker()
    run = completed_runs(project, 1)[0]
    # The broker was down at commit: the request is recorded, its message is not.
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=lost.append)
    assert lost == [project.pk]
    # A fresh request is left alone (its message may still be on its way) ...
    assert backlog.derive_sweep(enqueue=broker) == 0
    assert broker.sent == []
    # ... an old one is sent again, once.
    later = timezone.now() + timedelta(minutes=2)
    assert backlog.derive_sweep(now=later, enqueue=broker) == 1
    assert broker.sent == [project.pk]
    assert broker.deliver() == [1]
    assert RunStats.objects.filter(run=run, is_complete=True).exists()
    assert backlog.derive_sweep(now=later, enqueue=broker) == 0


def test_the_sweep_records_a_completed_run_whose_receiver_never_ran():
    project = ProjectFactory()
    broker = Broker()
    run = completed_runs(project, 1)[0]
    Run.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - timedelta(hours=1),
        completed_at=timezone.now() - timedelta(minutes=5),
    )
    # Started long ago: outside the sweep's lookback, left to the periodic rebuilds.
    old = completed_runs(project, 1, start=1)[0]
    Run.objects.filter(pk=old.pk).update(
        started_at=timezone.now() - timedelta(days=3),
        completed_at=timezone.now() - timedelta(minutes=5),
    )
    assert backlog.derive_sweep(enqueue=broker) == 1
    assert list(DeriveBacklog.objects.values_list("run_id", flat=True)) == [run.pk]
    assert broker.deliver() == [1]
    assert RunStats.objects.filter(run=run, is_complete=True).exists()
    assert backlog.derive_sweep(enqueue=broker) == 0


def test_a_stale_pass_is_taken_over():
    project = ProjectFactory()
    broker = Broker()
    run = completed_runs(project, 1)[0]
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker)
    # The worker of an earlier pass died mid-pass: its claim stays "running".
    DeriveClaim.objects.filter(project=project).update(
        running_since=timezone.now() - timedelta(minutes=1)
    )
    assert broker.deliver() == [None]
    DeriveClaim.objects.filter(project=project).update(
        running_since=timezone.now() - timedelta(minutes=10)
    )
    assert backlog.derive_pass_claimed(project_id=project.pk, enqueue=broker) == 1


def test_a_request_for_a_deleted_run_records_nothing():
    project = ProjectFactory()
    assert not backlog.runs_derive_request(project_id=project.pk, run_ids=[10**9], enqueue=print)
    assert not DeriveBacklog.objects.exists()
