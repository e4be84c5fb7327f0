"""Exact target arithmetic: effective target, tests needed, progress from a baseline.

Pure functions on integers; no Django. Targets are basis points (9000 = 90.00 %).
Pass rates are compared as exact fractions, so a rate of exactly the target counts
as reached and no binary float rounding can turn 665/738 into "not reached".
"""

from dataclasses import dataclass
from fractions import Fraction

BP = 10_000


def effective_target_bp(*, project_bp: int, category_bp: int | None) -> int:
    """Return the target of a category in basis points: its own, else the project's.

    ``None`` means the category has no target of its own; any number, 0 included, is
    an explicit target (a team may set 0 % to say "no goal for this category yet").
    """
    return project_bp if category_bp is None else category_bp


def pass_rate(*, passed: int, total: int) -> float | None:
    """Return passed / total as a fraction 0..1, or None when total is 0."""
    return passed / total if total else None


def tests_needed(*, target_bp: int, passed: int, total: int) -> int:
    """Return how many more tests must pass to reach the target: max(0, ceil(t*N) - P).

    ``target_bp`` is the target in basis points; integer arithmetic only.
    """
    if not 0 <= target_bp <= BP:
        raise ValueError(f"target_bp must be within 0..{BP}, got {target_bp}")
    if passed < 0 or total < 0 or passed > total:
        raise ValueError(f"need 0 <= passed <= total, got {passed}/{total}")
    required = -((-target_bp * total) // BP)  # ceil(target_bp * total / 10000)
    return max(0, required - passed)


def target_reached(*, target_bp: int, passed: int, total: int) -> bool:
    """Return True when passed / total >= target (False when total is 0)."""
    return total > 0 and passed * BP >= target_bp * total


@dataclass(frozen=True)
class Progress:
    """Progress from a baseline towards a target.

    ``value`` is a fraction in [0, 1], or None with ``reason`` when progress has no
    meaning (no data, or the baseline already met the target). ``raw`` is the
    uncapped value (may be negative when the rate fell below the baseline).
    """

    value: float | None
    raw: float | None
    reason: str


def progress(
    *, target_bp: int, passed: int, total: int, base_passed: int, base_total: int
) -> Progress:
    """Return (rate now - rate at baseline) / (target - rate at baseline), capped to [0, 1].

    When the baseline already meets the target the ratio is undefined (division by
    zero or a negative distance); ``value`` is then None and ``reason`` says why, so
    a page can show "baseline already met the target" instead of a made-up 100 %.
    """
    if total <= 0:
        return Progress(None, None, "no results in the current run")
    if base_total <= 0:
        return Progress(None, None, "no results in the baseline run")
    target = Fraction(target_bp, BP)
    now = Fraction(passed, total)
    base = Fraction(base_passed, base_total)
    if base >= target:
        return Progress(None, None, "the baseline already met the target")
    raw = (now - base) / (target - base)
    if raw > 1:
        reason = "target reached; progress capped at 100%"
    elif raw < 0:
        reason = "pass rate is below the baseline; progress capped at 0%"
    else:
        reason = ""
    return Progress(float(min(max(raw, Fraction(0)), Fraction(1))), float(raw), reason)
