"""Store the denominator-watch flags of runs (rules: ``dashboard.analytics.denominator``).

``runs_flags_update`` recomputes the flags of a batch of runs of one project in a
fixed number of queries: per branch, the ``lookback`` complete runs before the batch,
the complete runs between its first and last run, and the first complete run after
it are read once; the flags are decided in memory in (started_at, run_id) order (a
run flagged incomplete stops being a compared or recent run for the ones after it);
the tests that vanished are counted for every (compared, run) pair whose rate rose in
one set-based query; one bulk UPDATE writes them. The complete runs between the
batch's runs and the first one after it are recomputed too: each compares with a run
of the batch, or with one that did before it.
"""

from itertools import groupby
from operator import itemgetter
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection

from dashboard.analytics.denominator import (
    RunFigures,
    denominator_reasons,
    incomplete_reasons,
    rate_rose,
)
from dashboard.models import RunCategoryStats, RunStats
from ingest.models import Category, Project, Result

# Per (base, head) pair: tests present and not passing in base, absent from head.
_VANISHED = """
SELECT p.head, COUNT(*) FROM ({pairs}) p
JOIN {result} b ON b.run_id = p.base
WHERE NOT ({passing})
  AND NOT EXISTS (SELECT 1 FROM {result} h WHERE h.run_id = p.head AND h.test_id = b.test_id)
GROUP BY p.head
"""
_FIELDS = ("id", "run_id", "run__key", "branch", "started_at", "is_complete", "flag_incomplete")
_COUNTS = ("passed", "total", "skipped")
# More complete runs than this between a batch's first and last run (a late, old run
# arrived): flag the batch's runs one by one instead.
_INTERVAL_CAP = 1000


def compare_url(*, slug: str, base_key: str, head_key: str) -> str:
    """Return the path of the compare page of two runs of a project."""
    return f"/p/{slug}/compare/?{urlencode({'base': base_key, 'head': head_key})}"


def vanished_counts(*, pairs: list[tuple[int, int]], project: Project) -> dict[int, int]:
    """Count, per (base run, head run) pair, tests not passing in base and absent from head.

    Return {head run id: count}; one query for all pairs.
    """
    if not pairs:
        return {}
    passing = "b.outcome = 1" if project.flaky_counts_as_pass else "b.outcome = 1 AND NOT b.flaky"
    rows = " UNION ALL ".join(["SELECT %s AS base, %s AS head"] * len(pairs))
    sql = _VANISHED.format(pairs=rows, result=Result._meta.db_table, passing=passing)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for pair in pairs for value in pair])
        return dict(cursor.fetchall())


def run_flags_update(*, run_id: int) -> RunStats | None:
    """Recompute one run's flags (and those of the complete run after it); idempotent."""
    project_id = RunStats.objects.filter(run_id=run_id).values_list("project_id", flat=True)
    project_id = project_id.first()
    if project_id is None:
        return None
    runs_flags_update(project_id=project_id, run_ids=[run_id])
    return RunStats.objects.get(run_id=run_id)


def runs_flags_update(*, project_id: int, run_ids: list[int]) -> int:
    """Recompute the denominator-watch flags of a batch of runs of one project.

    Also recomputes the complete runs between them and the first complete run after
    them on each branch. The compared run and the recent runs of a run are the latest
    earlier complete runs on its branch that are not flagged incomplete. Return the
    number of rows written.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not run_ids:
        return 0
    targets = list(
        RunStats.objects.filter(project=project, run_id__in=run_ids)
        .order_by("branch", "started_at", "run_id")
        .values(*_FIELDS, *_COUNTS)
    )
    written = 0
    for branch, rows in groupby(targets, key=itemgetter("branch")):
        rows = list(rows)
        context = _branch_context(project, branch, rows)
        if context is None:
            for row in rows:  # too many runs in between: one run at a time
                written += runs_flags_update(project_id=project_id, run_ids=[row["run_id"]])
            continue
        written += _flags_write(project, rows, *context)
    return written


def _branch_context(project: Project, branch: str, targets: list[dict]):
    """Read the complete runs the targets' flags depend on (None: too many in between)."""
    lo, hi = targets[0]["started_at"], targets[-1]["started_at"]
    complete = RunStats.objects.filter(project=project, branch=branch, is_complete=True)
    lookback = getattr(settings, "PASSLINE_INCOMPLETE_LOOKBACK_RUNS", 10)
    before = list(
        complete.filter(started_at__lt=lo, flag_incomplete=False)
        .order_by("-started_at", "-run_id")
        .values(*_FIELDS, *_COUNTS)[:lookback]
    )
    between = list(
        complete.filter(started_at__gte=lo, started_at__lte=hi)
        .order_by("started_at", "run_id")
        .values(*_FIELDS, *_COUNTS)[: _INTERVAL_CAP + 1]
    )
    if len(between) > _INTERVAL_CAP and len(targets) > 1:
        return None
    after = complete.filter(started_at__gt=hi).order_by("started_at", "run_id")
    after = list(after.values(*_FIELDS, *_COUNTS)[:1])
    return before[::-1], between, after


def _flags_write(project, targets, before, between, after) -> int:
    lookback = getattr(settings, "PASSLINE_INCOMPLETE_LOOKBACK_RUNS", 10)
    order = itemgetter("started_at", "run_id")
    rows = {r["run_id"]: r for r in [*before, *between, *after, *targets]}
    chain = sorted((rows[r["run_id"]] for r in [*before, *between, *after]), key=order)
    todo = sorted(
        {r["run_id"]: rows[r["run_id"]] for r in [*targets, *between, *after]}.values(), key=order
    )
    categories: dict[int, set[int]] = {run_id: set() for run_id in rows}
    for run_id, category_id in RunCategoryStats.objects.filter(
        run_id__in=rows, total__gt=0
    ).values_list("run_id", "category_id"):
        categories[run_id].add(category_id)
    all_ids = set().union(*categories.values())
    names = dict(Category.objects.filter(pk__in=all_ids).values_list("pk", "name"))

    decided = []  # (row, compared row or None)
    for row in todo:
        recent = [
            r
            for r in chain
            if r["started_at"] < row["started_at"]
            and not r["flag_incomplete"]
            and r["run_id"] != row["run_id"]
        ][-lookback:][::-1]
        incomplete = incomplete_reasons(
            total=row["total"],
            categories=categories[row["run_id"]],
            recent_totals=[r["total"] for r in recent],
            recent_categories=[categories[r["run_id"]] for r in recent],
            names=names,
            total_ratio=getattr(settings, "PASSLINE_INCOMPLETE_TOTAL_RATIO", 0.5),
            category_share=getattr(settings, "PASSLINE_INCOMPLETE_CATEGORY_SHARE", 0.8),
        )
        # Later runs of the chain see this run's new flag (it is the same dict).
        row["flag_incomplete"] = bool(incomplete)
        row["incomplete"] = incomplete
        decided.append((row, recent[0] if recent else None))

    rose = [
        (compared["run_id"], row["run_id"])
        for row, compared in decided
        if compared is not None and rate_rose(run=_figures(row), compared=_figures(compared))
    ]
    vanished = vanished_counts(pairs=rose, project=project)
    updates = []
    for row, compared in decided:
        base = _figures(compared) if compared is not None else None
        head = _figures(row)
        url = ""
        if row["run_id"] in vanished:
            url = compare_url(slug=project.slug, base_key=base.key, head_key=head.key)
        denominator = denominator_reasons(
            run=head,
            compared=base,
            vanished_not_passing=vanished.get(row["run_id"], 0),
            compare_url=url,
        )
        updates.append(
            RunStats(
                pk=row["id"],
                run_id=row["run_id"],
                flag_denominator=bool(denominator),
                flag_incomplete=row["flag_incomplete"],
                flag_reasons=denominator + row["incomplete"],
                compared_run_id=compared["run_id"] if compared is not None else None,
            )
        )
    fields = ["flag_denominator", "flag_incomplete", "flag_reasons", "compared_run_id"]
    RunStats.objects.bulk_update(updates, fields, batch_size=500)
    return len(updates)


def _figures(row: dict) -> RunFigures:
    return RunFigures(
        key=row["run__key"], passed=row["passed"], total=row["total"], skipped=row["skipped"]
    )
