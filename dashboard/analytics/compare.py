"""What changed between two runs, from their results: the compare figures and identity.

Input: for each run, ``{test_id: (outcome, flaky, category_id)}``. Figures (overall and
per category) = {fixed, regressed, added_passing, added_not_passing, removed_passing,
removed_not_passing, newly_skipped, flaky, moved_in, moved_out, base_passed,
head_passed, delta_passed, base_total, head_total}. ``passing`` follows the project's
flaky setting; totals follow its skipped setting.

The identity delta_passed = fixed - regressed + added_passing - removed_passing holds
overall and in every category. A test whose category differs between the runs counts,
per category, as removed from its base category and added to its head category (also
counted in ``moved_out`` / ``moved_in``); overall it is compared as the same test
(fixed, regressed or unchanged).
"""

from dashboard.analytics.outcomes import SKIPPED, is_counted, is_passing

FIGURES = (
    "fixed",
    "regressed",
    "added_passing",
    "added_not_passing",
    "removed_passing",
    "removed_not_passing",
    "newly_skipped",
    "flaky",
    "moved_in",
    "moved_out",
    "base_passed",
    "head_passed",
    "base_total",
    "head_total",
)
# Order of the changed tests on pages and in exports: what hurts first.
CHANGE_ORDER = {
    "regressed": 0,
    "removed_passing": 1,
    "added_not_passing": 2,
    "fixed": 3,
    "newly_skipped": 4,
    "added_passing": 5,
    "removed_not_passing": 6,
    "flaky": 7,
}

Results = dict[int, tuple[int, bool, int]]


def _new() -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0)


def identity_holds(figures: dict) -> bool:
    """Return True when delta_passed = fixed - regressed + added_passing - removed_passing."""
    return figures["delta_passed"] == (
        figures["fixed"]
        - figures["regressed"]
        + figures["added_passing"]
        - figures["removed_passing"]
    )


def results_compare(
    *, base: Results, head: Results, flaky_counts_as_pass: bool, skipped_in_total: bool
) -> dict:
    """Return {"overall": Figures, "categories": {category_id: Figures}, "changes": [...]}.

    ``changes`` are (change, test_id, base outcome or None, head outcome or None,
    category_id) for every test that changed, was newly skipped or is flaky in the
    head run, in no particular order.
    """
    overall = _new()
    per: dict[int, dict[str, int]] = {}
    changes: list[tuple[str, int, int | None, int | None, int]] = []

    def cat(category_id: int) -> dict[str, int]:
        return per.setdefault(category_id, _new())

    def passing(result) -> bool:
        return result is not None and is_passing(
            outcome=result[0], flaky=result[1], flaky_counts_as_pass=flaky_counts_as_pass
        )

    for test_id in base.keys() | head.keys():
        b, h = base.get(test_id), head.get(test_id)
        b_pass, h_pass = passing(b), passing(h)
        if b is not None:
            for figures in (overall, cat(b[2])):
                figures["base_passed"] += b_pass
                figures["base_total"] += is_counted(outcome=b[0], skipped_in_total=skipped_in_total)
        if h is not None:
            for figures in (overall, cat(h[2])):
                figures["head_passed"] += h_pass
                figures["head_total"] += is_counted(outcome=h[0], skipped_in_total=skipped_in_total)
                figures["flaky"] += h[1]
        # Overall: the same test is compared with itself.
        change = None
        if b is None:
            change = "added_passing" if h_pass else "added_not_passing"
        elif h is None:
            change = "removed_passing" if b_pass else "removed_not_passing"
        elif b_pass and not h_pass:
            change = "regressed"
        elif h_pass and not b_pass:
            change = "fixed"
        if change:
            overall[change] += 1
        newly_skipped = b is not None and h is not None and h[0] == SKIPPED and b[0] != SKIPPED
        overall["newly_skipped"] += newly_skipped
        # Per category: a test that moved leaves its base category and joins its head one.
        if b is not None and h is not None and b[2] != h[2]:
            cat(b[2])["moved_out"] += 1
            cat(b[2])["removed_passing" if b_pass else "removed_not_passing"] += 1
            cat(h[2])["moved_in"] += 1
            cat(h[2])["added_passing" if h_pass else "added_not_passing"] += 1
            cat(h[2])["newly_skipped"] += newly_skipped
        elif change or newly_skipped:
            figures = cat(h[2] if h is not None else b[2])
            if change:
                figures[change] += 1
            figures["newly_skipped"] += newly_skipped
        if change or newly_skipped or (h is not None and h[1]):
            kind = change or ("newly_skipped" if newly_skipped else "flaky")
            changes.append((kind, test_id, b[0] if b else None, h[0] if h else None, (h or b)[2]))
    for figures in (overall, *per.values()):
        figures["delta_passed"] = figures["head_passed"] - figures["base_passed"]
    return {"overall": overall, "categories": per, "changes": changes}
