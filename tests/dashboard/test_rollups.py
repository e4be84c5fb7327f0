"""Rollups: per-run and per-category counts from stored results."""

from datetime import UTC, datetime
from unittest import mock

import pytest

from dashboard.derive.rollups import run_rollup_update
from dashboard.models import RunCategoryStats, RunStats
from ingest import signals
from ingest.models import Category, Result, Run
from tests.dashboard.analytics_data import E, F, P, S, example_runs, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
MIXED = [
    ("a", P, "Auth"),
    ("b", P, "Auth", True),  # passed on a retry
    ("c", F, "Auth"),
    ("d", E, "Cache"),
    ("e", S, "Cache"),
    ("f", F, "Cache", True),  # flaky but finally failing
]


def counts(stats) -> tuple:
    return (stats.passed, stats.failed, stats.error, stats.skipped, stats.flaky, stats.total)


def test_rollup_counts_overall_and_per_category():
    project = ProjectFactory()
    run = make_run(project, "r1", T0, MIXED)
    stats = RunStats.objects.get(run=run)
    assert counts(stats) == (2, 2, 1, 1, 2, 6)
    assert stats.duration == pytest.approx(3.0)
    assert (stats.branch, stats.started_at, stats.is_complete) == ("main", T0, True)
    by_name = {s.category.name: counts(s) for s in RunCategoryStats.objects.filter(run=run)}
    assert by_name == {"Auth": (2, 1, 0, 0, 1, 3), "Cache": (0, 1, 1, 1, 1, 3)}


def test_skipped_excluded_from_total_when_project_says_so():
    project = ProjectFactory(skipped_in_total=False)
    run = make_run(project, "r1", T0, MIXED)
    stats = RunStats.objects.get(run=run)
    assert stats.total == 5
    assert stats.skipped == 1  # still reported


def test_flaky_pass_counts_as_failed_when_project_says_so():
    project = ProjectFactory(flaky_counts_as_pass=False)
    run = make_run(project, "r1", T0, MIXED)
    assert counts(RunStats.objects.get(run=run)) == (1, 3, 1, 1, 2, 6)


def test_rollup_is_idempotent_and_follows_recategorisation():
    project = ProjectFactory()
    run = make_run(project, "r1", T0, MIXED)
    run_rollup_update(run_id=run.pk)
    run_rollup_update(run_id=run.pk)
    assert RunStats.objects.filter(run=run).count() == 1
    assert RunCategoryStats.objects.filter(run=run).count() == 2
    other = Category.objects.create(project=project, name="Other")
    Result.objects.filter(run=run).update(category=other)
    run_rollup_update(run_id=run.pk)
    rows = list(RunCategoryStats.objects.filter(run=run))
    assert [(r.category.name, r.total) for r in rows] == [("Other", 6)]


def test_rollup_of_missing_run_is_none():
    assert run_rollup_update(run_id=987654) is None


def test_example_totals():
    project = ProjectFactory()
    base, head = example_runs(project, T0, datetime(2026, 3, 20, tzinfo=UTC))
    assert counts(RunStats.objects.get(run=base))[::5] == (523, 738)
    assert counts(RunStats.objects.get(run=head))[::5] == (621, 738)


def test_upload_processed_signal_enqueues_rollup_after_commit(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    run = make_run(project, "r1", T0, MIXED, update=False)
    assert not RunStats.objects.filter(run=run).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signals.upload_processed.send(
            sender=None, upload_id=1, run_id=run.pk, project_id=project.pk
        )
    assert len(callbacks) == 1
    assert not RunStats.objects.filter(run=run).exists()
    callbacks[0]()  # eager Celery in tests
    assert RunStats.objects.get(run=run).total == 6


def test_an_upload_that_completes_its_run_leaves_the_rollups_to_the_completion_task(
    django_capture_on_commit_callbacks,
):
    project = ProjectFactory()
    run = make_run(project, "r1", T0, MIXED, update=False)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        mock.patch("dashboard.tasks.run_stats_update.delay") as rollup_task,
    ):
        signals.upload_processed.send(
            sender=None, upload_id=1, run_id=run.pk, project_id=project.pk, run_completed=True
        )
    assert callbacks == []
    rollup_task.assert_not_called()
    # The completion task alone computes what the upload's task would have.
    Run.objects.filter(pk=run.pk).update(is_complete=True)
    with django_capture_on_commit_callbacks(execute=True):
        signals.run_completed.send(sender=None, run_id=run.pk, project_id=project.pk)
    stats = RunStats.objects.get(run=run)
    assert (stats.total, stats.is_complete) == (6, True)


def test_run_completed_signal_updates_rollups_and_trends(django_capture_on_commit_callbacks):
    from dashboard.models import Trend

    project = ProjectFactory()
    run = make_run(project, "r1", T0, MIXED, update=False, is_complete=False)
    Run.objects.filter(pk=run.pk).update(is_complete=True)
    with django_capture_on_commit_callbacks(execute=True):
        signals.run_completed.send(sender=None, run_id=run.pk, project_id=project.pk)
    stats = RunStats.objects.get(run=run)
    assert stats.is_complete
    assert Trend.objects.filter(project=project, category=None).exists()


def test_recategorized_signal_rebuilds_every_run(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    r1 = make_run(project, "r1", T0, MIXED)
    r2 = make_run(project, "r2", datetime(2026, 3, 2, tzinfo=UTC), MIXED)
    other = Category.objects.create(project=project, name="Other")
    Result.objects.filter(run__project=project).update(category=other)
    with django_capture_on_commit_callbacks(execute=True):
        signals.project_recategorized.send(sender=None, project_id=project.pk)
    for run in (r1, r2):
        names = set(
            RunCategoryStats.objects.filter(run=run).values_list("category__name", flat=True)
        )
        assert names == {"Other"}


def test_completion_copies_completeness_without_counting_results_again(
    django_capture_on_commit_callbacks,
):
    from unittest import mock

    from dashboard.derive import runs

    project = ProjectFactory()
    make_run(project, "r0", T0, MIXED)
    run = make_run(project, "r1", datetime(2026, 3, 2, tzinfo=UTC), MIXED, is_complete=False)
    assert RunStats.objects.get(run=run).is_complete is False
    Run.objects.filter(pk=run.pk).update(is_complete=True)  # the quiet period ended
    with (
        mock.patch.object(runs, "run_rollup_update", side_effect=AssertionError("recounted")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        signals.run_completed.send(sender=None, run_id=run.pk, project_id=project.pk)
    stats = RunStats.objects.get(run=run)
    assert (stats.is_complete, stats.total) == (True, 6)
    categories = RunCategoryStats.objects.filter(run=run)
    assert set(categories.values_list("is_complete", flat=True)) == {True}
    # Its flags were recomputed as a complete run, compared with r0.
    assert stats.compared_run_id == project.runs.get(key="r0").pk
