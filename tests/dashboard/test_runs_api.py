"""GET /api/v1/projects/<slug>/runs and the run/series selectors behind charts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from dashboard.analytics.series import downsample
from dashboard.selectors.series import pass_rate_series_get, sparklines_get
from ingest.services.tokens import token_create
from tests.dashboard.analytics_data import category_results, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(days=i)


@pytest.fixture
def project():
    project = ProjectFactory(slug="runs-api")
    for i in range(5):
        make_run(project, f"r{i}", at(i), category_results({"A": (5 + i, 10), "B": (1, 2)}))
    make_run(project, "f1", at(2) + timedelta(hours=1), [("x", 1, "A")], branch="feature")
    return project


@pytest.fixture
def client_token(project):
    _, token = token_create(project=project, scope="read")
    return token


def get(path: str, token: str):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_runs_newest_first_with_counts_and_flags(project, client_token):
    body = get("/api/v1/projects/runs-api/runs", client_token).json()
    assert body["count"] == 6
    assert [r["run"] for r in body["results"]] == ["r4", "r3", "f1", "r2", "r1", "r0"]
    first = body["results"][0]
    assert first["counts"] == {
        "tests": 12,
        "passed": 10,
        "failed": 2,
        "error": 0,
        "skipped": 0,
        "flaky": 0,
    }
    assert first["pass_rate"] == pytest.approx(10 / 12)
    assert first["flags"] == {"incomplete": False, "denominator": False, "reasons": []}
    assert first["started_at"] == "2026-03-05T00:00:00Z"


def test_runs_filters_and_pagination(project, client_token):
    url = "/api/v1/projects/runs-api/runs"
    body = get(
        f"{url}?branch=main&since=2026-03-02T00:00:00Z&until=2026-03-04T00:00:00Z", client_token
    ).json()
    assert [r["run"] for r in body["results"]] == ["r3", "r2", "r1"]
    page = get(f"{url}?limit=2&offset=2", client_token).json()
    assert [r["run"] for r in page["results"]] == ["f1", "r2"]
    assert page["next"] and page["previous"]
    assert get(f"{url}?branch=feature", client_token).json()["count"] == 1


@pytest.mark.parametrize(
    "query",
    ["since=yesterday", "until=2026-13-01", "since=2026-03-05T00:00Z&until=2026-03-01T00:00Z"],
)
def test_runs_rejects_bad_filters(project, client_token, query):
    response = get(f"/api/v1/projects/runs-api/runs?{query}", client_token)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("query", ["offset=99999999999999999999999", "limit=-1", "offset=x"])
def test_runs_tolerates_absurd_paging(project, client_token, query):
    response = get(f"/api/v1/projects/runs-api/runs?{query}", client_token)
    assert response.status_code == 200


def test_runs_needs_access(project):
    assert Client().get("/api/v1/projects/runs-api/runs").status_code == 401


def test_runs_query_count_is_constant(project, client_token, django_assert_num_queries):
    client = Client()
    client.get("/api/v1/projects/runs-api/runs", HTTP_AUTHORIZATION=f"Bearer {client_token}")
    # 1. the token by prefix (+ project); 2. the project by slug;
    # 3. the page count; 4. the page of RunStats + Run.
    with django_assert_num_queries(4):
        client.get("/api/v1/projects/runs-api/runs", HTTP_AUTHORIZATION=f"Bearer {client_token}")


def test_pass_rate_series_overall_and_per_category(project):
    series = pass_rate_series_get(project=project, branch="main")
    assert [p["run"] for p in series[0]["points"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert (series[0]["points"][0]["passed"], series[0]["points"][0]["total"]) == (6, 12)
    assert [s["name"] for s in series] == ["Overall", "A", "B"]
    assert [p["passed"] for p in series[1]["points"]] == [5, 6, 7, 8, 9]
    window = pass_rate_series_get(project=project, branch="main", since=at(3), until=at(4))
    assert [p["run"] for p in window[0]["points"]] == ["r3"]  # until is exclusive


@pytest.mark.parametrize("n_runs, max_points", [(30, 10), (31, 7), (12, 50), (2, 1)])
def test_series_in_the_database_follows_the_one_downsampling_rule(n_runs, max_points):
    project = ProjectFactory()
    for i in range(n_runs):
        make_run(project, f"r{i}", at(i), category_results({"A": (i % 7, 10)}))
    every = [f"r{i}" for i in range(n_runs)]
    series = pass_rate_series_get(project=project, branch="main", max_points=max_points)
    assert [p["run"] for p in series[0]["points"]] == downsample(every, max_points)
    assert [p["run"] for p in series[1]["points"]] == downsample(every, max_points)
    assert len(series[0]["points"]) <= max(max_points, 2)


def test_sparklines_of_many_projects_follow_each_projects_series():
    projects = []
    for p, n_runs in enumerate((3, 40)):
        project = ProjectFactory(default_branch="main" if p else "trunk")
        for i in range(n_runs):
            make_run(project, f"r{i}", at(i), category_results({"A": (i % 9, 10)}))
        make_run(project, "other-branch", at(1), category_results({"A": (0, 10)}), branch="x")
        projects.append(project)
    sparks = sparklines_get(projects=projects, max_points=7)
    for project in projects:
        points = pass_rate_series_get(
            project=project, branch=project.default_branch, max_points=7, with_categories=False
        )[0]["points"]
        assert sparks[project.pk] == [p["passed"] / p["total"] for p in points]
    assert len(sparks[projects[0].pk]) == 3 and len(sparks[projects[1].pk]) == 7
