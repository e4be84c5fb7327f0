"""HTTP for the uploader: a multipart body built once, sent with bounded retries.

Standard library only. The body (boundary included) is built once per invocation so
every retry sends identical bytes under the same Idempotency-Key: the server then
answers a repeat with the original response instead of a 409.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

USER_AGENT = "passline-upload/1"
GZIP_MAGIC = b"\x1f\x8b"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class Response:
    """An HTTP answer; ``status`` 0 means no answer (network error, described in ``body``).

    Header names are lower-case.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> dict:
        """Return the body as a JSON object, or ``{}`` when it is not one."""
        try:
            data = json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


@dataclass
class Multipart:
    """A ready-to-send multipart/form-data body."""

    body: bytes
    content_type: str


def _header_safe(value: str) -> str:
    """Return ``value`` usable inside a quoted header parameter (no quotes, no newlines)."""
    return "".join("_" if ch in '"\r\n\\' else ch for ch in value)


def file_payload(path: Path) -> tuple[str, bytes]:
    """Return (filename, gzip bytes) for a report; gzip input is sent as is.

    ``mtime=0`` keeps the compressed bytes identical between invocations.
    """
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        return path.name, data
    return f"{path.name}.gz", gzip.compress(data, compresslevel=6, mtime=0)


def multipart_build(fields: dict[str, str], files: Iterable[Path]) -> Multipart:
    """Return a multipart body with ``fields`` and one ``file`` part per path, gzipped."""
    boundary = f"passline-{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for path in files:
        filename, payload = file_payload(path)
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{_header_safe(filename)}"\r\n'
            "Content-Type: application/gzip\r\n\r\n".encode()
        )
        chunks.append(payload)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Multipart(b"".join(chunks), f"multipart/form-data; boundary={boundary}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Surface redirects as answers: urllib would turn a redirected POST into a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Return headers keyed by lower-case name (HTTP names are case-insensitive)."""
    return {name.lower(): value for name, value in items}


def request_send(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 60.0,
) -> Response:
    """Send one request and return its response; never raise for HTTP or network errors."""
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
    request.add_header("User-Agent", USER_AGENT)
    request.add_header("Accept", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return Response(answer.status, _lower(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, _lower(error.headers.items()), error.read())
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        return Response(0, {}, f"network error: {reason}".encode())


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Return the wait in seconds asked for by a Retry-After header (seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; ``retries`` is the number after the first try.

    Delays are in seconds. A server's Retry-After wins over the computed backoff but is
    capped at ``max_delay`` so a misconfigured server cannot hold a CI job forever.
    """

    retries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Return the seconds to sleep before retry ``retry_number`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return rng.uniform(ceiling / 2, ceiling)


def send_with_retries(
    send: Callable[[], Response],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> tuple[Response, int]:
    """Call ``send`` until it gets a final answer or the retries run out.

    Retries on no answer, 408, 429 and 5xx. Return the last response and the number of
    attempts made.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        response = send()
        retryable = response.status == 0 or response.status in RETRY_STATUSES
        if not retryable or attempt > policy.retries:
            return response, attempt
        retry_after = retry_after_seconds(response.headers.get("retry-after"), now=clock())
        wait = policy.delay(attempt, retry_after, rng)
        what = f"HTTP {response.status}" if response.status else response.body.decode()
        log(f"attempt {attempt} failed ({what}); retrying in {wait:.1f}s")
        sleep(wait)
