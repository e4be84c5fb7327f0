"""A run's verdict against its base: change in points, failing streaks, gates.

Pure functions (no Django). The verdict selector (``dashboard.selectors.verdict``)
reads the two runs' results and rollups and feeds these; the API, the run page, the
uploader's ``--gate``, PR comments and chat messages all show what they return.

Gates (each "pass" or "fail"):

- ``new-failures``: fails when a test that is not quarantined is a new failure (did not
  pass in this run, and passed in the base or was added since the base).
- ``below-target``: fails when the run's pass rate is below the project's target (a
  run without counted results is below any target).
- ``flagged``: fails when the run is flagged (incomplete, or by the denominator watch).

Quarantined tests never fail a gate: callers pass only the new failures that are not
quarantined.
"""

from collections.abc import Iterable

from dashboard.analytics.targets import target_reached

GATES = ("new-failures", "below-target", "flagged")
PASS, FAIL = "pass", "fail"
MESSAGE_CHARS = 200


def delta_points(*, rate: float | None, base_rate: float | None) -> float | None:
    """Return (rate - base_rate) in percentage points, rounded to 2 decimals (None if unknown)."""
    if rate is None or base_rate is None:
        return None
    return round((rate - base_rate) * 100, 2)


def gates_evaluate(
    *, new_failures: int, passed: int, total: int, target_bp: int, flags: Iterable[str]
) -> dict[str, str]:
    """Return {gate: "pass"|"fail"} for every gate in ``GATES``.

    ``new_failures`` counts new failures that are not quarantined; ``target_bp`` is the
    project's target in basis points; ``flags`` are the run's flag names.
    """
    return {
        "new-failures": FAIL if new_failures > 0 else PASS,
        "below-target": PASS if target_reached(target_bp=target_bp, passed=passed, total=total)
        else FAIL,
        "flagged": FAIL if any(True for _ in flags) else PASS,
    }  # fmt: skip


def message_first_line(message: str, *, limit: int = MESSAGE_CHARS) -> str:
    """Return the first non-empty line of a failure message, cut to ``limit`` characters."""
    for line in message.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def streak_start(*, history: list[tuple[str, bool]]) -> tuple[str | None, int]:
    """Return (run key, runs) of the current failing streak in ``history``.

    ``history`` is a test's results on one branch, newest first, as (run key, passing).
    The streak is the newest results that do not pass; its start is the oldest of them.
    Returns (None, 0) when the newest result passes or there is none.
    """
    start, runs = None, 0
    for key, passing in history:
        if passing:
            break
        start, runs = key, runs + 1
    return start, runs
