"""Per-test stats (TestStats): folded in per completed run, rebuilt hourly in batches.

A result is flaky in a run when its test had both failing and passing attempts there
(ingest sets ``Result.flaky``). Over the complete runs of the project's default
branch:

- ``last_run`` / ``last_outcome``: the newest run with a result for the test;
- ``failing_runs`` / ``failing_since_run``: the current streak of runs in which the
  test did not pass (skipped included), and its first run;
- ``window_runs`` / ``flaky_runs``: runs with a result / runs in which it was flaky,
  and ``flake_rate`` = flaky_runs / window_runs, within the last
  PASSLINE_FLAKY_WINDOW_DAYS days (default: the trend window).

The counters are kept incrementally: ``runs_test_stats_fold`` adds a batch of runs to
them (an ``UPDATE ... FROM`` and an ``INSERT ... SELECT`` over those runs' results only,
equal to adding them one by one in start order),
and ``test_stats_refresh`` (hourly) restates them from the window's results, which
expires runs that left the window and picks up late, older runs. The rebuild works
in batches of PASSLINE_TEST_STATS_BATCH tests, one short transaction each; both take
the project's advisory lock (``dashboard.derive.locks``), never a row lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.derive.locks import TEST_STATS, project_xact_lock
from dashboard.models import TestStats
from ingest.models import Project, Result, Run, Test

COLUMNS = (
    "test_id, project_id, category_id, last_run_id, last_started_at, last_outcome, "
    "failing_since_run_id, failing_runs, window_runs, flaky_runs, flake_rate, computed_at"
)

# Folding a batch of runs in, in (started_at, run_id) order, as if one by one: per
# test, its results in the batch that are newer than its row's last run, numbered
# newest first (rn); first_pass is the rn of the newest passing one, n their count.
# {after} keeps the results a fold takes (the UPDATE: newer than the row; the INSERT:
# tests without a row). Then an UPDATE ... FROM of the rows of the batch's tests, and
# an INSERT of the tests without a row (faster than one INSERT ... ON CONFLICT DO
# UPDATE, whose speculative insertion costs about five times as much per conflicting
# row). A streak broken inside the batch restarts at the oldest result after the
# newest pass; an unbroken one extends the row's streak.
_FOLD_BATCH = """
SELECT test_id,
       MAX(CASE WHEN rn = 1 THEN category_id END) AS category_id,
       MAX(CASE WHEN rn = 1 THEN run_id END) AS run_id,
       MAX(CASE WHEN rn = 1 THEN started_at END) AS started_at,
       MAX(CASE WHEN rn = 1 THEN outcome END) AS outcome,
       MAX(first_pass) AS first_pass,
       MAX(n) AS n,
       MAX(CASE WHEN rn = n THEN run_id END) AS oldest_run_id,
       MAX(CASE WHEN rn = first_pass - 1 THEN run_id END) AS streak_run_id,
       SUM(flaky) AS flaky
FROM (
    SELECT w.*,
           MIN(CASE WHEN passing = 1 THEN rn END) OVER (PARTITION BY test_id) AS first_pass,
           COUNT(*) OVER (PARTITION BY test_id) AS n
    FROM (
        SELECT r.test_id, r.run_id, r.category_id, r.outcome, run.started_at,
               CASE WHEN {passing} THEN 1 ELSE 0 END AS passing,
               CASE WHEN r.flaky THEN 1 ELSE 0 END AS flaky,
               ROW_NUMBER() OVER (
                   PARTITION BY r.test_id ORDER BY run.started_at DESC, r.run_id DESC
               ) AS rn
        FROM {result} r
        JOIN {run} run ON run.id = r.run_id
        LEFT JOIN {t} ts ON ts.test_id = r.test_id
        WHERE r.run_id IN ({runs}) AND {after}
    ) w
) s
GROUP BY test_id
"""


def newer_than_row_sql(alias: str) -> str:
    """SQL: result ``r`` of run ``run`` is newer than the last run of row ``alias``."""
    return f"""{alias}.test_id IS NOT NULL AND ({alias}.last_run_id IS NULL
    OR {alias}.last_started_at IS NULL OR {alias}.last_started_at < run.started_at
    OR ({alias}.last_started_at = run.started_at AND {alias}.last_run_id < r.run_id))"""


_FOLD_UPDATE = """
UPDATE {t} AS ts SET
    category_id = x.category_id,
    last_run_id = x.run_id,
    last_started_at = x.started_at,
    last_outcome = x.outcome,
    failing_since_run_id = CASE WHEN x.first_pass IS NULL
        THEN COALESCE(ts.failing_since_run_id, x.oldest_run_id)
        ELSE x.streak_run_id END,
    failing_runs = CASE WHEN x.first_pass IS NULL
        THEN ts.failing_runs + x.n ELSE x.first_pass - 1 END,
    window_runs = ts.window_runs + x.n,
    flaky_runs = ts.flaky_runs + x.flaky,
    flake_rate = (ts.flaky_runs + x.flaky) * 1.0 / (ts.window_runs + x.n),
    computed_at = %s
FROM ({batch}) AS x
WHERE ts.test_id = x.test_id
"""
_FOLD_INSERT = """
INSERT INTO {t} ({columns})
SELECT x.test_id, %s, x.category_id, x.run_id, x.started_at, x.outcome,
       CASE WHEN x.first_pass IS NULL THEN x.oldest_run_id ELSE x.streak_run_id END,
       COALESCE(x.first_pass - 1, x.n),
       x.n,
       x.flaky,
       x.flaky * 1.0 / x.n,
       %s
FROM ({batch}) AS x
"""

# INSERT first, then the WITH: SQLite reports a row count only for statements that
# start with INSERT. One pass, no self-join: per test, rn numbers its results newest
# first, first_pass is the rn of its newest passing result and n its result count, so
# the streak is first_pass - 1 (or n) results long and starts at rn = streak.
_REBUILD = """
INSERT INTO {t} ({columns})
WITH w AS (
    SELECT r.test_id, r.run_id, run.started_at, r.outcome, r.flaky, r.category_id,
           ROW_NUMBER() OVER (
               PARTITION BY r.test_id ORDER BY run.started_at DESC, r.run_id DESC
           ) AS rn,
           CASE WHEN {passing} THEN 1 ELSE 0 END AS passing
    FROM {result} r JOIN {run} run ON run.id = r.run_id
    WHERE r.test_id >= %s AND r.test_id <= %s
      AND run.project_id = %s AND run.branch = %s AND run.is_complete
      AND run.started_at >= %s AND run.started_at <= %s
), s AS (
    SELECT w.*,
           COALESCE(
               MIN(CASE WHEN passing = 1 THEN rn END) OVER (PARTITION BY test_id) - 1,
               COUNT(*) OVER (PARTITION BY test_id)
           ) AS streak
    FROM w
)
SELECT test_id, %s,
       MAX(CASE WHEN rn = 1 THEN category_id END),
       MAX(CASE WHEN rn = 1 THEN run_id END),
       MAX(CASE WHEN rn = 1 THEN started_at END),
       MAX(CASE WHEN rn = 1 THEN outcome END),
       MAX(CASE WHEN rn = streak THEN run_id END),
       MAX(streak),
       COUNT(*),
       SUM(CASE WHEN flaky THEN 1 ELSE 0 END),
       SUM(CASE WHEN flaky THEN 1 ELSE 0 END) * 1.0 / COUNT(*),
       %s
FROM s
WHERE true
GROUP BY test_id
ON CONFLICT (test_id) DO UPDATE SET
    project_id = excluded.project_id,
    category_id = excluded.category_id,
    last_run_id = excluded.last_run_id,
    last_started_at = excluded.last_started_at,
    last_outcome = excluded.last_outcome,
    failing_since_run_id = excluded.failing_since_run_id,
    failing_runs = excluded.failing_runs,
    window_runs = excluded.window_runs,
    flaky_runs = excluded.flaky_runs,
    flake_rate = excluded.flake_rate,
    computed_at = excluded.computed_at
"""


def flaky_window_days() -> int:
    """Return the flake-rate window in days."""
    return getattr(settings, "PASSLINE_FLAKY_WINDOW_DAYS", settings.PASSLINE_TREND_WINDOW_DAYS)


def _db_datetime(value: datetime):
    """Return ``value`` as the ORM stores it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _passing_sql(alias: str, *, flaky_counts_as_pass: bool) -> str:
    if flaky_counts_as_pass:
        return f"{alias}.outcome = {Result.Outcome.PASSED}"
    return f"{alias}.outcome = {Result.Outcome.PASSED} AND NOT {alias}.flaky"


def run_test_stats_update(*, run_id: int) -> int:
    """Fold one complete default-branch run's results into TestStats; return rows touched."""
    return runs_test_stats_fold(run_ids=[run_id])


def runs_test_stats_fold(*, run_ids: list[int], project_id: int | None = None) -> int:
    """Fold a batch of runs of one project into its TestStats; return the rows touched.

    Only the batch's complete default-branch runs count. Equal to folding them one
    by one in (started_at, run_id) order. Touches only the batch's tests; a test's
    results older than its row's last run are left to the next rebuild (a late,
    older run).
    """
    rows = Run.objects.filter(pk__in=run_ids, is_complete=True, branch=F("project__default_branch"))
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    rows = list(rows.values_list("pk", "project_id", "project__flaky_counts_as_pass"))
    if not rows:
        return 0
    runs = [pk for pk, _, _ in rows]
    _, project_id, flaky_counts_as_pass = rows[0]
    names = {
        "t": TestStats._meta.db_table,
        "columns": COLUMNS,
        "result": Result._meta.db_table,
        "run": Run._meta.db_table,
        "passing": _passing_sql("r", flaky_counts_as_pass=flaky_counts_as_pass),
        "runs": ", ".join(["%s"] * len(runs)),
    }
    update = _FOLD_UPDATE.format(
        batch=_FOLD_BATCH.format(after=newer_than_row_sql("ts"), **names), **names
    )
    insert = _FOLD_INSERT.format(
        batch=_FOLD_BATCH.format(after="ts.test_id IS NULL", **names), **names
    )
    now = _db_datetime(timezone.now())
    with transaction.atomic():
        # Also keeps two folds from inserting the same new test.
        project_xact_lock(namespace=TEST_STATS, project_id=project_id)
        with connection.cursor() as cursor:
            cursor.execute(update, [now, *runs])
            touched = cursor.rowcount
            cursor.execute(insert, [project_id, now, *runs])
            return touched + cursor.rowcount


def test_stats_refresh(*, project_id: int, now: datetime | None = None) -> int:
    """Restate a project's TestStats from the window's results; return rows written.

    Works through the project's tests in id ranges of PASSLINE_TEST_STATS_BATCH, each
    range one short transaction (advisory lock, upsert, delete of rows of tests with
    no result left in the window). ``failing_since_run`` and ``failing_runs`` only
    look inside the window.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    now = now or timezone.now()
    batch = getattr(settings, "PASSLINE_TEST_STATS_BATCH", 20_000)
    sql = _REBUILD.format(
        t=TestStats._meta.db_table,
        columns=COLUMNS,
        result=Result._meta.db_table,
        run=Run._meta.db_table,
        passing=_passing_sql("r", flaky_counts_as_pass=project.flaky_counts_as_pass),
    )
    since = now - timedelta(days=flaky_window_days())
    test_ids = list(
        Test.objects.filter(project_id=project.pk).order_by("pk").values_list("pk", flat=True)
    )
    written = 0
    for start in range(0, len(test_ids), batch):
        lo, hi = test_ids[start], test_ids[min(start + batch, len(test_ids)) - 1]
        params = [lo, hi, project.pk, project.default_branch]
        params += [_db_datetime(since), _db_datetime(now), project.pk, _db_datetime(now)]
        with transaction.atomic():
            project_xact_lock(namespace=TEST_STATS, project_id=project.pk)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                written += cursor.rowcount
            # Rows of the range this batch did not write: no result left in the window.
            TestStats.objects.filter(
                project_id=project.pk, test_id__gte=lo, test_id__lte=hi
            ).exclude(computed_at=now).delete()
    return written


def test_stats_refresh_all(*, now: datetime | None = None) -> int:
    """Rebuild the per-test stats of every project; return the number of projects."""
    ids = list(Project.objects.values_list("pk", flat=True))
    for project_id in ids:
        test_stats_refresh(project_id=project_id, now=now)
    return len(ids)


# Not pytest tests, despite their names, when a test module imports them.
test_stats_refresh.__test__ = False
test_stats_refresh_all.__test__ = False
