"""Theil-Sen slope, ETA, needed weekly rate and downsampling (pure maths)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from dashboard.analytics import trends
from dashboard.derive.trends import trend_refresh
from dashboard.models import RunStats, Trend
from ingest.models import Category
from tests.dashboard.analytics_data import category_results, make_run
from tests.factories import ProjectFactory

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def line(n: int, start: float, per_day: float, step_days: float = 1.0):
    return [(T0 + timedelta(days=i * step_days), start + per_day * i * step_days) for i in range(n)]


def test_theil_sen_recovers_a_straight_line():
    fit = trends.theil_sen(line(10, 0.5, 0.01))
    assert fit.slope_per_day == pytest.approx(0.01)
    assert fit.anchor_at == T0 + timedelta(days=9)
    assert fit.intercept == pytest.approx(0.59)
    assert fit.rate_at(T0) == pytest.approx(0.5)


def test_theil_sen_ignores_outliers():
    points = line(11, 0.5, 0.01)
    points[5] = (points[5][0], 0.0)  # a broken run
    points[7] = (points[7][0], 1.0)
    fit = trends.theil_sen(points)
    assert fit.slope_per_day == pytest.approx(0.01)


def test_theil_sen_needs_two_distinct_times():
    assert trends.theil_sen([]) is None
    assert trends.theil_sen([(T0, 0.5)]) is None
    assert trends.theil_sen([(T0, 0.5), (T0, 0.6)]) is None


def test_theil_sen_on_ten_thousand_points_is_deterministic_and_close():
    points = line(10_000, 0.2, 0.0001, step_days=0.05)
    first = trends.theil_sen(points)
    assert first == trends.theil_sen(list(reversed(points)))
    assert first.slope_per_day == pytest.approx(0.0001)
    assert first.n_points == 10_000


def test_eta_is_where_the_line_crosses_the_target():
    fit = trends.Fit(slope_per_day=0.01, intercept=0.8, anchor_at=T0, n_points=5)
    assert trends.eta(fit=fit, target=0.9, now=T0) == T0 + timedelta(days=10)
    # Two days later the crossing is 8 days away.
    assert trends.eta(fit=fit, target=0.9, now=T0 + timedelta(days=2)) == T0 + timedelta(days=10)


def test_eta_is_none_when_trend_is_flat_or_falling():
    for slope in (0.0, -0.01):
        fit = trends.Fit(slope_per_day=slope, intercept=0.8, anchor_at=T0, n_points=5)
        assert trends.eta(fit=fit, target=0.9, now=T0) is None
        assert not trends.on_track(reached=False, eta_at=None, due=None, fit=fit)
    assert trends.eta(fit=None, target=0.9, now=T0) is None


def test_eta_is_none_when_centuries_away():
    fit = trends.Fit(slope_per_day=1e-12, intercept=0.1, anchor_at=T0, n_points=5)
    assert trends.eta(fit=fit, target=0.9, now=T0) is None


def test_eta_is_now_when_the_line_is_already_above_target():
    fit = trends.Fit(slope_per_day=0.01, intercept=0.95, anchor_at=T0, n_points=5)
    assert trends.eta(fit=fit, target=0.9, now=T0) == T0


def test_on_track_compares_eta_with_end_of_due_date():
    fit = trends.Fit(slope_per_day=0.01, intercept=0.8, anchor_at=T0, n_points=5)
    eta = T0 + timedelta(days=10)  # 2026-03-11 00:00
    assert trends.on_track(reached=False, eta_at=eta, due=date(2026, 3, 10), fit=fit)
    assert not trends.on_track(reached=False, eta_at=eta, due=date(2026, 3, 9), fit=fit)
    assert trends.on_track(reached=False, eta_at=eta, due=None, fit=fit)
    assert trends.on_track(reached=True, eta_at=None, due=None, fit=None)


def test_needed_per_week_spreads_tests_over_weeks_left():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    # Due 2026-03-28 ends at 2026-03-29 00:00: exactly 4 weeks.
    assert trends.needed_per_week(needed=44, due=date(2026, 3, 28), now=now) == 11
    assert trends.needed_per_week(needed=44, due=None, now=now) is None
    assert trends.needed_per_week(needed=0, due=date(2026, 3, 28), now=now) is None
    assert trends.needed_per_week(needed=44, due=date(2026, 2, 1), now=now) is None


def test_iso_renders_utc_with_z():
    assert trends.iso(T0) == "2026-03-01T00:00:00Z"
    assert trends.iso(None) is None


# trend_refresh: cached trends from rollups, with a frozen clock.

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


def refresh_series(project, rates: list[int], *, category="A", days_apart=1, start=None):
    """Create one complete run per rate (passed out of 100) ending just before NOW."""
    start = start or NOW - timedelta(days=days_apart * len(rates))
    for i, passed in enumerate(rates):
        make_run(
            project,
            f"{category}-{i}",
            start + timedelta(days=days_apart * i),
            category_results({category: (passed, 100)}),
        )


@pytest.mark.django_db
def test_trend_refresh_caches_slope_eta_and_needed_rate():
    project = ProjectFactory(target_bp=9000, target_due=date(2026, 4, 28))
    refresh_series(project, [70, 71, 72, 73, 74])  # +1 point a day
    with time_machine.travel(NOW, tick=False):
        assert trend_refresh(project_id=project.pk) == 2  # overall + category A
    trend = Trend.objects.get(project=project, category=None)
    assert trend.n_points == 5
    assert trend.slope_per_week == pytest.approx(0.07)
    # The line is at 74 % on the last run (NOW - 1 day); 16 more points take 16 days.
    assert trend.eta == NOW - timedelta(days=1) + timedelta(days=16)
    assert trend.on_track is True  # due 2026-04-28 ends after the ETA
    # 16 tests over the 27.5 days from NOW to the end of 2026-04-28.
    assert trend.needed_per_week == pytest.approx(16 / (27.5 / 7))
    assert trend.computed_at == NOW


@pytest.mark.django_db
def test_falling_trend_is_not_on_track():

    project = ProjectFactory(target_bp=9000)
    refresh_series(project, [80, 79, 78, 77])
    with time_machine.travel(NOW, tick=False):
        trend_refresh(project_id=project.pk)
    trend = Trend.objects.get(project=project, category=None)
    assert trend.slope_per_day < 0
    assert (trend.eta, trend.on_track, trend.target_reached) == (None, False, False)


@pytest.mark.django_db
def test_reached_target_has_no_eta_and_category_target_overrides():

    project = ProjectFactory(target_bp=9000)
    refresh_series(project, [91, 92, 93])
    Category.objects.filter(project=project, name="A").update(target_bp=9900)
    with time_machine.travel(NOW, tick=False):
        trend_refresh(project_id=project.pk)
    overall = Trend.objects.get(project=project, category=None)
    assert (overall.target_reached, overall.eta, overall.on_track) == (True, None, True)
    category = Trend.objects.get(project=project, category__name="A")
    assert category.target_bp == 9900
    assert category.target_reached is False
    assert category.eta is not None


@pytest.mark.django_db
def test_trend_window_and_incomplete_runs(settings):

    settings.PASSLINE_TREND_WINDOW_DAYS = 10
    project = ProjectFactory()
    refresh_series(project, [10, 10], start=NOW - timedelta(days=40))  # outside the window
    refresh_series(project, [70, 71, 72, 73], category="B")
    RunStats.objects.filter(run__key="B-2").update(flag_incomplete=True)
    with time_machine.travel(NOW, tick=False):
        trend_refresh(project_id=project.pk)
    trend = Trend.objects.get(project=project, category=None)
    assert (trend.n_points, trend.window_days) == (3, 10)
    assert trend.slope_per_day == pytest.approx(0.01)
    assert Trend.objects.get(project=project, category__name="B").n_points == 3
    assert Trend.objects.get(project=project, category__name="A").n_points == 0
