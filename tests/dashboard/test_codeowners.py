"""A project's CODEOWNERS: PUT API, manage.py setcodeowners, settings page, owners_for_tests."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dashboard.models import CodeOwners
from dashboard.selectors.owners import owners_for_tests
from ingest.models import Membership
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory, TestFactory

pytestmark = pytest.mark.django_db

FILE = b"""# owners
*            @acme/everyone
/tests/auth/ @acme/auth  # login and tokens
com/acme/billing/ @alice billing@acme.example
!negated @x
"""


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project():
    return ProjectFactory(slug="acme", is_public=False)


def _client(project, scope):
    _, plaintext = token_create(project=project, scope=scope, name=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def _put(client, body, slug="acme", content_type="text/plain"):
    return client.put(f"/api/v1/projects/{slug}/codeowners", body, content_type=content_type)


def test_put_with_upload_token_stores_the_file_and_reports_skipped_lines(project):
    response = _put(_client(project, "upload"), FILE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rules"] == 3
    assert body["owners"] == ["@acme/auth", "@acme/everyone", "@alice", "billing@acme.example"]
    assert body["problems"] == [
        {"line": 5, "text": "!negated @x", "reason": "negation (!) is not supported in CODEOWNERS"}
    ]
    row = CodeOwners.objects.get(project=project)
    assert row.text == FILE.decode() and row.source == "api" and row.rules == 3
    # GET reads it back with a read token.
    assert _client(project, "read").get("/api/v1/projects/acme/codeowners").json()["rules"] == 3


def test_put_replaces_and_an_empty_body_clears(project):
    client = _client(project, "upload")
    _put(client, FILE)
    assert _put(client, b"*.py @py\n").json()["rules"] == 1
    assert CodeOwners.objects.get(project=project).text == "*.py @py\n"
    assert _put(client, b"").json()["rules"] == 0
    assert CodeOwners.objects.count() == 1


def test_put_refuses_read_token_other_project_no_token_large_and_binary(project, settings):
    assert _put(_client(project, "read"), FILE).status_code == 403
    assert _put(APIClient(), FILE).status_code == 401
    other = ProjectFactory(slug="other")
    assert _put(_client(other, "upload"), FILE).status_code == 404
    upload = _client(project, "upload")
    settings.PASSLINE_CODEOWNERS_MAX_BYTES = 10
    too_large = _put(upload, FILE)
    assert too_large.status_code == 413 and too_large.json()["error"] == "too_large"
    settings.PASSLINE_CODEOWNERS_MAX_BYTES = 3 * 1024 * 1024
    bad = _put(upload, b"* @a\n\xff\xfe")
    assert bad.status_code == 400 and "UTF-8" in bad.json()["detail"]
    assert not CodeOwners.objects.exists()


def test_setcodeowners_command(project, tmp_path):
    path = tmp_path / "CODEOWNERS"
    path.write_bytes(FILE)
    out, err = io.StringIO(), io.StringIO()
    call_command("setcodeowners", "acme", str(path), stdout=out, stderr=err)
    assert "3 rules, 1 skipped lines" in out.getvalue()
    assert "line 5 skipped: negation" in err.getvalue()
    assert CodeOwners.objects.get(project=project).source == "command"
    with pytest.raises(CommandError, match="No project"):
        call_command("setcodeowners", "nope", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("setcodeowners", "acme", str(tmp_path / "missing"))


def test_settings_page_paste_is_admin_only(client, project):
    user = get_user_model().objects.create_user("viewer")
    membership = Membership.objects.create(project=project, user=user)
    client.force_login(user)
    assert client.get("/p/acme/settings/codeowners/").status_code == 403
    membership.role = Membership.Role.ADMIN
    membership.save()
    page = client.get("/p/acme/settings/codeowners/")
    assert page.status_code == 200 and "No CODEOWNERS yet" in page.content.decode()
    response = client.post("/p/acme/settings/codeowners/", {"text": FILE.decode()}, follow=True)
    html = response.content.decode()
    assert "CODEOWNERS saved. 1 line(s) skipped." in html
    assert "negation (!) is not supported" in html and "@acme/everyone" in html
    row = CodeOwners.objects.get(project=project)
    assert (row.source, row.updated_by) == ("settings", user)


def test_owners_for_tests_file_else_classname_in_two_queries(project):
    call_command("setcodeowners", "acme", "-", stdin=io.BytesIO(FILE), stdout=io.StringIO())
    by_file = TestFactory(project=project, classname="x.Y", file="tests/auth/test_login.py")
    by_class = TestFactory(project=project, classname="com.acme.billing.InvoiceTest", file="")
    other = TestFactory(project=project, classname="misc.T", file="")
    foreign = TestFactory(project=ProjectFactory(slug="z"), classname="com.acme.billing.X")
    with CaptureQueriesContext(connection) as queries:
        found = owners_for_tests(
            project=project, test_ids=[by_file.pk, by_class.pk, other.pk, foreign.pk]
        )
    # 1: the CODEOWNERS row; 2: the tests' file and classname.
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert found == {
        by_file.pk: ["@acme/auth"],
        by_class.pk: ["@alice", "billing@acme.example"],
        other.pk: ["@acme/everyone"],
    }


def test_owners_for_tests_without_codeowners_is_empty_and_one_query(project):
    test = TestFactory(project=project, classname="a.B")
    with CaptureQueriesContext(connection) as queries:
        assert owners_for_tests(project=project, test_ids=[test.pk]) == {test.pk: []}
    assert len(queries) == 1
