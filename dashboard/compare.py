"""What changed between two runs: fixed, regressed, added, removed, skipped, flaky.

``runs_compare(project=, base_run=, head_run=, limit=200)`` reads the results of the
two runs only (never a project's whole history) and returns::

    {
      "base": {"run": key, "started_at": iso, "passed": int, "total": int, "pass_rate": f},
      "head": {... same ...},
      "overall": Figures, "categories": [Figures + {"name": str}, ...] (by name),
      "identity_holds": bool,
      "changes": [{"test_id", "classname", "name", "category", "change",
                   "base_outcome", "head_outcome"}, ...]  (at most ``limit``),
      "changes_total": int, "changes_truncated": bool,
    }

Figures = {fixed, regressed, added_passing, added_not_passing, removed_passing,
removed_not_passing, newly_skipped, flaky, moved_in, moved_out, base_passed,
head_passed, delta_passed, base_total, head_total}. ``passing`` follows the project's
flaky setting; totals follow its skipped setting.

The identity delta_passed = fixed - regressed + added_passing - removed_passing
holds overall and in every category. A test whose category differs between the runs
counts, per category, as removed from its base category and added to its head
category (also counted in ``moved_out`` / ``moved_in``); overall it is compared
as the same test (fixed, regressed or unchanged).
"""

from dashboard.flaky import is_passing
from dashboard.trends import iso
from ingest.models import Category, Project, Result, Run, Test

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
OUTCOME_NAMES = {o.value: o.label for o in Result.Outcome}


def _results(run: Run) -> dict[int, tuple[int, bool, int]]:
    return {
        test_id: (outcome, flaky, category_id)
        for test_id, outcome, flaky, category_id in Result.objects.filter(run=run).values_list(
            "test_id", "outcome", "flaky", "category_id"
        )
    }


def _new() -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0)


def _run_figures(run: Run, passed: int, total: int) -> dict:
    return {
        "run": run.key,
        "started_at": iso(run.started_at),
        "passed": passed,
        "total": total,
        "pass_rate": passed / total if total else None,
    }


def runs_compare(*, project: Project, base_run: Run, head_run: Run, limit: int = 200) -> dict:
    """Return what changed from ``base_run`` to ``head_run`` (see the module docstring)."""
    flaky_ok = project.flaky_counts_as_pass
    skipped_in_total = project.skipped_in_total
    skipped = Result.Outcome.SKIPPED
    base = _results(base_run)
    head = _results(head_run)
    overall = _new()
    per: dict[int, dict[str, int]] = {}
    changes: list[tuple[str, int, int | None, int | None, int]] = []

    def cat(category_id: int) -> dict[str, int]:
        return per.setdefault(category_id, _new())

    def counted(outcome: int) -> int:
        return int(skipped_in_total or outcome != skipped)

    for test_id in base.keys() | head.keys():
        b = base.get(test_id)
        h = head.get(test_id)
        b_pass = b is not None and is_passing(
            outcome=b[0], flaky=b[1], flaky_counts_as_pass=flaky_ok
        )
        h_pass = h is not None and is_passing(
            outcome=h[0], flaky=h[1], flaky_counts_as_pass=flaky_ok
        )
        if b is not None:
            for figures in (overall, cat(b[2])):
                figures["base_passed"] += b_pass
                figures["base_total"] += counted(b[0])
        if h is not None:
            for figures in (overall, cat(h[2])):
                figures["head_passed"] += h_pass
                figures["head_total"] += counted(h[0])
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
        newly_skipped = b is not None and h is not None and h[0] == skipped and b[0] != skipped
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

    names = dict(Category.objects.filter(pk__in=per.keys()).values_list("pk", "name"))
    order = {
        "regressed": 0,
        "removed_passing": 1,
        "added_not_passing": 2,
        "fixed": 3,
        "newly_skipped": 4,
        "added_passing": 5,
        "removed_not_passing": 6,
        "flaky": 7,
    }
    changes.sort(key=lambda c: (order[c[0]], names.get(c[4], ""), c[1]))
    shown = changes[:limit]
    tests = {
        t.pk: t
        # Through the related manager, Django would assign `project` to each instance
        # and load the deferred project_id once per test: one query per change.
        for t in Test.objects.filter(project=project, pk__in=[c[1] for c in shown]).only(
            "classname", "name"
        )
    }
    identity_holds = True
    categories = []
    for category_id, figures in per.items():
        _finish(figures)
        identity_holds &= _identity(figures)
        categories.append({"name": names.get(category_id, str(category_id)), **figures})
    categories.sort(key=lambda c: c["name"].casefold())
    _finish(overall)
    identity_holds &= _identity(overall)
    return {
        "base": _run_figures(base_run, overall["base_passed"], overall["base_total"]),
        "head": _run_figures(head_run, overall["head_passed"], overall["head_total"]),
        "overall": overall,
        "categories": categories,
        "identity_holds": identity_holds,
        "changes": [
            {
                "test_id": test_id,
                "classname": tests[test_id].classname if test_id in tests else "",
                "name": tests[test_id].name if test_id in tests else "",
                "category": names.get(category_id, ""),
                "change": kind,
                "base_outcome": OUTCOME_NAMES.get(b_out),
                "head_outcome": OUTCOME_NAMES.get(h_out),
            }
            for kind, test_id, b_out, h_out, category_id in shown
        ],
        "changes_total": len(changes),
        "changes_truncated": len(changes) > len(shown),
    }


def _finish(figures: dict) -> None:
    figures["delta_passed"] = figures["head_passed"] - figures["base_passed"]


def _identity(figures: dict) -> bool:
    """Return True when delta_passed = fixed - regressed + added_passing - removed_passing."""
    return figures["delta_passed"] == (
        figures["fixed"]
        - figures["regressed"]
        + figures["added_passing"]
        - figures["removed_passing"]
    )
