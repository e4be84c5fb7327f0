"""Exact query counts of the overview and compare pages; they do not grow with history.

Each test builds a short (5 runs) and a long (50 runs) history with the same tests and
categories and asserts the same, exact number of queries for both.
"""

import pytest

from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

# Anonymous request to /p/<slug>/ (no session, so no session/user queries):
#  1. project (access check, with its baseline run)
#  2. summary: latest complete run's rollup (+ run)
#  3. summary: baseline run's rollup (+ run)
#  4. summary: category rollups of those two runs (+ category)
#  5. summary: cached trends of the branch
#  6. series: the downsampled overall points (window count and row number, + run key)
#  7. series: category points of those runs (+ category name)
#  8. trend projection: the overall trend line
#  9. branch filter: distinct branches
# 10. flagged runs of the branch (latest 5, with their runs)
# 11. navigation: projects the user may see
OVERVIEW_QUERIES = 11

# Anonymous request to /p/<slug>/compare/ (defaults: baseline vs latest):
#  1. project (access check, with its baseline run)
#  2. the first complete run on the default branch (baseline)
#  3. the latest complete run on the default branch
#  4. results of the base run
#  5. results of the head run
#  6. names of the categories involved
#  7. the changed tests shown (classname, name)
#  8. run keys for the run pickers
#  9. navigation: projects the user may see
COMPARE_QUERIES = 9


@pytest.mark.parametrize("n_runs", [5, 50])
def test_overview_queries_do_not_grow_with_history(client, django_assert_num_queries, n_runs):
    project = ProjectFactory(slug="shop", is_public=True)
    build_history(project, n_runs=n_runs)
    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get("/p/shop/")
    assert response.status_code == 200
    assert f"r{n_runs - 1}" in response.content.decode()


@pytest.mark.parametrize("n_runs", [5, 50])
def test_compare_queries_do_not_grow_with_history(client, django_assert_num_queries, n_runs):
    project = ProjectFactory(slug="shop", is_public=True)
    build_history(project, n_runs=n_runs, refresh=False)
    with django_assert_num_queries(COMPARE_QUERIES):
        response = client.get("/p/shop/compare/")
    assert response.status_code == 200
    assert "4 fixed" in response.content.decode()


def test_overview_downsamples_the_chart(client, settings):
    project = ProjectFactory(slug="long", is_public=True)
    build_history(project, n_runs=30, refresh=False)
    from dashboard.selectors import series as series_selectors

    series = series_selectors.pass_rate_series_get(project=project, branch="main", max_points=10)
    overall = [p["run"] for p in series[0]["points"]]
    # Every 4th run (ceil(29 / 9)) and the last one.
    assert overall == ["r0", "r4", "r8", "r12", "r16", "r20", "r24", "r28", "r29"]
    assert all([p["run"] for p in s["points"]] == overall for s in series[1:])
