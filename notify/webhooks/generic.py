"""Generic webhook: the event as JSON, signed with HMAC-SHA256 over the raw body."""

import hashlib
import hmac
import json

# The key under which a lifecycle event's payload travels (docs/flaky.md).
LIFECYCLE_KEYS = {
    "test.quarantined": "test",
    "quarantine.expired": "test",
    "digest.weekly": "digest",
}


def signature(*, secret: str, body: bytes) -> str:
    """Return the ``X-Passline-Signature`` value: ``sha256=<hex HMAC of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(*, payload: dict, event: str, secret: str, delivery: str):
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Passline-Event": event,
        "X-Passline-Delivery": delivery,
    }
    if secret:
        headers["X-Passline-Signature"] = signature(secret=secret, body=body)
    return body, headers


def build(
    *, event: str, verdict: dict, slug: str, detail: str, secret: str, delivery: str
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a generic delivery about a run (DESIGN.md, Feedback)."""
    payload = {"event": event, "project": slug, "run": verdict, "url": verdict.get("url", "")}
    if detail:
        payload["detail"] = detail
    return _signed(payload=payload, event=event, secret=secret, delivery=delivery)


def build_lifecycle(
    *, event: str, payload: dict, slug: str, secret: str, delivery: str
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a generic delivery about a lifecycle event.

    ``{"event", "project", "test": <payload>, "url"}`` for test events,
    ``{"event", "project", "digest": <payload>, "url"}`` for ``digest.weekly``.
    """
    body = {
        "event": event,
        "project": slug,
        LIFECYCLE_KEYS.get(event, "data"): payload,
        "url": payload.get("url", ""),
    }
    return _signed(payload=body, event=event, secret=secret, delivery=delivery)
