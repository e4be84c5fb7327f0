"""Pure trend maths: Theil-Sen slope, ETA to a target, rates needed, the projection line.

No Django here. Times are timezone-aware UTC datetimes; pass rates are fractions 0..1;
slopes are fraction per day.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from dashboard.analytics.targets import BP, target_reached, tests_needed

DAY = 86_400.0
# Above this many pairs the slope is the median of a deterministic random sample of
# pairs (seeded by the input size), which keeps 10,000 points well under a second; the
# sample median of 20,000 slopes is within about 1% of the slopes' spread of the exact one.
MAX_PAIRS = 20_000
# An ETA further away than this is reported as "not on track" rather than a date.
MAX_ETA_DAYS = 3650


@dataclass(frozen=True)
class Fit:
    """A fitted line ``rate(t) = intercept + slope_per_day * days(t - anchor_at)``."""

    slope_per_day: float
    intercept: float
    anchor_at: datetime
    n_points: int

    def rate_at(self, when: datetime) -> float:
        """Return the line's pass rate (fraction) at ``when``."""
        return self.intercept + self.slope_per_day * (when - self.anchor_at).total_seconds() / DAY


def _pair_slopes(xs: list[float], ys: list[float]) -> list[float]:
    n = len(xs)
    slopes = []
    if n * (n - 1) // 2 <= MAX_PAIRS:
        for i in range(n):
            xi, yi = xs[i], ys[i]
            for j in range(i + 1, n):
                dx = xs[j] - xi
                if dx:
                    slopes.append((ys[j] - yi) / dx)
        return slopes
    rng = random.Random(n)
    # choices() draws indices much faster than a randrange() loop.
    population = range(n)
    firsts = rng.choices(population, k=MAX_PAIRS)
    seconds = rng.choices(population, k=MAX_PAIRS)
    return [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i, j in zip(firsts, seconds, strict=True)
        if xs[j] != xs[i]
    ]


def theil_sen(points: list[tuple[datetime, float]]) -> Fit | None:
    """Fit a Theil-Sen line through (time, pass rate) points.

    The slope is the median of the slopes of all pairs with different times (a sample
    of pairs for large inputs); the intercept is the median of ``y - slope * x`` with
    x in days from the latest point, which is the anchor. Return None with fewer than
    two distinct times.
    """
    if len(points) < 2:
        return None
    points = sorted(points, key=lambda p: p[0])
    anchor = points[-1][0]
    xs = [(t - anchor).total_seconds() / DAY for t, _ in points]
    ys = [float(y) for _, y in points]
    slopes = _pair_slopes(xs, ys)
    if not slopes:
        return None
    slope = median(slopes)
    intercept = median(y - slope * x for x, y in zip(xs, ys, strict=True))
    return Fit(slope_per_day=slope, intercept=intercept, anchor_at=anchor, n_points=len(points))


def eta(*, fit: Fit | None, target: float, now: datetime) -> datetime | None:
    """Return when the fitted line reaches ``target`` (a fraction), or None.

    None when there is no fit, the slope is <= 0 (not on track), or the crossing is
    more than MAX_ETA_DAYS away. A line already above the target gives ``now``.
    """
    if fit is None or fit.slope_per_day <= 0:
        return None
    days = (target - fit.intercept) / fit.slope_per_day
    crossing_days_from_now = days - (now - fit.anchor_at).total_seconds() / DAY
    if crossing_days_from_now > MAX_ETA_DAYS:
        return None
    if crossing_days_from_now <= 0:
        return now
    return now + timedelta(days=crossing_days_from_now)


def iso(when: datetime | None) -> str | None:
    """Return an ISO 8601 UTC string ending in "Z" (as DRF renders), or None."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def due_end(due: date) -> datetime:
    """Return the end of the due date (midnight after it, UTC)."""
    return datetime.combine(due + timedelta(days=1), time.min, tzinfo=UTC)


def weeks_left(*, due: date | None, now: datetime) -> float | None:
    """Return the weeks from ``now`` to the end of ``due``; None without a due date."""
    if due is None:
        return None
    return (due_end(due) - now).total_seconds() / (7 * DAY)


def needed_per_week(*, needed: int, due: date | None, now: datetime) -> float | None:
    """Return tests per week that must start passing to meet the due date.

    None without a due date, when nothing is needed, or when the due date has passed.
    """
    weeks = weeks_left(due=due, now=now)
    if weeks is None or needed <= 0 or weeks <= 0:
        return None
    return needed / weeks


def on_track(*, reached: bool, eta_at: datetime | None, due: date | None, fit: Fit | None) -> bool:
    """Return True when the target is reached, or the ETA exists and meets the due date."""
    if reached:
        return True
    if fit is None or fit.slope_per_day <= 0 or eta_at is None:
        return False
    return due is None or eta_at <= due_end(due)


def rate_needed_per_week(
    *, target_bp: int, passed: int, total: int, due: date | None, now: datetime
) -> float | None:
    """Return the pass-rate rise (fraction per week) needed to meet the due date.

    None without a due date or results, once the due date has passed, or when the
    target is already reached.
    """
    weeks = weeks_left(due=due, now=now)
    if not total or weeks is None or weeks <= 0:
        return None
    if target_reached(target_bp=target_bp, passed=passed, total=total):
        return None
    return (target_bp / BP - passed / total) / weeks


PROJECTION_DAYS = 30


def projection(
    *, fit: Fit | None, eta_at: datetime | None, last_at: datetime | None
) -> dict | None:
    """Return the dashed trend line ``{"x0", "y0", "x1", "y1"}`` from the last point.

    The line ends at the ETA when there is one after ``last_at``; otherwise it runs
    PROJECTION_DAYS past the last point so the direction still shows. Rates are
    clamped to 0..1. None without a fit or a last point.
    """
    if fit is None or last_at is None:
        return None
    end = eta_at if eta_at and eta_at > last_at else last_at + timedelta(days=PROJECTION_DAYS)

    def clamped(when: datetime) -> float:
        return max(0.0, min(1.0, fit.rate_at(when)))

    return {"x0": last_at, "y0": clamped(last_at), "x1": end, "y1": clamped(end)}


def trend_figures(
    *, points: list[tuple[datetime, int, int]], target_bp: int, due: date | None, now: datetime
) -> dict:
    """Return a scope's trend figures from (started_at, passed, total) points in time order.

    Keys (the Trend row's fields): n_points, slope_per_day, intercept, anchor_at,
    target_bp, target_reached, eta, on_track, needed_per_week (tests),
    rate_needed_per_week (fraction), computed_at. Reached and needed refer to the
    latest point; the fit skips points without results.
    """
    fit = theil_sen([(t, p / n) for t, p, n in points if n])
    latest = points[-1] if points else None
    passed, total = (latest[1], latest[2]) if latest else (0, 0)
    reached = bool(latest) and target_reached(target_bp=target_bp, passed=passed, total=total)
    needed = tests_needed(target_bp=target_bp, passed=passed, total=total) if latest else 0
    eta_at = None if reached else eta(fit=fit, target=target_bp / BP, now=now)
    return {
        "n_points": len(points),
        "slope_per_day": fit.slope_per_day if fit else None,
        "intercept": fit.intercept if fit else None,
        "anchor_at": fit.anchor_at if fit else None,
        "target_bp": target_bp,
        "target_reached": reached,
        "eta": eta_at,
        "on_track": on_track(reached=reached, eta_at=eta_at, due=due, fit=fit),
        "needed_per_week": needed_per_week(needed=needed, due=due, now=now),
        "rate_needed_per_week": rate_needed_per_week(
            target_bp=target_bp, passed=passed, total=total, due=due, now=now
        ),
        "computed_at": now,
    }
