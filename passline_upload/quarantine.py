"""``passline-upload quarantine``: print a project's quarantined tests.

One ``classname::name`` a line (``--json`` for the API's JSON), for CI scripts that
skip or tolerate those tests. Exit codes as for uploads: 0 printed, 2 usage,
3 refused (e.g. a token of another project), 4 gave up (network, 5xx).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence

from passline_upload.transport import RetryPolicy, request_send, send_with_retries

EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_GAVE_UP = 0, 2, 3, 4


def parser_build() -> argparse.ArgumentParser:
    """Return the parser of ``passline-upload quarantine``."""
    parser = argparse.ArgumentParser(
        prog="passline-upload quarantine",
        description="Print the project's quarantined tests, one classname::name a line.",
    )
    parser.add_argument("--url", help="passline base URL (env PASSLINE_URL)")
    parser.add_argument("--token", help="an upload or read token (env PASSLINE_TOKEN)")
    parser.add_argument("--project", help="the project's slug (env PASSLINE_PROJECT)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead")
    parser.add_argument("--retries", type=int, default=3, help="retries (default 3)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    return parser


def quarantine_url(base_url: str, slug: str, *, text: bool) -> str:
    """Return the quarantine endpoint of project ``slug`` under a passline base URL."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url must be an http(s) URL, got {base_url!r}")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api/v1/uploads")
    path += f"/api/v1/projects/{urllib.parse.quote(slug, safe='')}/quarantine"
    query = "format=text" if text else ""
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _say(message: str) -> None:
    print(f"passline-upload quarantine: {message}", file=sys.stderr)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Fetch and print the quarantine list; return the exit code."""
    env = os.environ if env is None else env
    args = parser_build().parse_args(argv)
    token = args.token or env.get("PASSLINE_TOKEN", "")
    slug = args.project or env.get("PASSLINE_PROJECT", "")
    try:
        if not token:
            raise ValueError("no token: pass --token or set PASSLINE_TOKEN")
        if not slug:
            raise ValueError("no project: pass --project or set PASSLINE_PROJECT")
        url = quarantine_url(args.url or env.get("PASSLINE_URL", ""), slug, text=not args.json)
    except ValueError as error:
        _say(str(error))
        return EXIT_USAGE
    response, attempts = send_with_retries(
        lambda: request_send(
            url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json" if args.json else "text/plain",
            },
            timeout=args.timeout,
        ),
        policy=RetryPolicy(retries=max(args.retries, 0)),
        sleep=sleep,
        log=_say,
    )
    if response.status == 200:
        sys.stdout.write(response.body.decode("utf-8"))
        if args.json:
            sys.stdout.write("\n")
        return EXIT_OK
    if response.status == 0 or response.status >= 500 or response.status in (408, 429):
        _say(f"gave up after {attempts} attempt(s); last answer: HTTP {response.status}")
        return EXIT_GAVE_UP
    detail = response.body.decode("utf-8", "replace")[:300].strip()
    _say(f"refused: HTTP {response.status}: {detail}")
    return EXIT_REFUSED
