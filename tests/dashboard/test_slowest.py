"""The category page's slowest results: the latest complete run on the branch, that
category only, slowest first, read only when the run's rollup says the category has any."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.models import RunCategoryStats
from dashboard.selectors.tests import slowest_results_list
from ingest.models import Category, Result
from tests.dashboard.analytics_data import P, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _run(project, key, hours_ago, results, **kwargs):
    run = make_run(
        project,
        key,
        timezone.now() - timedelta(hours=hours_ago),
        [(n, P, c) for n, c, _ in results],
        **kwargs,
    )
    for name, _, seconds in results:
        Result.objects.filter(run=run, test__name=name).update(duration=seconds)
    return run


def test_slowest_results_of_the_category_in_the_latest_complete_run_on_the_branch():
    project = ProjectFactory()
    _run(project, "old", 5, [("a", "Auth", 9.0), ("b", "Auth", 8.0)])
    _run(
        project,
        "latest",
        3,
        [("a", "Auth", 1.0), ("b", "Auth", 3.0), ("c", "Auth", 2.0), ("x", "Cache", 50.0)],
    )
    _run(project, "running", 2, [("a", "Auth", 99.0)], is_complete=False)
    _run(project, "other-branch", 1, [("a", "Auth", 77.0)], branch="feature")
    auth = Category.objects.get(project=project, name="Auth")

    slowest = slowest_results_list(project=project, category=auth, branch="main", limit=2)
    assert [(r.test.name, r.duration, r.run.key) for r in slowest] == [
        ("b", 3.0, "latest"),
        ("c", 2.0, "latest"),
    ]
    feature = slowest_results_list(project=project, category=auth, branch="feature")
    assert [(r.test.name, r.duration) for r in feature] == [("a", 77.0)]


def test_a_category_without_results_in_the_latest_run_reads_none_of_its_results():
    project = ProjectFactory()
    run = _run(project, "latest", 1, [("a", "Auth", 1.0), ("x", "Cache", 5.0)])
    cache = Category.objects.get(project=project, name="Cache")
    assert [
        r.test.name for r in slowest_results_list(project=project, category=cache, branch="main")
    ] == ["x"]
    # The rollup decides whether the run's results are read at all.
    RunCategoryStats.objects.filter(run=run, category=cache).update(total=0)
    assert slowest_results_list(project=project, category=cache, branch="main") == []
