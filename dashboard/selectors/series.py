"""Pass-rate series for the charts and sparklines, and the trend projection line.

They read rollup tables (``RunStats``, ``RunCategoryStats``, ``Trend``), never
``ingest.Result``. Long histories are downsampled in the database by the rule of
``dashboard.analytics.series`` (a window count and row number), so the number of rows
fetched is bounded by ``max_points`` whatever the history length, and the number of
queries is constant. Rates are fractions 0..1; timestamps are UTC.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import Greatest, RowNumber

from dashboard.analytics.targets import pass_rate
from dashboard.analytics.trends import Fit, projection
from dashboard.models import RunCategoryStats, RunStats, Trend
from ingest.models import Project


def _picked(runs: QuerySet[RunStats], *, max_points: int, partition=None) -> QuerySet:
    """Return the run ids ``analytics.series.downsample`` keeps, as a subquery.

    Keep every step-th run and the last one, where step = ceil((n - 1) / (max - 1))
    and n is the number of runs in range (per ``partition``): a window count and row
    number over the rollup rows alone. A modulo costs one pass; a list of row numbers
    would cost n x list.
    """
    last = max(max_points - 1, 1)
    over = {"partition_by": [partition]} if partition is not None else {}
    numbered = runs.annotate(
        n=Window(Count("*"), **over),
        rn=Window(RowNumber(), order_by=[F("started_at").asc(), F("run_id").asc()], **over),
    ).annotate(
        phase=ExpressionWrapper(
            (F("rn") - 1) % Greatest(Value(1), (F("n") - 1 + (last - 1)) / last),
            output_field=BigIntegerField(),
        )
    )
    return numbered.filter(Q(phase=0) | Q(rn=F("n"))).values("run_id")


def pass_rate_series_get(
    *,
    project: Project,
    branch: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int = 500,
    with_categories: bool = True,
    category_id: int | None = None,
) -> list[dict]:
    """Return the overall and per-category pass-rate series of complete runs on `branch`.

    Result: ``[{"name", "category_id" (None for overall), "points": [{"x", "passed",
    "total", "run"}]}]`` oldest first; overall first, then categories by name. At most
    `max_points` runs are kept (evenly spaced, always the first and the last); category
    series use the same runs; ``category_id`` keeps that category's series only.
    Queries: 1, plus 1 with categories.
    """
    runs = RunStats.objects.filter(project=project, branch=branch, is_complete=True)
    if since:
        runs = runs.filter(started_at__gte=since)
    if until:
        runs = runs.filter(started_at__lt=until)
    picked = _picked(runs, max_points=max_points)
    rows = list(
        RunStats.objects.filter(run_id__in=picked)
        .order_by("started_at", "run_id")
        .values_list("run_id", "run__key", "started_at", "passed", "total")
    )
    if not rows:
        return []
    overall = {
        "name": "Overall",
        "category_id": None,
        "points": [{"x": t, "passed": p, "total": tot, "run": key} for _, key, t, p, tot in rows],
    }
    if not with_categories:
        return [overall]
    # Category rows reuse the run's key and time from the overall rows (parsing 10x
    # as many timestamps again costs more than the query).
    run_of = {run_id: (key, t) for run_id, key, t, *_ in rows}
    by_category: dict[int, dict] = {}
    category_rows = RunCategoryStats.objects.filter(run_id__in=list(run_of))
    if category_id is not None:
        category_rows = category_rows.filter(category_id=category_id)
    category_rows = category_rows.order_by("started_at", "run_id").values_list(
        "category_id", "category__name", "run_id", "passed", "total"
    )
    for category_id, name, run_id, p, tot in category_rows:
        series = by_category.setdefault(
            category_id, {"name": name, "category_id": category_id, "points": []}
        )
        key, t = run_of[run_id]
        series["points"].append({"x": t, "passed": p, "total": tot, "run": key})
    return [overall, *sorted(by_category.values(), key=lambda s: s["name"].lower())]


def sparklines_get(*, projects: list[Project], max_points: int = 30) -> dict[int, list[float]]:
    """Return {project id: pass rates} of each project's default-branch complete runs.

    The same downsampling as the charts, per project, in one query whatever the number
    of projects or runs; oldest first.
    """
    runs = RunStats.objects.filter(
        project_id__in=[p.pk for p in projects],
        branch=F("project__default_branch"),
        is_complete=True,
    )
    picked = _picked(runs, max_points=max_points, partition=F("project_id"))
    sparks: dict[int, list[float]] = {p.pk: [] for p in projects}
    for project_id, passed, total in (
        RunStats.objects.filter(run_id__in=picked)
        .order_by("started_at", "run_id")
        .values_list("project_id", "passed", "total")
    ):
        if total:
            sparks[project_id].append(pass_rate(passed=passed, total=total))
    return sparks


def trend_projection_get(*, project: Project, branch: str, last_at: datetime | None) -> dict | None:
    """Return the overall trend line from the last point (``analytics.trends.projection``).

    None when no trend is cached. Queries: 1.
    """
    trend = (
        Trend.objects.filter(project=project, branch=branch, category__isnull=True)
        .only("slope_per_day", "intercept", "anchor_at", "eta", "n_points")
        .first()
    )
    if trend is None or trend.slope_per_day is None or trend.anchor_at is None:
        return None
    fit = Fit(
        slope_per_day=trend.slope_per_day,
        intercept=trend.intercept,
        anchor_at=trend.anchor_at,
        n_points=trend.n_points,
    )
    return projection(fit=fit, eta_at=trend.eta, last_at=last_at)
