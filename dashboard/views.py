"""Dashboard pages: check the input, call selectors, build charts, render.

Every page reads rollups through ``dashboard.page_selectors`` (or the analytics
selectors) and sees only projects ``dashboard.access`` allows; others get a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from dashboard import charts, page_selectors, selectors
from dashboard.access import project_get_visible, project_list_visible
from dashboard.compare import runs_compare
from dashboard.flaky import flaky_tests_list
from dashboard.models import RunCategoryStats, RunStats, TestStats
from ingest.models import Category, Membership, Result, Run, Test
from ingest.permissions import user_administers_every_project

SPARK_POINTS = 30
# Points per chart series: a 1,240 px wide chart cannot show more, and fetching,
# drawing and embedding fewer keeps the overview fast on 10,000-run histories.
CHART_POINTS = 300
# Changed tests listed on a page; the exports carry the full list.
CHANGES_SHOWN = 50


def _date(value: str | None):
    """Return a date from YYYY-MM-DD, or None for empty or malformed input."""
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def _filters(request, project) -> dict:
    """Read ?branch=&since=&until= (dates inclusive, UTC); ignore malformed values."""
    branch = (request.GET.get("branch") or "").strip()[:255] or project.default_branch
    since, until = _date(request.GET.get("since")), _date(request.GET.get("until"))
    return {
        "branch": branch,
        "since": since,
        "until": until,
        "since_at": datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        "until_at": (
            datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None
        ),
    }


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _with_change(figures: dict) -> dict:
    """Add the change since the baseline (fraction), the ETA as a datetime, not passing."""
    base = figures.get("baseline") or {}
    rate, base_rate = figures.get("pass_rate"), base.get("pass_rate")
    return {
        **figures,
        "change": rate - base_rate if rate is not None and base_rate is not None else None,
        "eta_at": _when(figures.get("eta")),
        "not_passing": figures["total"] - figures["passed"],
    }


def _headline(*, project, branch: str | None = None) -> dict | None:
    """Return the summary (as the API reports it) prepared for a page; None without runs."""
    summary = selectors.project_summary_get(project=project, branch=branch)
    if summary["run"] is None:
        return None
    headline = _with_change(summary)
    headline["run_at"] = _when(summary["run"]["started_at"])
    headline["categories"] = [_with_change(c) for c in summary["categories"]]
    return headline


def _spark(points: list[dict]) -> list[float]:
    return [p["passed"] / p["total"] for p in points[-SPARK_POINTS:] if p["total"]]


def project_list(request):
    """List the projects the user may see, with rate, change, status and a sparkline."""
    projects = list(project_list_visible(user=request.user).select_related("baseline_run"))
    rows = []
    for project in projects:
        series = page_selectors.pass_rate_series_get(
            project=project,
            branch=project.default_branch,
            max_points=SPARK_POINTS,
            with_categories=False,
        )
        rows.append(
            {
                "project": project,
                "headline": _headline(project=project),
                "spark": _spark(series[0]["points"]) if series else [],
            }
        )
    return render(
        request, "dashboard/project_list.html", {"rows": rows, "nav_project_list": projects}
    )


def _can_admin(user, project) -> bool:
    """Return whether `user` may open the project's settings (no query when anonymous)."""
    if not user.is_authenticated:
        return False
    if user_administers_every_project(user):
        return True
    return Membership.objects.filter(
        project=project, user=user, role=Membership.Role.ADMIN
    ).exists()


def project_overview(request, slug: str):
    """Show a project's headline, pass-rate chart and category table (filters in the URL)."""
    project = project_get_visible(slug=slug, user=request.user)
    f = _filters(request, project)
    headline = _headline(project=project, branch=f["branch"])
    series = page_selectors.pass_rate_series_get(
        project=project,
        branch=f["branch"],
        since=f["since_at"],
        until=f["until_at"],
        max_points=CHART_POINTS,
    )
    last_at = series[0]["points"][-1]["x"] if series else None
    projection = page_selectors.trend_projection_get(
        project=project, branch=f["branch"], last_at=last_at
    )
    figure = None
    if series:
        figure = charts.pass_rate_figure(
            series=series, target=project.target_bp / 10_000, projection=projection
        )
    sparks = {s["name"]: _spark(s["points"]) for s in series[1:]}
    categories = [
        {**c, "spark": sparks.get(c["name"], [])} for c in (headline or {}).get("categories", [])
    ]
    return render(
        request,
        "dashboard/overview.html",
        {
            "project": project,
            "can_admin": _can_admin(request.user, project),
            "filters": f,
            "branches": page_selectors.branch_list(project=project),
            "flagged": page_selectors.flagged_runs_list(project=project, branch=f["branch"]),
            "headline": headline,
            "categories": categories,
            "series": series,
            # The chart's figures as a table: the latest 100 points, newest first.
            "table_points": series[0]["points"][:-101:-1] if series else [],
            "figure": figure,
            "projection": projection,
        },
    )


def _category_get(project, category: str) -> Category:
    found = Category.objects.filter(project=project, name=category).first()
    if found is None and category.isdigit():
        found = Category.objects.filter(project=project, pk=int(category)).first()
    if found is None:
        raise Http404("No such category.")
    return found


def category_detail(request, slug: str, category: str):
    """Show one category: its chart, failing tests, regressions, flaky and slow tests."""
    project = project_get_visible(slug=slug, user=request.user)
    category = _category_get(project, category)
    f = _filters(request, project)
    series = page_selectors.pass_rate_series_get(
        project=project,
        branch=f["branch"],
        since=f["since_at"],
        until=f["until_at"],
        max_points=CHART_POINTS,
    )
    mine = [s for s in series if s["category_id"] == category.pk]
    target_bp = category.target_bp if category.target_bp is not None else project.target_bp
    figure = charts.pass_rate_figure(series=mine, target=target_bp / 10_000) if mine else None
    failing = list(
        TestStats.objects.filter(project=project, category=category, failing_runs__gt=0)
        .select_related("test", "failing_since_run")
        .order_by("-failing_runs", "test__classname", "test__name")[:200]
    )
    latest = (
        RunStats.objects.filter(project=project, branch=f["branch"], is_complete=True)
        .order_by("-started_at", "-run_id")
        .only("run_id")
        .first()
    )
    slowest = []
    if latest:
        slowest = list(
            Result.objects.filter(run_id=latest.run_id, category=category)
            .select_related("test")
            .order_by("-duration")[:15]
        )
    return render(
        request,
        "dashboard/category.html",
        {
            "project": project,
            "category": category,
            "target": target_bp / 10_000,
            "filters": f,
            "points": mine[0]["points"][-50:] if mine else [],
            "figure": figure,
            "failing": failing,
            "regressions": [t for t in failing if t.failing_runs == 1],
            "flaky": flaky_tests_list(project=project, category=category),
            "slowest": slowest,
        },
    )


def run_detail(request, slug: str, key: str):
    """Show one run: counts, changes vs the previous complete run, flags and parts."""
    project = project_get_visible(slug=slug, user=request.user)
    run = get_object_or_404(Run, project=project, key=key)
    stats = RunStats.objects.filter(run=run).first()
    per_category = list(
        RunCategoryStats.objects.filter(run=run)
        .select_related("category")
        .order_by("category__name")
    )
    previous = (
        Run.objects.filter(
            project=project, branch=run.branch, is_complete=True, started_at__lt=run.started_at
        )
        .order_by("-started_at", "-id")
        .first()
    )
    diff = None
    if previous:
        diff = runs_compare(project=project, base_run=previous, head_run=run, limit=CHANGES_SHOWN)
    return render(
        request,
        "dashboard/run.html",
        {
            "project": project,
            "run": run,
            "stats": stats,
            "per_category": per_category,
            "previous": previous,
            "diff": diff,
            "uploads": list(run.uploads.order_by("created_at", "id")),
        },
    )


def test_detail(request, slug: str, test_id: int):
    """Show one test: pass/fail history across runs, flake rate, durations, last failure."""
    project = project_get_visible(slug=slug, user=request.user)
    test = get_object_or_404(Test, project=project, pk=test_id)
    results = list(
        Result.objects.filter(test=test)
        .select_related("run", "category")
        .order_by("-run__started_at", "-run_id")[:200]
    )
    results.reverse()
    stats = TestStats.objects.filter(test=test).select_related("failing_since_run").first()
    last_failure = next(
        (
            r
            for r in reversed(results)
            if r.outcome in (Result.Outcome.FAILED, Result.Outcome.ERROR) or r.flaky
        ),
        None,
    )
    figure = None
    if results:
        figure = charts.duration_figure(
            points=[
                {"x": r.run.started_at, "duration": r.duration, "run": r.run.key} for r in results
            ]
        )
    return render(
        request,
        "dashboard/test.html",
        {
            "project": project,
            "test": test,
            "results": results,
            "stats": stats,
            "last_failure": last_failure,
            "figure": figure,
        },
    )


def _run_or_none(project, key: str | None) -> Run | None:
    if not key:
        return None
    return Run.objects.filter(project=project, key=key).first()


def compare(request, slug: str):
    """Compare two runs (default: baseline vs latest complete run on the default branch)."""
    project = project_get_visible(slug=slug, user=request.user)
    base_key, head_key = request.GET.get("base"), request.GET.get("head")
    base, head = _run_or_none(project, base_key), _run_or_none(project, head_key)
    if (base_key and base is None) or (head_key and head is None):
        raise Http404("No such run.")
    complete = Run.objects.filter(project=project, branch=project.default_branch, is_complete=True)
    if base is None:
        base = project.baseline_run or complete.order_by("started_at", "id").first()
    if head is None:
        head = complete.order_by("-started_at", "-id").first()
    result = None
    if base and head:
        result = runs_compare(project=project, base_run=base, head_run=head, limit=CHANGES_SHOWN)
    figure = None
    if result:
        o = result["overall"]
        figure = charts.waterfall_figure(
            base_passed=o["base_passed"],
            fixed=o["fixed"],
            regressed=o["regressed"],
            added_passing=o["added_passing"],
            removed_passing=o["removed_passing"],
            head_passed=o["head_passed"],
            base_label=base.key,
            head_label=head.key,
        )
    return render(
        request,
        "dashboard/compare.html",
        {
            "project": project,
            "base": base,
            "head": head,
            "result": result,
            "figure": figure,
            "run_keys": page_selectors.recent_run_keys(project=project),
        },
    )
