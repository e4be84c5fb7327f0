"""Regressions and fixes between consecutive complete runs; failing streaks; a test's history.

The run page shows the regressions and fixes (``run_detail_get``); the category page
and the test page show "failing since" from TestStats (``failing_tests_list``,
``test_history_get``): one source for each figure.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from dashboard.derive.teststats import test_stats_refresh as refresh_test_stats
from dashboard.selectors.runs import previous_complete_run, run_detail_get
from dashboard.selectors.tests import failing_tests_list, test_history_get
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
    project, runs = history
    detail = run_detail_get(project=project, run=runs[3])
    assert detail["previous"] == runs[2]
    changes = {c["name"]: c["change"] for c in detail["diff"]["changes"]}
    assert changes == {"new_failure": "regressed", "healed": "fixed", "broke": "newly_skipped"}
    assert (detail["diff"]["overall"]["regressed"], detail["diff"]["overall"]["fixed"]) == (1, 1)
    assert (detail["stats"].total, detail["stats"].passed) == (4, 2)
    assert [(c["name"], c["passed"], c["total"]) for c in detail["per_category"]] == [("A", 2, 4)]
    assert detail["pass_rate"] == 0.5
    first = run_detail_get(project=project, run=runs[0])
    assert first["previous"] is None and first["diff"] is None


def test_test_history_is_of_one_branch_and_says_failing_since(history):
    project, _ = history
    test = ingest_models.Test.objects.get(project=project, name="broke")
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=project.pk)
        found = test_history_get(project=project, test=test, branch="main")
        feature = test_history_get(project=project, test=test, branch="f")
    # Oldest first; the feature branch's run is not in the default branch's history.
    assert [r.run.key for r in found["results"]] == ["r0", "r1", "r2", "r3", "partial"]
    assert [r.run.key for r in feature["results"]] == ["feature"]
    assert found["last_failure"].run.key == "r2"
    assert found["failing_since"] == {
        "run": "r2",
        "started_at": at(2),
        "runs": 2,
        "days": 8,
    }
    steady = test_history_get(
        project=project,
        test=ingest_models.Test.objects.get(project=project, name="steady"),
        branch="main",
    )
    assert steady["failing_since"] is None


def test_test_page_and_category_page_show_the_same_failing_since(client, history):
    project, _ = history
    ingest_models.Project.objects.filter(pk=project.pk).update(is_public=True)
    test = ingest_models.Test.objects.get(project=project, name="broke")
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=project.pk)
        test_page = client.get(f"/p/{project.slug}/tests/{test.pk}/")
        category_page = client.get(f"/p/{project.slug}/c/A/")
    assert test_page.status_code == category_page.status_code == 200
    listed = next(t for t in category_page.context["failing"] if t["name"] == "broke")
    assert test_page.context["failing_since"] == listed["failing_since"]
    assert test_page.context["failing_since"]["run"] == "r2"
    assert [r.run.key for r in test_page.context["results"]][-1] == "partial"
    assert "feature" not in [r.run.key for r in test_page.context["results"]]
    other = client.get(f"/p/{project.slug}/tests/{test.pk}/?branch=f")
    assert [r.run.key for r in other.context["results"]] == ["feature"]


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
    assert items[0]["last_outcome"] == "skipped"
