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

from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from dashboard.analytics.outcomes import NAMES, PASSED
from dashboard.analytics.targets import BP, pass_rate, tests_needed
from dashboard.analytics.verdict import (
    delta_points,
    gates_evaluate,
    message_first_line,
    streak_start,
)
from dashboard.models import RunStats, TestState
from dashboard.selectors.links import run_url
from dashboard.selectors.owners import codeowners_get, owners_for_paths
from ingest.models import Category, Project, Result, Run, Test, Upload

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


# The two runs' results, each head result beside its base result (NULL when the test
# has no result in the base run). A LEFT JOIN, not a correlated EXISTS per row: the
# planner hashes or merges the two runs' rows, and PostgreSQL's cost estimate stays
# low enough not to JIT-compile the query (which cost more than the query itself).
_PAIRS = """
    FROM {result} h
    LEFT JOIN {result} b ON b.run_id = %s AND b.test_id = h.test_id
    {joins}
    WHERE h.run_id = %s
"""


def _conditions(*, flaky_counts_as_pass: bool, has_base: bool) -> dict[str, str]:
    """Return the SQL condition of each verdict list over the pairs (h, b)."""
    flaky_ok = "1 = 1" if flaky_counts_as_pass else "1 = 0"
    head_passes = f"(h.outcome = {PASSED} AND ({flaky_ok} OR NOT h.flaky))"
    base_passes = f"(b.outcome = {PASSED} AND ({flaky_ok} OR NOT b.flaky))"
    in_base_failing = f"(b.test_id IS NOT NULL AND NOT {base_passes})"
    if not has_base:
        return {"new": "1 = 0", "fixed": "1 = 0", "still": f"NOT {head_passes}",
                "flaky": "h.flaky"}  # fmt: skip
    return {
        "new": f"(NOT {head_passes} AND (b.test_id IS NULL OR {base_passes}))",
        "fixed": f"({head_passes} AND {in_base_failing})",
        "still": f"(NOT {head_passes} AND {in_base_failing})",
        "flaky": "h.flaky",
    }


# The head test's quarantine (q.test_id NULL when the test is not quarantined).
_QUARANTINE_JOIN = (
    f" LEFT JOIN {TestState._meta.db_table} q"
    f" ON q.test_id = h.test_id AND q.state = '{TestState.State.QUARANTINED}'"
)


def _totals(*, run: Run, base: Run | None, conditions: dict[str, str]) -> dict[str, int]:
    """Return the size of each list and the run's number of results (one query).

    Also ``quarantined`` (the run's tests that are quarantined) and
    ``quarantined_new`` (new failures of quarantined tests: they never fail the gate).
    """
    conditions = {
        **conditions,
        "quarantined": "q.test_id IS NOT NULL",
        "quarantined_new": f"(q.test_id IS NOT NULL AND {conditions['new']})",
    }
    sums = ", ".join(
        f"COALESCE(SUM(CASE WHEN {sql} THEN 1 ELSE 0 END), 0)" for sql in conditions.values()
    )
    sql = f"SELECT {sums}, COUNT(*) " + _PAIRS.format(
        result=Result._meta.db_table, joins=_QUARANTINE_JOIN
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [base.pk if base else None, run.pk])
        row = cursor.fetchone()
    return {**dict(zip(conditions, (int(v) for v in row[:-1]), strict=True)), "results": row[-1]}


def _items(*, run: Run, base: Run | None, condition: str, limit: int) -> list[dict]:
    """Return at most ``limit`` tests of one list, in the verdict's order (one query).

    Regressions (tests with a base result) come before tests added since the base,
    then by category, class and test name.
    """
    joins = (
        f"JOIN {Test._meta.db_table} t ON t.id = h.test_id"
        f" JOIN {Category._meta.db_table} c ON c.id = h.category_id" + _QUARANTINE_JOIN
    )
    sql = (
        "SELECT h.test_id, t.classname, t.name, t.file, c.name, h.outcome,"
        " SUBSTR(h.message, 1, 1000), q.test_id"
        + _PAIRS.format(result=Result._meta.db_table, joins=joins)
        + f" AND {condition}"
        " ORDER BY CASE WHEN b.test_id IS NULL THEN 1 ELSE 0 END,"
        " c.name, t.classname, t.name, h.test_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [base.pk if base else None, run.pk, limit])
        rows = cursor.fetchall()
    return [
        {
            "test_id": test_id,
            "classname": classname,
            "name": name,
            "file": file,
            "category": category or "",
            "owners": [],
            "outcome": NAMES.get(outcome, ""),
            "message": message_first_line(message or ""),
            "failing_since": None,
            "quarantined": quarantined is not None,
        }
        for test_id, classname, name, file, category, outcome, message, quarantined in rows
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


def _owners_fill(*, project: Project, items: list[dict]) -> None:
    """Set each listed test's ``owners`` from the project's CODEOWNERS (1 query if any)."""
    if not items:
        return
    found = owners_for_paths(
        codeowners=codeowners_get(project=project),
        tests={i["test_id"]: (i["file"] or "", i["classname"]) for i in items},
    )
    for item in items:
        item["owners"] = found.get(item["test_id"], [])


def _ready(*, run: Run, stats: RunStats | None, results: int) -> bool:
    """Return True when the verdict is final: see the module docstring."""
    return bool(
        run.is_complete
        and stats is not None
        and stats.is_complete
        and not stats.pending
        and stats.passed + stats.failed + stats.error + stats.skipped == results
    )


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
    flags = _flags(stats)
    conditions = _conditions(
        flaky_counts_as_pass=project.flaky_counts_as_pass, has_base=base is not None
    )
    totals = _totals(run=run, base=base, conditions=conditions)
    lists = {}
    for name in ("new", "fixed", "flaky"):
        # A list is read only when its total says it has tests.
        lists[name] = (
            _items(run=run, base=base, condition=conditions[name], limit=limit)
            if totals[name]
            else []
        )
    new_failures, fixed, flaky = lists["new"], lists["fixed"], lists["flaky"]
    _failing_since(run=run, passing=passing, items=new_failures)
    _owners_fill(project=project, items=[*new_failures, *fixed, *flaky])

    passed, total = (stats.passed, stats.total) if stats else (0, 0)
    rate = pass_rate(passed=passed, total=total)
    base_rate = pass_rate(passed=base_stats.passed, total=base_stats.total) if base_stats else None
    # Quarantined new failures are counted with the totals (and as not passing) but
    # never fail the gate.
    quarantined_new = totals["quarantined_new"]
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
        "quarantined": totals["quarantined"],
        "quarantined_new_failures": quarantined_new,
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
        "url": run_url(slug=project.slug, key=run.key),
    }
