"""Regressions and "failing since": streaks of results that do not pass.

A regression passed in the previous complete run and does not pass now (skipped
included). A test is "failing since run X (N runs / N days)" when its newest complete
default-branch results do not pass, X being the oldest run of that streak (the streak
is kept per test in ``TestStats``).
"""

from datetime import datetime


def failing_since(
    *, run: str | None, started_at: datetime | None, runs: int, now: datetime
) -> dict:
    """Return {run, started_at (datetime), runs, days} of a failing streak.

    ``days`` counts whole days from the streak's first run to ``now`` (None when the
    first run is unknown).
    """
    return {
        "run": run,
        "started_at": started_at,
        "runs": runs,
        "days": (now - started_at).days if started_at else None,
    }
