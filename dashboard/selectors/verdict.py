"""A run's verdict: the run judged against its base (the contract is DESIGN.md "Feedback").

``run_verdict_get(run=)`` returns a plain JSON-able dict (the API body of
``GET /api/v1/projects/<slug>/runs/<key>/verdict``; the run page, the uploader's gates,
PR comments and chat messages show the same dict).

The base (``verdict_base_get``): when the run carries a ``base_commit`` (the commit its
pull request is based on) and a complete run of that commit exists, the latest such
run; otherwise the latest complete run on the default branch that started before this
run and is not flagged incomplete. None when there is none: then nothing is new or
fixed (there is nothing to compare with), every test not passing is still failing and
the ``new-failures`` gate passes.

``ready`` is True when the verdict is final: the run is complete, none of its uploads
is queued or processing, and its rollup was computed after completion and counts
every result of the run (the uploader's ``--wait`` polls until then).

Lists (``new_failures``, ``fixed``, ``flaky``) hold at most ``limit`` tests each (200),
with their totals in ``new_failures_total``, ``fixed_total``, ``flaky_total``;
messages are cut to their first line (200 characters). Figures come from
``dashboard.analytics``; the two runs' results are read with set-based queries (the
work does not grow with the project's history).

Queries: 3 (the base, both runs' rollups, the counts of every list), plus one per
non-empty list, plus one for the failing streaks when there are new failures, plus one
when the run's ``base_commit`` has no complete run (then the default-branch base).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.urls import reverse

from dashboard.analytics.outcomes import NAMES, PASSED
from dashboard.analytics.targets import BP, pass_rate, tests_needed
from dashboard.analytics.verdict import (
    delta_points,
    gates_evaluate,
    message_first_line,
    streak_start,
)
from dashboard.models import RunStats
from ingest.models import Project, Result, Run, Upload

LIST_LIMIT = 200
# Runs of the branch read to find where a new failure's failing streak started.
STREAK_LOOKBACK_RUNS = 50


def _passing(project: Project) -> Q:
    """Return the condition of a passing result under the project's flaky setting."""
    return Q(outcome=PASSED) if project.flaky_counts_as_pass else Q(outcome=PASSED, flaky=False)


def verdict_base_get(*, run: Run) -> Run | None:
    """Return the run ``run`` is judged against, or None (see the module docstring)."""
    project = run.project
    if run.base_commit:
        found = (
            Run.objects.filter(project=project, commit=run.base_commit, is_complete=True)
            .exclude(pk=run.pk)
            .order_by("-started_at", "-id")
            .first()
        )
        if found is not None:
            return found
    stats = (
        RunStats.objects.filter(
            project=project,
            branch=project.default_branch,
            is_complete=True,
            flag_incomplete=False,
            started_at__lt=run.started_at,
        )
        .exclude(run_id=run.pk)
        .select_related("run")
        .order_by("-started_at", "-run_id")
        .first()
    )
    return stats.run if stats else None


def _flags(stats: RunStats | None) -> list[str]:
    if stats is None:
        return []
    return [
        name
        for name, on in (
            ("incomplete", stats.flag_incomplete),
            ("denominator", stats.flag_denominator),
        )
        if on
    ]


def _items(qs: QuerySet, *, limit: int) -> list[dict]:
    rows = qs.annotate(message_head=Substr("message", 1, 1000)).values(
        "test_id",
        "test__classname",
        "test__name",
        "test__file",
        "category__name",
        "outcome",
        "message_head",
    )[:limit]
    return [
        {
            "test_id": row["test_id"],
            "classname": row["test__classname"],
            "name": row["test__name"],
            "file": row["test__file"],
            "category": row["category__name"] or "",
            "owners": [],
            "outcome": NAMES.get(row["outcome"], ""),
            "message": message_first_line(row["message_head"] or ""),
            "failing_since": None,
            "quarantined": False,
        }
        for row in rows
    ]


def _failing_since(*, run: Run, passing: Q, items: list[dict]) -> None:
    """Set each item's ``failing_since``: the first run of its streak on the run's branch.

    Reads the listed tests' results in the branch's latest ``STREAK_LOOKBACK_RUNS``
    complete runs up to this one (one query); a streak longer than that starts, as
    far as the verdict says, at the oldest run read.
    """
    if not items:
        return
    recent = (
        Run.objects.filter(
            project_id=run.project_id, branch=run.branch, started_at__lte=run.started_at
        )
        .filter(Q(is_complete=True) | Q(pk=run.pk))
        .order_by("-started_at", "-id")
        .values("id")[:STREAK_LOOKBACK_RUNS]
    )
    rows = (
        Result.objects.filter(run_id__in=recent, test_id__in=[i["test_id"] for i in items])
        .annotate(passing=ExpressionWrapper(passing, output_field=BooleanField()))
        .order_by("test_id", "-run__started_at", "-run_id")
        .values_list("test_id", "run__key", "passing")
    )
    history: dict[int, list[tuple[str, bool]]] = {}
    for test_id, key, is_passing in rows:
        history.setdefault(test_id, []).append((key, bool(is_passing)))
    for item in items:
        start, _ = streak_start(history=history.get(item["test_id"], []))
        item["failing_since"] = start or run.key


def _ready(*, run: Run, stats: RunStats | None, results: int) -> bool:
    """Return True when the verdict is final: see the module docstring."""
    return bool(
        run.is_complete
        and stats is not None
        and stats.is_complete
        and not stats.pending
        and stats.passed + stats.failed + stats.error + stats.skipped == results
    )


def run_url(*, run: Run) -> str:
    """Return the run page's URL, absolute when ``PASSLINE_BASE_URL`` is set."""
    path = reverse("dashboard:run", args=[run.project.slug, run.key])
    return settings.PASSLINE_BASE_URL.rstrip("/") + path


def run_verdict_get(*, run: Run, limit: int = LIST_LIMIT) -> dict:
    """Return the verdict of ``run`` against its base (see the module docstring)."""
    project = run.project
    base = verdict_base_get(run=run)
    pending = Upload.objects.filter(
        run_id=OuterRef("run_id"), status__in=[Upload.Status.QUEUED, Upload.Status.PROCESSING]
    )
    stats_by_run = {
        s.run_id: s
        for s in RunStats.objects.filter(
            run_id__in=[run.pk] + ([base.pk] if base else [])
        ).annotate(pending=Exists(pending))
    }
    stats, base_stats = stats_by_run.get(run.pk), stats_by_run.get(base.pk) if base else None
    passing = _passing(project)
    head = Result.objects.filter(run=run)
    flags = _flags(stats)
    if base is not None:
        in_base = Result.objects.filter(run=base, test_id=OuterRef("test_id"))
        head = head.annotate(
            base_passing=Exists(in_base.filter(passing)),
            base_not_passing=Exists(in_base.exclude(passing)),
        )
        new_q = ~passing & ~Q(base_not_passing=True)
        fixed_q = passing & Q(base_not_passing=True)
        still_q = ~passing & Q(base_not_passing=True)
    else:
        new_q = fixed_q = Q(pk__in=[])
        still_q = ~passing
    totals = head.aggregate(
        new=Count("pk", filter=new_q),
        fixed=Count("pk", filter=fixed_q),
        still=Count("pk", filter=still_q),
        flaky=Count("pk", filter=Q(flaky=True)),
        results=Count("pk"),
    )
    order = ("category__name", "test__classname", "test__name", "test_id")
    new_failures, fixed, flaky = [], [], []
    # A list is read only when its total says it has tests.
    if totals["new"]:
        # Regressions (passed in the base) first, then tests added since the base.
        new_failures = _items(head.filter(new_q).order_by("-base_passing", *order), limit=limit)
    if totals["fixed"]:
        fixed = _items(head.filter(fixed_q).order_by(*order), limit=limit)
    if totals["flaky"]:
        flaky = _items(head.filter(flaky=True).order_by(*order), limit=limit)
    _failing_since(run=run, passing=passing, items=new_failures)

    passed, total = (stats.passed, stats.total) if stats else (0, 0)
    rate = pass_rate(passed=passed, total=total)
    base_rate = pass_rate(passed=base_stats.passed, total=base_stats.total) if base_stats else None
    quarantined_new = sum(1 for item in new_failures if item["quarantined"])
    return {
        "run": run.key,
        "ready": _ready(run=run, stats=stats, results=totals["results"]),
        "branch": run.branch,
        "commit": run.commit,
        "pr": run.pr,
        "complete": run.is_complete,
        "base": {"run": base.key, "branch": base.branch, "commit": base.commit} if base else None,
        "pass_rate": rate,
        "base_pass_rate": base_rate,
        "delta_points": delta_points(rate=rate, base_rate=base_rate),
        "counts": {
            "tests": total,
            "passed": passed,
            "failed": stats.failed if stats else 0,
            "error": stats.error if stats else 0,
            "skipped": stats.skipped if stats else 0,
            "flaky": stats.flaky if stats else 0,
        },
        "new_failures": new_failures,
        "new_failures_total": totals["new"],
        "fixed": fixed,
        "fixed_total": totals["fixed"],
        "still_failing": totals["still"],
        "flaky": flaky,
        "flaky_total": totals["flaky"],
        "quarantined": 0,
        "target": project.target_bp / BP,
        "tests_needed": tests_needed(target_bp=project.target_bp, passed=passed, total=total),
        "flags": flags,
        "gates": gates_evaluate(
            new_failures=totals["new"] - quarantined_new,
            passed=passed,
            total=total,
            target_bp=project.target_bp,
            flags=flags,
        ),
        "url": run_url(run=run),
    }
