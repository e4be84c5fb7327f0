"""``passline-upload``: send JUnit reports from CI to passline.

Exit codes (CI can trust them):

- 0 the upload was accepted (and, with ``--wait``, processed and its verdict printed,
  no chosen gate failing);
- 2 usage error: bad arguments, no URL or token, no file matched, a redirecting URL;
- 3 the server refused the upload (4xx), or with ``--wait`` processing failed;
- 4 gave up: no final answer after all retries, or ``--wait`` timed out (the run did
  not complete, or its verdict was not ready, within ``--wait-timeout``);
- 5 a gate chosen with ``--gate`` failed (new failures, below target, flagged run).

``--wait`` polls the upload until processed, then the run's verdict until it is ready
(the run complete and its figures derived), prints it, and appends it as Markdown to
``$GITHUB_STEP_SUMMARY`` when that is set. ``--gate`` implies ``--wait``.

Standard library only, so ``pipx run --spec passline passline-upload`` works in any
image with Python 3.11.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from passline_upload import quarantine
from passline_upload.ci_env import ci_context_detect, pr_number
from passline_upload.transport import (
    Response,
    RetryPolicy,
    multipart_build,
    request_send,
    send_with_retries,
)
from passline_upload.verdict_text import failed_gates, verdict_markdown, verdict_text

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_GAVE_UP = 4
EXIT_GATE_FAILED = 5
GATES = ("new-failures", "below-target", "flagged")
TERMINAL_STATUSES = frozenset({"processed", "failed", "quarantined"})
GLOB_CHARS = frozenset("*?[")
# What a directory argument expands to (recursively): every format passline reads;
# the server sniffs each file's format from its content.
REPORT_GLOBS = ("*.xml", "*.trx", "*.json", "*.jsonl", "*.xml.gz", "*.trx.gz", "*.json.gz")


class UsageError(Exception):
    """A problem with the invocation itself (exit 2)."""


def parser_build() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="passline-upload",
        description=(
            "Upload test reports to passline (gzipped, retried, idempotent): JUnit XML, "
            "NUnit 2/3, xUnit.net, TRX, CTRF JSON or go test -json. A directory stands "
            f"for the reports under it ({', '.join(REPORT_GLOBS)})."
        ),
        epilog="Exit codes: 0 accepted, 2 usage/no files, 3 refused or failed, 4 gave up, "
        "5 a chosen --gate failed.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE_GLOB_OR_DIR", help="reports to send")
    parser.add_argument("--url", help="passline base URL (env PASSLINE_URL)")
    parser.add_argument("--token", help="upload token (env PASSLINE_TOKEN; prefer the env)")
    parser.add_argument("--run", help="run key shared by all shards (default: from CI env)")
    parser.add_argument("--branch", help="branch (default: from CI env)")
    parser.add_argument("--commit", help="commit SHA (default: from CI env)")
    parser.add_argument("--build-url", help="link to the CI build (default: from CI env)")
    parser.add_argument("--category", help="put every result of this upload in a category")
    parser.add_argument("--final", action="store_true", help="this is the run's last shard")
    parser.add_argument(
        "--pr", type=_positive_int, help="pull/merge request number (default: from CI env)"
    )
    parser.add_argument(
        "--base-commit", help="commit the PR is based on; the verdict compares with its run"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=5, help="retries after the first try")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait until processed and the run's verdict is ready, then print the verdict",
    )
    parser.add_argument(
        "--gate",
        action="append",
        choices=GATES,
        default=[],
        help="exit 5 when this gate fails (repeatable; implies --wait)",
    )
    parser.add_argument(
        "--wait-timeout", type=float, default=600.0, help="seconds to wait (default 600)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent")
    return parser


def _positive_int(text: str) -> int:
    number = pr_number(text)
    if not number:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(number)


def files_expand(patterns: Sequence[str]) -> list[Path]:
    """Return the files named or matched by ``patterns``, in order, without duplicates.

    A directory stands for the report files under it (REPORT_GLOBS, recursively), such
    as `TestResults/` of `dotnet test --logger trx`. Raise ``UsageError`` when a pattern
    or directory matches nothing or a path is not a file, so a wrong path in CI fails
    loudly instead of uploading an empty run.
    """
    found: dict[Path, None] = {}
    for pattern in patterns:
        if Path(pattern).is_dir():
            base = Path(pattern)
            matches = sorted({m for g in REPORT_GLOBS for m in base.rglob(g) if m.is_file()})
            if not matches:
                raise UsageError(f"no report file ({', '.join(REPORT_GLOBS)}) under {pattern!r}")
        elif GLOB_CHARS & set(pattern):
            matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise UsageError(f"no file matches {pattern!r} (working dir {os.getcwd()})")
        else:
            path = Path(pattern)
            if not path.is_file():
                raise UsageError(f"{pattern!r} is not a file")
            matches = [path]
        found.update(dict.fromkeys(matches))
    return list(found)


def upload_endpoint(base_url: str) -> str:
    """Return the uploads endpoint for a passline base URL (which may have a path prefix)."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http(s) URL, got {base_url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/api/v1/uploads"):
        path += "/api/v1/uploads"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def metadata_fields(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    """Return the form fields: explicit options win over the CI environment."""
    ci = ci_context_detect(env)
    fields = {
        "run": args.run or ci.run,
        "branch": args.branch or ci.branch,
        "commit": args.commit or ci.commit,
        "build_url": args.build_url or ci.build_url,
        "category": args.category or "",
        "pr": str(args.pr) if args.pr else ci.pr,
        "base_commit": args.base_commit or ci.base_commit,
    }
    fields = {name: value for name, value in fields.items() if value}
    if args.final:
        fields["final"] = "true"
    return fields


def refusal_message(response: Response) -> str:
    """Return one line describing a refused request, from the server's JSON error."""
    data = response.json()
    code = data.get("error") or "refused"
    detail = data.get("detail") or response.body.decode("utf-8", "replace")[:300].strip()
    return f"upload refused: HTTP {response.status} {code}: {detail}"


def _say(message: str) -> None:
    print(f"passline-upload: {message}", file=sys.stderr)


def _poll(
    url: str,
    *,
    done: Callable[[dict], bool],
    headers: dict[str, str],
    args: argparse.Namespace,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    deadline: float,
) -> tuple[int | None, dict]:
    """GET ``url`` with backoff (1 s doubling to 10 s) until ``done(body)`` or ``deadline``.

    Return (None, body) when done, else (exit code, last body): 3 for a refusal, 4 for
    giving up (no answer after retries, or the deadline passed).
    """
    interval = 1.0
    while True:
        response, _ = send_with_retries(
            lambda: request_send(url, headers=headers, timeout=args.timeout),
            policy=policy,
            sleep=sleep,
            log=_say,
        )
        if response.status != 200:
            _say(refusal_message(response) if response.status else response.body.decode())
            return (EXIT_REFUSED if 400 <= response.status < 500 else EXIT_GAVE_UP), {}
        data = response.json()
        if done(data):
            return None, data
        if time.monotonic() + interval > deadline:
            return EXIT_GAVE_UP, data
        sleep(interval)
        interval = min(interval * 2, 10.0)


def verdict_endpoint(endpoint: str, *, project: str, run: str) -> str:
    """Return the verdict URL of ``run`` beside the uploads ``endpoint``."""
    api = endpoint[: -len("/uploads")]
    quote = urllib.parse.quote
    return f"{api}/projects/{quote(project, safe='')}/runs/{quote(run, safe='')}/verdict"


def summary_append(path: str, markdown: str) -> None:
    """Append ``markdown`` to GitHub's job summary file; a failure is only reported."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    except OSError as error:
        _say(f"could not write the job summary {path}: {error}")


def verdict_wait(
    verdict_url: str,
    *,
    endpoint: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    deadline: float,
    env: Mapping[str, str],
) -> int:
    """Poll the run's verdict until ready, print it, write the summary; return the exit code.

    Without ``--gate``, a run that is not complete (another part is to come) is not
    waited for: its verdict so far is printed and the exit code is 0. With a gate, the
    verdict must be final (complete and ready) or the wait gives up (4).
    """

    def done(data: dict) -> bool:
        return bool(data.get("ready")) or (not args.gate and not data.get("complete"))

    code, data = _poll(
        verdict_url,
        done=done,
        headers=headers,
        args=args,
        policy=policy,
        sleep=sleep,
        deadline=deadline,
    )
    if code is not None:
        if code == EXIT_GAVE_UP and data:
            if not data.get("complete"):
                _say(
                    f"run {data.get('run')} is not complete after {args.wait_timeout:.0f}s: "
                    "send its last part with --final"
                )
            else:
                _say(f"the verdict of run {data.get('run')} is not ready after "
                     f"{args.wait_timeout:.0f}s; giving up")  # fmt: skip
        return code
    url = urllib.parse.urljoin(endpoint, str(data.get("url", "")))
    if not data.get("ready"):
        print("the run is not complete yet (its last part is sent with --final); so far:")
    print(verdict_text(data, gates=args.gate, url=url), end="")
    if env.get("GITHUB_STEP_SUMMARY"):
        summary_append(env["GITHUB_STEP_SUMMARY"], verdict_markdown(data, gates=args.gate, url=url))
    failing = failed_gates(data, args.gate)
    if failing:
        _say(f"gate failed: {', '.join(failing)}")
        return EXIT_GATE_FAILED
    return EXIT_OK


def upload_wait(
    status_url: str,
    *,
    endpoint: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    env: Mapping[str, str],
) -> int:
    """Wait for the upload's processing, then for the run's verdict; return the exit code."""
    deadline = time.monotonic() + args.wait_timeout
    code, data = _poll(
        status_url,
        done=lambda d: d.get("status", "") in TERMINAL_STATUSES,
        headers=headers,
        args=args,
        policy=policy,
        sleep=sleep,
        deadline=deadline,
    )
    if code is not None:
        if code == EXIT_GAVE_UP and data:
            status = data.get("status") or "unknown"
            _say(f"still {status} after {args.wait_timeout:.0f}s; giving up")
        return code
    status = data["status"]
    counts = data.get("counts") or {}
    summary = " ".join(f"{name}={value}" for name, value in counts.items())
    print(f"{status}: {summary}".strip())
    if status != "processed":
        _say(f"processing {status}: {data.get('error') or 'no detail'}")
        return EXIT_REFUSED
    if not data.get("project") or not data.get("run"):
        if args.gate:
            _say("the server does not say the upload's project; cannot read the verdict")
            return EXIT_GAVE_UP
        return EXIT_OK
    verdict_url = verdict_endpoint(endpoint, project=data["project"], run=data["run"])
    return verdict_wait(
        verdict_url,
        endpoint=endpoint,
        headers=headers,
        args=args,
        policy=policy,
        sleep=sleep,
        deadline=deadline,
        env=env,
    )


def run(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Parse ``argv``, upload, and return the process exit code.

    ``passline-upload quarantine ...`` prints the quarantine list instead
    (``passline_upload.quarantine``).
    """
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["quarantine"]:
        return quarantine.run(argv[1:], env=env, sleep=sleep)
    args = parser_build().parse_args(argv)
    try:
        endpoint = upload_endpoint(args.url or env.get("PASSLINE_URL", ""))
        token = args.token or env.get("PASSLINE_TOKEN", "")
        if not token:
            raise UsageError("no token: pass --token or set PASSLINE_TOKEN")
        if args.retries < 0 or args.timeout <= 0:
            raise UsageError("--retries must be >= 0 and --timeout > 0")
        files = files_expand(args.files)
    except UsageError as error:
        _say(str(error))
        return EXIT_USAGE

    fields = metadata_fields(args, env)
    if args.dry_run:
        print(f"POST {endpoint}")
        for name, value in fields.items():
            print(f"  {name}={value}")
        for path in files:
            print(f"  file={path}")
        return EXIT_OK

    body = multipart_build(fields, files)
    # One key per invocation: every retry below is the same logical upload.
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    policy = RetryPolicy(retries=args.retries)
    response, attempts = send_with_retries(
        lambda: request_send(
            endpoint,
            method="POST",
            headers={**headers, "Content-Type": body.content_type},
            body=body.body,
            timeout=args.timeout,
        ),
        policy=policy,
        sleep=sleep,
        log=_say,
    )
    if response.status in (200, 202):
        data = response.json()
        status_url = urllib.parse.urljoin(endpoint, str(data.get("url", "")))
        print(f"upload {data.get('id')} {data.get('status')} run={data.get('run')} {status_url}")
        if not (args.wait or args.gate):
            return EXIT_OK
        read_headers = {"Authorization": headers["Authorization"]}
        return upload_wait(
            status_url,
            endpoint=endpoint,
            headers=read_headers,
            args=args,
            policy=policy,
            sleep=sleep,
            env=env,
        )
    if 300 <= response.status < 400:
        where = response.headers.get("location", "another address")
        _say(f"the server redirects to {where}; pass that address (https?) as --url")
        return EXIT_USAGE
    if response.status == 0 or response.status >= 500 or response.status in (408, 429):
        last = f"HTTP {response.status}" if response.status else response.body.decode()
        plural = "s" if attempts != 1 else ""
        _say(f"gave up after {attempts} attempt{plural}; last answer: {last}")
        return EXIT_GAVE_UP
    _say(refusal_message(response))
    return EXIT_REFUSED


def main() -> int:
    """Console-script entry point."""
    return run(sys.argv[1:])
