"""setforge, addwebhook, webhooks and rotatesecrets."""

import io

import pytest
from django.core.management import CommandError, call_command

from notify import secrets
from notify.models import Delivery, ForgeIntegration, Webhook
from notify.secrets import secret_decrypt

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_setforge_github_reads_the_token_from_a_file(project, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("ghp_secret\n")
    out = run("setforge", "shop", "github", "--repo", "acme/shop", "--token-file", str(token_file))
    forge = ForgeIntegration.objects.get(project=project)
    assert (forge.kind, forge.repo, forge.api_url) == (
        "github",
        "acme/shop",
        "https://api.github.com",
    )
    assert secret_decrypt(forge.token_encrypted) == "ghp_secret"
    assert forge.gates == ["new-failures"]
    assert "ghp_secret" not in out and "passline/shop" in out


def test_setforge_gitlab_from_an_environment_variable(project, monkeypatch):
    monkeypatch.setenv("GL_TOKEN", "glpat-x")
    run(
        "setforge",
        "shop",
        "gitlab",
        "--project-id",
        "42",
        "--api-url",
        "https://gitlab.example.com/api/v4",
        "--token-env",
        "GL_TOKEN",
        "--gates",
        "new-failures,below-target",
    )
    forge = ForgeIntegration.objects.get(project=project)
    assert (forge.kind, forge.repo, forge.api_url) == (
        "gitlab",
        "42",
        "https://gitlab.example.com/api/v4",
    )
    assert forge.gates == ["new-failures", "below-target"]


def test_setforge_needs_exactly_one_token_source(project, monkeypatch):
    with pytest.raises(CommandError, match="exactly one"):
        run("setforge", "shop", "github", "--repo", "acme/shop")
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(CommandError, match="NOPE"):
        run("setforge", "shop", "github", "--repo", "acme/shop", "--token-env", "NOPE")


def test_setforge_off_removes_it(project, monkeypatch):
    monkeypatch.setenv("T", "x")
    run("setforge", "shop", "github", "--repo", "acme/shop", "--token-env", "T")
    assert "removed" in run("setforge", "shop", "--off")
    assert not ForgeIntegration.objects.exists()


def test_addwebhook_prints_the_id_and_webhooks_lists_it(project, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "shh")
    out = run(
        "addwebhook",
        "shop",
        "https://hooks.example.com/p?token=abc",
        "--kind",
        "generic",
        "--events",
        "regression,run.completed",
        "--secret-env",
        "HOOK_SECRET",
    )
    hook_id = int(out.strip().splitlines()[-1])
    hook = Webhook.objects.get(pk=hook_id)
    assert hook.events == ["regression", "run.completed"]
    assert secret_decrypt(hook.secret_encrypted) == "shh"
    listing = run("webhooks", "shop")
    assert (
        f"{hook_id}\tgeneric\thttps://hooks.example.com\tregression,run.completed\tactive\tnever"
        in listing
    )
    assert "token=abc" not in listing


def test_webhooks_shows_the_last_delivery(project):
    from tests.notify.conftest import head_run

    hook = Webhook.objects.create(
        project=project,
        kind="slack",
        url_encrypted="",
        url_display="https://hooks.slack.com",
        events=["run.completed"],
    )
    run_ = head_run(project)
    Delivery.objects.create(
        project=project,
        webhook=hook,
        event="run.completed",
        run=run_,
        status="failed",
        last_status_code=500,
    )
    assert "run.completed run m2: failed (HTTP 500)" in run("webhooks", "shop")


def test_addwebhook_refuses_unknown_events(project):
    with pytest.raises(CommandError, match="unknown: deploy"):
        run("addwebhook", "shop", "https://x.example.com/", "--kind", "slack", "--events", "deploy")


def test_rotatesecrets_reencrypts_with_the_new_first_key(project, settings, monkeypatch):
    settings.PASSLINE_SECRETS_KEY = "old-key"
    monkeypatch.setenv("T", "tok")
    run("setforge", "shop", "github", "--repo", "acme/shop", "--token-env", "T")
    old = ForgeIntegration.objects.get().token_encrypted
    settings.PASSLINE_SECRETS_KEY = "new-key,old-key"
    run("rotatesecrets")
    settings.PASSLINE_SECRETS_KEY = "new-key"
    forge = ForgeIntegration.objects.get()
    assert forge.token_encrypted != old
    assert secret_decrypt(forge.token_encrypted) == "tok"
    settings.PASSLINE_SECRETS_KEY = "other"
    with pytest.raises(secrets.SecretUnreadable):
        secret_decrypt(forge.token_encrypted)
