"""The run verdict (``dashboard.selectors.verdict``) against its base run."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import RunStats
from dashboard.selectors.verdict import run_verdict_get, verdict_base_get
from tests.dashboard.analytics_data import E, F, P, S, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def names(items: list[dict]) -> list[str]:
    return [i["name"] for i in items]


@pytest.fixture
def scenario():
    """main: m1 (older), m2 (the base); feature run f1 then f2 (the judged run)."""
    project = ProjectFactory(slug="verdict", target_bp=9000)
    common = [(f"ok{i}", P, "Other") for i in range(20)]
    make_run(project, "m1", at(0), [*common, ("regress_a", F, "Auth"), ("fixed_a", F, "Auth")])
    base = make_run(
        project,
        "m2",
        at(1),
        [
            *common,
            ("regress_a", P, "Auth"),
            ("regress_b", P, "Cache"),
            ("to_skip", P, "Cache"),
            ("fixed_a", F, "Auth"),
            ("fixed_b", E, "Auth"),
            ("still", F, "Other"),
            ("removed", P, "Other"),
        ],
    )
    make_run(project, "f1", at(2), [*common, ("regress_a", F, "Auth")], branch="feature-x")
    head = make_run(
        project,
        "f2",
        at(3),
        [
            *common,
            ("regress_a", F, "Auth"),
            ("regress_b", E, "Cache"),
            ("to_skip", S, "Cache"),
            ("fixed_a", P, "Auth"),
            ("fixed_b", P, "Auth", True),
            ("still", F, "Other"),
            ("added_bad", F, "Auth"),
            ("added_ok", P, "Auth"),
        ],
        branch="feature-x",
    )
    return project, base, head


def test_verdict_against_the_default_branch(scenario):
    _, _, head = scenario
    head.pr = 7
    head.save()
    v = run_verdict_get(run=head)
    assert v["base"] == {"run": "m2", "branch": "main", "commit": ""}
    assert v["pr"] == 7 and v["complete"] is True and v["branch"] == "feature-x"
    # Regressions first (by category), then the added test that does not pass.
    assert names(v["new_failures"]) == ["regress_a", "regress_b", "to_skip", "added_bad"]
    assert v["new_failures_total"] == 4
    assert [i["outcome"] for i in v["new_failures"]] == ["failed", "error", "skipped", "failed"]
    assert names(v["fixed"]) == ["fixed_a", "fixed_b"] and v["fixed_total"] == 2
    assert v["still_failing"] == 1
    assert names(v["flaky"]) == ["fixed_b"] and v["flaky_total"] == 1
    # regress_a already failed in f1 on the feature branch: its streak started there.
    since = {i["name"]: i["failing_since"] for i in v["new_failures"]}
    assert since == {"regress_a": "f1", "regress_b": "f2", "to_skip": "f2", "added_bad": "f2"}
    assert v["counts"] == {
        "tests": 28,
        "passed": 23,
        "failed": 3,
        "error": 1,
        "skipped": 1,
        "flaky": 1,
    }
    assert v["pass_rate"] == pytest.approx(23 / 28)
    assert v["base_pass_rate"] == pytest.approx(24 / 27)
    assert v["delta_points"] == round((23 / 28 - 24 / 27) * 100, 2)
    assert v["tests_needed"] == 26 - 23
    assert v["gates"] == {"new-failures": "fail", "below-target": "fail", "flagged": "pass"}
    assert v["quarantined"] == 0 and v["flags"] == []
    assert v["url"].endswith("/p/verdict/runs/f2/")
    item = v["new_failures"][0]
    assert item["owners"] == [] and item["quarantined"] is False and item["category"] == "Auth"


def test_base_skips_a_run_flagged_incomplete(scenario):
    project, base, head = scenario
    later = make_run(project, "m3", at(2.5), [("ok0", P, "Other")])
    RunStats.objects.filter(run=later).update(flag_incomplete=True)
    assert verdict_base_get(run=head) == base


def test_no_base_means_nothing_new_and_the_new_failures_gate_passes():
    project = ProjectFactory(slug="first", target_bp=5000)
    run = make_run(project, "only", at(0), [("a", P, "X"), ("b", F, "X")])
    v = run_verdict_get(run=run)
    assert v["base"] is None and v["base_pass_rate"] is None and v["delta_points"] is None
    assert v["new_failures"] == [] and v["fixed"] == [] and v["still_failing"] == 1
    assert v["gates"] == {"new-failures": "pass", "below-target": "pass", "flagged": "pass"}


def test_base_commit_of_the_pr_chooses_that_commits_run(scenario):
    project, base, head = scenario
    m1 = project.runs.get(key="m1")
    project.runs.filter(pk=m1.pk).update(commit="c0ffee")
    head.base_commit = "c0ffee"
    head.save()
    assert verdict_base_get(run=head) == m1
    v = run_verdict_get(run=head)
    # Against m1, fixed_a failed there and passes now; regress_a failed in m1 too.
    assert v["base"]["run"] == "m1"
    assert "fixed_a" in names(v["fixed"]) and "regress_a" not in names(v["new_failures"])
    head.base_commit = "unknown"
    head.save()
    assert verdict_base_get(run=head) == base


def test_each_gate_passes_and_fails():
    from dashboard.analytics.verdict import gates_evaluate

    ok = gates_evaluate(new_failures=0, passed=9, total=10, target_bp=9000, flags=[])
    assert ok == {"new-failures": "pass", "below-target": "pass", "flagged": "pass"}
    bad = gates_evaluate(new_failures=1, passed=8, total=10, target_bp=9000, flags=["incomplete"])
    assert bad == {"new-failures": "fail", "below-target": "fail", "flagged": "fail"}
    empty = gates_evaluate(new_failures=0, passed=0, total=0, target_bp=0, flags=[])
    assert empty["below-target"] == "fail"  # nothing counted is below any target


def test_ready_only_when_complete_processed_and_derived(scenario):
    from dashboard.derive.runs import run_stats_update
    from ingest.models import Result, Run, Test, Upload

    _, _, head = scenario
    assert run_verdict_get(run=head)["ready"] is True
    # A part still queued: not ready.
    pending = Upload.objects.create(project=head.project, run=head)
    assert run_verdict_get(run=head)["ready"] is False
    Upload.objects.filter(pk=pending.pk).update(status=Upload.Status.PROCESSED)
    # A processed part whose results the rollup does not count yet: not ready.
    extra = Test.objects.create(project=head.project, identity="x" * 40, name="extra")
    first = Result.objects.filter(run=head).first()
    Result.objects.create(run=head, test=extra, upload=pending, category=first.category, outcome=1)
    assert run_verdict_get(run=head)["ready"] is False
    run_stats_update(run_id=head.pk)
    assert run_verdict_get(run=head)["ready"] is True
    # An incomplete run is never ready.
    Run.objects.filter(pk=head.pk).update(is_complete=False)
    head.refresh_from_db()
    assert run_verdict_get(run=head)["ready"] is False


def test_a_flaky_pass_is_a_failure_when_the_project_says_so():
    project = ProjectFactory(slug="strict", flaky_counts_as_pass=False)
    make_run(project, "m1", at(0), [("a", P, "X"), ("b", P, "X", True)])
    head = make_run(project, "f1", at(1), [("a", P, "X", True), ("b", P, "X")], branch="f")
    v = run_verdict_get(run=head)
    assert names(v["new_failures"]) == ["a"] and v["new_failures"][0]["outcome"] == "passed"
    assert names(v["fixed"]) == ["b"] and names(v["flaky"]) == ["a"]


def test_flagged_run_fails_the_flagged_gate(scenario):
    _, _, head = scenario
    RunStats.objects.filter(run=head).update(flag_denominator=True)
    v = run_verdict_get(run=head)
    assert v["flags"] == ["denominator"] and v["gates"]["flagged"] == "fail"
