"""Owners on the test, category, run and compare pages, and the ?owner= filter."""

import pytest

from dashboard.codeowners.services import codeowners_set
from ingest.models import Test
from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CODEOWNERS = "* @org/core\n/src/auth/ @org/auth @alice\n"


@pytest.fixture
def project():
    project = ProjectFactory(slug="acme", is_public=True)
    build_history(project)
    # Auth tests have a file under src/auth; Cache tests fall back to their classname.
    for test in Test.objects.filter(project=project, name__startswith="Auth."):
        test.file = f"src/auth/test_{test.name[5:]}.py"
        test.save()
    codeowners_set(project=project, text=CODEOWNERS, source="api")
    return project


def _html(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_test_page_shows_owners_by_file_else_classname(client, project):
    auth = Test.objects.get(project=project, name="Auth.t3")
    cache = Test.objects.get(project=project, name="Cache.t3")
    assert '<code class="owner">@org/auth</code> <code class="owner">@alice</code>' in _html(
        client, f"/p/acme/tests/{auth.pk}/"
    )
    html = _html(client, f"/p/acme/tests/{cache.pk}/")
    assert '<code class="owner">@org/core</code>' in html and "@org/auth" not in html


def test_test_page_without_codeowners_says_none(client, project):
    codeowners_set(project=project, text="", source="api")
    auth = Test.objects.get(project=project, name="Auth.t3")
    assert 'Owners: <span class="muted">none' in _html(client, f"/p/acme/tests/{auth.pk}/")


def test_category_page_lists_owners_and_filters_by_owner(client, project):
    failing = '">Auth.t3</a><br>'  # the "Failing now" table (the slowest table has no <br>)
    html = _html(client, "/p/acme/c/Auth/")
    assert failing in html and 'class="owner" href="?owner=%40org%2Fauth"' in html
    assert failing in _html(client, "/p/acme/c/Auth/?owner=@ORG/auth")
    filtered = _html(client, "/p/acme/c/Auth/?owner=@org/core")
    assert failing not in filtered
    assert "Showing tests owned by <strong>@org/core</strong>" in filtered
    assert '">Cache.t3</a><br>' in _html(client, "/p/acme/c/Cache/?owner=@org/core")


def test_run_page_changes_have_owners_and_filter(client, project):
    html = _html(client, "/p/acme/runs/r4/")
    assert "Auth.t2" in html and "Cache.t2" in html and "@org/auth" in html
    filtered = _html(client, "/p/acme/runs/r4/?owner=@alice")
    assert "Auth.t2" in filtered and "Cache.t2" not in filtered


def test_compare_page_filters_changes_by_owner(client, project):
    html = _html(client, "/p/acme/compare/?base=r0&head=r4&owner=@org/core")
    assert "Cache.t1" in html and "Cache.t2" in html and "Auth.t1" not in html
    unowned = _html(client, "/p/acme/compare/?base=r0&head=r4&owner=none")
    assert "Cache.t1" not in unowned and "Auth.t1" not in unowned


def test_compare_api_changes_carry_owners(client, project):
    body = client.get("/api/v1/projects/acme/compare?base=r0&head=r4").json()
    owners = {c["name"]: c["owners"] for c in body["changes"]}
    assert owners["Auth.t1"] == ["@org/auth", "@alice"]
    assert owners["Cache.t1"] == ["@org/core"]
