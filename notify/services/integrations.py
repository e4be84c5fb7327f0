"""Configure a project's forge and webhooks (credentials encrypted at rest)."""

from urllib.parse import urlsplit

from ingest.models import Project
from notify.models import (
    EVENTS,
    GATES,
    ForgeIntegration,
    Webhook,
)
from notify.secrets import secret_encrypt


class InvalidIntegration(ValueError):
    """A webhook or forge setting that cannot be accepted (the message says why)."""


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidIntegration("The URL must start with https:// (or http://) and name a host.")
    return url


def _check_events(names) -> list[str]:
    chosen = [e.strip() for e in names if e and e.strip()]
    unknown = sorted(set(chosen) - set(EVENTS))
    if unknown or not chosen:
        raise InvalidIntegration(
            f"Events must be some of {', '.join(EVENTS)}"
            + (f" (unknown: {', '.join(unknown)})." if unknown else ".")
        )
    return [e for e in EVENTS if e in chosen]


def webhook_create(
    *, project: Project, kind: str, url: str, events: list[str], secret: str = ""
) -> Webhook:
    """Add a webhook; the URL and the secret are stored encrypted."""
    if kind not in Webhook.Kind.values:
        raise InvalidIntegration(f"Kind must be one of {', '.join(Webhook.Kind.values)}.")
    parts = urlsplit(_check_url(url))
    return Webhook.objects.create(
        project=project,
        kind=kind,
        url_encrypted=secret_encrypt(url),
        url_display=f"{parts.scheme}://{parts.hostname}"[:300],
        secret_encrypted=secret_encrypt(secret),
        events=_check_events(events),
    )


def webhook_update(*, webhook: Webhook, events: list[str], secret: str | None = None) -> Webhook:
    """Change a webhook's events, and its secret when one is given (blank keeps it)."""
    webhook.events = _check_events(events)
    if secret:
        webhook.secret_encrypted = secret_encrypt(secret)
    webhook.save(update_fields=["events", "secret_encrypted"])
    return webhook


def webhook_enable(*, webhook: Webhook) -> None:
    """Turn a disabled webhook on again, with a fresh failure count."""
    Webhook.objects.filter(pk=webhook.pk).update(
        is_active=True,
        consecutive_failures=0,
        paused_until=None,
        disabled_at=None,
        disabled_reason="",
    )


def webhook_delete(*, webhook: Webhook) -> None:
    """Remove a webhook and its delivery log."""
    webhook.delete()


def forge_set(
    *,
    project: Project,
    kind: str,
    repo: str,
    token: str | None,
    api_url: str = "",
    gates: list[str] | None = None,
) -> ForgeIntegration:
    """Create or replace the project's forge integration (token encrypted; None keeps it)."""
    if kind not in ForgeIntegration.Kind.values:
        raise InvalidIntegration("The forge must be github or gitlab.")
    repo = repo.strip()
    if kind == "github" and (repo.count("/") != 1 or not all(repo.split("/"))):
        raise InvalidIntegration("A GitHub repository is written owner/name.")
    if not repo:
        raise InvalidIntegration("A GitLab project is its numeric id or its path.")
    default = "https://api.github.com" if kind == "github" else "https://gitlab.com/api/v4"
    chosen_gates = [g for g in GATES if g in (gates if gates is not None else ["new-failures"])]
    existing = ForgeIntegration.objects.filter(project=project).first()
    if not token and existing is None:
        raise InvalidIntegration("A token is needed.")
    values = {
        "kind": kind,
        "repo": repo,
        "api_url": _check_url((api_url or default).rstrip("/")),
        "gates": chosen_gates,
    }
    if token:
        values["token_encrypted"] = secret_encrypt(token.strip())
    forge, _ = ForgeIntegration.objects.update_or_create(project=project, defaults=values)
    return forge


def forge_remove(*, project: Project) -> bool:
    """Turn the project's forge integration off; return whether there was one."""
    return ForgeIntegration.objects.filter(project=project).delete()[0] > 0
