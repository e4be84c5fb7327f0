"""The headline figures of a project and its categories, read from rollups.

``project_summary_get(*, project, branch=None) -> dict`` is the body of
``GET /api/v1/projects/<slug>/summary`` and the headline of the overview, category,
report and project-list pages and of the exports. Per scope (the project, and each
category in ``categories``) it holds ``analytics.figures.scope_figures`` (pass_rate,
passed, total, not_passing, target, target_reached, tests_needed, progress,
progress_note, change), ``counts``, ``target_due``, ``baseline`` and the cached trend
(``trend_per_week``, ``eta``, ``on_track``, ``needed_per_week``). Top level adds
``project``, ``branch``, ``run`` ({key, started_at, commit, build_url} or None) and
``flags``.
"""

from django.db.models import OuterRef, Subquery

from dashboard.analytics.figures import scope_figures
from dashboard.analytics.targets import effective_target_bp, pass_rate
from dashboard.analytics.trends import iso
from dashboard.models import RunCategoryStats, RunStats, Trend
from dashboard.selectors.quarantine import quarantined_by_category
from ingest.models import Category, Project


def latest_stats_get(*, project: Project, branch: str | None = None) -> RunStats | None:
    """Return the rollup of the latest complete run on ``branch`` (default branch)."""
    return (
        RunStats.objects.filter(
            project=project, branch=branch or project.default_branch, is_complete=True
        )
        .select_related("run")
        .order_by("-started_at", "-run_id")
        .first()
    )


def baseline_stats_get(*, project: Project) -> RunStats | None:
    """Return the baseline's rollup: the marked run, else the first complete default-branch run."""
    qs = RunStats.objects.select_related("run")
    if project.baseline_run_id:
        return qs.filter(run_id=project.baseline_run_id).first()
    return (
        qs.filter(project=project, branch=project.default_branch, is_complete=True)
        .order_by("started_at", "run_id")
        .first()
    )


def _counts(stats) -> dict:
    return {
        "tests": stats.total if stats else 0,
        "passed": stats.passed if stats else 0,
        "failed": stats.failed if stats else 0,
        "error": stats.error if stats else 0,
        "skipped": stats.skipped if stats else 0,
        "flaky": stats.flaky if stats else 0,
    }


def _figures(*, counts, base, base_key: str | None, target_bp: int, due, trend) -> dict:
    """Return the figures of one scope from its rollups (see the module docstring)."""
    figures = scope_figures(
        passed=counts.passed if counts else 0,
        total=counts.total if counts else 0,
        base_passed=base.passed if base and counts else None,
        base_total=base.total if base and counts else None,
        target_bp=target_bp,
    )
    return {
        **figures,
        "counts": _counts(counts),
        "target_due": due.isoformat() if due else None,
        "baseline": None
        if base is None
        else {
            "run": base_key,
            "pass_rate": pass_rate(passed=base.passed, total=base.total),
            "passed": base.passed,
            "total": base.total,
        },
        "trend_per_week": trend.slope_per_week if trend else None,
        "eta": iso(trend.eta) if trend else None,
        "on_track": trend.on_track if trend else False,
        "needed_per_week": trend.needed_per_week if trend else None,
    }


def _flags(stats) -> dict:
    return {
        "incomplete": bool(stats and stats.flag_incomplete),
        "denominator": bool(stats and stats.flag_denominator),
        "reasons": list(stats.flag_reasons) if stats else [],
    }


def _run_ref(stats) -> dict | None:
    if stats is None:
        return None
    run = stats.run
    return {
        "key": run.key,
        "started_at": iso(run.started_at),
        "commit": run.commit,
        "build_url": run.build_url,
    }


def _headline(*, project: Project, branch: str, latest, base, trend) -> dict:
    return {
        "project": project.slug,
        "branch": branch,
        "run": _run_ref(latest),
        **_figures(
            counts=latest,
            base=base,
            base_key=base.run.key if base else None,
            target_bp=project.target_bp,
            due=project.target_due,
            trend=trend,
        ),
        "flags": _flags(latest),
        "categories": [],
    }


def _summary(*, project: Project, branch: str, latest, base, trends: dict) -> dict:
    """Return the summary of ``latest`` against ``base`` (rollups); 2 queries.

    The second counts the project's quarantined tests, overall and per category.
    """
    run_ids = [s.run_id for s in (latest, base) if s is not None]
    latest_cats: dict[int, RunCategoryStats] = {}
    base_cats: dict[int, RunCategoryStats] = {}
    categories: dict[int, Category] = {}
    for row in RunCategoryStats.objects.filter(run_id__in=run_ids).select_related("category"):
        categories[row.category_id] = row.category
        if latest is not None and row.run_id == latest.run_id:
            latest_cats[row.category_id] = row
        if base is not None and row.run_id == base.run_id:
            base_cats[row.category_id] = row
    summary = _headline(
        project=project, branch=branch, latest=latest, base=base, trend=trends.get(None)
    )
    # Quarantined tests still count as not passing; the summary says how many there are.
    quarantined = quarantined_by_category(project=project)
    summary["quarantined"] = sum(quarantined.values())
    for category in sorted(categories.values(), key=lambda c: c.name.casefold()):
        summary["categories"].append(
            {
                "name": category.name,
                "category_id": category.pk,
                **_figures(
                    counts=latest_cats.get(category.pk),
                    base=base_cats.get(category.pk),
                    base_key=base.run.key if base else None,
                    target_bp=effective_target_bp(
                        project_bp=project.target_bp, category_bp=category.target_bp
                    ),
                    due=category.target_due or project.target_due,
                    trend=trends.get(category.pk),
                ),
                "quarantined": quarantined.get(category.pk, 0),
            }
        )
    return summary


def _trends(*, project: Project, branch: str) -> dict:
    return {t.category_id: t for t in Trend.objects.filter(project=project, branch=branch)}


def project_summary_get(*, project: Project, branch: str | None = None) -> dict:
    """Return the project summary (the summary API body) for ``branch``.

    Reads 5 queries whatever the number of runs or categories: latest rollup, baseline
    rollup, their category rollups (with categories), quarantined tests per category,
    the cached trends.
    """
    branch = branch or project.default_branch
    latest = latest_stats_get(project=project, branch=branch)
    base = baseline_stats_get(project=project)
    return _summary(
        project=project,
        branch=branch,
        latest=latest,
        base=base,
        trends=_trends(project=project, branch=branch),
    )


def run_pair_summary_get(*, project: Project, base_run_id: int, head_run_id: int) -> dict:
    """Return the summary of the head run against the base run, with the default trend.

    The same figures as ``project_summary_get`` (which is this with the latest run and
    the baseline), for any two runs; the trend is the default branch's. Adds
    ``base_flags`` (the base run's flags). Queries: 3.
    """
    stats = {
        s.run_id: s
        for s in RunStats.objects.filter(run_id__in=[base_run_id, head_run_id]).select_related(
            "run"
        )
    }
    head, base = stats.get(head_run_id), stats.get(base_run_id)
    summary = _summary(
        project=project,
        branch=head.branch if head else project.default_branch,
        latest=head,
        base=base,
        trends=_trends(project=project, branch=project.default_branch),
    )
    return {**summary, "base_flags": _flags(base)}


def projects_headline_list(*, projects) -> list[tuple[Project, dict | None]]:
    """Return (project, headline or None without a complete run) for each project.

    The headline has the overall figures of ``project_summary_get`` on the default
    branch (no categories). Queries: 3 whatever the number of projects: the projects
    with their latest and first complete run ids, those rollups (with runs), the
    overall trends.
    """
    on_default = RunStats.objects.filter(
        project=OuterRef("pk"), branch=OuterRef("default_branch"), is_complete=True
    )
    projects = list(
        projects.annotate(
            latest_run_id=Subquery(
                on_default.order_by("-started_at", "-run_id").values("run_id")[:1]
            ),
            first_run_id=Subquery(on_default.order_by("started_at", "run_id").values("run_id")[:1]),
        )
    )
    wanted = {p.latest_run_id for p in projects} | {
        p.baseline_run_id or p.first_run_id for p in projects
    }
    wanted.discard(None)
    stats = {s.run_id: s for s in RunStats.objects.filter(run_id__in=wanted).select_related("run")}
    trends = {
        (t.project_id, t.branch): t
        for t in Trend.objects.filter(
            project_id__in=[p.pk for p in projects], category__isnull=True
        )
    }
    rows = []
    for project in projects:
        latest = stats.get(project.latest_run_id)
        headline = None
        if latest is not None:
            headline = _headline(
                project=project,
                branch=project.default_branch,
                latest=latest,
                base=stats.get(project.baseline_run_id or project.first_run_id),
                trend=trends.get((project.pk, project.default_branch)),
            )
        rows.append((project, headline))
    return rows
