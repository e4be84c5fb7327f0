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

Lifecycle events (``test.quarantined``, ``quarantine.expired``, ``digest.weekly``) have
no run: ``lifecycle_notify`` records one delivery per subscribed webhook, sent by the
same ``delivery_send`` (same log, retries and circuit breaker).

A completed run's feedback goes through an outbox (``feedback``): its request is recorded
before ``run_notify`` is published and marked done when the deliveries are recorded, so
a broker outage at completion delays the feedback, never loses it.

Modules: ``integrations`` (forge and webhook settings), ``runs`` (``run_notify``),
``feedback`` (the requests),
``lifecycle`` (``lifecycle_notify``), ``deliveries`` (``delivery_send``, redelivery,
what is due).
"""

from notify.services.deliveries import (
    BACKOFF_BASE_SECONDS,
    CIRCUIT_AFTER,
    SendOutcome,
    backoff_seconds,
    deliveries_due,
    delivery_redeliver,
    delivery_send,
)
from notify.services.feedback import (
    feedback_done,
    feedback_due,
    feedback_published,
    feedback_request,
)
from notify.services.integrations import (
    InvalidIntegration,
    forge_remove,
    forge_set,
    webhook_create,
    webhook_delete,
    webhook_enable,
    webhook_update,
)
from notify.services.lifecycle import lifecycle_notify
from notify.services.runs import run_notify

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "CIRCUIT_AFTER",
    "InvalidIntegration",
    "SendOutcome",
    "backoff_seconds",
    "deliveries_due",
    "delivery_redeliver",
    "delivery_send",
    "feedback_done",
    "feedback_due",
    "feedback_published",
    "feedback_request",
    "forge_remove",
    "forge_set",
    "lifecycle_notify",
    "run_notify",
    "webhook_create",
    "webhook_delete",
    "webhook_enable",
    "webhook_update",
]
