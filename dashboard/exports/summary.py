"""Build the managers' status summary: two runs compared, with honest figures.

``status_summary_get(project=, base_run=None, head_run=None) -> dict`` reads the
analytics' selectors (``runs_compare`` for the two runs, ``project_summary_get`` for
the trend of the default branch) and the two runs' rollup flags. Default runs: the
baseline and the latest complete run of the default branch. Rates are fractions 0..1,
changes in percentage points, timestamps ISO 8601 UTC. The exports (Markdown, CSV,
XLSX, JSON, report page) only format this dict.

Categories named "Other" or "Uncategorized" hold tests "in no listed category"; the
rest are the listed (service) categories, and ``sources`` splits the change in passed
tests between the two groups.
"""

from dashboard import targets
from dashboard.models import RunStats
from dashboard.selectors import compare_default_runs, project_summary_get, runs_compare
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


def _rate(passed: int, total: int) -> float | None:
    return passed / total if total else None


def _scope(*, figures: dict, target_bp: int) -> dict:
    """Return the summary figures of one scope from its compare figures."""
    bp, bt = figures["base_passed"], figures["base_total"]
    hp, ht = figures["head_passed"], figures["head_total"]
    before, after = _rate(bp, bt), _rate(hp, ht)
    progress = targets.progress(
        target_bp=target_bp, passed=hp, total=ht, base_passed=bp, base_total=bt
    )
    return {
        "base_passed": bp,
        "base_total": bt,
        "head_passed": hp,
        "head_total": ht,
        "rate_before": before,
        "rate_after": after,
        "change_points": None if before is None or after is None else 100 * (after - before),
        "delta_passed": hp - bp,
        **{key: figures[key] for key in COUNT_KEYS},
        "not_passing": ht - hp,
        "target": target_bp / targets.BP,
        "tests_needed": targets.tests_needed(target_bp=target_bp, passed=hp, total=ht),
        "target_reached": targets.target_reached(target_bp=target_bp, passed=hp, total=ht),
        "progress": progress.value,
        "progress_note": progress.reason,
    }


def _run_info(run: Run, stats: RunStats | None) -> dict:
    return {
        "run": run.key,
        "branch": run.branch,
        "commit": run.commit,
        "build_url": run.build_url,
        "started_at": run.started_at.isoformat().replace("+00:00", "Z"),
        "flags": list(stats.flag_reasons) if stats else [],
        "incomplete": bool(stats and stats.flag_incomplete),
        "denominator": bool(stats and stats.flag_denominator),
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
    *, project: Project, base_run: Run | None = None, head_run: Run | None = None
) -> dict:
    """Return the status summary of ``head_run`` against ``base_run`` (see the module doc).

    Raise NoRuns when a run is not given and the project has no complete run for it.
    """
    if base_run is None or head_run is None:
        default_base, default_head = compare_default_runs(project=project)
        base_run = base_run or default_base
        head_run = head_run or default_head
    if base_run is None or head_run is None:
        raise NoRuns("The project has no complete run on its default branch yet.")
    compare = runs_compare(
        project=project, base_run=base_run, head_run=head_run, limit=CHANGES_LIMIT
    )
    stats = {s.run_id: s for s in RunStats.objects.filter(run_id__in=[base_run.pk, head_run.pk])}
    category_targets = {
        c.name: c.target_bp for c in Category.objects.filter(project=project) if c.target_bp
    }
    overall = _scope(figures=compare["overall"], target_bp=project.target_bp)
    categories = []
    for item in compare["categories"]:
        target_bp = category_targets.get(item["name"], project.target_bp)
        categories.append(
            {
                "name": item["name"],
                "listed": item["name"] not in REST_NAMES,
                **_scope(figures=item, target_bp=target_bp),
            }
        )
    listed = [c for c in categories if c["listed"]]
    rest = [c for c in categories if not c["listed"]]
    trend = project_summary_get(project=project)
    latest = trend["run"]["key"] if trend["run"] else None
    return {
        "project": {"slug": project.slug, "name": project.name, "is_public": project.is_public},
        "target": project.target_bp / targets.BP,
        "target_due": project.target_due.isoformat() if project.target_due else None,
        "base": _run_info(base_run, stats.get(base_run.pk)),
        "head": _run_info(head_run, stats.get(head_run.pk)),
        "overall": overall,
        "categories": categories,
        "sources": {
            "listed": _group("listed categories", listed),
            "rest": _group("in no listed category", rest),
        },
        # The trend is the default branch's, up to its latest complete run.
        "trend": {
            "branch": trend["branch"],
            "latest_run": latest,
            "head_is_latest": latest == head_run.key and head_run.branch == trend["branch"],
            "per_week": trend["trend_per_week"],
            "eta": trend["eta"],
            "on_track": trend["on_track"],
        },
        "identity_holds": compare["identity_holds"],
        "changes": compare["changes"],
        "changes_total": compare["changes_total"],
        "changes_truncated": compare["changes_truncated"],
    }
