"""Quarantine service and commands: set, renew, lift, expiry, history, pass rate untouched."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.lifecycle.events import lifecycle_event
from dashboard.lifecycle.models import TestState, TestStateChange
from dashboard.models import RunStats
from dashboard.selectors.quarantine import quarantined_count, state_counts_get, test_state_get
from dashboard.services.quarantine import (
    QuarantineError,
    quarantines_expire,
    suggestion_accept,
    test_quarantine,
    test_unquarantine,
)
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory, TestFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def events():
    sent = []

    def receiver(**kwargs):
        sent.append((kwargs["event"], kwargs["project_id"], kwargs["payload"]))

    lifecycle_event.connect(receiver)
    yield sent
    lifecycle_event.disconnect(receiver)


def test_quarantine_records_reason_who_since_and_expiry(
    settings, events, django_capture_on_commit_callbacks
):
    settings.PASSLINE_QUARANTINE_DAYS = 30
    test = TestFactory(classname="pkg.C", name="t")
    with django_capture_on_commit_callbacks(execute=True):
        state = test_quarantine(
            project=test.project, test=test, reason="races on port", actor="user:ann", now=NOW
        )
    assert (state.state, state.reason, state.changed_by) == (
        "quarantined",
        "races on port",
        "user:ann",
    )
    assert state.since == NOW
    assert state.expires_at == NOW + timedelta(days=30)
    assert [(e, p["name"], p["by"]) for e, _, p in events] == [
        ("test.quarantined", "t", "user:ann")
    ]


def test_quarantine_days_setting_is_the_default_length(settings):
    settings.PASSLINE_QUARANTINE_DAYS = 7
    test = TestFactory()
    state = test_quarantine(project=test.project, test=test, reason="x", actor="a", now=NOW)
    assert state.expires_at == NOW + timedelta(days=7)


def test_renewing_keeps_since_and_moves_the_expiry():
    test = TestFactory()
    test_quarantine(project=test.project, test=test, reason="x", actor="a", days=5, now=NOW)
    later = NOW + timedelta(days=4)
    state = test_quarantine(
        project=test.project, test=test, reason="still", actor="b", days=5, now=later
    )
    assert state.since == NOW
    assert state.expires_at == later + timedelta(days=5)
    assert TestStateChange.objects.filter(test=test).count() == 2


def test_quarantine_needs_a_reason_and_positive_days():
    test = TestFactory()
    with pytest.raises(QuarantineError):
        test_quarantine(project=test.project, test=test, reason=" ", actor="a")
    with pytest.raises(QuarantineError):
        test_quarantine(project=test.project, test=test, reason="x", actor="a", days=0)


def test_unquarantine_goes_back_to_active_with_history():
    test = TestFactory()
    test_quarantine(project=test.project, test=test, reason="x", actor="a", now=NOW)
    test_unquarantine(
        project=test.project, test=test, actor="user:bo", now=NOW + timedelta(hours=1)
    )
    found = test_state_get(test=test)
    assert found["state"].state == "active"
    assert [(c.from_state, c.to_state, c.actor) for c in found["state_changes"]] == [
        ("quarantined", "active", "user:bo"),
        ("active", "quarantined", "a"),
    ]
    with pytest.raises(QuarantineError, match="not quarantined"):
        test_unquarantine(project=test.project, test=test, actor="x")


def test_expired_quarantines_are_lifted_with_an_event(events, django_capture_on_commit_callbacks):
    old, fresh = TestFactory(name="old"), TestFactory(name="fresh")
    test_quarantine(project=old.project, test=old, reason="x", actor="a", days=1, now=NOW)
    test_quarantine(project=fresh.project, test=fresh, reason="x", actor="a", days=5, now=NOW)
    events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert quarantines_expire(now=NOW + timedelta(days=2)) == 1
    assert TestState.objects.get(test=old).state == "active"
    assert TestState.objects.get(test=fresh).state == "quarantined"
    assert TestStateChange.objects.filter(test=old).first().actor == "expiry"
    assert [(e, p["name"]) for e, _, p in events] == [("quarantine.expired", "old")]


def test_accepting_a_suggestion_quarantines_with_the_detector_reason():
    test = TestFactory()
    TestState.objects.create(
        test=test, project=test.project, state="flaky", suggested=True, reason="retries", since=NOW
    )
    state = suggestion_accept(project=test.project, test=test, actor="user:ann", now=NOW)
    assert (state.state, state.reason, state.suggested) == ("quarantined", "retries", False)
    assert state_counts_get(project=test.project) == {"flaky": 0, "quarantined": 1, "suggested": 0}


def test_quarantined_tests_still_count_as_not_passing():
    project = ProjectFactory()
    run = make_run(project, "r1", NOW, [("a", F, "A"), ("b", P, "A")])
    from ingest.models import Test

    test = Test.objects.get(project=project, name="a")
    test_quarantine(project=project, test=test, reason="x", actor="a", now=NOW)
    run2 = make_run(project, "r2", NOW + timedelta(hours=1), [("a", F, "A"), ("b", P, "A")])
    for r in (run, run2):
        stats = RunStats.objects.get(run=r)
        assert (stats.passed, stats.total) == (1, 2)
    assert quarantined_count(project=project) == 1


def test_commands_quarantine_and_unquarantine():
    test = TestFactory(classname="pkg.C", name="test_x")
    out = StringIO()
    call_command(
        "quarantine",
        test.project.slug,
        "--classname",
        "pkg.C",
        "--name",
        "test_x",
        "--reason",
        "flaky DNS",
        "--days",
        "3",
        stdout=out,
    )
    assert "Quarantined pkg.C::test_x" in out.getvalue()
    state = TestState.objects.get(test=test)
    assert (state.state, state.reason, state.changed_by) == ("quarantined", "flaky DNS", "command")
    assert state.expires_at - state.since == timedelta(days=3)
    call_command(
        "unquarantine", test.project.slug, "--classname", "pkg.C", "--name", "test_x", stdout=out
    )
    assert TestState.objects.get(test=test).state == "active"


def test_commands_refuse_unknown_project_and_test():
    test = TestFactory(classname="pkg.C", name="t")
    with pytest.raises(CommandError, match="No project"):
        call_command("quarantine", "nope", "--name", "t", "--reason", "x")
    with pytest.raises(CommandError, match="no test"):
        call_command(
            "quarantine", test.project.slug, "--classname", "pkg.C", "--name", "u", "--reason", "x"
        )
    with pytest.raises(CommandError, match="not quarantined"):
        call_command("unquarantine", test.project.slug, "--classname", "pkg.C", "--name", "t")
