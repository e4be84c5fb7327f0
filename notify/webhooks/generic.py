"""Generic webhook: the verdict as JSON, signed with HMAC-SHA256 over the raw body."""

import hashlib
import hmac
import json


def signature(*, secret: str, body: bytes) -> str:
    """Return the ``X-Passline-Signature`` value: ``sha256=<hex HMAC of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build(
    *, event: str, verdict: dict, slug: str, detail: str, secret: str, delivery: str
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a generic delivery (DESIGN.md, Feedback)."""
    payload = {"event": event, "project": slug, "run": verdict, "url": verdict.get("url", "")}
    if detail:
        payload["detail"] = detail
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Passline-Event": event,
        "X-Passline-Delivery": delivery,
    }
    if secret:
        headers["X-Passline-Signature"] = signature(secret=secret, body=body)
    return body, headers
