"""The derive backlog: completions recorded, one coalesced pass per project, nothing lost."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from dashboard.derive import backlog
from dashboard.models import DeriveBacklog, DeriveClaim, FoldClaim, RunStats, TestStats
from ingest.models import Run
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory, UploadFactory

# Autocommit, as in a worker: on_commit callbacks run at once.
pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 1, tzinfo=UTC)
FOLD = DeriveBacklog.Stage.FOLD


class Broker:
    """Stands in for Celery: records the passes asked for, runs them on demand."""

    def __init__(self):
        self.sent: list[tuple[str, int]] = []

    def figures(self, project_id: int) -> None:
        self.sent.append(("figures", project_id))

    def fold(self, project_id: int) -> None:
        self.sent.append(("fold", project_id))

    def deliver(self) -> list[tuple[str, int | None]]:
        """Run the passes sent so far; return (kind, what each pass returned)."""
        pending, self.sent = self.sent, []
        done = []
        for kind, pid in pending:
            if kind == "figures":
                n = backlog.derive_pass_claimed(
                    project_id=pid, enqueue=self.figures, enqueue_fold=self.fold
                )
            else:
                n = backlog.fold_pass_claimed(project_id=pid, enqueue=self.fold)
            done.append((kind, n))
        return done

    def drain(self) -> list[tuple[str, int | None]]:
        done = []
        while self.sent:
            done += self.deliver()
        return done


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


def test_a_burst_of_completions_costs_one_pass_of_each_kind():
    project, other = ProjectFactory(), ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 30)
    sent = [
        backlog.runs_derive_request(project_id=project.pk, run_ids=[r.pk], enqueue=broker.figures)
        for r in runs
    ]
    backlog.runs_derive_request(
        project_id=other.pk, run_ids=[completed_runs(other, 1)[0].pk], enqueue=broker.figures
    )
    assert sent.count(True) == 1
    assert broker.sent == [("figures", project.pk), ("figures", other.pk)]
    assert DeriveBacklog.objects.filter(project=project).count() == 30

    with (
        mock.patch.object(backlog, "runs_figures_update", wraps=backlog.runs_figures_update) as f,
        mock.patch.object(backlog, "runs_fold", wraps=backlog.runs_fold) as fold,
    ):
        # The figures passes make the runs fresh, then each asks for one fold pass.
        assert broker.deliver() == [("figures", 30), ("figures", 1)]
        assert RunStats.objects.filter(project=project, is_complete=True).count() == 30
        assert not TestStats.objects.exists()
        assert set(DeriveBacklog.objects.values_list("stage", flat=True)) == {FOLD}
        assert broker.deliver() == [("fold", 30), ("fold", 1)]
    # One call per project and step: the 30 runs went through each step together.
    assert [len(call.kwargs["run_ids"]) for call in f.call_args_list] == [30, 1]
    assert [len(call.kwargs["run_ids"]) for call in fold.call_args_list] == [30, 1]
    assert not DeriveBacklog.objects.exists()
    b = TestStats.objects.get(project=project, test__name="b")
    assert (b.window_runs, b.last_run.key, b.failing_runs) == (30, "r29", 1)
    assert DeriveClaim.objects.get(project=project).refreshed == 1
    assert FoldClaim.objects.get(project=project).refreshed == 1
    # A duplicate message finds nothing to claim.
    assert backlog.derive_pass_claimed(project_id=project.pk, enqueue=broker.figures) is None
    assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=broker.fold) is None
    assert broker.sent == []


def test_completions_during_a_pass_cause_exactly_one_more():
    project = ProjectFactory()
    broker = Broker()
    first, later = completed_runs(project, 2), completed_runs(project, 3, start=2)
    for run in first:
        backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker.figures)
    real = backlog.runs_figures_update
    seen = []

    def figures_while_runs_complete(*, project_id, run_ids):
        seen.append(sorted(run_ids))
        if len(seen) == 1:
            for run in later:
                backlog.runs_derive_request(
                    project_id=project_id, run_ids=[run.pk], enqueue=broker.figures
                )
            # Their one message reaches a second worker: it must not start a pass.
            assert broker.sent == [("figures", project.pk)]
            assert broker.deliver() == [("figures", None)]
        return real(project_id=project_id, run_ids=run_ids)

    with mock.patch.object(backlog, "runs_figures_update", figures_while_runs_complete):
        assert broker.deliver() == [("figures", 2)]
        # The first pass, on its way out, sent the queued request once (and a fold).
        assert sorted(broker.sent) == [("figures", project.pk), ("fold", project.pk)]
        assert sorted(broker.deliver()) == [("figures", 3), ("fold", 2)]
    assert seen == [sorted(r.pk for r in first), sorted(r.pk for r in later)]
    assert broker.drain() == [("fold", 3)]
    assert not DeriveBacklog.objects.exists()


def test_a_request_whose_message_is_still_waiting_gets_no_second_message():
    """Under a backlog of messages, passes must not multiply them (one per request)."""
    project = ProjectFactory()
    broker = Broker()
    first, later = completed_runs(project, 1), completed_runs(project, 4, start=1)
    backlog.runs_derive_request(
        project_id=project.pk, run_ids=[first[0].pk], enqueue=broker.figures
    )
    real = backlog.runs_figures_update

    def figures_while_runs_complete(*, project_id, run_ids):
        for run in later:  # the first one's message waits in the broker
            backlog.runs_derive_request(
                project_id=project_id, run_ids=[run.pk], enqueue=broker.figures
            )
        return real(project_id=project_id, run_ids=run_ids)

    with mock.patch.object(backlog, "runs_figures_update", figures_while_runs_complete):
        assert broker.deliver() == [("figures", 1)]
    # The waiting message, and the fold pass's: no second figures message.
    assert broker.sent == [("figures", project.pk), ("fold", project.pk)]
    # The fold pass, still waiting, takes the first run and the four made fresh meanwhile.
    assert broker.deliver() == [("figures", 4), ("fold", 5)]
    assert broker.sent == []


def test_a_run_is_fresh_while_the_previous_runs_fold_is_running():
    """The figures pass of a run never waits behind the fold of the one before."""
    project = ProjectFactory()
    broker = Broker()
    first, second = completed_runs(project, 2)
    backlog.runs_derive_request(project_id=project.pk, run_ids=[first.pk], enqueue=broker.figures)
    assert broker.deliver() == [("figures", 1)]
    real = backlog.runs_fold

    def slow_fold(*, project_id, run_ids):
        # The next run completes while the first one's fold runs on another worker.
        backlog.runs_derive_request(
            project_id=project_id, run_ids=[second.pk], enqueue=broker.figures
        )
        assert broker.deliver() == [("figures", 1)]
        assert RunStats.objects.filter(run=second, is_complete=True).exists()
        return real(project_id=project_id, run_ids=run_ids)

    with mock.patch.object(backlog, "runs_fold", slow_fold):
        assert broker.deliver() == [("fold", 1)]
    # Exactly one more fold pass runs (a message sent meanwhile finds nothing to claim).
    assert [done for done in broker.drain() if done[1] is not None] == [("fold", 1)]
    assert TestStats.objects.get(project=project, test__name="a").window_runs == 2


@override_settings(PASSLINE_DERIVE_BATCH=4)
def test_a_pass_is_bounded_and_queues_one_more_for_the_rest():
    project = ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 10)
    backlog.runs_derive_request(
        project_id=project.pk, run_ids=[r.pk for r in runs], enqueue=broker.figures
    )
    done = broker.drain()
    assert [n for kind, n in done if kind == "figures"] == [4, 4, 2]
    assert sum(n or 0 for kind, n in done if kind == "fold") == 10
    assert RunStats.objects.filter(project=project, is_complete=True).count() == 10
    assert not DeriveBacklog.objects.exists()


@override_settings(PASSLINE_DERIVE_BATCH_RESULTS=5)
def test_a_pass_stops_at_its_results_budget_but_takes_at_least_one_run():
    project = ProjectFactory()
    broker = Broker()
    runs = completed_runs(project, 3)
    # The counts are read from the uploads.
    runs[0].uploads.update(tests=9)
    runs[1].uploads.update(tests=2)
    runs[2].uploads.update(tests=2)
    backlog.runs_derive_request(
        project_id=project.pk, run_ids=[r.pk for r in runs], enqueue=broker.figures
    )
    done = broker.drain()
    assert [n for kind, n in done if kind == "figures"] == [1, 2]


def test_a_failed_pass_keeps_its_runs_and_is_retried():
    project = ProjectFactory()
    broker = Broker()
    run = completed_runs(project, 1)[0]
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker.figures)
    with (
        mock.patch.object(backlog, "runs_fold", side_effect=RuntimeError("db went away")),
        pytest.raises(RuntimeError),
    ):
        broker.drain()
    assert DeriveBacklog.objects.get(run=run).stage == FOLD
    claim = FoldClaim.objects.get(project=project)
    assert (claim.queued, claim.running_since) == (True, None)
    # The task's retry claims it again and folds the run.
    assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=broker.fold) == 1
    assert TestStats.objects.filter(project=project).count() == 2
    assert not DeriveBacklog.objects.exists()


def test_the_sweep_resends_passes_whose_message_was_lost():
    project = ProjectFactory()
    lost, broker = Broker(), Broker()
    run = completed_runs(project, 1)[0]
    # The broker was down at commit: the request is recorded, its message is not.
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=lost.figures)
    assert lost.sent == [("figures", project.pk)]
    sweep = {"enqueue": broker.figures, "enqueue_fold": broker.fold}
    # A fresh request is left alone (its message may still be on its way) ...
    assert backlog.derive_sweep(**sweep) == 0
    assert broker.sent == []
    # ... an old one is sent again, once.
    later = timezone.now() + timedelta(minutes=2)
    assert backlog.derive_sweep(now=later, **sweep) == 1
    assert broker.sent == [("figures", project.pk)]
    # The figures pass runs; the fold pass's message is lost too.
    assert (
        backlog.derive_pass_claimed(
            project_id=project.pk, enqueue=broker.figures, enqueue_fold=lost.fold
        )
        == 1
    )
    assert RunStats.objects.filter(run=run, is_complete=True).exists()
    broker.sent.clear()
    assert backlog.derive_sweep(now=later, **sweep) == 1
    assert broker.drain() == [("fold", 1)]
    assert TestStats.objects.filter(project=project).count() == 2
    assert backlog.derive_sweep(now=later, **sweep) == 0


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
    sweep = {"enqueue": broker.figures, "enqueue_fold": broker.fold}
    assert backlog.derive_sweep(**sweep) == 1
    assert list(DeriveBacklog.objects.values_list("run_id", flat=True)) == [run.pk]
    assert broker.drain() == [("figures", 1), ("fold", 1)]
    assert RunStats.objects.filter(run=run, is_complete=True).exists()
    assert backlog.derive_sweep(**sweep) == 0


def test_a_stale_pass_is_taken_over():
    project = ProjectFactory()
    broker = Broker()
    run = completed_runs(project, 1)[0]
    backlog.runs_derive_request(project_id=project.pk, run_ids=[run.pk], enqueue=broker.figures)
    # The worker of an earlier pass died mid-pass: its claim stays "running".
    DeriveClaim.objects.filter(project=project).update(
        running_since=timezone.now() - timedelta(minutes=1)
    )
    assert broker.deliver() == [("figures", None)]
    DeriveClaim.objects.filter(project=project).update(
        running_since=timezone.now() - timedelta(minutes=10)
    )
    assert backlog.derive_pass_claimed(project_id=project.pk, enqueue=broker.figures) == 1


def test_a_request_for_a_deleted_run_records_nothing():
    project = ProjectFactory()
    assert not backlog.runs_derive_request(project_id=project.pk, run_ids=[10**9], enqueue=print)
    assert not DeriveBacklog.objects.exists()


class Later:
    """Stands in for the fold pass's delayed message: records the projects sent."""

    def __init__(self):
        self.sent: list[int] = []

    def __call__(self, project_id: int) -> None:
        self.sent.append(project_id)


@pytest.fixture
def with_a_broker():
    """Yielding needs a broker that can delay a message (eager Celery cannot)."""
    from passline.celery import app

    app.conf.task_always_eager = False  # restored by the autouse _eager_celery fixture


def folded_runs_waiting(project, n: int = 2) -> list[Run]:
    """Complete n runs and make them fresh, so that they wait for the fold pass."""
    broker = Broker()
    runs = completed_runs(project, n, start=Run.objects.filter(project=project).count())
    backlog.runs_derive_request(
        project_id=project.pk, run_ids=[r.pk for r in runs], enqueue=broker.figures
    )
    broker.deliver()  # the figures pass; the fold pass it asked for is not delivered
    assert broker.sent == [("fold", project.pk)]
    return runs


def test_the_fold_waits_while_an_upload_of_its_project_is_ingested(with_a_broker):
    project, other = ProjectFactory(), ProjectFactory()
    runs = folded_runs_waiting(project)
    UploadFactory(run__project=other, status="processing")  # another project's: no reason
    later = Later()
    assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=later) == 2
    assert TestStats.objects.filter(project=project).count() == 2

    runs = folded_runs_waiting(project, 1)
    for status in ("queued", "processing"):
        upload = UploadFactory(run__project=project, status=status)
        later = Later()
        assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=later) is None
        assert later.sent == [project.pk]  # sent again, later; nothing folded
        assert not TestStats.objects.filter(last_run=runs[0]).exists()
        assert FoldClaim.objects.get(project=project).queued
        upload.status = "processed"
        upload.save(update_fields=["status"])
    assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=later) == 1
    assert TestStats.objects.filter(last_run=runs[0]).count() == 2


def test_a_fold_held_back_longest_runs_whatever_is_being_ingested(with_a_broker, settings):
    settings.PASSLINE_FOLD_YIELD_MAX_SECONDS = 10
    project = ProjectFactory()
    runs = folded_runs_waiting(project)
    UploadFactory(run__project=project, status="processing")
    now = timezone.now()
    assert backlog.fold_yields(project_id=project.pk, now=now + timedelta(seconds=9))
    assert not backlog.fold_yields(project_id=project.pk, now=now + timedelta(seconds=11))
    DeriveBacklog.objects.filter(run__in=runs).update(queued_at=now - timedelta(seconds=11))
    later = Later()
    assert backlog.fold_pass_claimed(project_id=project.pk, enqueue=later) == 2
    assert later.sent == []
    settings.PASSLINE_FOLD_YIELD_MAX_SECONDS = 0  # never waits
    folded_runs_waiting(project, 1)
    assert not backlog.fold_yields(project_id=project.pk)


def test_the_fold_never_waits_when_tasks_run_in_process():
    project = ProjectFactory()
    folded_runs_waiting(project)
    UploadFactory(run__project=project, status="processing")
    assert not backlog.fold_yields(project_id=project.pk)  # eager: a countdown cannot wait


def test_the_fold_pass_is_sent_a_little_late(settings):
    from dashboard import tasks

    settings.PASSLINE_FOLD_YIELD_SECONDS = 3
    with mock.patch.object(tasks.derive_fold, "apply_async") as send:
        backlog._enqueue_fold(42)
    send.assert_called_once_with((42,), countdown=3)
