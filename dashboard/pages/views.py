"""Dashboard pages: check the input, call selectors, build charts, render.

Every figure comes from ``dashboard.selectors`` (which feed ``dashboard.analytics``);
views query nothing themselves. Pages see only projects ``dashboard.access`` allows;
others get a 404. Filters (``?branch=&since=&until=``) are read by
``dashboard.pages.filters``; every page's branch defaults to the project's default
branch.
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404
from django.shortcuts import render

from dashboard.access import project_can_admin, project_get_visible, project_list_visible
from dashboard.analytics.targets import BP, effective_target_bp, pass_rate
from dashboard.pages import charts
from dashboard.pages.filters import filters_get, owner_param
from dashboard.selectors import runs, series, summary
from dashboard.selectors.compare import runs_compare
from dashboard.selectors.flaky_page import category_flaky_list, test_flake_get
from dashboard.selectors.owners import codeowners_get, owner_filter, owners_for_tests
from dashboard.selectors.quarantine import (
    quarantined_by_project,
    quarantined_count,
    test_state_get,
)
from dashboard.selectors.tests import (
    failing_tests_list,
    slowest_results_list,
    test_get,
    test_history_get,
)
from dashboard.selectors.verdict import run_verdict_get
from dashboard.services.quarantine import quarantine_days

SPARK_POINTS = 30
# Points per chart series: a 1,240 px wide chart cannot show more, and fetching,
# drawing and embedding fewer keeps the overview fast on 10,000-run histories.
CHART_POINTS = 300
# Changed tests listed on a page; the exports carry the full list.
CHANGES_SHOWN = 50
# Tests a category page lists per table; with ?owner= the candidates are read unlimited
# (only failing or flaky tests), filtered by owner, then cut to this.
LIST_SHOWN = 200
FLAKY_SHOWN = 50


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _for_page(figures: dict) -> dict:
    """Add the ETA and the run's start as datetimes (the selector gives ISO strings)."""
    return {**figures, "eta_at": _when(figures.get("eta"))}


def _headline(*, project, branch: str | None = None) -> dict | None:
    """Return the summary prepared for a page; None without a complete run."""
    found = summary.project_summary_get(project=project, branch=branch)
    if found["run"] is None:
        return None
    headline = _for_page(found)
    headline["run_at"] = _when(found["run"]["started_at"])
    headline["categories"] = [_for_page(c) for c in found["categories"]]
    return headline


def _with_owners(*, project, codeowners, items: list[dict], owner: str) -> list[dict]:
    """Add ``owners`` to ``items`` (one lookup) and keep ``owner``'s only."""
    ids = [item["test_id"] for item in items]
    found = owners_for_tests(project=project, test_ids=ids, codeowners=codeowners)
    for item in items:
        item["owners"] = found.get(item["test_id"], [])
    return owner_filter(items, owner)


def _spark(points: list[dict]) -> list[float]:
    rates = (pass_rate(passed=p["passed"], total=p["total"]) for p in points[-SPARK_POINTS:])
    return [rate for rate in rates if rate is not None]


def project_list(request):
    """List the projects the user may see, with rate, change, status and a sparkline."""
    visible = project_list_visible(user=request.user)
    headlines = summary.projects_headline_list(projects=visible)
    projects = [project for project, _ in headlines]
    sparks = series.sparklines_get(projects=projects, max_points=SPARK_POINTS)
    quarantined = quarantined_by_project(projects=projects)
    rows = [
        {
            "project": project,
            "headline": _for_page(headline) if headline else None,
            "spark": sparks[project.pk],
            "quarantined": quarantined[project.pk],
        }
        for project, headline in headlines
    ]
    return render(
        request, "dashboard/project_list.html", {"rows": rows, "nav_project_list": projects}
    )


def project_overview(request, slug: str):
    """Show a project's headline, pass-rate chart and category table (filters in the URL)."""
    project = project_get_visible(slug=slug, user=request.user)
    f = filters_get(request, project)
    headline = _headline(project=project, branch=f["branch"])
    lines = series.pass_rate_series_get(
        project=project,
        branch=f["branch"],
        since=f["since_at"],
        until=f["until_at"],
        max_points=CHART_POINTS,
    )
    last_at = lines[0]["points"][-1]["x"] if lines else None
    projection = series.trend_projection_get(project=project, branch=f["branch"], last_at=last_at)
    figure = None
    if lines:
        target = headline["target"] if headline else project.target_bp / BP
        figure = charts.pass_rate_figure(series=lines, target=target, projection=projection)
    sparks = {s["category_id"]: _spark(s["points"]) for s in lines[1:]}
    categories = [
        {**c, "spark": sparks.get(c["category_id"], [])}
        for c in (headline or {}).get("categories", [])
    ]
    return render(
        request,
        "dashboard/overview.html",
        {
            "project": project,
            "can_admin": project_can_admin(user=request.user, project=project),
            "filters": f,
            "branches": runs.branch_list(project=project),
            "flagged": runs.flagged_runs_list(project=project, branch=f["branch"]),
            "headline": headline,
            "categories": categories,
            "series": lines,
            # The chart's figures as a table: the latest 100 points, newest first.
            "table_points": lines[0]["points"][:-101:-1] if lines else [],
            "figure": figure,
            "projection": projection,
        },
    )


def category_detail(request, slug: str, category: str):
    """Show one category: its figures, chart, failing tests, regressions, flaky and slow tests."""
    project = project_get_visible(slug=slug, user=request.user)
    category = runs.category_get(project=project, name_or_id=category)
    if category is None:
        raise Http404("No such category.")
    f = filters_get(request, project)
    headline = _headline(project=project, branch=f["branch"])
    figures = next(
        (c for c in (headline or {}).get("categories", []) if c["category_id"] == category.pk),
        None,
    )
    target = (
        figures["target"]
        if figures
        else effective_target_bp(project_bp=project.target_bp, category_bp=category.target_bp) / BP
    )
    mine = series.pass_rate_series_get(
        project=project,
        branch=f["branch"],
        since=f["since_at"],
        until=f["until_at"],
        max_points=CHART_POINTS,
        category_id=category.pk,
    )[1:]
    figure = charts.pass_rate_figure(series=mine, target=target) if mine else None
    owner = owner_param(request)
    codeowners = codeowners_get(project=project)
    failing = _with_owners(
        project=project,
        codeowners=codeowners,
        items=failing_tests_list(
            project=project, category=category, limit=None if owner else LIST_SHOWN
        ),
        owner=owner,
    )[:LIST_SHOWN]
    # The flaky page's rows and rates: a test marked fixed leaves both at once.
    flaky = category_flaky_list(
        project=project,
        category=category,
        codeowners=codeowners,
        owner=owner or None,
        limit=FLAKY_SHOWN,
    )
    return render(
        request,
        "dashboard/category.html",
        {
            "project": project,
            "category": category,
            "figures": figures,
            "run": headline["run"] if headline else None,
            "target": target,
            "filters": f,
            "points": mine[0]["points"][-50:] if mine else [],
            "figure": figure,
            "failing": failing,
            "regressions": [t for t in failing if t["failing_since"]["runs"] == 1],
            "flaky": flaky,
            "owner": owner,
            "known_owners": codeowners.owners,
            "slowest": slowest_results_list(project=project, category=category, branch=f["branch"]),
        },
    )


def run_detail(request, slug: str, key: str):
    """Show one run: counts, its verdict, changes vs the previous complete run, parts."""
    project = project_get_visible(slug=slug, user=request.user)
    run = runs.run_get(project=project, key=key)
    if run is None:
        raise Http404("No such run.")
    owner = owner_param(request)
    detail = runs.run_detail_get(
        project=project, run=run, changes_limit=CHANGES_SHOWN, owner=owner or None
    )
    verdict = run_verdict_get(run=run, limit=CHANGES_SHOWN)
    for name in ("new_failures", "fixed", "flaky"):
        verdict[name] = owner_filter(verdict[name], owner or None)
    return render(
        request,
        "dashboard/run.html",
        {"project": project, "run": run, "verdict": verdict, "owner": owner, **detail},
    )


def test_detail(request, slug: str, test_id: int):
    """Show one test on a branch: outcome history, flake rate, durations, last failure."""
    project = project_get_visible(slug=slug, user=request.user)
    test = test_get(project=project, test_id=test_id)
    if test is None:
        raise Http404("No such test.")
    f = filters_get(request, project)
    history = test_history_get(project=project, test=test, branch=f["branch"])
    lifecycle = test_state_get(test=test)
    owners = owners_for_tests(project=project, test_ids=[test.pk]).get(test.pk, [])
    results = history["results"]
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
            "owners": owners,
            "filters": f,
            "figure": figure,
            "can_admin": project_can_admin(user=request.user, project=project),
            "quarantine_days": quarantine_days(),
            "flake": test_flake_get(test=test),
            **history,
            **lifecycle,
        },
    )


test_detail.__test__ = False  # not a pytest test, despite its name


def compare(request, slug: str):
    """Compare two runs (default: baseline vs latest complete run on the default branch)."""
    project = project_get_visible(slug=slug, user=request.user)
    base_key, head_key = request.GET.get("base"), request.GET.get("head")
    base = runs.run_get(project=project, key=base_key)
    head = runs.run_get(project=project, key=head_key)
    if (base_key and base is None) or (head_key and head is None):
        raise Http404("No such run.")
    if base is None or head is None:
        default_base, default_head = runs.compare_default_runs(project=project)
        base, head = base or default_base, head or default_head
    result = None
    owner = owner_param(request)
    if base and head:
        result = runs_compare(
            project=project,
            base_run=base,
            head_run=head,
            limit=CHANGES_SHOWN,
            owner=owner or None,
        )
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
            "run_keys": runs.recent_run_keys(project=project),
            "owner": owner,
            "quarantined": quarantined_count(project=project) if result else None,
        },
    )
