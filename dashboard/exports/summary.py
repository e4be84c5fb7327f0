"""Build the managers' status summary: two runs compared, with honest figures.

``status_summary_get(project=, base_run=None, head_run=None) -> dict`` reads the same
selectors as the pages and the API: ``run_pair_summary_get`` for the figures of each
scope (from the two runs' rollups, by ``analytics.figures.scope_figures``, so the
head's pass rate, tests needed, target and progress are those of the summary API),
``runs_compare`` for what changed (fixed, regressed, added, removed...); the trend is
the default branch's, as in ``project_summary_get``. Default runs: the
baseline and the latest complete run of the default branch. Rates are fractions 0..1,
changes in percentage points, timestamps ISO 8601 UTC. The exports (Markdown, CSV,
XLSX, JSON, report page) only format this dict.

Categories named "Other" or "Uncategorized" hold tests "in no listed category"; the
rest are the listed (service) categories, and ``sources`` splits the change in passed
tests between the two groups.
"""

from dashboard.analytics.compare import FIGURES
from dashboard.analytics.trends import iso
from dashboard.selectors.compare import runs_compare
from dashboard.selectors.owner_sections import owner_sections_get
from dashboard.selectors.owners import codeowners_get
from dashboard.selectors.quarantine import quarantined_test_ids
from dashboard.selectors.runs import compare_default_runs
from dashboard.selectors.summary import latest_stats_get, run_pair_summary_get
from ingest.models import Category, Project, Run

REST_NAMES = frozenset({"Other", Category.UNCATEGORIZED})
CHANGES_LIMIT = 5000
COUNT_KEYS = (
    "fixed",
    "regressed",
    "added_passing",
    "added_not_passing",
    "removed_passing",
    "removed_not_passing",
    "newly_skipped",
    "flaky",
)


class NoRuns(Exception):
    """The project has no complete run to summarise."""


def _scope(*, figures: dict, changes: dict | None) -> dict:
    """Return the export figures of one scope: rollup figures plus what changed."""
    base = figures["baseline"] or {"passed": 0, "total": 0, "pass_rate": None}
    change = figures["change"]
    changes = changes or dict.fromkeys(FIGURES, 0)
    return {
        "base_passed": base["passed"],
        "base_total": base["total"],
        "head_passed": figures["passed"],
        "head_total": figures["total"],
        "rate_before": base["pass_rate"],
        "rate_after": figures["pass_rate"],
        "change_points": None if change is None else 100 * change,
        "delta_passed": figures["passed"] - base["passed"],
        **{key: changes[key] for key in COUNT_KEYS},
        "not_passing": figures["not_passing"],
        "target": figures["target"],
        "tests_needed": figures["tests_needed"],
        "target_reached": figures["target_reached"],
        "progress": figures["progress"],
        "progress_note": figures["progress_note"],
    }


def _run_info(run: Run, flags: dict | None) -> dict:
    flags = flags or {"reasons": [], "incomplete": False, "denominator": False}
    return {
        "run": run.key,
        "branch": run.branch,
        "commit": run.commit,
        "build_url": run.build_url,
        "started_at": iso(run.started_at),
        "flags": list(flags["reasons"]),
        "incomplete": flags["incomplete"],
        "denominator": flags["denominator"],
    }


def _group(name: str, categories: list[dict]) -> dict:
    base = sum(c["base_passed"] for c in categories)
    head = sum(c["head_passed"] for c in categories)
    return {
        "name": name,
        "categories": [c["name"] for c in categories],
        "tests": sum(c["head_total"] for c in categories),
        "base_total": sum(c["base_total"] for c in categories),
        "base_passed": base,
        "head_passed": head,
        "delta_passed": head - base,
    }


def status_summary_get(
    *,
    project: Project,
    base_run: Run | None = None,
    head_run: Run | None = None,
    changes_limit: int = CHANGES_LIMIT,
) -> dict:
    """Return the status summary of ``head_run`` against ``base_run`` (see the module doc).

    ``changes`` lists at most ``changes_limit`` changed tests (``changes_total`` counts
    them all). Raise NoRuns when a run is not given and the project has no complete run for it.
    """
    latest = None
    if base_run is None or head_run is None:
        default_base, default_head = compare_default_runs(project=project)
        latest = default_head.key if default_head else None
        base_run = base_run or default_base
        head_run = head_run or default_head
    if base_run is None or head_run is None:
        raise NoRuns("The project has no complete run on its default branch yet.")
    codeowners = codeowners_get(project=project)
    compare = runs_compare(
        project=project,
        base_run=base_run,
        head_run=head_run,
        limit=changes_limit,
        codeowners=codeowners,
    )
    figures = run_pair_summary_get(
        project=project, base_run_id=base_run.pk, head_run_id=head_run.pk
    )
    changed = {c["name"]: c for c in compare["categories"]}
    overall = _scope(figures=figures, changes=compare["overall"])
    categories = [
        {
            "name": c["name"],
            "listed": c["name"] not in REST_NAMES,
            **_scope(figures=c, changes=changed.get(c["name"])),
        }
        for c in figures["categories"]
    ]
    listed = [c for c in categories if c["listed"]]
    rest = [c for c in categories if not c["listed"]]
    if latest is None:
        latest_stats = latest_stats_get(project=project)
        latest = latest_stats.run.key if latest_stats else None
    return {
        "project": {"slug": project.slug, "name": project.name, "is_public": project.is_public},
        "target": figures["target"],
        "target_due": figures["target_due"],
        "base": _run_info(base_run, figures["base_flags"]),
        "head": _run_info(head_run, figures["flags"]),
        "overall": overall,
        "categories": categories,
        "sources": {
            "listed": _group("listed categories", listed),
            "rest": _group("in no listed category", rest),
        },
        # The trend is the default branch's, up to its latest complete run.
        "trend": {
            "branch": project.default_branch,
            "latest_run": latest,
            "head_is_latest": latest == head_run.key and head_run.branch == project.default_branch,
            "per_week": figures["trend_per_week"],
            "eta": figures["eta"],
            "on_track": figures["on_track"],
        },
        # Quarantined tests (now) still count as not passing in every figure above.
        "quarantined": figures["quarantined"],
        "identity_holds": compare["identity_holds"],
        "changes": compare["changes"],
        "changes_total": compare["changes_total"],
        "changes_truncated": compare["changes_truncated"],
        # What each owner (CODEOWNERS) has to look at in the head run.
        "owners": owner_sections_get(
            project=project,
            head_run=head_run,
            changes=compare["changes"],
            quarantined_ids=quarantined_test_ids(project=project) if codeowners.rules else (),
            codeowners=codeowners,
        ),
    }
