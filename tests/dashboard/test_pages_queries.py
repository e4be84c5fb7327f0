"""Exact query counts of every dashboard page; they do not grow with the data.

Each test builds small and larger data (more projects, runs and categories) and asserts
the same, exact number of queries for both, each query named below.
"""

import pytest
from django.contrib.auth import get_user_model

from ingest.models import Membership, Project, Test
from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

# Anonymous request to /p/<slug>/ (no session, so no session/user queries):
#  1. project (access check, with its baseline run)
#  2. summary: latest complete run's rollup (+ run)
#  3. summary: baseline run's rollup (+ run)
#  4. summary: category rollups of those two runs (+ category)
#  5. summary: quarantined tests per category
#  6. summary: cached trends of the branch
#  7. series: the downsampled overall points (window count and row number, + run key)
#  8. series: category points of those runs (+ category name)
#  9. trend projection: the overall trend line
# 10. branch filter: distinct branches
# 11. flagged runs of the branch (latest 5, with their runs)
# 12. navigation: projects the user may see
OVERVIEW_QUERIES = 12

# Anonymous request to /p/<slug>/compare/ (defaults: baseline vs latest):
#  1. project (access check, with its baseline run)
#  2. the baseline's rollup (first complete run on the default branch, + run)
#  3. the latest complete run's rollup (+ run)
#  4. results of the base run
#  5. results of the head run
#  6. names of the categories involved
#  7. the project's CODEOWNERS (owners of the changed tests; none stored here)
#  8. the changed tests shown (classname, name, file)
#  9. run keys for the run pickers
# 10. how many tests are quarantined
# 11. navigation: projects the user may see
COMPARE_QUERIES = 11


# Anonymous request to / (the project list), whatever the number of projects:
#  1. visible projects, each with its latest and first complete run id (subqueries)
#  2. the rollups of those runs (+ run)
#  3. the overall cached trends of those projects
#  4. sparklines: every project's downsampled points (one window query)
#  5. quarantined tests per project
PROJECT_LIST_QUERIES = 5

# Anonymous request to /p/<slug>/c/<category>/:
#  1. project (access check, with its baseline run)
#  2. the category by name
#  3-7. the summary, as on the overview (latest, baseline, category rollups,
#       quarantined per category, trends)
#  8. series: the downsampled overall points
#  9. series: this category's points of those runs
# 10. failing tests of the category (TestStats + test + failing-since run)
# 11. flaky tests of the category: its tests that passed on a retry or are marked flaky
#     or quarantined (a union of two index reads); none here, so no read of their
#     detector windows (TestSignal + test, stats, category, state) for the flaky
#     page's figures
# 12. the project's CODEOWNERS (none stored here: no query for the tests' paths)
# 13. slowest results of the category in the latest complete run (+ test)
# 14. navigation: projects the user may see
CATEGORY_QUERIES = 14

# Anonymous request to /p/<slug>/runs/<key>/ (the latest run):
#  1. project (access check, with its baseline run)
#  2. the run by key
#  3. the previous complete run on its branch
#  4. the run's rollup
#  5. its category rollups (+ category)
#  6-10. the comparison with the previous run: both runs' results, category names, the
#        project's CODEOWNERS, the changed tests shown
# 11. the run's uploads
# 12-15. the verdict: its base run (the rollup + run), both runs' rollups, the counts
#        of new failures, fixed, still failing, flaky and quarantined, the fixed tests
#        (the latest run fixes one test per category and breaks none; a list is read
#        only when not empty: tests/dashboard/test_verdict_page.py counts a page with
#        every list)
#        (the counts include the run's quarantined tests)
# 16. the verdict's CODEOWNERS read (the listed tests' owners; the comparison read it
#     too: a second read of one small row)
# 17. navigation: projects the user may see
RUN_QUERIES = 17

# Anonymous request to /p/<slug>/tests/<id>/:
#  1. project (access check, with its baseline run)
#  2. the test
#  3. its latest results on the branch (+ run, category)
#  4. its TestStats (+ failing-since run)
#  5. its state (active, flaky, quarantined)
#  6. its state changes (latest 50)
#  7. the project's CODEOWNERS (none stored here: no query for the test's path)
#  8. its flake rate: the detectors' window (TestSignal), as on the flaky page
#  9. navigation: projects the user may see
TEST_QUERIES = 9

# Anonymous request to /p/<slug>/report/ (baseline vs latest):
#  1. project (access check, with its baseline run)
#  2-3. default runs: the baseline's and the latest run's rollups (+ run)
#  4-8. comparison: both runs' results, category names, the project's CODEOWNERS, the
#       changed tests shown
#  9-12. figures of the two runs: their rollups, their category rollups, quarantined
#        tests per category, the trends of the default branch
# 13-14. the chart: downsampled overall points, their category points
# 15. navigation: projects the user may see
# (With ?head=, one more: the latest complete default-branch run, to say whether the
# head is the latest. With CODEOWNERS rules, the owner sections add: the quarantined
# tests' ids, the head run's results of interest, those of quarantined tests that passed.)
REPORT_QUERIES = 15

# A signed-in project admin (not a superuser): 1. the session  2. the user
# 3. the user's permissions  4. their groups' permissions (may they administer every
# project?)  5. project (access check)  6. the admin membership  7. navigation: projects
# the user may see, then per page:
ADMIN = 7
SETTINGS_QUERIES = {
    # 8. complete runs for the baseline picker  9. the baseline run
    "": ADMIN + 2,
    # 8. the project's categories
    "categories/": ADMIN + 1,
    # 8. the latest re-categorisation job  9. rules (+ category)  10. categories
    "rules/": ADMIN + 3,
    # 8. the project's tokens
    "tokens/": ADMIN + 1,
    # 8. the latest uploads
    "uploads/": ADMIN + 1,
    # 8. memberships (+ user)
    "members/": ADMIN + 1,
    # 8. the flaky-test detector settings
    "flaky/": ADMIN + 1,
}

# Small and larger data: more projects, runs and categories, the same queries.
SIZES = [(1, 5, 2), (3, 20, 5)]


def build_projects(n_projects: int, n_runs: int, n_categories: int) -> None:
    categories = tuple(f"C{i}" for i in range(n_categories))
    for i in range(n_projects):
        project = ProjectFactory(slug="shop" if i == 0 else f"p{i}", is_public=True)
        build_history(project, n_runs=n_runs, categories=categories)


@pytest.mark.parametrize("n_projects, n_runs, n_categories", SIZES)
def test_page_queries_do_not_grow_with_projects_runs_or_categories(
    client, django_assert_num_queries, n_projects, n_runs, n_categories
):
    build_projects(n_projects, n_runs, n_categories)
    test_id = Test.objects.filter(project__slug="shop").values_list("pk", flat=True).first()
    pages = [
        ("/", PROJECT_LIST_QUERIES),
        ("/p/shop/", OVERVIEW_QUERIES),
        ("/p/shop/c/C0/", CATEGORY_QUERIES),
        (f"/p/shop/runs/r{n_runs - 1}/", RUN_QUERIES),
        (f"/p/shop/tests/{test_id}/", TEST_QUERIES),
        ("/p/shop/compare/", COMPARE_QUERIES),
        ("/p/shop/report/", REPORT_QUERIES),
    ]
    for url, queries in pages:
        with django_assert_num_queries(queries):
            response = client.get(url)
        assert response.status_code == 200, url
    # Every project is listed, and the overview shows the latest run.
    html = client.get("/").content.decode()
    assert html.count('class="card project-card"') == n_projects
    assert f"r{n_runs - 1}" in client.get("/p/shop/").content.decode()


@pytest.mark.parametrize("n_projects, n_runs, n_categories", SIZES)
def test_settings_page_queries_do_not_grow(
    client, django_assert_num_queries, n_projects, n_runs, n_categories
):
    build_projects(n_projects, n_runs, n_categories)
    admin = get_user_model().objects.create_user("boss", password="pw-long-1")
    shop = Project.objects.get(slug="shop")
    Membership.objects.create(project=shop, user=admin, role=Membership.Role.ADMIN)
    client.force_login(admin)
    for page, queries in SETTINGS_QUERIES.items():
        with django_assert_num_queries(queries):
            response = client.get(f"/p/shop/settings/{page}")
        assert response.status_code == 200, page


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
