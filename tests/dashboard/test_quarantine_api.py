"""GET /api/v1/projects/<slug>/quarantine: JSON, text, token scopes, other projects."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from dashboard.codeowners.services import codeowners_set
from dashboard.services.quarantine import test_quarantine
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory, TestFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def project():
    project = ProjectFactory(slug="q")
    a = TestFactory(project=project, classname="pkg.A", name="test_one", file="pkg/a.py")
    b = TestFactory(project=project, classname="", name="bare")
    TestFactory(project=project, classname="pkg.A", name="fine")
    test_quarantine(project=project, test=a, reason="races", actor="user:ann", days=10, now=NOW)
    test_quarantine(project=project, test=b, reason="slow", actor="command", now=NOW)
    return project


def get(path, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().get(path, **headers)


@pytest.mark.parametrize("scope", ["read", "upload"])
def test_lists_quarantined_tests_as_json(project, scope, django_assert_num_queries):
    _, token = token_create(project=project, scope=scope)
    # token lookup, token touch, project, quarantined states with tests and stats,
    # the project's CODEOWNERS
    with django_assert_num_queries(5):
        response = get("/api/v1/projects/q/quarantine", token)
    assert response.status_code == 200
    tests = response.json()["tests"]
    assert [t["name"] for t in tests] == ["bare", "test_one"]
    assert tests[1] == {
        "classname": "pkg.A",
        "name": "test_one",
        "file": "pkg/a.py",
        "category": None,
        "owners": [],
        "state": "quarantined",
        "reason": "races",
        "by": "user:ann",
        "since": "2026-03-10T12:00:00Z",
        "expires": "2026-03-20T12:00:00Z",
    }


def test_lists_each_quarantined_tests_owners_from_codeowners(project):
    codeowners_set(project=project, text="* @org/core\n/pkg/a.py @ann\n", source="api")
    _, token = token_create(project=project, scope="read")
    tests = get("/api/v1/projects/q/quarantine", token).json()["tests"]
    # test_one by its file; bare (no file, no classname) by its name as a path.
    assert {t["name"]: t["owners"] for t in tests} == {"test_one": ["@ann"], "bare": ["@org/core"]}


def test_text_format_gives_one_test_a_line(project):
    _, token = token_create(project=project, scope="upload")
    response = get("/api/v1/projects/q/quarantine?format=text", token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "bare\npkg.A::test_one\n"


def test_needs_credentials_for_a_private_project(project):
    assert get("/api/v1/projects/q/quarantine").status_code == 401


def test_token_of_another_project_is_refused(project):
    _, token = token_create(project=ProjectFactory(slug="other"), scope="read")
    assert get("/api/v1/projects/q/quarantine", token).status_code == 404
    assert get("/api/v1/projects/q/quarantine?format=text", token).status_code == 404


def test_empty_quarantine(project):
    _, token = token_create(project=ProjectFactory(slug="empty"), scope="read")
    assert get("/api/v1/projects/empty/quarantine", token).json() == {"tests": []}
    assert get("/api/v1/projects/empty/quarantine?format=text", token).content == b""
