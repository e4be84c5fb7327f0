"""createproject, createtoken and revoketoken."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from ingest.auth import token_authenticate
from ingest.models import ApiToken, Project
from ingest.services.projects import project_create, target_percent_to_bp
from ingest.tokens import token_digest
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# createproject ------------------------------------------------------------------------


def test_createproject_with_target_and_options():
    output = run("createproject", "shop", "--name", "Shop", "--target", "92.5", "--public")
    project = Project.objects.get(slug="shop")
    assert (project.name, project.target_bp, project.is_public) == ("Shop", 9250, True)
    assert project.default_branch == "main"
    assert "createtoken shop" in output


def test_createproject_defaults_to_90_percent():
    run("createproject", "shop", "--name", "Shop", "--default-branch", "trunk")
    project = Project.objects.get(slug="shop")
    assert (project.target_bp, project.default_branch, project.is_public) == (9000, "trunk", False)


def test_createproject_refuses_a_duplicate_slug():
    ProjectFactory(slug="shop")
    with pytest.raises(CommandError, match="already exists"):
        run("createproject", "shop", "--name", "Again")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad slug", "--name", "X"], "slug"),
        (["shop", "--name", "X", "--target", "101"], "between 0 and 100"),
        (["shop", "--name", "X", "--target", "-1"], "between 0 and 100"),
        (["shop", "--name", "X", "--target", "ninety"], "percentage"),
        (["shop", "--name", "X", "--target", "90.125"], "two decimal places"),
        (["shop", "--name", "  "], "name"),
    ],
)
def test_createproject_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run("createproject", *args)
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("percent", "bp"),
    [(Decimal("90"), 9000), (Decimal("84.1"), 8410), (Decimal("0"), 0), ("100", 10000), (75, 7500)],
)
def test_target_is_stored_exactly_in_basis_points(percent, bp):
    assert target_percent_to_bp(percent) == bp


def test_project_create_service_refuses_nan():
    with pytest.raises(ValidationError):
        project_create(slug="x", name="X", target_percent=Decimal("NaN"))


# createtoken --------------------------------------------------------------------------


def test_createtoken_prints_the_token_alone_on_the_last_line():
    ProjectFactory(slug="shop")
    output = run("createtoken", "shop", "--scope", "upload", "--name", "GitLab CI")
    last = output.rstrip("\n").splitlines()[-1]
    assert last.startswith("pl_u_")
    assert " " not in last
    token = ApiToken.objects.get()
    assert token.digest == token_digest(last)
    assert (token.name, token.scope, token.project.slug) == ("GitLab CI", "upload", "shop")
    assert token_authenticate(last) == token
    assert "only once" in output
    # The plaintext is nowhere in the database row.
    assert last not in repr(ApiToken.objects.values().get())


def test_createtoken_read_scope():
    ProjectFactory(slug="shop")
    last = run("createtoken", "shop", "--scope", "read").splitlines()[-1]
    assert last.startswith("pl_r_")
    assert ApiToken.objects.get().scope == "read"


def test_createtoken_expiry_as_date_and_as_duration():
    ProjectFactory(slug="shop")
    run("createtoken", "shop", "--scope", "upload", "--expires", "2099-01-01")
    assert ApiToken.objects.get().expires_at == datetime(2099, 1, 1, tzinfo=UTC)
    ApiToken.objects.all().delete()
    run("createtoken", "shop", "--scope", "upload", "--expires", "30d")
    left = ApiToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--scope", "upload"], "No project with slug 'nope'"),
        (["shop", "--scope", "admin"], "'upload' or 'read'"),
        (["shop", "--scope", "upload", "--expires", "soon"], "--expires"),
        (["shop", "--scope", "upload", "--expires", "2001-01-01"], "future"),
    ],
)
def test_createtoken_refuses_bad_input(args, message):
    ProjectFactory(slug="shop")
    with pytest.raises(CommandError, match=message):
        run("createtoken", *args)
    assert not ApiToken.objects.exists()


# revoketoken --------------------------------------------------------------------------


def test_revoketoken_by_prefix_makes_the_token_fail():
    ProjectFactory(slug="shop")
    plaintext = run("createtoken", "shop", "--scope", "upload").splitlines()[-1]
    prefix = ApiToken.objects.get().prefix
    output = run("revoketoken", prefix)
    assert "Revoked upload token" in output
    assert ApiToken.objects.get().revoked_at is not None
    assert token_authenticate(plaintext) is None


def test_revoketoken_accepts_the_whole_token():
    ProjectFactory(slug="shop")
    plaintext = run("createtoken", "shop", "--scope", "read").splitlines()[-1]
    run("revoketoken", plaintext)
    assert ApiToken.objects.get().revoked_at is not None


def test_revoketoken_unknown_prefix():
    with pytest.raises(CommandError, match="No token with prefix"):
        run("revoketoken", "pl_u_missing")
