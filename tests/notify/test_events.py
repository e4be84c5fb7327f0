"""Which events a completed run raises (``notify.events``, pure)."""

from notify.events import TargetScope, run_events

BASE = {"run": "m1", "branch": "main"}


def verdict(**kw):
    return {"run": "m2", "branch": "main", "base": BASE, "new_failures": [], "flags": [], **kw}


def scope(passed, total, was, target_bp=9000):
    return TargetScope(None, "Shop", passed, total, target_bp, was)


def names(events):
    return [e for e, _ in events]


def test_every_complete_run_raises_run_completed_only_when_nothing_happened():
    assert names(run_events(verdict=verdict(), default_branch="main", targets=[])) == [
        "run.completed"
    ]


def test_regression_needs_new_failures_on_the_default_branch():
    failing = verdict(new_failures=[{"name": "t"}])
    assert "regression" in names(run_events(verdict=failing, default_branch="main", targets=[]))
    feature = {**failing, "branch": "feat"}
    assert "regression" not in names(run_events(verdict=feature, default_branch="main", targets=[]))
    no_base = {**failing, "base": None}
    assert "regression" not in names(run_events(verdict=no_base, default_branch="main", targets=[]))


def test_quarantined_new_failures_raise_no_regression():
    only_quarantined = verdict(new_failures=[{"name": "t", "quarantined": True}])
    assert names(run_events(verdict=only_quarantined, default_branch="main", targets=[])) == [
        "run.completed"
    ]


def test_flagged_run():
    events = run_events(verdict=verdict(flags=["denominator"]), default_branch="main", targets=[])
    assert names(events) == ["run.completed", "run.flagged"]


def test_target_reached_first_time_and_again_only_after_dropping_below():
    def fired(passed, was):
        events = run_events(
            verdict=verdict(), default_branch="main", targets=[scope(passed, 10, was)]
        )
        return "target.reached" in names(events)

    assert fired(9, None)  # first time seen, at target (exactly 90%)
    assert not fired(9, True)  # still at target
    assert not fired(8, False)  # below
    assert fired(10, False)  # again after dropping below
    assert not fired(0, None) and not scope(0, 0, None).reached


def test_target_reached_detail_names_the_scope():
    cat = TargetScope(3, "Auth", 19, 20, 9500, False)
    [(_, detail)] = [
        e for e in run_events(verdict=verdict(), default_branch="main", targets=[cat]) if e[1]
    ]
    assert detail == "Auth at 95.0% (target 95%)"
