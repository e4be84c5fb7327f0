"""Send one delivery: claim, send through the guard, log, retry or give up."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from ingest.models import Run
from notify import messages, transport
from notify.chat import slack, teams
from notify.forges import github, gitlab
from notify.models import (
    LIFECYCLE_EVENTS,
    Delivery,
    DeliveryAttempt,
    Webhook,
)
from notify.secrets import SecretUnreadable, secret_decrypt
from notify.webhooks import generic

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
STALE_CLAIM = dt.timedelta(minutes=5)
# Failed attempts in a row after which a webhook's other deliveries wait (circuit open).
CIRCUIT_AFTER = 3


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


def _lifecycle_message(delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    webhook, project, event = delivery.webhook, delivery.project, delivery.event
    payload = delivery.payload
    if webhook.kind == Webhook.Kind.SLACK:
        return slack.build_lifecycle(event=event, payload=payload, project=project.name)
    if webhook.kind == Webhook.Kind.TEAMS:
        return teams.build_lifecycle(event=event, payload=payload, project=project.name)
    return generic.build_lifecycle(
        event=event,
        payload=payload,
        slug=project.slug,
        secret=secret_decrypt(webhook.secret_encrypted),
        delivery=str(delivery.uuid),
    )


def _send_webhook(delivery: Delivery) -> transport.Response:
    webhook = delivery.webhook
    url = secret_decrypt(webhook.url_encrypted)
    project = delivery.project
    verdict, detail, event = delivery.verdict, delivery.detail, delivery.event
    if event in LIFECYCLE_EVENTS:
        body, headers = _lifecycle_message(delivery)
    elif webhook.kind == Webhook.Kind.SLACK:
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
            "subject": "" if delivery.run_id else delivery.detail,
            "status": status,
            "http_status": code,
            "duration_ms": duration,
        },
    )
    return SendOutcome(status=status, retry_in=retry_in)


def delivery_redeliver(*, delivery: Delivery) -> bool:
    """Queue a delivery again (same ``X-Passline-Delivery``); False while it is sending.

    It is due at once, so ``deliveries_sweep`` sends it if the task's message is lost.
    """
    return bool(
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Delivery.Status.SENDING)
        .update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0)
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
