"""Token format, checksum and the token services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ingest.models import ApiToken
from ingest.services.tokens import token_create, token_revoke
from ingest.tokens import token_digest, token_generate, token_parse
from tests.factories import ProjectFactory


def test_generated_token_has_recognisable_shape_and_parses_back():
    token, prefix, digest = token_generate("upload")
    assert token.startswith("pl_u_")
    assert token.startswith(prefix)
    assert len(token.split("_")[2]) >= 32
    assert token_parse(token) == (prefix, digest)
    assert digest == token_digest(token)
    assert len(digest) == 64


def test_read_tokens_carry_the_read_letter():
    token, prefix, _ = token_generate("read")
    assert token.startswith("pl_r_")
    assert prefix.startswith("pl_r_")


def test_tokens_are_unique():
    assert len({token_generate("upload")[0] for _ in range(200)}) == 200


def test_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="scope"):
        token_generate("admin")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t + "x",
        lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:],  # one typo
        lambda t: t.replace("pl_u_", "pl_x_"),
        lambda t: t.replace("pl_u_", "pl_r_"),  # scope letter is under the checksum
        lambda t: "",
        lambda t: "x" * 10_000,
        lambda t: t.upper(),
    ],
)
def test_mangled_tokens_are_malformed(mangle):
    token, _, _ = token_generate("upload")
    assert token_parse(mangle(token)) is None


def test_parse_refuses_non_strings():
    assert token_parse(None) is None


@pytest.mark.django_db
def test_token_create_stores_only_the_digest():
    project = ProjectFactory()
    row, plaintext = token_create(project=project, scope="upload", name="ci")
    stored = ApiToken.objects.get(pk=row.pk)
    assert plaintext not in {stored.prefix, stored.digest, stored.name}
    assert stored.digest == token_digest(plaintext)
    assert plaintext.startswith(stored.prefix)
    assert stored.scope == "upload"


@pytest.mark.django_db
def test_token_create_refuses_bad_scope_and_past_expiry():
    project = ProjectFactory()
    with pytest.raises(ValueError, match="scope"):
        token_create(project=project, scope="write")
    with pytest.raises(ValueError, match="future"):
        token_create(project=project, scope="read", expires_at=timezone.now() - timedelta(1))
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_revoke_sets_time_once():
    row, _ = token_create(project=ProjectFactory(), scope="read")
    first = token_revoke(prefix=row.prefix).revoked_at
    assert first is not None
    assert token_revoke(prefix=row.prefix).revoked_at == first


@pytest.mark.django_db
def test_token_revoke_unknown_prefix_raises():
    with pytest.raises(ApiToken.DoesNotExist):
        token_revoke(prefix="pl_u_nothere")
