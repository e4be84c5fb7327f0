"""Per-test stats written set-based: folded in per run, rebuilt in batches."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from dashboard.derive.teststats import run_test_stats_update, test_stats_refresh
from dashboard.models import TestStats
from tests.dashboard.analytics_data import F, P, S, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=20)
FIELDS = (
    "test__name",
    "category__name",
    "last_run__key",
    "last_outcome",
    "failing_since_run__key",
    "failing_runs",
    "window_runs",
    "flaky_runs",
    "flake_rate",
)
HISTORY = [
    # (key, day, results)
    ("r0", 1, [("a", P, "A"), ("b", F, "A"), ("c", P, "B", True)]),
    ("r1", 2, [("a", F, "A"), ("b", F, "A"), ("c", F, "B")]),
    ("r2", 3, [("a", S, "A"), ("b", P, "A", True), ("d", F, "B")]),
    ("r3", 4, [("a", F, "A"), ("b", F, "A"), ("c", P, "B"), ("d", F, "B")]),
]


def snapshot(project) -> dict:
    rows = TestStats.objects.filter(project=project).values_list(*FIELDS)
    return {row[0]: row[1:] for row in rows}


def build(project, *, fold: bool) -> None:
    for key, day, results in HISTORY:
        run = make_run(project, key, T0 + timedelta(days=day), results)
        if fold:
            run_test_stats_update(run_id=run.pk)


@pytest.mark.parametrize("flaky_counts_as_pass", [True, False])
def test_folding_each_run_gives_what_the_rebuild_gives(flaky_counts_as_pass):
    folded = ProjectFactory(flaky_counts_as_pass=flaky_counts_as_pass)
    build(folded, fold=True)
    rebuilt = ProjectFactory(flaky_counts_as_pass=flaky_counts_as_pass)
    build(rebuilt, fold=False)
    with time_machine.travel(NOW, tick=False):
        assert test_stats_refresh(project_id=rebuilt.pk) == 4
    assert snapshot(folded) == snapshot(rebuilt)
    a = snapshot(folded)["a"]
    # a: passed in r0, then failed, skipped, failed: a streak of 3 since r1.
    assert a == ("A", "r3", F, "r1", 3, 4, 0, 0.0)
    b = snapshot(folded)["b"]
    if flaky_counts_as_pass:
        assert b == ("A", "r3", F, "r3", 1, 4, 1, 0.25)
    else:  # r2's flaky pass does not end the streak
        assert b == ("A", "r3", F, "r0", 4, 4, 1, 0.25)


def test_rebuild_in_small_batches_equals_one_batch_and_drops_tests_out_of_window(settings):
    project = ProjectFactory()
    build(project, fold=True)
    # Only r3 is in a 2-day window at NOW: "b" stays, a test seen only before leaves.
    gone = make_run(project, "old", T0 - timedelta(days=30), [("ancient", F, "A")])
    run_test_stats_update(run_id=gone.pk)
    assert "ancient" in snapshot(project)
    settings.PASSLINE_FLAKY_WINDOW_DAYS = 2
    now = T0 + timedelta(days=5)
    with time_machine.travel(now, tick=False):
        test_stats_refresh(project_id=project.pk)
        one_batch = snapshot(project)
        settings.PASSLINE_TEST_STATS_BATCH = 2
        test_stats_refresh(project_id=project.pk)
    assert snapshot(project) == one_batch
    assert set(one_batch) == {"a", "b", "c", "d"}
    assert one_batch["c"] == ("B", "r3", P, None, 0, 1, 0, 0.0)


def test_fold_touches_only_the_runs_tests_in_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    small, big = ProjectFactory(), ProjectFactory()
    make_run(big, "wide", T0, [(f"t{i}", P, "A") for i in range(300)])
    for project in (small, big):
        make_run(project, "prev", T0 + timedelta(days=1), [("x", P, "A"), ("y", F, "A")])
    run_test_stats_update(run_id=big.runs.get(key="wide").pk)
    before = snapshot(big)
    # The run (with its project's settings), SAVEPOINT, advisory lock (PostgreSQL),
    # UPDATE, INSERT of the new tests ("z"), RELEASE.
    expected = 6 if connection.vendor == "postgresql" else 5
    for project in (small, big):
        results = [("x", F, "A"), ("y", F, "A"), ("z", P, "A")]
        run = make_run(project, "head", T0 + timedelta(days=2), results)
        with django_assert_num_queries(expected):
            assert run_test_stats_update(run_id=run.pk) == 3
    after = snapshot(big)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"x", "y", "z"}
    # Only known tests: the same statements (the INSERT finds nothing to insert).
    run = make_run(big, "next", T0 + timedelta(days=3), results)
    with django_assert_num_queries(expected):
        assert run_test_stats_update(run_id=run.pk) == 3
