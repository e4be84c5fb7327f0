"""Quarantine in the run verdict: counted, flagged per test, never failing the gate."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.selectors.verdict import run_verdict_get
from dashboard.services.quarantine import test_quarantine
from ingest.models import Test
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def scenario(quarantine: tuple[str, ...]):
    project = ProjectFactory(slug="vq", target_bp=0)
    make_run(project, "m1", T0, [("a", P, "A"), ("b", P, "A"), ("c", F, "A")])
    for name in quarantine:
        test = Test.objects.get(project=project, name=name)
        test_quarantine(project=project, test=test, reason="flaky", actor="a")
    head = make_run(
        project, "f1", T0 + timedelta(hours=1), [("a", F, "A"), ("b", F, "A"), ("c", F, "A")]
    )
    return run_verdict_get(run=head)


def test_quarantined_new_failure_does_not_fail_the_gate_but_still_counts():
    v = scenario(quarantine=("a", "b"))
    assert v["new_failures_total"] == 2
    assert [i["quarantined"] for i in v["new_failures"]] == [True, True]
    assert v["quarantined"] == 2
    assert v["quarantined_new_failures"] == 2
    assert v["gates"]["new-failures"] == "pass"
    # Still not passing in the rate.
    assert v["counts"]["passed"] == 0 and v["pass_rate"] == 0.0


def test_an_unquarantined_new_failure_still_fails_the_gate():
    v = scenario(quarantine=("a",))
    assert {i["name"]: i["quarantined"] for i in v["new_failures"]} == {"a": True, "b": False}
    assert (v["quarantined"], v["quarantined_new_failures"]) == (1, 1)
    assert v["gates"]["new-failures"] == "fail"


def test_a_quarantined_test_that_kept_failing_is_counted_but_not_new():
    v = scenario(quarantine=("c",))
    assert (v["quarantined"], v["quarantined_new_failures"]) == (1, 0)
    assert v["gates"]["new-failures"] == "fail"
