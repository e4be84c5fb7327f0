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

The counters are kept incrementally: ``run_test_stats_update`` adds one run to them
(an ``UPDATE ... FROM`` and an ``INSERT ... SELECT`` over that run's results only),
and ``test_stats_refresh`` (hourly) restates them from the window's results, which
expires runs that left the window and picks up late, older runs. The rebuild works
in batches of PASSLINE_TEST_STATS_BATCH tests, one short transaction each; both take
the project's advisory lock (``dashboard.derive.locks``), never a row lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dashboard.derive.locks import TEST_STATS, project_xact_lock
from dashboard.models import TestStats
from ingest.models import Project, Result, Run, Test

COLUMNS = (
    "test_id, project_id, category_id, last_run_id, last_started_at, last_outcome, "
    "failing_since_run_id, failing_runs, window_runs, flaky_runs, flake_rate, computed_at"
)

# Folding a run in: an UPDATE ... FROM of the rows of the run's tests, then an INSERT
# of the tests without a row (faster than one INSERT ... ON CONFLICT DO UPDATE, whose
# speculative insertion costs about five times as much per conflicting row). {t} is
# the TestStats table; rows whose newest run is this one or a later one are left alone.
_FOLD_UPDATE = """
UPDATE {t} AS ts SET
    category_id = x.category_id,
    last_run_id = x.run_id,
    last_started_at = %s,
    last_outcome = x.outcome,
    failing_since_run_id = CASE WHEN x.passing = 1 THEN NULL
        ELSE COALESCE(ts.failing_since_run_id, x.run_id) END,
    failing_runs = CASE WHEN x.passing = 1 THEN 0 ELSE ts.failing_runs + 1 END,
    window_runs = ts.window_runs + 1,
    flaky_runs = ts.flaky_runs + x.flaky,
    flake_rate = (ts.flaky_runs + x.flaky) * 1.0 / (ts.window_runs + 1),
    computed_at = %s
FROM (
    SELECT r.test_id, r.run_id, r.category_id, r.outcome,
           CASE WHEN {passing} THEN 1 ELSE 0 END AS passing,
           CASE WHEN r.flaky THEN 1 ELSE 0 END AS flaky
    FROM {result} r
    WHERE r.run_id = %s
) AS x
WHERE ts.test_id = x.test_id
  AND (ts.last_run_id IS NULL OR ts.last_started_at IS NULL
       OR ts.last_started_at < %s
       OR (ts.last_started_at = %s AND ts.last_run_id < x.run_id))
"""
_FOLD_INSERT = """
INSERT INTO {t} ({columns})
SELECT r.test_id, %s, r.category_id, r.run_id, %s, r.outcome,
       CASE WHEN {passing} THEN NULL ELSE r.run_id END,
       CASE WHEN {passing} THEN 0 ELSE 1 END,
       1,
       CASE WHEN r.flaky THEN 1 ELSE 0 END,
       CASE WHEN r.flaky THEN 1.0 ELSE 0.0 END,
       %s
FROM {result} r
WHERE r.run_id = %s AND NOT EXISTS (SELECT 1 FROM {t} ts WHERE ts.test_id = r.test_id)
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
    """Fold one complete default-branch run's results into TestStats; return rows touched.

    Touches only the run's tests. Tests whose stats already come from this run or a
    later one are left alone (a late, older run is picked up by the next rebuild).
    """
    run = Run.objects.select_related("project").filter(pk=run_id, is_complete=True).first()
    if run is None or run.branch != run.project.default_branch:
        return 0
    project = run.project
    names = {
        "t": TestStats._meta.db_table,
        "columns": COLUMNS,
        "result": Result._meta.db_table,
        "passing": _passing_sql("r", flaky_counts_as_pass=project.flaky_counts_as_pass),
    }
    now, started_at = _db_datetime(timezone.now()), _db_datetime(run.started_at)
    with transaction.atomic():
        # Also keeps two folds from inserting the same new test.
        project_xact_lock(namespace=TEST_STATS, project_id=project.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                _FOLD_UPDATE.format(**names), [started_at, now, run.pk, started_at, started_at]
            )
            touched = cursor.rowcount
            # Every test of the run had a row (the usual case): nothing to insert.
            if touched == Result.objects.filter(run_id=run.pk).count():
                return touched
            cursor.execute(_FOLD_INSERT.format(**names), [project.pk, started_at, now, run.pk])
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
