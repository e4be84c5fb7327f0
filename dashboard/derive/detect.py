"""Flaky-test detection, folded in per completed default-branch run (incremental).

For each completed run on the project's default branch:

1. fold the run's results into ``TestSignal``: one letter per test appended to its
   history, trimmed to the policy's window (one ``UPDATE ... FROM`` and one
   ``INSERT ... SELECT`` over this run's results only);
2. candidates: the run's tests that are active (or have no state) and whose history
   holds an ``r`` or an ``f``; the pure detectors (``dashboard.analytics.flaky_rules``)
   decide, and each detection marks the test flaky, suggests its quarantine, or
   quarantines it, by the project's ``FlakyPolicy.action``;
3. lift: the run's flaky or quarantined tests whose last ``lift_after`` letters are
   all ``p`` go back to active.

Nothing here reads the window's results again: the history string is the window.
"""

from django.db import connection, transaction
from django.utils import timezone

from dashboard.analytics.flaky_rules import describe, detect
from dashboard.derive.locks import project_xact_lock
from dashboard.derive.teststats import _db_datetime
from dashboard.lifecycle.models import FlakyPolicy, TestSignal, TestState
from dashboard.lifecycle.policy import policy_of, policy_row_get
from dashboard.services.quarantine import _change, test_quarantine
from ingest.models import Result, Run, Test

# Advisory-lock namespace "df" (detect flaky), beside dashboard.derive.locks' ones.
DETECT = 0x6466 << 48

_LETTER = f"""CASE
    WHEN r.outcome = {Result.Outcome.PASSED} AND r.flaky THEN 'r'
    WHEN r.outcome = {Result.Outcome.PASSED} THEN 'p'
    WHEN r.outcome = {Result.Outcome.SKIPPED} THEN 's'
    ELSE 'f' END"""

# %(keep)s: letters kept before the new one (window - 1). A flip: the new letter and
# the previous one differ in passing ('p') vs not passing (anything but 's').
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
  AND (sg.last_started_at IS NULL OR sg.last_started_at < %s
       OR (sg.last_started_at = %s AND sg.last_run_id < x.run_id))
"""
_FOLD_INSERT = """
INSERT INTO {t} (test_id, project_id, history, last_run_id, last_started_at, last_flip_at)
SELECT r.test_id, %s, {letter}, r.run_id, %s, NULL
FROM {result} r
WHERE r.run_id = %s AND NOT EXISTS (SELECT 1 FROM {t} sg WHERE sg.test_id = r.test_id)
"""
_CANDIDATES = """
SELECT sg.test_id, sg.history FROM {t} sg
LEFT JOIN {state} st ON st.test_id = sg.test_id
WHERE sg.project_id = %s AND sg.last_run_id = %s
  AND (st.test_id IS NULL OR st.state = 'active')
  AND (sg.history LIKE '%%r%%' OR sg.history LIKE '%%f%%')
"""
_LIFT = """
SELECT sg.test_id FROM {t} sg JOIN {state} st ON st.test_id = sg.test_id
WHERE sg.project_id = %s AND sg.last_run_id = %s AND st.state IN ('flaky', 'quarantined')
  AND length(sg.history) >= %s AND substr(sg.history, length(sg.history) - %s + 1) = %s
"""


def run_detect(*, run_id: int) -> dict:
    """Fold a completed default-branch run into the signals and apply the detectors.

    Return counts: ``folded`` (tests), ``detected``, ``quarantined``, ``lifted``.
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
    with transaction.atomic():
        project_xact_lock(namespace=DETECT, project_id=project.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                _FOLD_UPDATE.format(**names),
                [keep, keep, started_at, started_at, run.pk, started_at, started_at],
            )
            done["folded"] = cursor.rowcount
            if done["folded"] != Result.objects.filter(run_id=run.pk).count():
                cursor.execute(_FOLD_INSERT.format(**names), [project.pk, started_at, run.pk])
                done["folded"] += cursor.rowcount
            cursor.execute(_CANDIDATES.format(**names), [project.pk, run.pk])
            candidates = cursor.fetchall()
            n = policy.lift_after
            cursor.execute(_LIFT.format(**names), [project.pk, run.pk, n, n, "p" * n])
            lift_ids = [r[0] for r in cursor.fetchall()]
    found = {test_id: detect(history, policy) for test_id, history in candidates}
    found = {test_id: rule for test_id, rule in found.items() if rule}
    now = timezone.now()
    tests = Test.objects.in_bulk(list(found) + lift_ids)
    for test_id, rule in sorted(found.items()):
        reason = describe(rule, policy)
        done["detected"] += 1
        if row.action == FlakyPolicy.Action.QUARANTINE:
            test_quarantine(
                project=project, test=tests[test_id], reason=reason, actor=f"detector:{rule}"
            )
            done["quarantined"] += 1
            continue
        with transaction.atomic():
            _change(
                test=tests[test_id],
                project_id=project.pk,
                to_state=TestState.State.FLAKY,
                actor=f"detector:{rule}",
                reason=reason,
                now=now,
                detected_by=rule,
                suggested=row.action == FlakyPolicy.Action.SUGGEST,
            )
    for test_id in lift_ids:
        with transaction.atomic():
            _change(
                test=tests[test_id],
                project_id=project.pk,
                to_state=TestState.State.ACTIVE,
                actor="auto-lift",
                reason=f"passed in the last {n} runs in a row",
                now=now,
            )
        done["lifted"] += 1
    return done
