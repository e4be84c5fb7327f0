"""Operational endpoints: ``/healthz`` reports whether passline can do its job.

Each check returns ``"ok"`` (or ``"eager"`` for the in-process Celery of the embedded
default) or ``"error"``. Details of a failure go to the log, not to the anonymous caller.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("passline.ops")

# Seconds: a health probe must answer before the orchestrator's own timeout (5 s).
BROKER_TIMEOUT = 2.0
OK_STATES = frozenset({"ok", "eager"})


def database_check() -> str:
    """Run ``SELECT 1`` on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def broker_check() -> str:
    """Connect to the Celery broker within ``BROKER_TIMEOUT`` seconds.

    Return ``"eager"`` when tasks run in-process (no broker configured).
    """
    from passline.celery import app

    broker_url = app.conf.broker_url or ""
    if app.conf.task_always_eager or broker_url.startswith("memory://"):
        return "eager"
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    return "ok"


def storage_check() -> str:
    """Write, read back and delete a probe file in the raw-upload storage."""
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    try:
        with default_storage.open(name, "rb") as probe:
            if probe.read() != b"ok":
                raise OSError("storage returned different bytes")
    finally:
        default_storage.delete(name)
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": database_check,
    "broker": broker_check,
    "storage": storage_check,
}


def health_report() -> tuple[bool, dict[str, str]]:
    """Run every check; return (all healthy, {check name: state})."""
    states: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            states[name] = check()
        except Exception:  # A health probe reports every failure instead of raising.
            logger.exception("health check failed", extra={"check": name})
            states[name] = "error"
    return all(state in OK_STATES for state in states.values()), states


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when every check passes, else 503, with each check's state."""
    healthy, states = health_report()
    body = {"status": "ok" if healthy else "error", "checks": states}
    return JsonResponse(body, status=200 if healthy else 503)


def probe_host(allowed_hosts: str) -> str:
    """Return a Host header that ``ALLOWED_HOSTS`` (comma-separated) accepts."""
    first = next((h.strip() for h in allowed_hosts.split(",") if h.strip()), "")
    # ".example.com" also allows "example.com"; "*" allows anything.
    first = first.lstrip(".")
    return first if first and first != "*" else "localhost"


def probe(url: str, *, allowed_hosts: str, timeout: float = 5.0) -> int:
    """Return 0 when ``url`` answers 200, else 1 (the container health-check contract)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Host": probe_host(allowed_hosts)})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            print(answer.read().decode("utf-8", "replace"))
            return 0 if answer.status == 200 else 1
    except urllib.error.HTTPError as error:
        print(error.read().decode("utf-8", "replace"))
    except OSError as error:
        print(f"unreachable: {error}")
    return 1


if __name__ == "__main__":
    import os
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"
    sys.exit(probe(target, allowed_hosts=os.environ.get("ALLOWED_HOSTS", "")))
