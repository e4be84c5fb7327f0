"""Regressions and fixes between consecutive complete runs; failing streaks; history."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from dashboard import selectors
from dashboard.derive.teststats import test_stats_refresh as refresh_test_stats
from dashboard.regressions import failing_tests_list, previous_complete_run, run_regressions_get
from ingest import models as ingest_models
from tests.dashboard.analytics_data import F, P, S, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def at(i: int) -> datetime:
    return T0 + timedelta(days=i)


@pytest.fixture
def history():
    project = ProjectFactory()
    outcomes = {
        "steady": [P, P, P, P],
        "broke": [P, P, F, S],  # failing since run r2 (2 runs)
        "healed": [F, F, F, P],
        "new_failure": [P, P, P, F],
    }
    runs = []
    for i in range(4):
        runs.append(
            make_run(project, f"r{i}", at(i), [(name, o[i], "A") for name, o in outcomes.items()])
        )
    # Incomplete runs and other branches are not part of the sequence.
    make_run(project, "partial", at(3) + timedelta(hours=1), [("broke", P, "A")], is_complete=False)
    make_run(project, "feature", at(3) + timedelta(hours=2), [("broke", P, "A")], branch="f")
    return project, runs


def test_previous_complete_run_skips_incomplete_and_other_branches(history):
    _, runs = history
    assert previous_complete_run(run=runs[3]) == runs[2]
    assert previous_complete_run(run=runs[0]) is None


def test_regressions_and_fixes_against_previous_complete_run(history):
    _, runs = history
    result = run_regressions_get(run=runs[3])
    assert result["previous_run"] == "r2"
    assert [c["name"] for c in result["regressed"]] == ["new_failure"]
    assert [c["name"] for c in result["fixed"]] == ["healed"]
    assert (result["regressed_total"], result["fixed_total"]) == (1, 1)
    first = run_regressions_get(run=runs[0])
    assert first["previous_run"] is None and first["regressed"] == []


def test_test_history_says_failing_since(history):
    project, _ = history
    test = ingest_models.Test.objects.get(project=project, name="broke")
    with time_machine.travel(NOW, tick=False):
        history_ = selectors.test_history_get(test=test)
    assert [r["run"] for r in history_["results"]] == ["partial", "r3", "r2", "r1", "r0"]
    assert history_["results"][1]["outcome"] == "skipped"
    assert history_["failing_since"] == {
        "run": "r2",
        "started_at": "2026-03-03T00:00:00Z",
        "runs": 2,
        "days": 8,
    }
    steady = selectors.test_history_get(
        test=ingest_models.Test.objects.get(project=project, name="steady")
    )
    assert steady["failing_since"] is None


def test_failing_tests_list_from_test_stats(history):
    project, _ = history
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=project.pk)
        items = failing_tests_list(project=project)
    assert [(i["name"], i["failing_since"]["run"], i["failing_since"]["runs"]) for i in items] == [
        ("broke", "r2", 2),
        ("new_failure", "r3", 1),
    ]
    assert items[0]["failing_since"]["days"] == 8


def test_run_detail_includes_changes_and_counts(history):
    _, runs = history
    detail = selectors.run_detail_get(run=runs[3])
    assert detail["counts"]["tests"] == 4
    assert detail["counts"]["passed"] == 2
    assert detail["previous_run"] == "r2"
    assert detail["changes"]["overall"]["regressed"] == 1
    assert detail["categories"][0]["name"] == "A"
