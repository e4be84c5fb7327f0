"""Denominator watch: flags for shrinking totals, rising skips and incomplete runs."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import RunStats
from tests.dashboard.analytics_data import F, P, S, category_results, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(days=i)


def flags(run) -> tuple[bool, bool, list[str]]:
    s = RunStats.objects.get(run=run)
    return s.flag_denominator, s.flag_incomplete, s.flag_reasons


def test_total_drop_with_rising_rate_is_flagged():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10), "B": (8, 10)}))
    # Two failing tests removed from B: the rate rises from 80 % to 88.9 %.
    run = make_run(project, "r2", at(1), category_results({"A": (8, 10), "B": (8, 8)}))
    denominator, incomplete, reasons = flags(run)
    assert denominator and not incomplete
    rise = "while the pass rate rose from 80.0% to 88.9%"
    assert reasons == [
        f"total fell from 20 to 18 {rise}",
        f"2 tests that were not passing in run r1 vanished from this run {rise} "
        f"(compare: /p/{project.slug}/compare/?base=r1&head=r2)",
    ]


def test_skipping_failures_is_flagged():
    project = ProjectFactory()
    base = [(f"t{i}", P if i < 8 else F, "A") for i in range(10)]
    make_run(project, "r1", at(0), base)
    # Skipped tests stay in the total by default, so skipping cannot raise the rate:
    # exclude them to make the rate rise, as a project may.
    project.skipped_in_total = False
    project.save()
    head = [(f"t{i}", P if i < 8 else S, "A") for i in range(10)]
    run = make_run(project, "r2", at(1), head)
    denominator, _, reasons = flags(run)
    assert denominator
    assert any(r.startswith("skipped rose from 0 to 2") for r in reasons)


def test_honest_improvement_is_not_flagged():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (8, 10)}))
    run = make_run(project, "r2", at(1), category_results({"A": (9, 10)}))
    assert flags(run) == (False, False, [])


def test_falling_total_with_falling_rate_is_not_a_denominator_flag():
    project = ProjectFactory()
    make_run(project, "r1", at(0), category_results({"A": (9, 10)}))
    run = make_run(project, "r2", at(1), category_results({"A": (5, 9)}))
    assert flags(run)[0] is False


def test_missing_shard_is_flagged_incomplete():
    project = ProjectFactory()
    spec = {"A": (8, 10), "B": (8, 10), "C": (8, 10)}
    for i in range(5):
        make_run(project, f"r{i}", at(i), category_results(spec))
    run = make_run(project, "shard", at(6), category_results({"A": (9, 10), "B": (9, 10)}))
    _, incomplete, reasons = flags(run)
    assert incomplete
    assert "category C has no results (it had results in 5 of the last 5 complete runs)" in reasons


def test_tiny_total_is_flagged_incomplete():
    project = ProjectFactory()
    for i in range(4):
        make_run(project, f"r{i}", at(i), category_results({"A": (80, 100)}))
    run = make_run(project, "tiny", at(5), category_results({"A": (40, 45)}))
    _, incomplete, reasons = flags(run)
    assert incomplete
    assert reasons[-1] == "total 45 is below 0.5 x the median total 100 of the last 4 complete runs"


def test_incomplete_thresholds_are_settings(settings):
    settings.PASSLINE_INCOMPLETE_TOTAL_RATIO = 0.4
    project = ProjectFactory()
    for i in range(4):
        make_run(project, f"r{i}", at(i), category_results({"A": (80, 100)}))
    run = make_run(project, "tiny", at(5), category_results({"A": (40, 45)}))
    assert flags(run)[1] is False


def test_first_run_is_never_flagged():
    project = ProjectFactory()
    run = make_run(project, "r1", at(0), category_results({"A": (1, 10)}))
    assert flags(run) == (False, False, [])


def test_late_earlier_run_reflags_the_following_run():
    project = ProjectFactory()
    later = make_run(project, "r2", at(2), category_results({"A": (8, 8)}))
    assert flags(later)[0] is False
    make_run(project, "r1", at(1), category_results({"A": (8, 10)}))
    assert flags(later)[0] is True
