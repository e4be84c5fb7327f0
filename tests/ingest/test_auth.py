"""Bearer-token authentication, scopes and read access rules."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from ingest.api_errors import UNAUTHORIZED_DETAIL
from ingest.auth import BearerTokenAuthentication, HasUploadScope, project_for_read
from ingest.models import ApiToken, Membership
from ingest.services.tokens import token_create, token_revoke
from ingest.tokens import token_generate
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


class UploadOnly(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasUploadScope]

    def post(self, request):
        return Response({"project": request.auth.project.slug})


class ReadProject(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = []

    def get(self, request, slug):
        return Response({"project": project_for_read(request, slug).slug})


def post(headers=None, **extra):
    request = factory.post("/x", {}, format="json", headers=headers or {}, **extra)
    return UploadOnly.as_view()(request)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_valid_upload_token_authenticates():
    project = ProjectFactory(slug="shop")
    _, token = token_create(project=project, scope="upload")
    response = post(bearer(token))
    assert response.status_code == 200
    assert response.data == {"project": "shop"}


def _bad_tokens():
    project = ProjectFactory()
    good_revoked = token_create(project=project, scope="upload")
    token_revoke(prefix=good_revoked[0].prefix)
    expired_row, expired = token_create(project=project, scope="upload")
    ApiToken.objects.filter(pk=expired_row.pk).update(expires_at=timezone.now())
    valid_row, valid = token_create(project=project, scope="upload")
    unknown = token_generate("upload")[0]
    # Right prefix, wrong secret but a valid checksum: only the digest differs.
    forged = token_generate("upload")[0]
    forged_same_prefix = valid_row.prefix + forged[len(valid_row.prefix) :]
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "no token": {"Authorization": "Bearer"},
        "two words": {"Authorization": f"Bearer {valid} extra"},
        "malformed": bearer("pl_u_short"),
        "bad checksum": bearer(valid[:-1] + ("0" if valid[-1] != "0" else "1")),
        "unknown": bearer(unknown),
        "revoked": bearer(good_revoked[1]),
        "expired": bearer(expired),
        "same prefix other secret": bearer(forged_same_prefix),
    }


def test_every_bad_credential_gets_the_identical_401():
    cases = _bad_tokens()
    bodies = set()
    for label, headers in cases.items():
        response = post(headers)
        assert response.status_code == 401, label
        assert response["WWW-Authenticate"].startswith("Bearer"), label
        bodies.add(repr(response.data))
    assert bodies == {repr({"error": "unauthorized", "detail": UNAUTHORIZED_DETAIL})}


def test_token_in_query_parameter_is_ignored():
    _, token = token_create(project=ProjectFactory(), scope="upload")
    request = factory.post(f"/x?token={token}&access_token={token}", {}, format="json")
    assert UploadOnly.as_view()(request).status_code == 401


def test_read_token_cannot_upload():
    _, token = token_create(project=ProjectFactory(), scope="read")
    response = post(bearer(token))
    assert response.status_code == 403
    assert response.data["error"] == "forbidden"
    assert "read token" in response.data["detail"]


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    row, token = token_create(project=ProjectFactory(), scope="upload")
    with django_assert_num_queries(2):  # select token + conditional update
        post(bearer(token))
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # select token only
        post(bearer(token))
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    post(bearer(token))
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first


def read(slug, headers=None, user=None):
    request = factory.get(f"/p/{slug}", headers=headers or {})
    if user is not None:
        force_authenticate(request, user=user)
    return ReadProject.as_view()(request, slug=slug)


@pytest.mark.parametrize("scope", ["read", "upload"])
def test_token_of_the_project_can_read_it(scope):
    project = ProjectFactory(slug="shop")
    _, token = token_create(project=project, scope=scope)
    assert read("shop", bearer(token)).status_code == 200


def test_token_of_another_project_gets_404_not_403():
    ProjectFactory(slug="shop")
    _, token = token_create(project=ProjectFactory(slug="other"), scope="read")
    response = read("shop", bearer(token))
    assert response.status_code == 404
    assert response.data == {"error": "not_found", "detail": "Not found."}
    assert read("nope", bearer(token)).status_code == 404


def test_private_project_without_credentials_is_401_like_an_unknown_one():
    ProjectFactory(slug="shop")
    private = read("shop")
    unknown = read("nope")
    assert private.status_code == unknown.status_code == 401
    assert private.data == unknown.data


def test_public_project_is_readable_without_credentials():
    ProjectFactory(slug="open", is_public=True)
    assert read("open").status_code == 200


def test_members_superusers_and_granted_users_can_read_others_get_404():
    from django.contrib.auth.models import Permission

    project = ProjectFactory(slug="shop")
    member = User.objects.create_user("member")
    Membership.objects.create(project=project, user=member)
    staff = User.objects.create_user("staff", is_staff=True)
    reader = User.objects.create_user("reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_project"))
    superuser = User.objects.create_superuser("root")
    stranger = User.objects.create_user("stranger")
    assert read("shop", user=member).status_code == 200
    assert read("shop", user=reader).status_code == 200
    assert read("shop", user=superuser).status_code == 200
    assert read("shop", user=staff).status_code == 404  # staff alone grants nothing
    assert read("shop", user=stranger).status_code == 404
