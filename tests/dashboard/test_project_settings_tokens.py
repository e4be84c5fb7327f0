"""Tokens page: create (plaintext shown once, only its hash stored), list, revoke."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from ingest.models import ApiToken, Membership
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

REPORT = b'<testsuite name="s"><testcase classname="a.B" name="test_ok"/></testsuite>'


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project():
    return ProjectFactory(slug="acme", is_public=False)


@pytest.fixture
def admin(project):
    user = get_user_model().objects.create_user("admin")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    return user


def create(client, **data):
    payload = {"name": "GitHub Actions", "scope": "upload", "expires_on": ""}
    payload.update(data)
    return client.post("/p/acme/settings/tokens/", payload)


def test_token_plaintext_is_shown_once_and_only_its_hash_is_stored(client, project, admin):
    client.force_login(admin)
    response = create(client)
    assert response.status_code == 200
    plaintext = response.context["plaintext"]
    assert plaintext.startswith("pl_u_")
    assert plaintext in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(project=project)
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.created_by == admin
    assert token.name == "GitHub Actions"
    stored = [
        str(v)
        for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()
    ]
    assert all(plaintext not in value for value in stored)
    again = client.get("/p/acme/settings/tokens/").content.decode()
    assert plaintext not in again
    assert f"{token.prefix}…" in again


def test_token_with_expiry_and_read_scope(client, project, admin):
    client.force_login(admin)
    response = create(client, scope="read", expires_on="2099-01-31")
    assert response.context["plaintext"].startswith("pl_r_")
    token = ApiToken.objects.get(project=project)
    assert token.scope == "read"
    assert token.expires_at.isoformat() == "2099-01-31T00:00:00+00:00"


@pytest.mark.parametrize(
    "bad", [{"scope": "admin"}, {"expires_on": "2001-01-01"}, {"name": "x" * 201}]
)
def test_token_form_refuses_bad_input(client, project, admin, bad):
    client.force_login(admin)
    response = create(client, **bad)
    assert response.status_code == 200
    assert response.context["plaintext"] is None
    assert not ApiToken.objects.exists()


def test_token_list_escapes_names(client, project, admin):
    token_create(project=project, scope="read", name="<img src=x onerror=alert(1)>")
    client.force_login(admin)
    body = client.get("/p/acme/settings/tokens/").content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_revoked_token_gets_401_from_the_api(client, project, admin):
    token, plaintext = token_create(project=project, scope="upload", name="ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    accepted = api.generic("POST", "/api/v1/uploads?run=r1", REPORT, "application/xml")
    assert accepted.status_code == 202
    client.force_login(admin)
    response = client.post(f"/p/acme/settings/tokens/{token.prefix}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = api.generic("POST", "/api/v1/uploads?run=r2", REPORT, "application/xml")
    assert refused.status_code == 401
    assert "revoked" in client.get("/p/acme/settings/tokens/").content.decode()


def test_revoke_needs_post_and_an_admin_of_that_project(client, project, admin):
    token, _ = token_create(project=project, scope="upload")
    foreign, _ = token_create(project=ProjectFactory(slug="other"), scope="upload")
    client.force_login(admin)
    assert client.get(f"/p/acme/settings/tokens/{token.prefix}/revoke/").status_code == 405
    assert client.post(f"/p/acme/settings/tokens/{foreign.prefix}/revoke/").status_code == 404
    viewer = get_user_model().objects.create_user("viewer")
    Membership.objects.create(project=project, user=viewer)
    client.force_login(viewer)
    assert client.post(f"/p/acme/settings/tokens/{token.prefix}/revoke/").status_code == 403
    token.refresh_from_db()
    foreign.refresh_from_db()
    assert token.revoked_at is None and foreign.revoked_at is None
