"""The pure denominator-watch rules (dashboard.analytics.denominator)."""

from dashboard.analytics.denominator import (
    RunFigures,
    denominator_reasons,
    incomplete_reasons,
    rate_rose,
)

BASE = RunFigures(key="b", passed=144, total=200, skipped=0)


def test_rate_rise_is_exact_integer_arithmetic():
    # Cross-multiplied integers: 2/3 is above 666,666/1,000,000 by 2 in 3,000,000.
    assert rate_rose(
        run=RunFigures(key="h", passed=2, total=3, skipped=0),
        compared=RunFigures(key="b", passed=666_666, total=1_000_000, skipped=0),
    )
    assert not rate_rose(run=BASE, compared=BASE)
    assert not rate_rose(run=BASE, compared=None)
    assert not rate_rose(run=RunFigures(key="h", passed=0, total=0, skipped=0), compared=BASE)


def test_one_vanished_test_is_named_in_the_singular_with_its_link():
    head = RunFigures(key="h", passed=144, total=199, skipped=0)
    reasons = denominator_reasons(
        run=head, compared=BASE, vanished_not_passing=1, compare_url="/p/x/compare/?base=b&head=h"
    )
    assert reasons[-1] == (
        "1 test that was not passing in run b vanished from this run while the pass rate "
        "rose from 72.0% to 72.4% (compare: /p/x/compare/?base=b&head=h)"
    )


def test_vanished_tests_do_not_flag_a_run_whose_rate_did_not_rise():
    head = RunFigures(key="h", passed=100, total=164, skipped=0)
    assert denominator_reasons(run=head, compared=BASE, vanished_not_passing=36) == []


def test_incomplete_needs_three_recent_runs_for_the_category_rule():
    two = incomplete_reasons(
        total=100,
        categories={1},
        recent_totals=[100, 100],
        recent_categories=[{1, 2}, {1, 2}],
        names={1: "A", 2: "B"},
    )
    assert two == []
    three = incomplete_reasons(
        total=100,
        categories={1},
        recent_totals=[100, 100, 100],
        recent_categories=[{1, 2}, {1, 2}, {1, 2}],
        names={1: "A", 2: "B"},
    )
    assert three == ["category B has no results (it had results in 3 of the last 3 complete runs)"]
