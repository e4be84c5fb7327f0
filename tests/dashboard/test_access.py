"""Who may see which project: public to anyone, private to members and staff, else 404."""

import pytest
from django.contrib.auth import get_user_model

from dashboard.access import project_get_visible, project_list_visible
from ingest.models import Membership
from tests.dashboard.test_pages_data import build_history
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


PAGES = ["/p/{slug}/", "/p/{slug}/compare/", "/p/{slug}/c/Auth/", "/p/{slug}/runs/r1/"]


@pytest.fixture
def private():
    project = ProjectFactory(slug="private", name="Private Thing", is_public=False)
    build_history(project, n_runs=2, refresh=False)
    return project


def _granted(user, codename: str):
    """Give `user` the ingest permission `codename` (as the admin would) and return it."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="ingest", codename=codename)
    )
    return user


@pytest.fixture
def users(private):
    User = get_user_model()
    member = User.objects.create_user("member", password="pw-member-123")
    Membership.objects.create(project=private, user=member)
    return {
        "member": member,
        "stranger": User.objects.create_user("stranger", password="pw-stranger-123"),
        "staff": User.objects.create_user("staff", password="pw-staff-123", is_staff=True),
        "superuser": User.objects.create_superuser("root", password="pw-root-123"),
        "reader": _granted(User.objects.create_user("reader"), "view_project"),
    }


@pytest.mark.parametrize("page", PAGES)
def test_private_pages_are_404_for_anonymous(client, private, page):
    assert client.get(page.format(slug="private")).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_private_pages_are_404_for_signed_in_non_members(client, private, users, page):
    client.force_login(users["stranger"])
    assert client.get(page.format(slug="private")).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_private_pages_are_visible_to_members_superusers_and_granted_readers(
    client, private, users, page
):
    for who in ("member", "superuser", "reader"):
        client.force_login(users[who])
        assert client.get(page.format(slug="private")).status_code == 200, who


@pytest.mark.parametrize("page", PAGES)
def test_staff_alone_does_not_see_private_projects(client, private, users, page):
    client.force_login(users["staff"])
    assert client.get(page.format(slug="private")).status_code == 404


def test_private_test_page_is_404_for_strangers(client, private, users):
    test = private.tests.first()
    client.force_login(users["stranger"])
    assert client.get(f"/p/private/tests/{test.pk}/").status_code == 404
    client.force_login(users["member"])
    assert client.get(f"/p/private/tests/{test.pk}/").status_code == 200


def test_project_list_and_nav_show_only_visible_projects(client, private, users):
    ProjectFactory(slug="open", name="Open Thing", is_public=True)
    client.force_login(users["stranger"])
    html = client.get("/").content.decode()
    assert "Open Thing" in html and "Private Thing" not in html
    client.force_login(users["member"])
    html = client.get("/").content.decode()
    assert "Open Thing" in html and "Private Thing" in html
    # The navigation of another page lists it too.
    assert "Private Thing" in client.get("/p/open/").content.decode()


def test_visible_selectors(private, users):
    anonymous = type("Anon", (), {"is_authenticated": False})()
    assert list(project_list_visible(user=anonymous)) == []
    assert list(project_list_visible(user=users["member"])) == [private]
    assert project_get_visible(slug="private", user=users["superuser"]) == private
    assert project_get_visible(slug="private", user=users["reader"]) == private
    assert list(project_list_visible(user=users["staff"])) == []


def test_sign_in_page_and_sign_out(client, users):
    response = client.get("/accounts/login/?next=/p/private/")
    assert response.status_code == 200
    assert 'name="next" value="/p/private/"' in response.content.decode()
    response = client.post(
        "/accounts/login/",
        {"username": "member", "password": "pw-member-123", "next": "/p/private/"},
    )
    assert response.status_code == 302 and response["Location"] == "/p/private/"
    assert client.get("/p/private/").status_code == 200
    assert "Sign out" in client.get("/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/p/private/").status_code == 404


def test_wrong_password_shows_an_error(client, users):
    response = client.post("/accounts/login/", {"username": "member", "password": "nope"})
    assert "did not match" in response.content.decode()
