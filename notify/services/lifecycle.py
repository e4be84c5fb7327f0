"""Record the deliveries of a lifecycle event: one per subscribed webhook.

Lifecycle events (``test.quarantined``, ``quarantine.expired``, ``digest.weekly``) come
from ``dashboard.lifecycle.events`` with a JSON-ready payload and no run. The event is
identified by a hash of its name, project and payload (``lifecycle_key``): a retried
task or a duplicate signal finds the same rows (unique per webhook, event and key), and
a renewed quarantine (a new expiry) is a new event. The payload is stored with the
delivery, so every retry and redelivery sends the same message.
"""

import hashlib
import json
import logging

from django.db import transaction

from notify.models import LIFECYCLE_EVENTS, Delivery, Webhook

logger = logging.getLogger(__name__)


def lifecycle_key(*, event: str, project_id: int, payload: dict) -> str:
    """Return the hex SHA-256 that identifies one lifecycle event."""
    canonical = json.dumps(
        {"event": event, "project": project_id, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def lifecycle_subject(*, event: str, payload: dict) -> str:
    """Return what the event is about, for the delivery log: the test, or the week."""
    if event in ("test.quarantined", "quarantine.expired"):
        classname, name = payload.get("classname") or "", payload.get("name") or ""
        return (f"{classname}::{name}" if classname else name)[:1000]
    start, end = (payload.get("week_start") or "")[:10], (payload.get("week_end") or "")[:10]
    return f"week {start} to {end}"


def lifecycle_notify(*, event: str, project_id: int, payload: dict) -> list[int]:
    """Record one delivery per active webhook of the project subscribed to ``event``.

    Return the ids still to send (pending). Nothing is recorded for an unknown event.
    """
    if event not in LIFECYCLE_EVENTS:
        logger.warning("unknown lifecycle event", extra={"event": event})
        return []
    # Few webhooks per project: their events (a JSON list) are checked here rather than
    # with a JSON containment lookup SQLite lacks.
    webhooks = [
        w
        for w in Webhook.objects.filter(project_id=project_id, is_active=True)
        if event in w.events
    ]
    if not webhooks:
        return []
    key = lifecycle_key(event=event, project_id=project_id, payload=payload)
    subject = lifecycle_subject(event=event, payload=payload)
    with transaction.atomic():
        Delivery.objects.bulk_create(
            [
                Delivery(
                    project_id=project_id,
                    webhook=w,
                    event=event,
                    key=key,
                    payload=payload,
                    detail=subject,
                )
                for w in webhooks
            ],
            ignore_conflicts=True,
        )
    # The lookup the unique constraint's partial index serves.
    ids = Delivery.objects.filter(
        webhook__in=webhooks,
        run__isnull=True,
        event=event,
        key=key,
        status=Delivery.Status.PENDING,
    ).values_list("pk", flat=True)
    logger.info(
        "lifecycle event recorded",
        extra={"event": event, "project_id": project_id, "webhooks": len(webhooks)},
    )
    return list(ids)
