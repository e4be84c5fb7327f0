"""Read-only selectors used only by the dashboard pages (charts, filters, pickers).

They read rollup tables (``RunStats``, ``RunCategoryStats``, ``Trend``) and run
metadata, never aggregate ``ingest.Result``. Long histories are downsampled in the
database (a window row number, then a fixed set of row numbers), so the number of rows
fetched is bounded by ``max_points`` whatever the history length, and the number of
queries is constant. Rates are fractions 0..1; timestamps are UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, Value, Window
from django.db.models.functions import Greatest, RowNumber

from dashboard.models import RunCategoryStats, RunStats, Trend
from ingest.models import Project, Run

DAY = 86_400.0


def pass_rate_series_get(
    *,
    project: Project,
    branch: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int = 500,
    with_categories: bool = True,
) -> list[dict]:
    """Return the overall and per-category pass-rate series of complete runs on `branch`.

    Result: ``[{"name", "category_id" (None for overall), "points": [{"x", "passed",
    "total", "run"}]}]`` oldest first; overall first, then categories by name. At most
    `max_points` runs are kept (evenly spaced, always the first and the last); category
    series use the same runs. Queries: 1, plus 1 with categories.
    """
    runs = RunStats.objects.filter(project=project, branch=branch, is_complete=True)
    if since:
        runs = runs.filter(started_at__gte=since)
    if until:
        runs = runs.filter(started_at__lt=until)
    # Keep every step-th run and the last one, where step = ceil((n - 1) / (max - 1))
    # and n is the number of runs in range: all computed in one query over the rollup
    # rows alone (a window count and row number), then only the picked runs are
    # joined to their keys. A modulo costs one pass; a list of row numbers would cost
    # n x list.
    last = max(max_points - 1, 1)
    numbered = runs.annotate(
        n=Window(Count("*")),
        rn=Window(RowNumber(), order_by=[F("started_at").asc(), F("run_id").asc()]),
    ).annotate(
        phase=ExpressionWrapper(
            (F("rn") - 1) % Greatest(Value(1), (F("n") - 1 + (last - 1)) / last),
            output_field=BigIntegerField(),
        )
    )
    picked = numbered.filter(Q(phase=0) | Q(rn=F("n"))).values("run_id")
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
    category_rows = (
        RunCategoryStats.objects.filter(run_id__in=list(run_of))
        .order_by("started_at", "run_id")
        .values_list("category_id", "category__name", "run_id", "passed", "total")
    )
    for category_id, name, run_id, p, tot in category_rows:
        series = by_category.setdefault(
            category_id, {"name": name, "category_id": category_id, "points": []}
        )
        key, t = run_of[run_id]
        series["points"].append({"x": t, "passed": p, "total": tot, "run": key})
    return [overall, *sorted(by_category.values(), key=lambda s: s["name"].lower())]


def trend_projection_get(*, project: Project, branch: str, last_at: datetime | None) -> dict | None:
    """Return the overall trend line from the last point to the ETA (dashed line).

    Without an ETA (not on track, or reached) the line runs 30 days past the last point
    so the direction still shows. None when no trend is cached. Queries: 1.
    """
    trend = (
        Trend.objects.filter(project=project, branch=branch, category__isnull=True)
        .only("slope_per_day", "intercept", "anchor_at", "eta", "on_track")
        .first()
    )
    if trend is None or trend.slope_per_day is None or trend.anchor_at is None or not last_at:
        return None

    def rate_at(when: datetime) -> float:
        days = (when - trend.anchor_at).total_seconds() / DAY
        return max(0.0, min(1.0, trend.intercept + trend.slope_per_day * days))

    end = trend.eta if trend.eta and trend.eta > last_at else last_at + timedelta(days=30)
    return {"x0": last_at, "y0": rate_at(last_at), "x1": end, "y1": rate_at(end)}


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
