"""Pure analytics: the downsampling rule, the trend projection, the compare identity."""

from datetime import UTC, date, datetime, timedelta

import pytest

from dashboard.analytics.compare import identity_holds, results_compare
from dashboard.analytics.outcomes import FAILED, PASSED, SKIPPED
from dashboard.analytics.series import downsample
from dashboard.analytics.trends import Fit, projection, rate_needed_per_week, trend_figures

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_downsample_keeps_every_step_and_the_last():
    assert downsample(list(range(30)), 10) == [0, 4, 8, 12, 16, 20, 24, 28, 29]
    assert downsample([1, 2, 3], 500) == [1, 2, 3]
    assert downsample([], 10) == []
    kept = downsample(list(range(10_000)), 500)
    assert len(kept) <= 500 and kept[0] == 0 and kept[-1] == 9_999


def test_projection_runs_to_the_eta_along_the_fit():
    fit = Fit(slope_per_day=0.01, intercept=0.5, anchor_at=T0, n_points=5)
    line = projection(fit=fit, eta_at=T0 + timedelta(days=40), last_at=T0)
    assert line == {
        "x0": T0,
        "y0": 0.5,
        "x1": T0 + timedelta(days=40),
        "y1": fit.rate_at(line["x1"]),
    }
    assert line["y1"] == 0.9


def test_projection_without_eta_runs_thirty_days_and_is_clamped():
    fit = Fit(slope_per_day=-0.1, intercept=0.5, anchor_at=T0, n_points=5)
    line = projection(fit=fit, eta_at=None, last_at=T0)
    assert line["x1"] == T0 + timedelta(days=30) and line["y1"] == 0.0
    assert projection(fit=None, eta_at=None, last_at=T0) is None


def test_rate_needed_per_week():
    now = T0
    due = date(2026, 3, 28)  # 4 weeks from now to the end of the due date
    assert rate_needed_per_week(target_bp=9000, passed=80, total=100, due=due, now=now) == (
        (0.9 - 0.8) / 4
    )
    assert rate_needed_per_week(target_bp=9000, passed=90, total=100, due=due, now=now) is None
    assert rate_needed_per_week(target_bp=9000, passed=80, total=100, due=None, now=now) is None


def test_compare_identity_holds_overall_and_per_category_with_moves():
    base = {
        1: (PASSED, False, 10),
        2: (FAILED, False, 10),
        3: (PASSED, False, 10),
        4: (FAILED, False, 20),
    }
    head = {
        1: (FAILED, False, 10),
        2: (PASSED, False, 20),
        4: (PASSED, True, 20),
        5: (SKIPPED, False, 20),
    }
    result = results_compare(base=base, head=head, flaky_counts_as_pass=True, skipped_in_total=True)
    overall = result["overall"]
    assert (overall["fixed"], overall["regressed"]) == (2, 1)
    assert (overall["removed_passing"], overall["added_not_passing"]) == (1, 1)
    assert overall["delta_passed"] == 0 and identity_holds(overall)
    assert all(identity_holds(f) for f in result["categories"].values())
    assert result["categories"][20]["moved_in"] == 1 and result["categories"][10]["moved_out"] == 1
    broken = {**overall, "fixed": overall["fixed"] + 1}
    assert not identity_holds(broken)


def test_trend_figures_of_a_climbing_scope():
    points = [(T0 + timedelta(days=i), 70 + 2 * i, 100) for i in range(5)]  # +2 points a day
    now = T0 + timedelta(days=4)
    figures = trend_figures(points=points, target_bp=9000, due=date(2026, 3, 31), now=now)
    assert figures["n_points"] == 5 and figures["target_reached"] is False
    assert figures["slope_per_day"] == pytest.approx(0.02)
    eta_days = (figures["eta"] - now).total_seconds() / 86_400
    assert eta_days == pytest.approx(6)  # 78% -> 90% at 2 points a day
    assert figures["on_track"] is True
    weeks = (datetime(2026, 4, 1, tzinfo=UTC) - now).days / 7
    assert figures["rate_needed_per_week"] == pytest.approx((0.9 - 0.78) / weeks)
    assert figures["needed_per_week"] > 0


def test_trend_figures_of_a_reached_or_empty_scope():
    reached = trend_figures(points=[(T0, 95, 100)], target_bp=9000, due=None, now=T0)
    assert (reached["target_reached"], reached["eta"], reached["on_track"]) == (True, None, True)
    empty = trend_figures(points=[], target_bp=9000, due=None, now=T0)
    assert (empty["n_points"], empty["slope_per_day"], empty["on_track"]) == (0, None, False)
