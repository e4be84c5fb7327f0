"""The figures of one scope (the whole project, or one category) from its counts.

Every page, the JSON API, the exports and the report show these figures; they all
come from ``scope_figures``. Rates are fractions 0..1; the change is a fraction too
(the pages and exports show it in percentage points).
"""

from dashboard.analytics.targets import BP, pass_rate, progress, target_reached, tests_needed


def scope_figures(
    *, passed: int, total: int, base_passed: int | None, base_total: int | None, target_bp: int
) -> dict:
    """Return pass rate, target figures and progress of a scope.

    ``base_passed`` / ``base_total`` are the baseline run's counts of the same scope,
    None when the scope has no baseline. Keys: pass_rate, passed, total, not_passing,
    target, target_reached, tests_needed, progress, progress_note, change.
    """
    rate = pass_rate(passed=passed, total=total)
    has_base = base_passed is not None and base_total is not None
    base_rate = pass_rate(passed=base_passed, total=base_total) if has_base else None
    prog = None
    if has_base and total:
        prog = progress(
            target_bp=target_bp,
            passed=passed,
            total=total,
            base_passed=base_passed,
            base_total=base_total,
        )
    return {
        "pass_rate": rate,
        "passed": passed,
        "total": total,
        "not_passing": total - passed,
        "target": target_bp / BP,
        "target_reached": target_reached(target_bp=target_bp, passed=passed, total=total),
        "tests_needed": tests_needed(target_bp=target_bp, passed=passed, total=total),
        "progress": prog.value if prog else None,
        "progress_note": prog.reason if prog else ("no baseline" if not has_base else ""),
        "change": rate - base_rate if rate is not None and base_rate is not None else None,
    }
