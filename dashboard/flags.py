"""Denominator watch: flag runs whose figures look better for the wrong reason.

A run gets ``flag_denominator`` when, against the previous complete run on its branch,
its pass rate rose while its total fell or its skipped count rose. It gets
``flag_incomplete`` when its total is below PASSLINE_INCOMPLETE_TOTAL_RATIO x the
median total of the last PASSLINE_INCOMPLETE_LOOKBACK_RUNS complete runs, or when a
category with results in at least PASSLINE_INCOMPLETE_CATEGORY_SHARE of those runs
(and at least 3 of them) has none. Reasons are human sentences stored on RunStats.
"""

from statistics import median

from django.conf import settings

from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Category


def _setting(name: str, default):
    return getattr(settings, name, default)


def _pct(passed: int, total: int) -> str:
    return f"{100 * passed / total:.1f}%" if total else "n/a"


def denominator_reasons(*, run: RunStats, previous: RunStats | None) -> list[str]:
    """Return reasons why ``run``'s rate rise may come from a smaller denominator."""
    if previous is None or not run.total or not previous.total:
        return []
    if run.passed * previous.total <= previous.passed * run.total:
        return []  # the rate did not rise
    before, after = _pct(previous.passed, previous.total), _pct(run.passed, run.total)
    rise = f"the pass rate rose from {before} to {after}"
    reasons = []
    if run.total < previous.total:
        reasons.append(f"total fell from {previous.total} to {run.total} while {rise}")
    if run.skipped > previous.skipped:
        reasons.append(f"skipped rose from {previous.skipped} to {run.skipped} while {rise}")
    return reasons


def incomplete_reasons(
    *,
    total: int,
    categories: set[int],
    recent_totals: list[int],
    recent_categories: list[set[int]],
    names: dict[int, str],
) -> list[str]:
    """Return reasons why a run looks incomplete compared with recent complete runs."""
    reasons = []
    ratio = _setting("PASSLINE_INCOMPLETE_TOTAL_RATIO", 0.5)
    if recent_totals:
        typical = median(recent_totals)
        if total < ratio * typical:
            reasons.append(
                f"total {total} is below {ratio:g} x the median total {typical:g} "
                f"of the last {len(recent_totals)} complete runs"
            )
    share = _setting("PASSLINE_INCOMPLETE_CATEGORY_SHARE", 0.8)
    n = len(recent_categories)
    if n >= 3:
        seen: dict[int, int] = {}
        for present in recent_categories:
            for category_id in present:
                seen[category_id] = seen.get(category_id, 0) + 1
        for category_id, count in sorted(seen.items(), key=lambda kv: names.get(kv[0], "")):
            if category_id not in categories and count >= share * n:
                reasons.append(
                    f"category {names.get(category_id, category_id)} has no results "
                    f"(it had results in {count} of the last {n} complete runs)"
                )
    return reasons


def run_flags_update(*, run_id: int) -> RunStats | None:
    """Recompute the denominator-watch flags of one run from rollups; idempotent."""
    stats = RunStats.objects.filter(run_id=run_id).first()
    if stats is None:
        return None
    lookback = _setting("PASSLINE_INCOMPLETE_LOOKBACK_RUNS", 10)
    recent = list(
        RunStats.objects.filter(
            project_id=stats.project_id,
            branch=stats.branch,
            is_complete=True,
            started_at__lt=stats.started_at,
        )
        .exclude(run_id=run_id)
        .order_by("-started_at", "-run_id")[:lookback]
    )
    previous = recent[0] if recent else None
    recent_ids = [r.run_id for r in recent]
    by_run: dict[int, set[int]] = {rid: set() for rid in [*recent_ids, run_id]}
    for rid, category_id in RunCategoryStats.objects.filter(
        run_id__in=by_run, total__gt=0
    ).values_list("run_id", "category_id"):
        by_run[rid].add(category_id)
    all_ids = set().union(*by_run.values())
    names = dict(Category.objects.filter(pk__in=all_ids).values_list("pk", "name"))
    denominator = denominator_reasons(run=stats, previous=previous)
    incomplete = incomplete_reasons(
        total=stats.total,
        categories=by_run[run_id],
        recent_totals=[r.total for r in recent],
        recent_categories=[by_run[rid] for rid in recent_ids],
        names=names,
    )
    RunStats.objects.filter(pk=stats.pk).update(
        flag_denominator=bool(denominator),
        flag_incomplete=bool(incomplete),
        flag_reasons=denominator + incomplete,
    )
    stats.refresh_from_db()
    return stats
