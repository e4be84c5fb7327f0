"""HTTP for integrations: bounded timeouts, no redirects, and the SSRF guard.

The guard resolves the host, refuses the request when any resolved address is loopback,
private, link-local, multicast, reserved or unspecified (unless
``PASSLINE_WEBHOOK_ALLOW_PRIVATE``), and connects to the address it checked, so a DNS
answer that changes between the check and the connection (rebinding) cannot slip
through. TLS still verifies the certificate against the URL's host name. Redirects are
not followed: a 3xx is an answer like any other, and a receiver that redirects is
reported, never followed to an address the guard did not see.
"""

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "passline-notify/1"
MAX_RESPONSE_BYTES = 1024 * 1024


class Refused(Exception):
    """The URL is not allowed (scheme, or an address in a private range): never retried."""


class TransportError(Exception):
    """The request did not get an HTTP answer (DNS, connection, timeout, TLS)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    duration_ms: int
    links: dict[str, str] = field(default_factory=dict)

    def json(self):
        return json.loads(self.body or b"null")


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Return whether an IP address may be contacted (pure; IPv4 and IPv6)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    if allow_private:
        return True
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved)


def resolve_checked(host: str, port: int) -> tuple:
    """Return the first (family, sockaddr) of ``host`` after checking every address.

    Raise Refused when any address is not allowed (a name resolving to both a public and
    a private address is refused), TransportError when the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    allow = settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE
    for info in infos:
        if not address_allowed(info[4][0], allow_private=allow):
            raise Refused(
                f"{host} resolves to {info[4][0]}, a loopback, private or link-local "
                "address (set PASSLINE_WEBHOOK_ALLOW_PRIVATE=1 to allow it)"
            )
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    family, sockaddr = resolve_checked(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect(self.host, self.port, self.timeout)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        sock = _connect(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _links(header: str) -> dict[str, str]:
    """Parse an RFC 8288 Link header into {rel: url}."""
    links = {}
    for part in header.split(","):
        if ";" not in part:
            continue
        url, _, params = part.partition(";")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "rel":
                links[value.strip('"')] = url.strip().strip("<>")
    return links


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Response:
    """Send one HTTP request through the guard and return the response.

    ``timeout`` (seconds, default PASSLINE_NOTIFY_TIMEOUT_SECONDS, at most 10) bounds the
    connection and each read. Raise Refused or TransportError when there is no answer.
    """
    timeout = min(timeout or settings.PASSLINE_NOTIFY_TIMEOUT_SECONDS, 10.0)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"only http and https URLs are allowed, not {parts.scheme or 'none'}://")
    if parts.scheme == "https":
        conn = _GuardedHTTPSConnection(
            parts.hostname, parts.port or 443, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = _GuardedHTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=all_headers)
        raw = conn.getresponse()
        data = raw.read(MAX_RESPONSE_BYTES)
        resp_headers = {k.lower(): v for k, v in raw.getheaders()}
        status = raw.status
    except Refused:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    finally:
        conn.close()
    return Response(
        status=status,
        headers=resp_headers,
        body=data,
        duration_ms=int((time.monotonic() - started) * 1000),
        links=_links(resp_headers.get("link", "")),
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Return the delay a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class HttpFailure(Exception):
    """The receiver answered with an error status (retryable for 5xx and 429)."""

    def __init__(self, response: Response, what: str = ""):
        self.response = response
        self.status = response.status
        self.retry_after = retry_after_seconds(response.headers.get("retry-after"))
        snippet = response.body[:200].decode("utf-8", "replace")
        super().__init__(f"{what + ': ' if what else ''}HTTP {response.status} {snippet}".strip())

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status in (408, 429)


def checked(response: Response, what: str = "") -> Response:
    """Return ``response`` when 2xx; raise HttpFailure otherwise."""
    if not 200 <= response.status < 300:
        raise HttpFailure(response, what)
    return response
