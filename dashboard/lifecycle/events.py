"""Lifecycle events: ``test.quarantined``, ``quarantine.expired`` and ``digest.weekly``.

Services send ``lifecycle_event`` after their transaction commits, with keyword
arguments ``event`` (one of EVENTS), ``project_id`` and ``payload`` (a JSON-ready
dict). A notifier (webhooks, chat) connects a receiver to deliver them; the payloads
are documented in docs/flaky.md.
"""

from django.db import transaction
from django.dispatch import Signal

TEST_QUARANTINED = "test.quarantined"
QUARANTINE_EXPIRED = "quarantine.expired"
DIGEST_WEEKLY = "digest.weekly"
EVENTS = (TEST_QUARANTINED, QUARANTINE_EXPIRED, DIGEST_WEEKLY)

lifecycle_event = Signal()


def event_send(*, event: str, project_id: int, payload: dict) -> None:
    """Send ``event`` once the current transaction commits (at once outside one)."""
    assert event in EVENTS, event
    transaction.on_commit(
        lambda: lifecycle_event.send(
            sender=event_send, event=event, project_id=project_id, payload=payload
        )
    )
