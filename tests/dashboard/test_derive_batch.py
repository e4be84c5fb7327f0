"""Derive in batches: a batch gives what deriving its runs one by one gives.

Generated histories (random outcomes, flaky passes, skips, tests that come and go, two
runs with the same start time) are derived twice, on two projects with the same data:
one run at a time in start order, and in batches of mixed sizes given in shuffled
order. Per-test stats, flaky signals, rollups and flags must be equal; the per-test
stats must also equal the hourly rebuild's.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.derive.detect import run_detect, runs_detect
from dashboard.derive.flags import runs_flags_update
from dashboard.derive.rollups import runs_rollups_update
from dashboard.derive.runs import run_stats_update
from dashboard.derive.teststats import (
    run_test_stats_update,
    runs_test_stats_fold,
    test_stats_refresh,
)
from dashboard.lifecycle.models import TestSignal
from dashboard.lifecycle.policy import policy_set
from dashboard.models import RunCategoryStats, RunStats
from tests.dashboard.analytics_data import F, P, S, make_run
from tests.dashboard.test_teststats import snapshot as stats_snapshot
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
BATCHES = (1, 4, 2, 7, 3, 9)  # 26 runs


def history(seed: int, runs: int = sum(BATCHES)) -> list[tuple[str, datetime, list[tuple]]]:
    """Return runs (key, started_at, results) of 12 tests, some steady, some not."""
    rng = random.Random(seed)
    out = []
    for i in range(runs):
        # Runs 5 and 6 start at the same second: the run id breaks the tie.
        started_at = T0 + timedelta(hours=i if i != 6 else 5)
        results = [("steady", P, "A")]  # passes every run: exercises the skipped writes
        for t in range(11):
            if rng.random() < 0.15:
                continue  # absent from this run
            roll = rng.random()
            if roll < 0.5:
                results.append((f"t{t}", P, "AB"[t % 2]))
            elif roll < 0.65:
                results.append((f"t{t}", P, "AB"[t % 2], True))  # passed on a retry
            elif roll < 0.8:
                results.append((f"t{t}", S, "AB"[t % 2]))
            else:
                results.append((f"t{t}", F, "AB"[t % 2]))
        out.append((f"r{i}", started_at, results))
    return out


def build(project, runs) -> list[int]:
    """Store the runs without deriving anything; return their ids in start order."""
    return [make_run(project, key, at, results, update=False).pk for key, at, results in runs]


def batches(run_ids: list[int], seed: int) -> list[list[int]]:
    """Split the ids into BATCHES-sized batches, each in shuffled order."""
    rng, out, start = random.Random(seed), [], 0
    for size in BATCHES:
        batch = run_ids[start : start + size]
        rng.shuffle(batch)
        out.append(batch)
        start += size
    return out


def signal_snapshot(project) -> dict:
    fields = ("test__name", "history", "last_run__key", "last_started_at", "last_flip_at")
    rows = TestSignal.objects.filter(project=project).values_list(*fields)
    return {row[0]: row[1:] for row in rows}


def rollup_snapshot(project) -> dict:
    runs = RunStats.objects.filter(project=project).values_list(
        "run__key",
        "passed",
        "failed",
        "skipped",
        "flaky",
        "total",
        "is_complete",
        "flag_denominator",
        "flag_incomplete",
        "flag_reasons",
        "compared_run__key",
    )
    categories = RunCategoryStats.objects.filter(project=project).values_list(
        "run__key", "category__name", "passed", "total"
    )
    # The compare links name the project: the same data in two projects differs there.
    slug = f"/p/{project.slug}/"
    runs = {r[0]: (*r[1:9], [x.replace(slug, "/p/~/") for x in r[9]], r[10]) for r in runs}
    return {"runs": runs, "categories": sorted(categories)}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("flaky_counts_as_pass", [True, False])
def test_test_stats_batch_fold_equals_folding_one_by_one_and_the_rebuild(
    seed, flaky_counts_as_pass
):
    one, batched, rebuilt = (
        ProjectFactory(flaky_counts_as_pass=flaky_counts_as_pass) for _ in range(3)
    )
    runs = history(seed)
    ids = build(one, runs)
    expected = []  # after each batch's runs, folded one at a time
    for batch in batches(ids, seed):
        for run_id in sorted(batch):
            run_test_stats_update(run_id=run_id)
        expected.append(stats_snapshot(one))
    got = []
    for batch in batches(build(batched, runs), seed):
        runs_test_stats_fold(project_id=batched.pk, run_ids=batch)
        got.append(stats_snapshot(batched))
    build(rebuilt, runs)
    test_stats_refresh(project_id=rebuilt.pk, now=NOW)

    assert len(expected[-1]) == 12
    # The data exercises what a batch can get wrong: long failing streaks (carried
    # over from an earlier batch), flaky runs.
    rows = [row for snapshot in expected for row in snapshot.values()]
    assert max(row[4] for row in rows) >= 3
    assert any(row[6] > 0 for row in rows)
    assert got == expected
    assert stats_snapshot(rebuilt) == expected[-1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flaky_signal_batch_fold_equals_folding_one_by_one(seed):
    one, batched = ProjectFactory(), ProjectFactory()
    for project in (one, batched):
        # A short window, so steady tests stop being written inside a batch.
        policy_set(project_id=project.pk, action="nothing", retry_n=4, rate_n=5, lift_after=3)
    runs = history(seed)
    expected = []
    for batch in batches(build(one, runs), seed):
        for run_id in sorted(batch):
            run_detect(run_id=run_id)
        expected.append(signal_snapshot(one))
    got = []
    for batch in batches(build(batched, runs), seed):
        runs_detect(project_id=batched.pk, run_ids=batch)
        got.append(signal_snapshot(batched))

    assert expected[-1]["steady"][0] == "ppppp"
    # Steady from the fifth run on: the runs after it write nothing.
    assert expected[-1]["steady"][1] == "r4"
    assert sum(row[3] is not None for row in expected[-1].values()) >= 5  # flips seen
    assert got == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_and_flags_of_a_batch_equal_those_of_one_run_at_a_time(seed):
    one, batched = ProjectFactory(), ProjectFactory()
    runs = history(seed)
    # A shard missing (incomplete), then a run whose failing tests vanished (denominator).
    last = runs[-1][1]
    runs.append(("shard", last + timedelta(hours=1), [r for r in runs[0][2] if r[2] == "A"]))
    passing = [r for r in runs[1][2] if r[1] == P and len(r) == 3]
    runs.append(("vanish", last + timedelta(hours=2), passing))
    for key, at, results in runs:
        make_run(one, key, at, results)  # rollups and flags, one run at a time
    ids = build(batched, runs)
    for batch in [*batches(ids, seed), ids[-2:]]:  # the last batch: "shard", "vanish"
        runs_rollups_update(project_id=batched.pk, run_ids=batch)
        runs_flags_update(project_id=batched.pk, run_ids=batch)

    expected = rollup_snapshot(one)
    assert expected["runs"]["shard"][7] is True  # flag_incomplete
    assert expected["runs"]["vanish"][6] is True  # flag_denominator
    assert expected["runs"]["vanish"][9] == "r25"  # compared with the run before "shard"
    assert rollup_snapshot(batched) == expected


def test_a_late_older_run_in_a_batch_reflags_the_runs_after_it():
    project = ProjectFactory()
    full = [(f"t{i}", P if i < 8 else F, "A") for i in range(10)]
    for day in (1, 2, 4):
        make_run(project, f"d{day}", T0 + timedelta(days=day), full)
    # Day 3 arrives late, without its failing tests: day 4 now compares with it.
    late = make_run(project, "d3", T0 + timedelta(days=3), full[:8], update=False)
    runs_rollups_update(project_id=project.pk, run_ids=[late.pk])
    runs_flags_update(project_id=project.pk, run_ids=[late.pk])
    flags = dict(
        RunStats.objects.filter(project=project).values_list("run__key", "flag_denominator")
    )
    assert flags == {"d1": False, "d2": False, "d3": True, "d4": False}
    assert RunStats.objects.get(run__key="d4").compared_run.key == "d3"
    # The same as deriving every run one at a time in start order.
    for run_id in project.runs.order_by("started_at").values_list("pk", flat=True):
        run_stats_update(run_id=run_id)
    assert flags == dict(
        RunStats.objects.filter(project=project).values_list("run__key", "flag_denominator")
    )
