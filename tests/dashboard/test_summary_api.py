"""GET /api/v1/projects/<slug>/summary: the DESIGN example, access rules, query count."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from dashboard.derive.trends import trend_refresh
from dashboard.selectors.summary import project_summary_get
from ingest.models import Project
from ingest.services.tokens import token_create
from tests.dashboard.analytics_data import EXAMPLE, category_results, example_runs, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
BASE_AT = datetime(2026, 3, 1, 9, tzinfo=UTC)
HEAD_AT = datetime(2026, 3, 20, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 21, 12, tzinfo=UTC)


def url(slug: str, query: str = "") -> str:
    return f"/api/v1/projects/{slug}/summary{query}"


@pytest.fixture
def example_project():
    project = ProjectFactory(slug="example", target_bp=9000, target_due=date(2026, 6, 30))
    with time_machine.travel(NOW, tick=False):
        example_runs(project, BASE_AT, HEAD_AT)
        # A run in between so the trend has three points.
        middle = {name: ((b + a) // 2, total) for name, ((b, a), total) in EXAMPLE.items()}
        make_run(project, "middle", BASE_AT + timedelta(days=10), category_results(middle))
        trend_refresh(project_id=project.pk)
    return project


def get_json(client: Client, path: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(path, **headers)


def test_summary_reproduces_the_design_example(example_project):
    _, token = token_create(project=example_project, scope="read")
    with time_machine.travel(NOW, tick=False):
        response = get_json(Client(), url("example"), token)
    assert response.status_code == 200
    body = response.json()
    assert body["run"]["key"] == "head"
    assert body["pass_rate"] == pytest.approx(621 / 738)
    assert round(body["pass_rate"], 4) == 0.8415
    assert body["counts"] == {
        "tests": 738,
        "passed": 621,
        "failed": 117,
        "error": 0,
        "skipped": 0,
        "flaky": 0,
    }
    assert body["target"] == 0.9
    assert body["target_due"] == "2026-06-30"
    assert body["target_reached"] is False
    assert body["tests_needed"] == 44
    assert body["baseline"] == {
        "run": "base",
        "pass_rate": pytest.approx(523 / 738),
        "passed": 523,
        "total": 738,
    }
    assert body["progress"] == pytest.approx(98 / 141.2)
    assert round(body["progress"], 2) == 0.69
    assert body["flags"] == {"incomplete": False, "denominator": False, "reasons": []}
    by_name = {c["name"]: c for c in body["categories"]}
    assert set(by_name) == set(EXAMPLE)
    for name, ((before, after), total) in EXAMPLE.items():
        item = by_name[name]
        assert (item["passed"], item["total"]) == (after, total)
        assert (item["baseline"]["passed"], item["baseline"]["total"]) == (before, total)
    # The six named categories: 150 -> 186 of 205; "Other": 373 -> 435 of 533.
    named = [c for c in body["categories"] if c["name"] != "Other"]
    assert sum(c["total"] for c in named) == 205
    assert sum(c["baseline"]["passed"] for c in named) == 150
    assert sum(c["passed"] for c in named) == 186
    assert by_name["Other"]["tests_needed"] == 480 - 435  # ceil(0.9 x 533) = 480
    assert by_name["Auth"]["target_reached"] is True
    assert by_name["Auth"]["tests_needed"] == 0


def test_summary_reports_trend_eta_and_needed_rate(example_project):
    with time_machine.travel(NOW, tick=False):
        body = project_summary_get(project=example_project)
    # 523 -> 572 -> 621 in 19 days: a Theil-Sen slope of about 98/738 per 19 days.
    expected_per_day = (98 / 738) / 19
    assert body["trend_per_week"] == pytest.approx(7 * expected_per_day, rel=0.1)
    assert body["eta"] is not None
    assert body["eta"] > "2026-03-21"
    assert body["on_track"] is True
    weeks = (datetime(2026, 7, 1, tzinfo=UTC) - NOW).total_seconds() / (7 * 86400)
    assert body["needed_per_week"] == pytest.approx(44 / weeks)


def test_summary_without_complete_runs_is_empty_but_valid():
    project = ProjectFactory(is_public=True)
    body = Client().get(url(project.slug)).json()
    assert body["run"] is None
    assert body["pass_rate"] is None
    assert body["tests_needed"] == 0
    assert body["categories"] == []


def test_private_project_needs_a_token(example_project):
    response = Client().get(url("example"))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert Client().get(url("nope")).status_code == 401
    assert get_json(Client(), url("example"), "pl_bogus").status_code == 401


def test_token_of_another_project_gets_404(example_project):
    other = ProjectFactory(slug="other")
    _, token = token_create(project=other, scope="read")
    assert get_json(Client(), url("example"), token).status_code == 404


def test_public_project_is_readable_without_token(example_project):
    Project.objects.filter(pk=example_project.pk).update(is_public=True)
    assert Client().get(url("example")).status_code == 200


def test_branch_parameter_selects_the_branch(example_project):
    Project.objects.filter(pk=example_project.pk).update(is_public=True)
    make_run(example_project, "feature-1", NOW, [("x", 1, "Auth")], branch="feature")
    body = Client().get(url("example", "?branch=feature")).json()
    assert body["run"]["key"] == "feature-1"
    assert body["pass_rate"] == 1.0
    too_long = Client().get(url("example", "?branch=" + "b" * 300))
    assert too_long.status_code == 400


def build_history(n_runs: int, n_categories: int) -> Project:
    project = ProjectFactory(is_public=True)
    spec = {f"Cat{i}": (3, 4) for i in range(n_categories)}
    for i in range(n_runs):
        make_run(project, f"r{i}", BASE_AT + timedelta(hours=i), category_results(spec))
    trend_refresh(project_id=project.pk)
    return project


@pytest.mark.parametrize(("n_runs", "n_categories"), [(3, 2), (30, 2), (3, 8), (30, 8)])
def test_summary_query_count_does_not_grow(django_assert_num_queries, n_runs, n_categories):
    project = build_history(n_runs, n_categories)
    client = Client()
    # 1. the project by slug (project_for_read)
    # 2. the latest complete run's RunStats + Run
    # 3. the baseline's RunStats + Run (first complete run on the default branch)
    # 4. both runs' RunCategoryStats + Category
    # 5. quarantined tests per category
    # 6. the cached Trend rows of the branch
    with django_assert_num_queries(6):
        response = client.get(url(project.slug))
    assert response.status_code == 200
    assert len(response.json()["categories"]) == n_categories


def test_openapi_documents_the_analytics_endpoints():
    schema = Client().get("/api/schema/?format=json").json()
    summary = schema["paths"]["/api/v1/projects/{slug}/summary"]["get"]
    assert summary["operationId"] == "project_summary"
    example = summary["responses"]["200"]["content"]["application/json"]["examples"]
    assert example["Demo"]["value"]["tests_needed"] == 44
    assert "/api/v1/projects/{slug}/runs" in schema["paths"]
    assert "/api/v1/projects/{slug}/compare" in schema["paths"]


def test_category_page_shows_the_summary_figures_of_its_category(example_project):
    from dashboard.derive.teststats import test_stats_refresh as refresh_test_stats
    from tests.dashboard.figures_html import page_figures

    Project.objects.filter(pk=example_project.pk).update(is_public=True)
    with time_machine.travel(NOW, tick=False):
        refresh_test_stats(project_id=example_project.pk)
        response = Client().get("/p/example/c/Plex/")
        plex = next(
            c
            for c in project_summary_get(project=example_project)["categories"]
            if c["name"] == "Plex"
        )
    assert response.status_code == 200
    shown = page_figures(response.content.decode())["Plex"]
    assert (shown["passed"], shown["total"], shown["tests_needed"]) == (28, 32, 1)
    assert shown["progress"] == plex["progress"] and plex["progress"] is not None
    points = [p["passed"] for p in response.context["points"]]
    assert points == [18, 23, 28]
    failing = response.context["failing"]
    assert len(failing) == 4  # Plex.t28 .. t31 never passed
    assert failing[0]["failing_since"]["runs"] == 3
    assert response.context["flaky"] == []
