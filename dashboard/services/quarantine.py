"""Change test states: quarantine, renew, lift, mark flaky, accept suggestions, expire.

Every change writes a ``TestStateChange`` row (who or what, and why) in the same
transaction as the ``TestState`` it changes. Quarantine never changes a pass rate:
a quarantined test that fails still counts as not passing everywhere.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.lifecycle.events import QUARANTINE_EXPIRED, TEST_QUARANTINED, event_send
from dashboard.lifecycle.models import TestSignal, TestState, TestStateChange
from dashboard.selectors.links import test_url
from dashboard.selectors.owners import codeowners_get, owners_for_paths
from ingest.identity import test_identity
from ingest.models import Project, Test

State = TestState.State


class QuarantineError(ValueError):
    """A quarantine change that cannot be made (unknown test, bad days, not quarantined)."""


def quarantine_days() -> int:
    """Return the default quarantine length in days (PASSLINE_QUARANTINE_DAYS)."""
    return getattr(settings, "PASSLINE_QUARANTINE_DAYS", 30)


def test_find(*, project: Project, classname: str, name: str) -> Test:
    """Return the project's test (classname, name); raise QuarantineError when unknown."""
    identity = test_identity(classname, name)
    test = Test.objects.filter(project=project, identity=identity).first()
    if test is None:
        raise QuarantineError(f"no test {classname}::{name} in project {project.slug}")
    return test


def _owners_of(*, project: Project, tests: list[Test]) -> dict[int, list[str]]:
    """Return the owners of ``tests`` (already read) from the CODEOWNERS (1 query)."""
    codeowners = codeowners_get(project=project)
    if not codeowners.rules:
        return {}
    return owners_for_paths(
        codeowners=codeowners, tests={t.pk: (t.file, t.classname) for t in tests}
    )


def _payload(*, project: Project, test: Test, state: TestState, owners: list[str]) -> dict:
    """Return a lifecycle event's payload for ``test`` (docs/flaky.md, "Events")."""
    return {
        "project": project.slug,
        "test_id": test.pk,
        "classname": test.classname,
        "name": test.name,
        "file": test.file,
        "owners": owners,
        "state": state.state,
        "reason": state.reason,
        "by": state.changed_by,
        "since": state.since.isoformat(),
        "expires": state.expires_at.isoformat() if state.expires_at else None,
        "url": test_url(slug=project.slug, test_id=test.pk),
    }


def _change(
    *,
    test: Test,
    project_id: int,
    to_state: str,
    actor: str,
    reason: str,
    now: datetime,
    expires_at: datetime | None = None,
    detected_by: str | None = None,
    suggested: bool = False,
) -> TestState:
    """Write the new state and its history row; return the state."""
    current = TestState.objects.select_for_update().filter(test=test).first()
    from_state = current.state if current else State.ACTIVE
    state = current or TestState(test=test, project_id=project_id)
    keep_since = current is not None and current.state == to_state
    state.state = to_state
    state.reason = reason
    state.changed_by = actor
    state.since = state.since if keep_since else now
    state.expires_at = expires_at
    state.suggested = suggested
    if detected_by is not None:
        state.detected_by = detected_by
    state.save()
    TestStateChange.objects.create(
        test=test,
        project_id=project_id,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        expires_at=expires_at,
        at=now,
    )
    return state


def states_set_bulk(*, project_id: int, items: list[dict], now: datetime) -> int:
    """Write many state changes set-based (detection, auto-lift); return how many.

    Each item: ``test_id``, ``from_state``, ``to_state``, ``actor``, ``reason`` and
    optionally ``expires_at``, ``detected_by``, ``suggested``. One upsert of the states
    and one insert of their history rows, whatever the number of items.
    """
    if not items:
        return 0
    TestState.objects.bulk_create(
        [
            TestState(
                test_id=item["test_id"],
                project_id=project_id,
                state=item["to_state"],
                reason=item["reason"],
                changed_by=item["actor"],
                since=now,
                expires_at=item.get("expires_at"),
                suggested=item.get("suggested", False),
                detected_by=item.get("detected_by", ""),
            )
            for item in items
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["test"],
        update_fields=[
            "state",
            "reason",
            "changed_by",
            "since",
            "expires_at",
            "suggested",
            "detected_by",
        ],
    )
    TestStateChange.objects.bulk_create(
        [
            TestStateChange(
                test_id=item["test_id"],
                project_id=project_id,
                from_state=item["from_state"],
                to_state=item["to_state"],
                actor=item["actor"],
                reason=item["reason"],
                expires_at=item.get("expires_at"),
                at=now,
            )
            for item in items
        ],
        batch_size=2000,
    )
    return len(items)


def quarantined_events_send(*, project: Project, test_ids: list[int]) -> None:
    """Send ``test.quarantined`` for each of ``test_ids`` (after commit; 2 queries)."""
    states = list(
        TestState.objects.filter(test_id__in=test_ids).select_related("test").order_by("test_id")
    )
    owners = _owners_of(project=project, tests=[s.test for s in states])
    for state in states:
        event_send(
            event=TEST_QUARANTINED,
            project_id=project.pk,
            payload=_payload(
                project=project,
                test=state.test,
                state=state,
                owners=owners.get(state.test_id, []),
            ),
        )


def test_quarantine(
    *,
    project: Project,
    test: Test,
    reason: str,
    actor: str,
    days: int | None = None,
    now: datetime | None = None,
) -> TestState:
    """Quarantine ``test`` (or renew its quarantine) for ``days`` (default setting) days.

    Renewing keeps ``since`` and moves the expiry. Sends ``test.quarantined``.
    """
    days = quarantine_days() if days is None else days
    if days < 1:
        raise QuarantineError("--days must be at least 1")
    if not reason.strip():
        raise QuarantineError("a quarantine needs a reason")
    now = now or timezone.now()
    with transaction.atomic():
        state = _change(
            test=test,
            project_id=project.pk,
            to_state=State.QUARANTINED,
            actor=actor,
            reason=reason.strip(),
            now=now,
            expires_at=now + timedelta(days=days),
        )
        owners = _owners_of(project=project, tests=[test]).get(test.pk, [])
        event_send(
            event=TEST_QUARANTINED,
            project_id=project.pk,
            payload=_payload(project=project, test=test, state=state, owners=owners),
        )
    return state


def test_unquarantine(
    *, project: Project, test: Test, actor: str, reason: str = "", now: datetime | None = None
) -> TestState:
    """Lift ``test``'s quarantine (back to active); raise QuarantineError if not quarantined."""
    now = now or timezone.now()
    with transaction.atomic():
        current = TestState.objects.select_for_update().filter(test=test).first()
        if current is None or current.state != State.QUARANTINED:
            raise QuarantineError(f"{test} is not quarantined")
        return _change(
            test=test,
            project_id=project.pk,
            to_state=State.ACTIVE,
            actor=actor,
            reason=reason or "quarantine lifted",
            now=now,
        )


def test_mark_active(
    *, project: Project, test: Test, actor: str, reason: str = "", now: datetime | None = None
) -> TestState:
    """Mark ``test`` fixed: back to active from flaky or quarantined, with a fresh window.

    The detectors' window (``TestSignal.history``) and last flip are cleared, so the
    retries and flips from before the fix neither detect it again at the next run nor
    show on the flaky page; detection starts over from the runs after the fix. The
    signal's last run is kept: a run older than it is still not folded in.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state = _change(
            test=test,
            project_id=project.pk,
            to_state=State.ACTIVE,
            actor=actor,
            reason=reason or "marked as fixed",
            now=now,
        )
        TestSignal.objects.filter(test=test).update(history="", last_flip_at=None)
    return state


def suggestion_accept(
    *, project: Project, test: Test, actor: str, now: datetime | None = None
) -> TestState:
    """Quarantine a test that a detector suggested, with the detector's reason."""
    state = TestState.objects.filter(test=test, project=project, suggested=True).first()
    if state is None:
        raise QuarantineError(f"{test} has no quarantine suggestion")
    return test_quarantine(project=project, test=test, reason=state.reason, actor=actor, now=now)


def suggestion_dismiss(*, project: Project, test: Test, actor: str) -> int:
    """Drop a quarantine suggestion (the test stays flaky); return rows changed."""
    return TestState.objects.filter(test=test, project=project, suggested=True).update(
        suggested=False
    )


def quarantines_expire(*, now: datetime | None = None) -> int:
    """Lift every quarantine past its expiry; send ``quarantine.expired``; return the count.

    An expired test goes back to active (a detector marks it again if it still flakes).
    """
    now = now or timezone.now()
    due = list(
        TestState.objects.filter(state=State.QUARANTINED, expires_at__lte=now)
        .select_related("test", "project")
        .order_by("project_id", "test_id")
    )
    projects = {state.project_id: state.project for state in due}
    # One CODEOWNERS read per project with expiring quarantines.
    owners = {
        project_id: _owners_of(
            project=project, tests=[s.test for s in due if s.project_id == project_id]
        )
        for project_id, project in projects.items()
    }
    for state in due:
        with transaction.atomic():
            expired = _payload(
                project=state.project,
                test=state.test,
                state=state,
                owners=owners[state.project_id].get(state.test_id, []),
            )
            _change(
                test=state.test,
                project_id=state.project_id,
                to_state=State.ACTIVE,
                actor="expiry",
                reason=f"quarantine expired on {state.expires_at:%Y-%m-%d}",
                now=now,
            )
            event_send(event=QUARANTINE_EXPIRED, project_id=state.project_id, payload=expired)
    return len(due)


# Not pytest tests, despite their names, when a test module imports them.
for _function in (test_find, test_quarantine, test_unquarantine, test_mark_active):
    _function.__test__ = False
