"""Incremental flaky detection folded per completed run: suggest, auto-quarantine, lift."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.derive.detect import run_detect
from dashboard.derive.runs import run_completed_derive
from dashboard.lifecycle.events import lifecycle_event
from dashboard.lifecycle.models import FlakyPolicy, TestSignal, TestState, TestStateChange
from dashboard.lifecycle.policy import policy_set
from tests.dashboard.analytics_data import F, P, S, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def runs(project, outcomes: dict[str, str], *, start: int = 0, branch=None):
    """Create and detect one run per position of the letter strings (p, f, r, s)."""
    letters = {"p": (P, False), "f": (F, False), "r": (P, True), "s": (S, False)}
    length = max(len(v) for v in outcomes.values())
    done = []
    for i in range(length):
        results = []
        for name, history in outcomes.items():
            if i < len(history):
                outcome, flaky = letters[history[i]]
                results.append((name, outcome, "A", flaky))
        run = make_run(
            project, f"r{start + i}", T0 + timedelta(hours=start + i), results, branch=branch
        )
        done.append(run_detect(run_id=run.pk))
    return done


def state(project, name):
    return TestState.objects.filter(project=project, test__name=name).first()


def test_signal_history_is_folded_per_run_and_trimmed_to_the_window():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="nothing", retry_n=5, rate_n=5, lift_after=3)
    runs(project, {"a": "pfpsrpp", "b": "ppp"})
    histories = dict(TestSignal.objects.values_list("test__name", "history"))
    assert histories == {"a": "psrpp", "b": "ppp"}


def test_other_branches_and_incomplete_runs_are_not_folded():
    project = ProjectFactory()
    runs(project, {"a": "rrr"}, branch="feature")
    assert not TestSignal.objects.exists()
    run = make_run(project, "x", T0, [("a", P, "A", True)], is_complete=False)
    assert run_detect(run_id=run.pk)["folded"] == 0


def test_pass_on_retry_suggests_by_default():
    project = ProjectFactory()
    done = runs(project, {"a": "prpr", "b": "pppp"})
    assert [d["detected"] for d in done] == [0, 0, 0, 1]
    s = state(project, "a")
    assert (s.state, s.suggested, s.detected_by) == ("flaky", True, "pass_on_retry")
    assert "2 of the last 20" in s.reason
    assert state(project, "b") is None
    change = TestStateChange.objects.get(test__name="a")
    assert (change.from_state, change.to_state, change.actor) == (
        "active",
        "flaky",
        "detector:pass_on_retry",
    )
    # Already flaky: later runs do not detect it again.
    runs(project, {"a": "r"}, start=10)
    assert TestStateChange.objects.filter(test__name="a").count() == 1


def test_action_nothing_marks_flaky_without_suggesting():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="nothing")
    runs(project, {"a": "rr"})
    assert (state(project, "a").state, state(project, "a").suggested) == ("flaky", False)


def test_action_quarantine_quarantines_and_sends_the_event(django_capture_on_commit_callbacks):
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="quarantine")
    sent = []

    def receiver(**kwargs):
        sent.append((kwargs["event"], kwargs["payload"]["name"]))

    lifecycle_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            runs(project, {"a": "rr"})
    finally:
        lifecycle_event.disconnect(receiver)
    s = state(project, "a")
    assert s.state == "quarantined"
    assert s.changed_by == "detector:pass_on_retry"
    assert s.expires_at == s.since + timedelta(days=30)
    assert sent == [("test.quarantined", "a")]


def test_failure_rate_detector_finds_a_flipping_test():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="suggest", rate_flips=3)
    runs(project, {"flip": "pfpf", "broken": "ppff"})
    assert state(project, "flip").detected_by == "failure_rate"
    assert state(project, "broken") is None


def test_quarantine_lifts_after_r_passes_in_a_row():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="quarantine", lift_after=3)
    runs(project, {"a": "rrpp"})
    assert state(project, "a").state == "quarantined"
    done = runs(project, {"a": "p"}, start=10)
    assert done[0]["lifted"] == 1
    s = state(project, "a")
    assert (s.state, s.changed_by) == ("active", "auto-lift")
    assert TestStateChange.objects.filter(test=s.test).first().reason == (
        "passed in the last 3 runs in a row"
    )


def test_flaky_test_lifts_to_active_when_fixed():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="suggest", lift_after=2)
    runs(project, {"a": "rrp"})
    assert state(project, "a").state == "flaky"
    runs(project, {"a": "p"}, start=10)
    assert state(project, "a").state == "active"


def test_completed_run_derive_runs_detection():
    project = ProjectFactory()
    for i in range(2):
        run = make_run(project, f"c{i}", T0 + timedelta(hours=i), [("a", P, "A", True)])
        run_completed_derive(run_id=run.pk)
    assert state(project, "a").state == "flaky"
    assert FlakyPolicy.objects.count() == 0  # defaults, never saved


def test_invalid_policy_is_refused():
    project = ProjectFactory()
    with pytest.raises(ValueError, match="retry_k"):
        policy_set(project_id=project.pk, action="suggest", retry_k=30, retry_n=20)
    with pytest.raises(ValueError, match="action"):
        policy_set(project_id=project.pk, action="delete")


def test_a_steady_passing_test_with_a_full_window_is_not_rewritten():
    project = ProjectFactory()
    policy_set(project_id=project.pk, action="suggest", retry_n=3, rate_n=3, lift_after=3)
    done = runs(project, {"steady": "pppp", "flaky": "prpr"})
    # Runs 1-3 write both rows; run 4 only the flaky test's (steady's window is "ppp").
    assert [d["folded"] for d in done] == [2, 2, 2, 1]
    assert dict(TestSignal.objects.values_list("test__name", "history")) == {
        "steady": "ppp",
        "flaky": "rpr",
    }
    # A failure after that is folded again.
    runs(project, {"steady": "f"}, start=10)
    assert TestSignal.objects.get(test__name="steady").history == "ppf"
