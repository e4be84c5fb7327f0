"""Read-only analytics for the API, pages, exports and ``loaddemo``.

Every function reads rollups (RunStats, RunCategoryStats, Trend, TestStats); only
``run_detail_get``, ``test_history_get`` and ``runs_compare`` read results, of one run,
one test or one run pair. Rates are fractions 0..1; timestamps are ISO 8601 UTC
strings ("...Z") in the dict results. Stable names and shapes:

- ``project_summary_get(*, project, branch=None) -> dict``: the body of
  ``GET /api/v1/projects/<slug>/summary`` (see ``_figures`` for the per-scope keys),
  plus ``project``, ``branch`` and ``run`` ({key, started_at, commit, build_url} or
  None when the branch has no complete run).
- ``baseline_stats_get(*, project) -> RunStats | None``: the baseline run's rollup
  (``project.baseline_run``, else the first complete run on the default branch).
- ``latest_stats_get(*, project, branch=None) -> RunStats | None``.
- ``run_list(*, project, branch=None, since=None, until=None) -> QuerySet[RunStats]``
  newest first, ``select_related("run")``.
- ``pass_rate_series(*, project, branch, since=None, until=None, max_points=500)
  -> {"overall": [Point], "categories": {name: [Point]}}``, Point = {run_id, run,
  started_at (datetime), passed, total, rate, incomplete}; complete runs only, oldest
  first, downsampled keeping each bucket's extremes and the first/last point.
- ``category_detail_get(*, project, category, branch=None) -> dict``: the category's
  summary figures, its series and its flaky and failing tests.
- ``run_detail_get(*, run) -> dict``: counts, flags, categories, the comparison with
  the previous complete run on its branch (regressions/fixes) and its flaky tests.
- ``test_history_get(*, test, branch=None, limit=100) -> dict``: results newest
  first and "failing since" (run, runs, days).
- ``runs_compare(*, project, base_run, head_run, limit=200) -> dict``: see
  ``dashboard.compare``; ``compare_default_runs(*, project) -> (base, head)``.
"""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard import targets
from dashboard.compare import runs_compare
from dashboard.flaky import flaky_tests_list, is_passing, run_flaky_tests_list
from dashboard.models import RunCategoryStats, RunStats, Trend
from dashboard.regressions import failing_tests_list, previous_complete_run
from dashboard.trends import downsample, iso
from ingest.models import Category, Project, Result, Run, Test

__all__ = [
    "baseline_stats_get",
    "category_detail_get",
    "compare_default_runs",
    "latest_stats_get",
    "pass_rate_series",
    "project_summary_get",
    "run_detail_get",
    "run_list",
    "runs_compare",
    "test_history_get",
]


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


def _baseline_json(stats) -> dict | None:
    if stats is None:
        return None
    return {
        "run": stats.run.key,
        "pass_rate": stats.pass_rate,
        "passed": stats.passed,
        "total": stats.total,
    }


def _figures(
    *, counts, base, target_bp: int, due, trend: Trend | None, include_counts: bool
) -> dict:
    """Return the summary figures of one scope (overall or a category)."""
    passed, total = (counts.passed, counts.total) if counts else (0, 0)
    prog = None
    if counts and base:
        prog = targets.progress(
            target_bp=target_bp,
            passed=passed,
            total=total,
            base_passed=base.passed,
            base_total=base.total,
        )
    figures = {
        "pass_rate": counts.pass_rate if counts else None,
        "passed": passed,
        "total": total,
    }
    if include_counts:
        figures["counts"] = {
            "tests": total,
            "passed": passed,
            "failed": counts.failed if counts else 0,
            "error": counts.error if counts else 0,
            "skipped": counts.skipped if counts else 0,
            "flaky": counts.flaky if counts else 0,
        }
    figures.update(
        {
            "target": target_bp / targets.BP,
            "target_due": due.isoformat() if due else None,
            "target_reached": targets.target_reached(
                target_bp=target_bp, passed=passed, total=total
            ),
            "tests_needed": targets.tests_needed(target_bp=target_bp, passed=passed, total=total),
            "baseline": None,
            "progress": prog.value if prog else None,
            "progress_note": prog.reason if prog else "no baseline",
            "trend_per_week": trend.slope_per_week if trend else None,
            "eta": iso(trend.eta) if trend else None,
            "on_track": trend.on_track if trend else False,
            "needed_per_week": trend.needed_per_week if trend else None,
        }
    )
    return figures


def project_summary_get(*, project: Project, branch: str | None = None) -> dict:
    """Return the project summary (the summary API body) for ``branch``.

    Reads 4 queries whatever the number of runs or categories: latest rollup, baseline
    rollup, their category rollups, the cached trends.
    """
    branch = branch or project.default_branch
    latest = latest_stats_get(project=project, branch=branch)
    base = baseline_stats_get(project=project)
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
    trends = {t.category_id: t for t in Trend.objects.filter(project=project, branch=branch)}
    summary = {
        "project": project.slug,
        "branch": branch,
        "run": None,
        **_figures(
            counts=latest,
            base=base,
            target_bp=project.target_bp,
            due=project.target_due,
            trend=trends.get(None),
            include_counts=True,
        ),
        "flags": {
            "incomplete": bool(latest and latest.flag_incomplete),
            "denominator": bool(latest and latest.flag_denominator),
            "reasons": list(latest.flag_reasons) if latest else [],
        },
        "categories": [],
    }
    summary["baseline"] = _baseline_json(base)
    if latest is not None:
        run = latest.run
        summary["run"] = {
            "key": run.key,
            "started_at": iso(run.started_at),
            "commit": run.commit,
            "build_url": run.build_url,
        }
    for category in sorted(categories.values(), key=lambda c: c.name.casefold()):
        counts = latest_cats.get(category.pk)
        base_counts = base_cats.get(category.pk)
        target_bp = category.target_bp if category.target_bp is not None else project.target_bp
        item = {
            "name": category.name,
            **_figures(
                counts=counts,
                base=base_counts,
                target_bp=target_bp,
                due=category.target_due or project.target_due,
                trend=trends.get(category.pk),
                include_counts=True,
            ),
        }
        if base_counts is not None:
            item["baseline"] = {
                "run": base.run.key,
                "pass_rate": base_counts.pass_rate,
                "passed": base_counts.passed,
                "total": base_counts.total,
            }
        summary["categories"].append(item)
    return summary


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


def _point(run_id, key, started_at, passed, total, incomplete) -> dict:
    return {
        "run_id": run_id,
        "run": key,
        "started_at": started_at,
        "passed": passed,
        "total": total,
        "rate": passed / total if total else None,
        "incomplete": incomplete,
    }


def pass_rate_series(
    *,
    project: Project,
    branch: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int = 500,
    category: Category | None = None,
) -> dict:
    """Return the pass rate over time of complete runs, overall and per category.

    Each series has at most ``max_points`` points (see the module docstring).
    ``category`` restricts the per-category series to one category.
    """
    window = Q(project=project, branch=branch, is_complete=True)
    if since is not None:
        window &= Q(started_at__gte=since)
    if until is not None:
        window &= Q(started_at__lte=until)
    overall = [
        _point(*row)
        for row in RunStats.objects.filter(window)
        .order_by("started_at", "run_id")
        .values_list("run_id", "run__key", "started_at", "passed", "total", "flag_incomplete")
    ]
    incomplete = {p["run_id"] for p in overall if p["incomplete"]}
    cat_rows = RunCategoryStats.objects.filter(window)
    if category is not None:
        cat_rows = cat_rows.filter(category=category)
    per_category: dict[str, list] = {}
    for name, run_id, key, started_at, passed, total in cat_rows.order_by(
        "started_at", "run_id"
    ).values_list("category__name", "run_id", "run__key", "started_at", "passed", "total"):
        per_category.setdefault(name, []).append(
            _point(run_id, key, started_at, passed, total, run_id in incomplete)
        )

    def rate_key(p: dict) -> float:
        return p["rate"] if p["rate"] is not None else 0.0

    return {
        "overall": downsample(overall, max_points, key=rate_key),
        "categories": {
            name: downsample(points, max_points, key=rate_key)
            for name, points in sorted(per_category.items(), key=lambda kv: kv[0].casefold())
        },
    }


def category_detail_get(
    *, project: Project, category: Category, branch: str | None = None, max_points: int = 500
) -> dict:
    """Return one category's summary figures, pass-rate series, flaky and failing tests."""
    branch = branch or project.default_branch
    summary = project_summary_get(project=project, branch=branch)
    figures = next((c for c in summary["categories"] if c["name"] == category.name), None)
    series = pass_rate_series(
        project=project, branch=branch, max_points=max_points, category=category
    )
    return {
        "name": category.name,
        "figures": figures,
        "series": series["categories"].get(category.name, []),
        "flaky_tests": flaky_tests_list(project=project, category=category),
        "failing_tests": failing_tests_list(project=project, category=category),
    }


def run_detail_get(*, run: Run) -> dict:
    """Return a run's counts, flags, per-category counts, changes and flaky tests.

    ``changes`` compares with the previous complete run on the branch (None for the
    first run): its ``regressed`` and ``fixed`` figures are the run's regressions
    and fixes.
    """
    stats = RunStats.objects.filter(run=run).first()
    categories = [
        {
            "name": row.category.name,
            "passed": row.passed,
            "failed": row.failed,
            "error": row.error,
            "skipped": row.skipped,
            "flaky": row.flaky,
            "total": row.total,
            "pass_rate": row.pass_rate,
        }
        for row in RunCategoryStats.objects.filter(run=run)
        .select_related("category")
        .order_by("category__name")
    ]
    previous = previous_complete_run(run=run)
    return {
        "run": {
            "key": run.key,
            "branch": run.branch,
            "commit": run.commit,
            "build_url": run.build_url,
            "started_at": iso(run.started_at),
            "is_complete": run.is_complete,
        },
        "counts": None
        if stats is None
        else {
            "tests": stats.total,
            "passed": stats.passed,
            "failed": stats.failed,
            "error": stats.error,
            "skipped": stats.skipped,
            "flaky": stats.flaky,
            "duration": stats.duration,
        },
        "pass_rate": stats.pass_rate if stats else None,
        "flags": {
            "incomplete": bool(stats and stats.flag_incomplete),
            "denominator": bool(stats and stats.flag_denominator),
            "reasons": list(stats.flag_reasons) if stats else [],
        },
        "categories": categories,
        "previous_run": previous.key if previous else None,
        "changes": runs_compare(project=run.project, base_run=previous, head_run=run)
        if previous
        else None,
        "flaky_tests": run_flaky_tests_list(run=run),
    }


def test_history_get(*, test: Test, branch: str | None = None, limit: int = 100) -> dict:
    """Return a test's results on ``branch`` (default branch), newest first.

    ``failing_since`` = {run, started_at, runs, days} for the current streak of
    complete runs in which the test did not pass (skipped included), or None when
    its latest complete result passes. ``days`` counts whole days from the streak's
    first run to now. The streak is measured within the ``limit`` newest results.
    """
    project = test.project
    branch = branch or project.default_branch
    rows = list(
        Result.objects.filter(test=test, run__branch=branch)
        .select_related("run", "category")
        .order_by("-run__started_at", "-run_id")[:limit]
    )
    results = []
    streak: list[Result] = []
    streak_open = True
    for r in rows:
        passing = is_passing(
            outcome=r.outcome, flaky=r.flaky, flaky_counts_as_pass=project.flaky_counts_as_pass
        )
        if r.run.is_complete and streak_open:
            if passing:
                streak_open = False
            else:
                streak.append(r)
        results.append(
            {
                "run": r.run.key,
                "run_id": r.run_id,
                "started_at": iso(r.run.started_at),
                "is_complete": r.run.is_complete,
                "outcome": r.get_outcome_display(),
                "passing": passing,
                "flaky": r.flaky,
                "attempts": r.attempts,
                "duration": r.duration,
                "category": r.category.name,
                "message": r.message,
            }
        )
    failing_since = None
    if streak:
        first = streak[-1].run
        failing_since = {
            "run": first.key,
            "started_at": iso(first.started_at),
            "runs": len(streak),
            "days": (timezone.now() - first.started_at).days,
        }
    return {
        "test_id": test.pk,
        "classname": test.classname,
        "name": test.name,
        "file": test.file,
        "branch": branch,
        "results": results,
        "failing_since": failing_since,
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
