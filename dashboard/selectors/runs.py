"""Runs: the runs list, one run's page, defaults for a comparison, pickers and flags."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from dashboard.analytics.targets import pass_rate
from dashboard.models import RunCategoryStats, RunStats
from dashboard.selectors.compare import runs_compare
from dashboard.selectors.summary import baseline_stats_get, latest_stats_get
from ingest.models import Category, Project, Run


def run_list(
    *,
    project: Project,
    branch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[RunStats]:
    """Return run rollups newest first, optionally filtered by branch and start time.

    Runs whose results were not processed yet have no rollup and are not listed.
    """
    qs = RunStats.objects.filter(project=project).select_related("run")
    if branch is not None:
        qs = qs.filter(branch=branch)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    if until is not None:
        qs = qs.filter(started_at__lte=until)
    return qs.order_by("-started_at", "-run_id")


def previous_complete_run(*, run: Run) -> Run | None:
    """Return the complete run on the same branch started just before ``run``."""
    return (
        Run.objects.filter(
            project_id=run.project_id,
            branch=run.branch,
            is_complete=True,
            started_at__lt=run.started_at,
        )
        .order_by("-started_at", "-id")
        .first()
    )


def run_detail_get(
    *, project: Project, run: Run, changes_limit: int = 50, owner: str | None = None
) -> dict:
    """Return a run's rollup and pass rate, per-category figures, uploads and changes.

    ``diff`` compares with the previous complete run on the branch (None for the first
    run): its ``regressed`` and ``fixed`` figures are the run's regressions and fixes.
    """
    previous = previous_complete_run(run=run)
    stats = RunStats.objects.filter(run=run).first()
    return {
        "stats": stats,
        "pass_rate": pass_rate(passed=stats.passed, total=stats.total) if stats else None,
        "per_category": [
            {
                "name": row.category.name,
                "passed": row.passed,
                "total": row.total,
                "pass_rate": pass_rate(passed=row.passed, total=row.total),
                "failed": row.failed,
                "error": row.error,
                "skipped": row.skipped,
                "flaky": row.flaky,
            }
            for row in RunCategoryStats.objects.filter(run=run)
            .select_related("category")
            .order_by("category__name")
        ],
        "previous": previous,
        "diff": runs_compare(
            project=project, base_run=previous, head_run=run, limit=changes_limit, owner=owner
        )
        if previous
        else None,
        "uploads": list(run.uploads.order_by("created_at", "id")),
    }


def compare_default_runs(*, project: Project) -> tuple[Run | None, Run | None]:
    """Return (baseline run, latest complete default-branch run) for a default compare."""
    base = baseline_stats_get(project=project)
    head = latest_stats_get(project=project)
    if base is None and project.baseline_run_id:
        base_run = project.baseline_run
    else:
        base_run = base.run if base else None
    return base_run, head.run if head else None


def run_get(*, project: Project, key: str | None) -> Run | None:
    """Return the project's run with ``key``; None for no key or an unknown one."""
    if not key:
        return None
    run = Run.objects.filter(project=project, key=key).first()
    if run is not None:
        run.project = project  # spare callers (the verdict) a query for it
    return run


def category_get(*, project: Project, name_or_id: str) -> Category | None:
    """Return the project's category by name, else by id when ``name_or_id`` is digits."""
    found = Category.objects.filter(project=project, name=name_or_id).first()
    if found is None and name_or_id.isdigit():
        found = Category.objects.filter(project=project, pk=int(name_or_id)).first()
    return found


def branch_list(*, project: Project, limit: int = 50) -> list[str]:
    """Return up to `limit` branch names with runs, the default branch first. Queries: 1."""
    names = list(
        Run.objects.filter(project=project)
        .order_by("branch")
        .values_list("branch", flat=True)
        .distinct()[:limit]
    )
    rest = [b for b in names if b != project.default_branch]
    return [project.default_branch, *rest]


def recent_run_keys(*, project: Project, limit: int = 50) -> list[str]:
    """Return the keys of the `limit` most recent runs, newest first. Queries: 1."""
    return list(
        Run.objects.filter(project=project)
        .order_by("-started_at", "-id")
        .values_list("key", flat=True)[:limit]
    )


def flagged_runs_list(*, project: Project, branch: str, limit: int = 5) -> list[RunStats]:
    """Return the latest `limit` runs on `branch` flagged incomplete or by the denominator
    watch, newest first, with their runs. Queries: 1.
    """
    return list(
        RunStats.objects.filter(project=project, branch=branch)
        .filter(Q(flag_incomplete=True) | Q(flag_denominator=True))
        .select_related("run")
        .only("run__key", "run__started_at", "flag_incomplete", "flag_denominator",
              "flag_reasons", "started_at", "passed", "total")
        .order_by("-started_at", "-run_id")[:limit]
    )  # fmt: skip
