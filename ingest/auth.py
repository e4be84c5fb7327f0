"""Authenticate API requests with project-scoped bearer tokens.

Who may do what:

- ``POST`` endpoints need an *upload* token (:class:`HasUploadScope`); the project is
  always the token's own, so a token can never write another project.
- ``GET`` endpoints call :func:`project_for_read`, which allows, for one project:
  a read **or** upload token of that project, anybody when ``project.is_public``, or a
  signed-in user who is a member of the project (or may read every project, see
  ``ingest.permissions``).
  A token of another project, or a signed-in non-member, gets 404, so nothing reveals
  that a private project exists. A request without credentials gets 401 for a private
  *or unknown* slug, for the same reason.

Tokens are only read from the ``Authorization: Bearer`` header; tokens in query
parameters are ignored (they end up in access logs and browser history).
A missing, malformed, unknown, revoked or expired token all get the same 401 body.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import BasePermission

from ingest.api_errors import Forbidden, Unauthorized
from ingest.models import ApiToken, Membership, Project
from ingest.permissions import user_reads_every_project
from ingest.tokens import digests_match, token_parse

# last_used_at is a hint for humans; writing it on every request would turn each
# read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when no row matches, so unknown prefixes cost the same compare.
_DUMMY_DIGEST = "0" * 64


def token_authenticate(raw: str) -> ApiToken | None:
    """Return the live ApiToken for a raw token string, or None.

    None covers malformed, unknown, revoked and expired tokens alike.
    """
    parsed = token_parse(raw)
    if parsed is None:
        return None
    prefix, digest = parsed
    token = ApiToken.objects.select_related("project").filter(prefix=prefix).first()
    if not digests_match(token.digest if token else _DUMMY_DIGEST, digest) or token is None:
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    _touch(token, now)
    return token


def _touch(token: ApiToken, now) -> None:
    """Record the use time at most once per LAST_USED_RESOLUTION, in one UPDATE."""
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer <token>``; ``request.auth`` is the ApiToken.

    Without an Authorization header, return None so that other authenticators (a
    session) or public projects can still apply; a header that is present but not a
    valid bearer token fails with the uniform 401.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            raise Unauthorized()
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise Unauthorized() from None
        token = token_authenticate(raw)
        if token is None:
            raise Unauthorized()
        return (None, token)

    def authenticate_header(self, request):
        return 'Bearer realm="passline"'


def request_token(request) -> ApiToken | None:
    """Return the request's ApiToken, or None when it did not use one."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


class HasToken(BasePermission):
    """Require a valid token of any scope (401 otherwise)."""

    def has_permission(self, request, view):
        if request_token(request) is None:
            raise NotAuthenticated()
        return True


class HasUploadScope(BasePermission):
    """Require an upload-scoped token: 401 without a token, 403 for a read token."""

    def has_permission(self, request, view):
        token = request_token(request)
        if token is None:
            raise NotAuthenticated()
        if token.scope != ApiToken.Scope.UPLOAD:
            raise Forbidden("A read token cannot upload; create a token with --scope upload.")
        return True


def project_for_read(request, slug: str) -> Project:
    """Return the project ``slug`` if the request may read it.

    Raise NotFound (404) for a token of another project, a signed-in non-member or an
    unknown slug with credentials; raise NotAuthenticated (401) when a private or
    unknown project is asked for without any credentials.
    """
    project = Project.objects.filter(slug=slug).first()
    token = request_token(request)
    if token is not None:
        if project is None or token.project_id != project.pk:
            raise NotFound()
        return project
    if project is not None and project.is_public:
        return project
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if project is None:
            raise NotFound()
        if user_reads_every_project(user) or (
            Membership.objects.filter(project=project, user=user).exists()
        ):
            return project
        raise NotFound()
    raise NotAuthenticated()


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describe BearerTokenAuthentication in the OpenAPI document."""

    target_class = "ingest.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API token, e.g. `pl_u_…` (upload) or `pl_r_…` (read), "
            "created with `manage.py createtoken`. Only accepted in the Authorization header.",
        }
