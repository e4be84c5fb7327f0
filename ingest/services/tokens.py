"""Create and revoke API tokens."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ingest.models import ApiToken, Project
from ingest.tokens import token_generate

# A prefix collision needs two equal 8-character base62 draws; retrying a few times
# turns "astronomically unlikely" into "never".
_PREFIX_ATTEMPTS = 5


def token_create(
    *,
    project: Project,
    scope: str,
    name: str = "",
    expires_at: datetime | None = None,
    created_by=None,
) -> tuple[ApiToken, str]:
    """Create a token and return ``(row, plaintext)``; the plaintext is never stored.

    Raise ValueError for an unknown scope or an expiry in the past.
    """
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown token scope {scope!r}; use 'upload' or 'read'")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("the expiry must be in the future")
    for attempt in range(_PREFIX_ATTEMPTS):
        plaintext, prefix, digest = token_generate(scope)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    project=project,
                    scope=scope,
                    name=name,
                    prefix=prefix,
                    digest=digest,
                    expires_at=expires_at,
                    created_by=created_by,
                )
        except IntegrityError:
            if attempt == _PREFIX_ATTEMPTS - 1:
                raise
            continue
        return token, plaintext
    raise AssertionError("unreachable")


def token_revoke(*, prefix: str) -> ApiToken:
    """Revoke the token with this prefix and return it; revoking twice keeps the first time.

    Raise ApiToken.DoesNotExist for an unknown prefix.
    """
    token = ApiToken.objects.get(prefix=prefix)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token
