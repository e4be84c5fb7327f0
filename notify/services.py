"""Feedback services: decide what a completed run sends, and send one delivery.

When a run completes, ``run_notify`` computes its verdict once (after making sure the
run's rollups are fresh: it refreshes them itself when the ``derive`` queue has not done
so yet, so a busy derive queue never delays a message), works out the events it raises
(``notify.events``), and records one ``Delivery`` per subscribed webhook and event, and
one for the project's forge when the run has a ``pr``. The unique constraints make this
idempotent: a retried task, a duplicate signal or a late part adds nothing.

``delivery_send`` makes one attempt: it claims the delivery with a conditional UPDATE (two
workers never send the same one), sends it through ``notify.transport`` (timeouts, SSRF
guard), logs the attempt, and says when to retry: after network errors, 5xx, 408 and 429
(``Retry-After`` honoured), with exponential backoff, at most
``PASSLINE_NOTIFY_MAX_ATTEMPTS`` times. A webhook is disabled after
``PASSLINE_WEBHOOK_DISABLE_AFTER`` failed attempts in a row.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dashboard.services import run_stats_update
from ingest.models import Project, Run
from notify import events, messages, transport
from notify.chat import slack, teams
from notify.forges import github, gitlab
from notify.models import (
    EVENTS,
    FORGE_EVENT,
    GATES,
    Delivery,
    DeliveryAttempt,
    ForgeIntegration,
    TargetWatch,
    Webhook,
)
from notify.secrets import SecretUnreadable, secret_decrypt, secret_encrypt
from notify.selectors import rollups_fresh, target_scopes_get, verdict_get
from notify.webhooks import generic

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
STALE_CLAIM = dt.timedelta(minutes=5)
# Failed attempts in a row after which a webhook's other deliveries wait (circuit open).
CIRCUIT_AFTER = 3


class InvalidIntegration(ValueError):
    """A webhook or forge setting that cannot be accepted (the message says why)."""


# ---------------------------------------------------------------- configuration


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


# ---------------------------------------------------------------- deciding


def _target_events(*, run: Run, verdict: dict) -> list[events.TargetScope]:
    """Return the run's target scopes with their previous state, and record the new one."""
    if run.branch != run.project.default_branch:
        return []
    scopes = target_scopes_get(run=run)
    watches = {
        w.category_id: w
        for w in TargetWatch.objects.select_for_update(of=("self",))
        .filter(project=run.project)
        .select_related("run")
    }
    result = []
    for scope in scopes:
        watch = watches.get(scope.category_id)
        if watch is not None and watch.run_id == run.pk:
            # The same run again (a retried task): judge it as the first time did.
            was = watch.previous_reached
        else:
            was = watch.reached if watch is not None else None
        scope = events.TargetScope(**{**scope.__dict__, "was_reached": was})
        result.append(scope)
        if watch is None:
            TargetWatch.objects.create(
                project=run.project,
                category_id=scope.category_id,
                reached=scope.reached,
                previous_reached=None,
                run=run,
            )
        elif watch.run_id != run.pk and (
            watch.run is None or watch.run.started_at <= run.started_at
        ):
            watch.previous_reached, watch.reached, watch.run = was, scope.reached, run
            watch.save(update_fields=["previous_reached", "reached", "run", "updated_at"])
        elif watch.run_id != run.pk:
            # An older run completing late does not move the watch backwards.
            result.pop()
    return result


def run_notify(*, run_id: int) -> list[int]:
    """Record the deliveries a completed run raises; return the ids still to send."""
    run = Run.objects.select_related("project").filter(pk=run_id, is_complete=True).first()
    if run is None:
        return []
    project = run.project
    webhooks = [w for w in Webhook.objects.filter(project=project, is_active=True)]
    forge = ForgeIntegration.objects.filter(project=project).first()
    pr = getattr(run, "pr", None)
    if not webhooks and not (forge and pr):
        return []
    if not rollups_fresh(run=run):
        # The derive queue has not refreshed this run yet: do it here (per run, set-based,
        # idempotent) rather than wait behind that queue.
        run_stats_update(run_id=run.pk)
    verdict = verdict_get(run=run)
    with transaction.atomic():
        raised = events.run_events(
            verdict=verdict,
            default_branch=project.default_branch,
            targets=_target_events(run=run, verdict=verdict),
        )
        rows = [
            Delivery(
                project=project, webhook=w, event=event, run=run, verdict=verdict, detail=detail
            )
            for event, detail in raised
            for w in webhooks
            if event in w.events
        ]
        if forge and pr:
            rows.append(
                Delivery(project=project, forge=forge, event=FORGE_EVENT, run=run, verdict=verdict)
            )
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = Delivery.objects.filter(run=run, status=Delivery.Status.PENDING).values_list(
        "pk", flat=True
    )
    logger.info(
        "run feedback recorded",
        extra={"run_id": run.pk, "project_id": project.pk, "events": [e for e, _ in raised]},
    )
    return list(ids)


# ---------------------------------------------------------------- sending


@dataclass
class SendOutcome:
    status: str
    retry_in: float | None = None


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Return the delay before attempt ``attempts + 1``: Retry-After, else 5 s x 3^(n-1)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_MAX_SECONDS)
    return float(min(BACKOFF_BASE_SECONDS * 3 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _claim(delivery_id: int, now) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return bool(
        Delivery.objects.filter(due, pk=delivery_id, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def _send_webhook(delivery: Delivery) -> transport.Response:
    webhook = delivery.webhook
    url = secret_decrypt(webhook.url_encrypted)
    project = delivery.project
    verdict, detail, event = delivery.verdict, delivery.detail, delivery.event
    if webhook.kind == Webhook.Kind.SLACK:
        body, headers = slack.build(
            event=event, verdict=verdict, project=project.name, detail=detail
        )
    elif webhook.kind == Webhook.Kind.TEAMS:
        body, headers = teams.build(
            event=event, verdict=verdict, project=project.name, detail=detail
        )
    else:
        body, headers = generic.build(
            event=event,
            verdict=verdict,
            slug=project.slug,
            detail=detail,
            secret=secret_decrypt(webhook.secret_encrypted),
            delivery=str(delivery.uuid),
        )
    return transport.checked(transport.request("POST", url, body=body, headers=headers))


def _superseded(run: Run) -> bool:
    """Return whether a later run of the same PR completed: its comment must not be undone."""
    return (
        run.pr is not None
        and Run.objects.filter(
            project_id=run.project_id, pr=run.pr, is_complete=True, started_at__gt=run.started_at
        ).exists()
    )


def _send_forge(delivery: Delivery) -> transport.Response | None:
    forge, run, project = delivery.forge, delivery.run, delivery.project
    verdict, token = delivery.verdict, secret_decrypt(forge.token_encrypted)
    pr = verdict.get("pr") or getattr(run, "pr", None)
    body = messages.comment_markdown(
        verdict=verdict, slug=project.slug, project=project.name, gates=forge.gates
    )
    marker, context = messages.marker(project.slug), f"passline/{project.slug}"
    state = messages.gate_state(verdict=verdict, gates=forge.gates)
    description = messages.status_description(verdict=verdict, gates=forge.gates)
    target_url = verdict.get("url") or ""
    module, where = (github, "repo") if forge.kind == "github" else (gitlab, "project")
    upsert = github.comment_upsert if forge.kind == "github" else gitlab.note_upsert
    number = {"pr": int(pr)} if forge.kind == "github" else {"iid": int(pr)}
    common = {"api_url": forge.api_url, where: forge.repo, "token": token}
    upsert(**common, **number, marker=marker, body=body)
    sha = run.commit or verdict.get("commit") or ""
    if sha:
        module.status_set(
            **common,
            sha=sha,
            state=state,
            context=context,
            description=description,
            target_url=target_url,
        )
    return None


def _failure_counted(delivery: Delivery, now) -> None:
    """Count a failed attempt; pause the webhook after CIRCUIT_AFTER, disable after the limit."""
    if delivery.webhook_id is None:
        return
    Webhook.objects.filter(pk=delivery.webhook_id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    failures = Webhook.objects.values_list("consecutive_failures", flat=True).get(
        pk=delivery.webhook_id
    )
    if failures >= CIRCUIT_AFTER:
        pause = dt.timedelta(seconds=backoff_seconds(failures - CIRCUIT_AFTER + 1))
        Webhook.objects.filter(pk=delivery.webhook_id).update(paused_until=now + pause)
    limit = settings.PASSLINE_WEBHOOK_DISABLE_AFTER
    disabled = Webhook.objects.filter(
        pk=delivery.webhook_id, is_active=True, consecutive_failures__gte=limit
    ).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=f"Disabled after {limit} failed deliveries in a row; last: "
        + (delivery.last_error or "")[:200],
    )
    if disabled:
        logger.warning("webhook disabled", extra={"webhook_id": delivery.webhook_id})


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> SendOutcome:
    """Make one attempt at a delivery; return its status and when to retry (seconds)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return SendOutcome(status="not-due")
    delivery = Delivery.objects.select_related("project", "run", "webhook", "forge").get(
        pk=delivery_id
    )
    target = delivery.webhook or delivery.forge
    skip = target is None or (delivery.webhook is not None and not delivery.webhook.is_active)
    if not skip and delivery.forge is not None and _superseded(delivery.run):
        skip = True
    if skip:
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.SKIPPED)
        return SendOutcome(status=Delivery.Status.SKIPPED)
    paused = delivery.webhook.paused_until if delivery.webhook is not None else None
    if paused is not None and paused > now:
        # Circuit open: wait for the pause instead of spending a timeout; not an attempt.
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=paused,
            attempts=F("attempts") - 1,
            claimed_at=None,
        )
        return SendOutcome(status="paused", retry_in=(paused - now).total_seconds())
    started = timezone.now()
    code, error, retry_after, retryable, status = None, "", None, False, Delivery.Status.SUCCEEDED
    try:
        response = _send_webhook(delivery) if delivery.webhook_id else _send_forge(delivery)
        code = response.status if response is not None else None
    except transport.Refused as exc:
        status, error = Delivery.Status.REFUSED, str(exc)
    except transport.HttpFailure as exc:
        code, error, retry_after, retryable = exc.status, str(exc), exc.retry_after, exc.retryable
        status = Delivery.Status.FAILED
    except transport.TransportError as exc:
        status, error, retryable = Delivery.Status.FAILED, str(exc), True
    except SecretUnreadable as exc:
        status, error = Delivery.Status.FAILED, str(exc)
    duration = int((timezone.now() - started).total_seconds() * 1000)
    ok = status == Delivery.Status.SUCCEEDED
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=started,
        status_code=code,
        duration_ms=duration,
        ok=ok,
        error=error[:500],
    )
    retry_in = None
    if not ok and retryable and delivery.attempts < settings.PASSLINE_NOTIFY_MAX_ATTEMPTS:
        retry_in = backoff_seconds(delivery.attempts, retry_after)
        status = Delivery.Status.PENDING
    Delivery.objects.filter(pk=delivery_id).update(
        status=status,
        last_status_code=code,
        last_error=error[:500],
        sent_at=started if ok else None,
        next_attempt_at=started + dt.timedelta(seconds=retry_in) if retry_in is not None else None,
        claimed_at=None,
    )
    delivery.last_error = error
    if ok and delivery.webhook_id:
        Webhook.objects.filter(pk=delivery.webhook_id).update(
            consecutive_failures=0, paused_until=None
        )
    elif not ok:
        _failure_counted(delivery, now)
    logger.info(
        "delivery attempt",
        extra={
            "delivery": str(delivery.uuid),
            "event": delivery.event,
            "run_id": delivery.run_id,
            "status": status,
            "http_status": code,
            "duration_ms": duration,
        },
    )
    return SendOutcome(status=status, retry_in=retry_in)


def delivery_redeliver(*, delivery: Delivery) -> bool:
    """Queue a delivery again (same ``X-Passline-Delivery``); False while it is sending."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Delivery.Status.SENDING)
        .update(status=Delivery.Status.PENDING, next_attempt_at=None, attempts=0)
    )


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Return pending deliveries whose retry time passed, after releasing stale claims.

    A claim older than five minutes belongs to a worker that died mid-send.
    """
    now = now or timezone.now()
    Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(status=Delivery.Status.PENDING, claimed_at=None, next_attempt_at=now)
    due = Delivery.objects.filter(status=Delivery.Status.PENDING).filter(
        Q(next_attempt_at__lte=now)
        | Q(next_attempt_at__isnull=True, created_at__lt=now - STALE_CLAIM)
    )
    return list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
