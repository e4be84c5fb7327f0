"""GET /api/v1/projects/<slug>/runs/<key>/verdict: access, body, bounded lists."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings

from ingest.models import Result, Run
from ingest.services.tokens import token_create
from tests.dashboard.analytics_data import F, P, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def url(slug: str, key: str) -> str:
    return f"/api/v1/projects/{slug}/runs/{key}/verdict"


def get(path: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().get(path, **headers)


@pytest.fixture
def project():
    project = ProjectFactory(slug="shop", target_bp=8000)
    make_run(project, "main-1", T0, [("a", P, "Auth"), ("b", P, "Auth"), ("c", F, "Cache")])
    head = make_run(
        project,
        "pr/7",
        T0 + timedelta(hours=1),
        [("a", F, "Auth"), ("b", P, "Auth"), ("c", P, "Cache"), ("d", F, "Cache")],
        branch="feature",
    )
    Run.objects.filter(pk=head.pk).update(pr=7, commit="abc123")
    return project


@pytest.mark.parametrize("scope", ["read", "upload"])
def test_read_and_upload_tokens_get_the_verdict(project, scope):
    _, token = token_create(project=project, scope=scope)
    with override_settings(PASSLINE_BASE_URL="https://passline.example.com/"):
        response = get(url("shop", "pr/7"), token)
    assert response.status_code == 200
    body = response.json()
    assert body["run"] == "pr/7" and body["pr"] == 7 and body["commit"] == "abc123"
    assert body["base"] == {"run": "main-1", "branch": "main", "commit": ""}
    assert [(i["name"], i["failing_since"]) for i in body["new_failures"]] == [
        ("a", "pr/7"),
        ("d", "pr/7"),
    ]
    assert [i["name"] for i in body["fixed"]] == ["c"]
    assert body["delta_points"] == round((2 / 4 - 2 / 3) * 100, 2) == -16.67
    assert body["gates"] == {"new-failures": "fail", "below-target": "fail", "flagged": "pass"}
    assert body["url"] == "https://passline.example.com/p/shop/runs/pr/7/"


def test_access_rules_match_the_other_project_endpoints(project):
    other = ProjectFactory(slug="other")
    _, other_token = token_create(project=other, scope="read")
    assert get(url("shop", "pr/7")).status_code == 401
    assert get(url("shop", "pr/7"), "pl_bogus").status_code == 401
    assert get(url("shop", "pr/7"), other_token).status_code == 404
    _, token = token_create(project=project, scope="read")
    missing = get(url("shop", "nope"), token)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_lists_are_bounded_with_totals_and_short_messages():
    project = ProjectFactory(slug="big", is_public=True)
    n = 450
    make_run(project, "base", T0, [(f"t{i:04d}" + "x" * 400, P, "A") for i in range(n)])
    head = make_run(
        project,
        "head",
        T0 + timedelta(hours=1),
        [(f"t{i:04d}" + "x" * 400, F, "A", True) for i in range(n)],
    )
    Result.objects.filter(run=head).update(message="E" * 3000 + "\nsecond line")
    body = get(url("big", "head")).json()
    assert body["new_failures_total"] == n and len(body["new_failures"]) == 200
    assert body["flaky_total"] == n and len(body["flaky"]) == 200
    assert all(len(i["message"]) <= 200 for i in body["new_failures"])
    # Sorted by name, so the first 200 are shown and a client can say "200 of 450".
    assert body["new_failures"][0]["name"].startswith("t0000")
    assert len(json.dumps(body)) < 400_000


# GET …/runs/<key>/verdict with a read token, every list non-empty:
#  1. the token (+ project), 2. the project by slug, 3. the run by key
#  4. the base run (default branch's latest complete unflagged rollup + run)
#  5. both runs' rollups (+ whether the run has uploads pending)
#  6. the counts of every list (the two runs' results, LEFT JOIN)
#  7-9. new failures, fixed, flaky (+ test, category)
# 10. the new failures' results in the branch's recent runs (failing since)
# 11. the project's CODEOWNERS (the listed tests' owners)
VERDICT_QUERIES = 11


def test_query_count_is_fixed(project, django_assert_num_queries):
    _, token = token_create(project=project, scope="read")
    make_run(
        project,
        "pr/8",
        T0 + timedelta(hours=2),
        [("b", P, "Auth", True), ("c", P, "Cache"), ("a", F, "Auth")],
        branch="feature",
    )
    get(url("shop", "pr/8"), token)  # the token's last use is written once a minute
    with django_assert_num_queries(VERDICT_QUERIES):
        body = get(url("shop", "pr/8"), token).json()
    assert body["new_failures_total"] and body["fixed_total"] and body["flaky_total"]
