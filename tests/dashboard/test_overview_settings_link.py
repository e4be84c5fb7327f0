"""The overview links to project settings for the people who may change them."""

import pytest
from django.contrib.auth import get_user_model

from ingest.models import Membership
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(slug="shop", is_public=True)


def _user(name, **extra):
    return get_user_model().objects.create_user(name, password="pw-long-enough-1", **extra)


def test_anonymous_visitor_sees_no_settings_link(client, project):
    response = client.get("/p/shop/")
    assert response.status_code == 200
    assert b'href="/p/shop/"' in response.content  # the overview itself was rendered
    assert b"/p/shop/settings/" not in response.content


def test_viewer_sees_no_settings_link(client, project):
    viewer = _user("viewer")
    Membership.objects.create(project=project, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)
    response = client.get("/p/shop/")
    assert response.status_code == 200
    assert b'href="/p/shop/"' in response.content  # the overview itself was rendered
    assert b"/p/shop/settings/" not in response.content


@pytest.mark.parametrize("who", ["admin", "superuser"])
def test_admin_and_superuser_see_the_settings_link(client, project, who):
    if who == "superuser":
        user = get_user_model().objects.create_superuser("boss", password="pw-long-enough-1")
    else:
        user = _user("boss")
        Membership.objects.create(project=project, user=user, role=Membership.Role.ADMIN)
    client.force_login(user)
    response = client.get("/p/shop/")
    assert response.status_code == 200
    assert b'href="/p/shop/settings/"' in response.content
    assert client.get("/p/shop/settings/").status_code == 200  # the link leads somewhere


def test_private_project_overview_is_404_without_membership(client, project):
    project.is_public = False
    project.save(update_fields=["is_public"])
    response = client.get("/p/shop/")
    assert response.status_code == 404
    assert b"/p/shop/settings/" not in response.content


def test_staff_alone_sees_no_settings_link(client, project):
    client.force_login(_user("staff", is_staff=True))
    response = client.get("/p/shop/")
    assert response.status_code == 200
    assert b'href="/p/shop/"' in response.content  # the overview itself was rendered
    assert b"/p/shop/settings/" not in response.content
