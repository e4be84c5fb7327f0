"""Flaky-test detection, folded in per completed default-branch run (incremental).

For each completed run on the project's default branch:

1. fold the run's results into ``TestSignal``: one letter per test appended to its
   history, trimmed to the policy's window (one ``UPDATE ... FROM`` and one
   ``INSERT ... SELECT`` over this run's results only);
2. candidates: the run's tests that are active (or have no state) and whose history
   holds an ``r``, or both a ``p`` and an ``f``; the pure detectors
   (``dashboard.analytics.flaky_rules``) decide, and each detection marks the test
   flaky, suggests its quarantine, or quarantines it, by ``FlakyPolicy.action``;
3. lift: the run's flaky or quarantined tests whose last ``lift_after`` letters are
   all ``p`` go back to active.

Nothing here reads the window's results again: the history string is the window.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from dashboard.analytics.flaky_rules import describe, detect
from dashboard.derive.locks import project_xact_lock
from dashboard.derive.teststats import _db_datetime
from dashboard.lifecycle.models import FlakyPolicy, TestSignal, TestState
from dashboard.lifecycle.policy import policy_of, policy_row_get
from dashboard.services.quarantine import (
    quarantine_days,
    quarantined_events_send,
    states_set_bulk,
)
from ingest.models import Result, Run

# Advisory-lock namespace "df" (detect flaky), beside dashboard.derive.locks' ones.
DETECT = 0x6466 << 48

_LETTER = f"""CASE
    WHEN r.outcome = {Result.Outcome.PASSED} AND r.flaky THEN 'r'
    WHEN r.outcome = {Result.Outcome.PASSED} THEN 'p'
    WHEN r.outcome = {Result.Outcome.SKIPPED} THEN 's'
    ELSE 'f' END"""

# The first two parameters: letters kept before the new one (window - 1). A flip: the
# new letter and the previous one differ in passing ('p') vs not passing (anything but
# 's'). A test that passed in every run of a full window and passes again keeps the
# same history: its row is not written (most rows of a healthy suite), so its
# last_run stays older, which only the detectors' candidates read (never such a test).
_FOLD_UPDATE = """
UPDATE {t} AS sg SET
    history = CASE WHEN length(sg.history) > %s
        THEN substr(sg.history, length(sg.history) - %s + 1) ELSE sg.history END || x.letter,
    last_run_id = x.run_id,
    last_started_at = %s,
    last_flip_at = CASE
        WHEN x.letter <> 's' AND length(sg.history) > 0
             AND substr(sg.history, length(sg.history), 1) <> 's'
             AND (x.letter = 'p') <> (substr(sg.history, length(sg.history), 1) = 'p')
        THEN %s ELSE sg.last_flip_at END
FROM (
    SELECT r.test_id, r.run_id, {letter} AS letter FROM {result} r WHERE r.run_id = %s
) AS x
WHERE sg.test_id = x.test_id
  AND NOT (x.letter = 'p' AND sg.history = %s)
  AND (sg.last_started_at IS NULL OR sg.last_started_at < %s
       OR (sg.last_started_at = %s AND sg.last_run_id < x.run_id))
"""
_FOLD_INSERT = """
INSERT INTO {t} (test_id, project_id, history, last_run_id, last_started_at, last_flip_at)
SELECT r.test_id, %s, {letter}, r.run_id, %s, NULL
FROM {result} r
WHERE r.run_id = %s AND NOT EXISTS (SELECT 1 FROM {t} sg WHERE sg.test_id = r.test_id)
"""
# The run's tests through its results (the (run, test) index): active ones whose
# window holds a retry pass, or both a pass and a failure (always failing is not flaky).
_CANDIDATES = """
SELECT sg.test_id, sg.history FROM {result} r
JOIN {t} sg ON sg.test_id = r.test_id
LEFT JOIN {state} st ON st.test_id = r.test_id
WHERE r.run_id = %s AND sg.last_run_id = r.run_id
  AND (st.test_id IS NULL OR st.state = 'active')
  AND (sg.history LIKE '%%r%%' OR (sg.history LIKE '%%f%%' AND sg.history LIKE '%%p%%'))
"""
_LIFT = """
SELECT sg.test_id, st.state FROM {result} r
JOIN {state} st ON st.test_id = r.test_id
JOIN {t} sg ON sg.test_id = r.test_id
WHERE r.run_id = %s AND sg.last_run_id = r.run_id AND st.state IN ('flaky', 'quarantined')
  AND length(sg.history) >= %s AND substr(sg.history, length(sg.history) - %s + 1) = %s
"""


def run_detect(*, run_id: int) -> dict:
    """Fold a completed default-branch run into the signals and apply the detectors.

    Return counts: ``folded`` (signal rows written: steady passing tests are not),
    ``detected``, ``quarantined``, ``lifted``.
    """
    done = {"folded": 0, "detected": 0, "quarantined": 0, "lifted": 0}
    run = Run.objects.select_related("project").filter(pk=run_id, is_complete=True).first()
    if run is None or run.branch != run.project.default_branch:
        return done
    project = run.project
    row = policy_row_get(project_id=project.pk)
    policy = policy_of(row)
    names = {
        "t": TestSignal._meta.db_table,
        "state": TestState._meta.db_table,
        "result": Result._meta.db_table,
        "letter": _LETTER,
    }
    started_at = _db_datetime(run.started_at)
    keep = policy.window - 1
    n = policy.lift_after
    now = timezone.now()
    with transaction.atomic():
        project_xact_lock(namespace=DETECT, project_id=project.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                _FOLD_UPDATE.format(**names),
                [
                    *(keep, keep, started_at, started_at, run.pk),
                    "p" * policy.window,
                    started_at,
                    started_at,
                ],
            )
            done["folded"] = cursor.rowcount
            cursor.execute(_FOLD_INSERT.format(**names), [project.pk, started_at, run.pk])
            done["folded"] += cursor.rowcount
            cursor.execute(_CANDIDATES.format(**names), [run.pk])
            candidates = cursor.fetchall()
            cursor.execute(_LIFT.format(**names), [run.pk, n, n, "p" * n])
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
