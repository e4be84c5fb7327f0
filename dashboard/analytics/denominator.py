"""Denominator watch: the rules that flag a run whose figures look better for the wrong reason.

Pure: plain integers and strings in, human sentences out; no Django. The derive layer
(``dashboard.derive.flags``) reads the counts from rollups and results and stores what
these functions return on ``RunStats``.

Rules (also in docs/analytics.md, "Denominator watch"):

- The run is compared with its *compared run*: the latest earlier complete run on its
  branch that is not flagged incomplete (a run missing a shard is no baseline).
- ``denominator``: against the compared run the pass rate rose while the total fell,
  or while the skipped count rose, or while tests that were not passing in the
  compared run are absent from this run ("removed, not passing" of the compare).
- ``incomplete``: the total is below ``total_ratio`` x the median total of the recent
  complete runs, or a category that had results in at least ``category_share`` of
  them (and in at least 3) has none.
"""

from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class RunFigures:
    """What the denominator rules need of one run: its key and rollup counts."""

    key: str
    passed: int
    total: int
    skipped: int


def pct(passed: int, total: int) -> str:
    """Return passed / total as a percent with one decimal ("72.0%"), or "n/a"."""
    return f"{100 * passed / total:.1f}%" if total else "n/a"


def rate_rose(*, run: RunFigures, compared: RunFigures | None) -> bool:
    """Return True when ``run``'s pass rate is above ``compared``'s (exact integers)."""
    if compared is None or not run.total or not compared.total:
        return False
    return run.passed * compared.total > compared.passed * run.total


def denominator_reasons(
    *,
    run: RunFigures,
    compared: RunFigures | None,
    vanished_not_passing: int = 0,
    compare_url: str = "",
) -> list[str]:
    """Return why ``run``'s rate rise against ``compared`` may come from its denominator.

    ``vanished_not_passing`` counts tests present and not passing in ``compared`` and
    absent from ``run``; ``compare_url`` links the compare page of the two runs.
    Empty when the rate did not rise.
    """
    if not rate_rose(run=run, compared=compared):
        return []
    rise = (
        f"the pass rate rose from {pct(compared.passed, compared.total)} "
        f"to {pct(run.passed, run.total)}"
    )
    reasons = []
    if run.total < compared.total:
        reasons.append(f"total fell from {compared.total} to {run.total} while {rise}")
    if run.skipped > compared.skipped:
        reasons.append(f"skipped rose from {compared.skipped} to {run.skipped} while {rise}")
    if vanished_not_passing > 0:
        tests = "test" if vanished_not_passing == 1 else "tests"
        were = "was" if vanished_not_passing == 1 else "were"
        reason = (
            f"{vanished_not_passing} {tests} that {were} not passing in run {compared.key} "
            f"vanished from this run while {rise}"
        )
        if compare_url:
            reason += f" (compare: {compare_url})"
        reasons.append(reason)
    return reasons


def incomplete_reasons(
    *,
    total: int,
    categories: set[int],
    recent_totals: list[int],
    recent_categories: list[set[int]],
    names: dict[int, str],
    total_ratio: float = 0.5,
    category_share: float = 0.8,
) -> list[str]:
    """Return why a run looks incomplete compared with recent complete runs.

    ``categories`` are the ids with results in the run; ``recent_*`` describe the
    recent complete runs, newest first; ``names`` maps category ids to names.
    """
    reasons = []
    if recent_totals:
        typical = median(recent_totals)
        if total < total_ratio * typical:
            reasons.append(
                f"total {total} is below {total_ratio:g} x the median total {typical:g} "
                f"of the last {len(recent_totals)} complete runs"
            )
    n = len(recent_categories)
    if n >= 3:
        seen: dict[int, int] = {}
        for present in recent_categories:
            for category_id in present:
                seen[category_id] = seen.get(category_id, 0) + 1
        for category_id, count in sorted(seen.items(), key=lambda kv: names.get(kv[0], "")):
            if category_id not in categories and count >= category_share * n:
                reasons.append(
                    f"category {names.get(category_id, category_id)} has no results "
                    f"(it had results in {count} of the last {n} complete runs)"
                )
    return reasons
