"""Flaky-test detection, folded in per batch of completed default-branch runs.

For each batch of completed runs on the project's default branch (one run, or the
runs of a derive pass, ``dashboard.derive.backlog``):

1. fold the runs' results into ``TestSignal``: one letter per test and run appended
   to its history in start order, trimmed to the policy's window (one
   ``UPDATE ... FROM`` and one ``INSERT ... SELECT`` over these runs' results only;
   equal to folding the runs one by one);
2. candidates: the tests the batch wrote that are active (or have no state) and whose
   history holds an ``r``, or both a ``p`` and an ``f``; the pure detectors
   (``dashboard.analytics.flaky_rules``) decide, once per batch, and each detection
   marks the test flaky, suggests its quarantine, or quarantines it, by
   ``FlakyPolicy.action``;
3. lift: the batch's flaky or quarantined tests whose last ``lift_after`` letters are
   all ``p`` go back to active.

Nothing here reads the window's results again: the history string is the window.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.analytics.flaky_rules import describe, detect
from dashboard.derive.locks import project_xact_lock
from dashboard.derive.teststats import newer_than_row_sql
from dashboard.lifecycle.models import FlakyPolicy, TestSignal, TestState
from dashboard.lifecycle.policy import policy_of, policy_row_get
from dashboard.services.quarantine import (
    quarantine_days,
    quarantined_events_send,
    states_set_bulk,
)
from ingest.models import Project, Result, Run

# Advisory-lock namespace "df" (detect flaky), beside dashboard.derive.locks' ones.
DETECT = 0x6466 << 48

_LETTER = f"""CASE
    WHEN r.outcome = {Result.Outcome.PASSED} AND r.flaky THEN 'r'
    WHEN r.outcome = {Result.Outcome.PASSED} THEN 'p'
    WHEN r.outcome = {Result.Outcome.SKIPPED} THEN 's'
    ELSE 'f' END"""

# Folding a batch of runs in, as if one by one in (started_at, run_id) order. Per test,
# its letters in the batch newer than its row's last run, numbered oldest first (idx):
# - history: the row's history, then the batch's letters, trimmed to the window;
# - a flip: a letter and the one before it (the history's last, for the first) differ
#   in passing ('p') vs not passing (anything but 's'); last_flip_at is the last one's;
# - a letter 'p' that finds a full window of 'p' before it writes nothing (most rows of
#   a healthy suite), so last_run is that of the newest letter that did write; a test
#   whose every letter wrote nothing is not updated. Only the detectors' candidates
#   read last_run (never such a test).
# {newer}: which results a fold takes (the UPDATE: newer than the row; the INSERT:
# tests without a row). {agg}: string_agg (PostgreSQL) or group_concat (SQLite),
# used as a window function so the letters are concatenated in idx order. Parameters:
# the window, then the batch's run ids.
_FOLD_BATCH = """
SELECT test_id, MAX(history) AS history, MAX(letters) AS letters,
       MAX(CASE WHEN idx = written_idx THEN run_id END) AS run_id,
       MAX(CASE WHEN idx = written_idx THEN started_at END) AS started_at,
       MAX(CASE WHEN flip = 1 THEN started_at END) AS flip_at
FROM (
    SELECT c.*,
           MAX(CASE WHEN NOT (letter = 'p' AND trailing_p >= %s) THEN idx END)
               OVER (PARTITION BY test_id) AS written_idx,
           {agg}(letter, '') OVER (
               PARTITION BY test_id ORDER BY idx
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS letters
    FROM (
        SELECT b.*,
               CASE WHEN letter <> 's' AND prev NOT IN ('', 's')
                         AND (letter = 'p') <> (prev = 'p') THEN 1 ELSE 0 END AS flip,
               CASE WHEN last_not_p IS NULL
                    THEN length(history) - length(rtrim(history, 'p')) + idx - 1
                    ELSE idx - 1 - last_not_p END AS trailing_p
        FROM (
            SELECT a.*,
                   COALESCE(LAG(letter) OVER w, substr(history, length(history), 1)) AS prev,
                   MAX(CASE WHEN letter <> 'p' THEN idx END) OVER (
                       w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_not_p
            FROM (
                SELECT r.test_id, r.run_id, run.started_at, {letter} AS letter,
                       COALESCE(sg.history, '') AS history,
                       ROW_NUMBER() OVER (
                           PARTITION BY r.test_id ORDER BY run.started_at, r.run_id
                       ) AS idx
                FROM {result} r
                JOIN {run} run ON run.id = r.run_id
                LEFT JOIN {t} sg ON sg.test_id = r.test_id
                WHERE r.run_id IN ({runs}) AND {newer}
            ) a
            WINDOW w AS (PARTITION BY test_id ORDER BY idx)
        ) b
    ) c
) d
GROUP BY test_id
"""
# The history, then the batch's letters, trimmed to the window (the last parameter).
_TRIMMED = """CASE WHEN length({h} || x.letters) > %s
    THEN substr({h} || x.letters, length({h} || x.letters) - %s + 1)
    ELSE {h} || x.letters END"""
_FOLD_UPDATE = """
UPDATE {t} AS sg SET
    history = {trimmed},
    last_run_id = x.run_id,
    last_started_at = x.started_at,
    last_flip_at = COALESCE(x.flip_at, sg.last_flip_at)
FROM ({batch}) AS x
WHERE sg.test_id = x.test_id AND x.run_id IS NOT NULL
"""
_FOLD_INSERT = """
INSERT INTO {t} (test_id, project_id, history, last_run_id, last_started_at, last_flip_at)
SELECT x.test_id, %s, {trimmed}, x.run_id, x.started_at, x.flip_at
FROM ({batch}) AS x
"""
# The batch's tests through its results (the (run, test) index) that it wrote: active ones whose
# window holds a retry pass, or both a pass and a failure (always failing is not flaky).
_CANDIDATES = """
SELECT sg.test_id, sg.history FROM {result} r
JOIN {t} sg ON sg.test_id = r.test_id
LEFT JOIN {state} st ON st.test_id = r.test_id
WHERE r.run_id IN ({runs}) AND sg.last_run_id = r.run_id
  AND (st.test_id IS NULL OR st.state = 'active')
  AND (sg.history LIKE '%%r%%' OR (sg.history LIKE '%%f%%' AND sg.history LIKE '%%p%%'))
"""
_LIFT = """
SELECT sg.test_id, st.state FROM {result} r
JOIN {state} st ON st.test_id = r.test_id
JOIN {t} sg ON sg.test_id = r.test_id
WHERE r.run_id IN ({runs}) AND sg.last_run_id = r.run_id AND st.state IN ('flaky', 'quarantined')
  AND length(sg.history) >= %s AND substr(sg.history, length(sg.history) - %s + 1) = %s
"""


def run_detect(*, run_id: int) -> dict:
    """Fold one completed default-branch run into the signals and apply the detectors."""
    return runs_detect(run_ids=[run_id])


def runs_detect(*, run_ids: list[int], project_id: int | None = None) -> dict:
    """Fold a batch of completed default-branch runs of one project into the signals.

    The fold equals folding the runs one by one in (started_at, run_id) order; the
    detectors and the lift then look once at the histories of the tests the batch
    wrote. Return counts: ``folded`` (signal rows written: steady passing tests are
    not), ``detected``, ``quarantined``, ``lifted``.
    """
    done = {"folded": 0, "detected": 0, "quarantined": 0, "lifted": 0}
    rows = Run.objects.filter(pk__in=run_ids, is_complete=True, branch=F("project__default_branch"))
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    runs = list(rows.values_list("pk", flat=True))
    if not runs:
        return done
    project = Project.objects.get(runs__pk=runs[0])
    row = policy_row_get(project_id=project.pk)
    policy = policy_of(row)
    names = {
        "t": TestSignal._meta.db_table,
        "state": TestState._meta.db_table,
        "result": Result._meta.db_table,
        "run": Run._meta.db_table,
        "letter": _LETTER,
        "runs": ", ".join(["%s"] * len(runs)),
        "agg": "string_agg" if connection.vendor == "postgresql" else "group_concat",
    }
    window = policy.window
    n = policy.lift_after
    now = timezone.now()
    update = _FOLD_UPDATE.format(
        trimmed=_TRIMMED.format(h="sg.history"),
        batch=_FOLD_BATCH.format(newer=newer_than_row_sql("sg"), **names),
        **names,
    )
    insert = _FOLD_INSERT.format(
        trimmed=_TRIMMED.format(h="''"),
        batch=_FOLD_BATCH.format(newer="sg.test_id IS NULL", **names),
        **names,
    )
    with transaction.atomic():
        project_xact_lock(namespace=DETECT, project_id=project.pk)
        with connection.cursor() as cursor:
            cursor.execute(update, [window, window, window, *runs])
            done["folded"] = cursor.rowcount
            cursor.execute(insert, [project.pk, window, window, window, *runs])
            done["folded"] += cursor.rowcount
            cursor.execute(_CANDIDATES.format(**names), runs)
            candidates = cursor.fetchall()
            cursor.execute(_LIFT.format(**names), [*runs, n, n, "p" * n])
            lifts = cursor.fetchall()
        found = {test_id: detect(history, policy) for test_id, history in candidates}
        found = {test_id: rule for test_id, rule in sorted(found.items()) if rule}
        done["detected"] = len(found)
        quarantine = row.action == FlakyPolicy.Action.QUARANTINE
        expires_at = now + timedelta(days=quarantine_days()) if quarantine else None
        detected = [
            {
                "test_id": test_id,
                "from_state": TestState.State.ACTIVE,
                "to_state": TestState.State.QUARANTINED if quarantine else TestState.State.FLAKY,
                "actor": f"detector:{rule}",
                "reason": describe(rule, policy),
                "expires_at": expires_at,
                "detected_by": rule,
                "suggested": row.action == FlakyPolicy.Action.SUGGEST,
            }
            for test_id, rule in found.items()
        ]
        states_set_bulk(project_id=project.pk, items=detected, now=now)
        if quarantine:
            done["quarantined"] = len(detected)
            quarantined_events_send(project=project, test_ids=list(found))
        lifted = [
            {
                "test_id": test_id,
                "from_state": from_state,
                "to_state": TestState.State.ACTIVE,
                "actor": "auto-lift",
                "reason": f"passed in the last {n} runs in a row",
            }
            for test_id, from_state in lifts
        ]
        done["lifted"] = states_set_bulk(project_id=project.pk, items=lifted, now=now)
    return done
