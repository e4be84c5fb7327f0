"""Flaky tests: flaky in a run, flake rate over a window, per category."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from dashboard.derive.teststats import run_test_stats_update
from dashboard.derive.teststats import test_stats_refresh as refresh_test_stats
from dashboard.models import TestStats
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=40)


@pytest.fixture
def project():
    project = ProjectFactory()
    # An old run outside the 30-day window: its flakes must not count.
    make_run(project, "old", T0, [("wobbly", P, "Auth", True), ("solid", P, "Auth")])
    for i in range(4):
        make_run(
            project,
            f"r{i}",
            T0 + timedelta(days=20 + i),
            [
                ("wobbly", P, "Auth", i % 2 == 0),  # flaky in 2 of 4 runs
                ("solid", P, "Auth"),
                ("shaky", F if i == 3 else P, "Cache", i == 3),  # flaky once, finally failing
            ],
        )
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=project.pk)
    return project


def test_flake_rate_over_window(project):
    rates = {
        s.test.name: (s.flaky_runs, s.window_runs, s.flake_rate) for s in TestStats.objects.all()
    }
    assert rates == {"wobbly": (2, 4, 0.5), "solid": (0, 4, 0.0), "shaky": (1, 4, 0.25)}


def test_refresh_is_idempotent(project):
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=project.pk)
    assert TestStats.objects.filter(project=project).count() == 3


def test_completed_run_is_folded_in_incrementally(project):
    run = make_run(
        project,
        "r4",
        T0 + timedelta(days=25),
        [("wobbly", P, "Auth", True), ("solid", F, "Auth"), ("brand_new", F, "Cache")],
    )
    assert run_test_stats_update(run_id=run.pk) == 3
    stats = {s.test.name: s for s in TestStats.objects.select_related("test")}
    assert (stats["wobbly"].flaky_runs, stats["wobbly"].window_runs) == (3, 5)
    assert stats["wobbly"].flake_rate == 0.6
    assert (stats["solid"].failing_runs, stats["solid"].failing_since_run_id) == (1, run.pk)
    assert stats["shaky"].failing_runs == 1  # not in this run: untouched
    assert stats["brand_new"].last_run_id == run.pk
    # Folding the same run twice changes nothing; an older run is left to the rebuild.
    assert run_test_stats_update(run_id=run.pk) == 0
    older = project.runs.get(key="r0")
    assert run_test_stats_update(run_id=older.pk) == 0
    # A passing run ends the streak.
    fixed = make_run(project, "r5", T0 + timedelta(days=26), [("solid", P, "Auth")])
    run_test_stats_update(run_id=fixed.pk)
    solid = TestStats.objects.get(test__name="solid")
    assert (solid.failing_runs, solid.failing_since_run_id) == (0, None)


def test_incomplete_and_other_branch_runs_are_not_folded_in(project):
    partial = make_run(
        project, "p", T0 + timedelta(days=25), [("solid", F, "Auth")], is_complete=False
    )
    feature = make_run(project, "f", T0 + timedelta(days=25), [("solid", F, "Auth")], branch="x")
    assert run_test_stats_update(run_id=partial.pk) == 0
    assert run_test_stats_update(run_id=feature.pk) == 0
