"""Export views: the status summary as Markdown, CSV, XLSX, JSON and a print-ready page.

Access follows the pages: public projects for anyone, private ones for members and
users who may read every project (``ingest.permissions``), a 404 for everyone else.
``base`` and ``head`` are run keys (query string); either defaults to the baseline /
latest complete default-branch run.
"""

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.access import project_get_visible
from dashboard.exports.csv_export import summary_csv
from dashboard.exports.digest import digest_markdown
from dashboard.exports.markdown import summary_markdown
from dashboard.exports.summary import NoRuns, status_summary_get
from dashboard.exports.text import pct, signed
from dashboard.exports.xlsx import summary_xlsx
from dashboard.pages import charts
from dashboard.selectors.digest import weekly_digest_get
from dashboard.selectors.runs import run_get
from dashboard.selectors.series import pass_rate_series_get
from ingest.models import Project, Run

# Changed tests listed on the report (the files carry them all) and points per chart
# series, as on the overview.
REPORT_CHANGES = 200
CHART_POINTS = 300
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _run(project: Project, key: str | None) -> Run | None:
    if not key:
        return None
    run = run_get(project=project, key=key)
    if run is None:
        raise Http404("No such run.")
    return run


def _summary(request, slug: str, **limits) -> tuple[Project, dict]:
    project = project_get_visible(slug=slug, user=request.user)
    base = _run(project, request.GET.get("base"))
    head = _run(project, request.GET.get("head"))
    try:
        return project, status_summary_get(project=project, base_run=base, head_run=head, **limits)
    except NoRuns as exc:
        raise Http404(str(exc)) from None


def _attachment(body, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    # The slug is [-a-zA-Z0-9_]: safe in a header without quoting rules.
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def summary_export(request, slug: str, fmt: str):
    """Return the status summary in format ``fmt`` (md, csv, xlsx or json)."""
    project, summary = _summary(request, slug)
    name = f"{project.slug}-status"
    if fmt == "md":
        return _attachment(summary_markdown(summary), "text/markdown; charset=utf-8", f"{name}.md")
    if fmt == "csv":
        return _attachment(summary_csv(summary), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        return _attachment(summary_xlsx(summary), XLSX_TYPE, f"{name}.xlsx")
    return JsonResponse(summary, json_dumps_params={"indent": 1})


def digest_export(request, slug: str):
    """Return the weekly flaky-test digest (the 7 days up to now, UTC) as Markdown."""
    project = project_get_visible(slug=slug, user=request.user)
    digest = weekly_digest_get(project=project, now=timezone.now())
    return _attachment(
        digest_markdown(digest), "text/markdown; charset=utf-8", f"{project.slug}-flaky-digest.md"
    )


def report(request, slug: str):
    """Show the print-ready status report (charts, figures, changed tests)."""
    project, summary = _summary(request, slug, changes_limit=REPORT_CHANGES)
    o = summary["overall"]
    series = pass_rate_series_get(
        project=project, branch=project.default_branch, max_points=CHART_POINTS
    )
    trend_figure = None
    if series:
        trend_figure = charts.pass_rate_figure(series=series, target=summary["target"], height=340)
    waterfall = charts.waterfall_figure(
        base_passed=o["base_passed"],
        fixed=o["fixed"],
        regressed=o["regressed"],
        added_passing=o["added_passing"],
        removed_passing=o["removed_passing"],
        head_passed=o["head_passed"],
        base_label=summary["base"]["run"],
        head_label=summary["head"]["run"],
    )
    base_q, head_q = summary["base"]["run"], summary["head"]["run"]
    return render(
        request,
        "dashboard/report.html",
        {
            "project": project,
            "s": summary,
            "o": o,
            "text": {
                "before": pct(o["rate_before"]),
                "after": pct(o["rate_after"]),
                "change": signed(o["change_points"]),
                "delta": signed(o["delta_passed"]),
                "target": pct(summary["target"]),
                "progress": "n/a" if o["progress"] is None else f"{100 * o['progress']:.0f}%",
                "trend": None
                if summary["trend"]["per_week"] is None
                else signed(100 * summary["trend"]["per_week"]),
                "listed_delta": signed(summary["sources"]["listed"]["delta_passed"]),
                "rest_delta": signed(summary["sources"]["rest"]["delta_passed"]),
            },
            "query": {"base": base_q, "head": head_q},
            "trend_figure": trend_figure,
            "waterfall": waterfall,
            "changes": summary["changes"],
        },
    )
