"""passline-upload: CI detection, retries and exit codes, against a fake and a live server."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from passline_upload import cli
from passline_upload.ci_env import ci_context_detect
from passline_upload.transport import RetryPolicy, retry_after_seconds, send_with_retries

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="cli" tests="3">
  <testcase classname="cli.Example" name="test_one" time="0.1"/>
  <testcase classname="cli.Example" name="test_two" time="0.2"><failure message="no"/></testcase>
  <testcase classname="cli.Example" name="test_three"><skipped/></testcase>
</testsuite>
"""


class FakePassline:
    """A tiny HTTP server that answers from a script and records every request."""

    def __init__(self, script: list[tuple[int, dict, dict]]):
        self.script = list(script)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                status, headers, body = fake.script.pop(0) if fake.script else (500, {}, {})
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


ACCEPTED = (202, {}, {"id": 7, "status": "queued", "url": "/api/v1/uploads/7", "run": "r1"})


def multipart_parts(request: dict) -> list:
    """Parse a recorded multipart body into email parts."""
    head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request["body"])
    return list(message.iter_parts())


@pytest.fixture
def report(tmp_path) -> Path:
    path = tmp_path / "reports" / "junit.xml"
    path.parent.mkdir()
    path.write_bytes(REPORT)
    return path


@pytest.fixture
def sleeps() -> list[float]:
    return []


def upload(argv, sleeps, env=None):
    return cli.run(argv, env=env or {}, sleep=sleeps.append)


# --- CI environment detection -------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_ID": "991",
                "GITHUB_RUN_ATTEMPT": "2",
                "GITHUB_REF_NAME": "main",
                "GITHUB_SHA": "abc123",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "acme/shop",
            },
            ("github", "991-2", "main", "abc123", "https://github.com/acme/shop/actions/runs/991"),
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_PIPELINE_ID": "55",
                "CI_COMMIT_REF_NAME": "dev",
                "CI_COMMIT_SHA": "def",
                "CI_PIPELINE_URL": "https://gitlab.example/p/-/pipelines/55",
            },
            ("gitlab", "55", "dev", "def", "https://gitlab.example/p/-/pipelines/55"),
        ),
        (
            {
                "JENKINS_URL": "https://ci/",
                "BUILD_TAG": "jenkins-shop-12",
                "GIT_BRANCH": "origin/release",
                "GIT_COMMIT": "f00",
                "BUILD_URL": "https://ci/job/shop/12/",
            },
            ("jenkins", "jenkins-shop-12", "release", "f00", "https://ci/job/shop/12/"),
        ),
        (
            {"JENKINS_URL": "https://ci/", "JOB_NAME": "shop", "BUILD_NUMBER": "13"},
            ("jenkins", "shop-13", "", "", ""),
        ),
        (
            {
                "CIRCLECI": "true",
                "CIRCLE_WORKFLOW_ID": "wf-1",
                "CIRCLE_BRANCH": "main",
                "CIRCLE_SHA1": "c1",
                "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/shop/1",
            },
            ("circleci", "wf-1", "main", "c1", "https://circleci.com/gh/acme/shop/1"),
        ),
        (
            {
                "BUILDKITE": "true",
                "BUILDKITE_BUILD_ID": "bk-1",
                "BUILDKITE_BRANCH": "main",
                "BUILDKITE_COMMIT": "b1",
                "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/shop/builds/1",
            },
            ("buildkite", "bk-1", "main", "b1", "https://buildkite.com/acme/shop/builds/1"),
        ),
        (
            {
                "TF_BUILD": "True",
                "BUILD_BUILDID": "321",
                "BUILD_SOURCEBRANCHNAME": "main",
                "BUILD_SOURCEVERSION": "a1",
                "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
                "SYSTEM_TEAMPROJECT": "Shop App",
            },
            (
                "azure",
                "321",
                "main",
                "a1",
                "https://dev.azure.com/acme/Shop%20App/_build/results?buildId=321",
            ),
        ),
        ({"HOME": "/root"}, ("", "", "", "", "")),
    ],
)
def test_detects_ci_metadata_from_standard_variables(env, expected):
    found = ci_context_detect(env)
    assert (found.provider, found.run, found.branch, found.commit, found.build_url) == expected


def test_github_pull_request_uses_head_branch_not_merge_ref():
    found = ci_context_detect(
        {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "1", "GITHUB_REF_NAME": "42/merge"}
        | {"GITHUB_HEAD_REF": "feature/login"}
    )
    assert found.branch == "feature/login"
    assert found.run == "1-1"


def test_jenkins_multibranch_name_wins_over_git_branch():
    found = ci_context_detect(
        {"JENKINS_URL": "x", "BRANCH_NAME": "PR-4", "GIT_BRANCH": "origin/feature"}
    )
    assert found.branch == "PR-4"


def test_explicit_options_override_ci_environment(report, sleeps, capsys):
    env = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "55", "CI_COMMIT_REF_NAME": "dev"}
    code = upload(
        ["--url", "http://h", "--token", "t", "--run", "mine", "--final", "--dry-run", str(report)],
        sleeps,
        env,
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "run=mine" in out and "branch=dev" in out and "final=true" in out


# --- Arguments and files -------------------------------------------------------------


def test_refuses_a_glob_that_matches_nothing(tmp_path, sleeps, capsys):
    code = upload(["--url", "http://h", "--token", "t", str(tmp_path / "*.xml")], sleeps)
    assert code == cli.EXIT_USAGE
    assert "no file matches" in capsys.readouterr().err


def test_a_directory_stands_for_every_report_format_under_it(tmp_path):
    (tmp_path / "TestResults" / "deep").mkdir(parents=True)
    names = ["a.trx", "b.json", "deep/c.xml", "deep/d.jsonl", "e.xml.gz", "notes.txt"]
    for name in names:
        (tmp_path / "TestResults" / name).write_bytes(b"x")
    found = cli.files_expand([str(tmp_path / "TestResults")])
    assert [p.relative_to(tmp_path / "TestResults").as_posix() for p in found] == [
        "a.trx",
        "b.json",
        "deep/c.xml",
        "deep/d.jsonl",
        "e.xml.gz",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(cli.UsageError, match="no report file"):
        cli.files_expand([str(tmp_path / "empty")])


def test_refuses_a_missing_file_and_a_missing_token(tmp_path, report, sleeps, capsys):
    assert upload(["--url", "http://h", "--token", "t", str(tmp_path / "no.xml")], sleeps) == 2
    assert "is not a file" in capsys.readouterr().err
    assert upload(["--url", "http://h", str(report)], sleeps) == 2
    assert "no token" in capsys.readouterr().err


def test_refuses_a_url_that_is_not_http(report, sleeps, capsys):
    assert upload(["--url", "file:///etc/passwd", "--token", "t", str(report)], sleeps) == 2
    assert "http(s) URL" in capsys.readouterr().err


def test_token_and_url_come_from_the_environment(report, sleeps):
    with FakePassline([ACCEPTED]) as fake:
        env = {"PASSLINE_URL": fake.url, "PASSLINE_TOKEN": "pl_env_token"}
        assert upload([str(report)], sleeps, env) == 0
    assert fake.requests[0]["headers"]["Authorization"] == "Bearer pl_env_token"
    assert fake.requests[0]["path"] == "/api/v1/uploads"


def test_sends_every_matched_file_gzipped_in_one_post(tmp_path, report, sleeps, capsys):
    already = report.parent / "other.xml.gz"
    already.write_bytes(gzip.compress(REPORT.replace(b"cli", b"gz")))
    with FakePassline([ACCEPTED]) as fake:
        code = upload(
            [
                *("--url", fake.url + "/", "--token", "t", "--branch", "main", "--final"),
                *(str(report.parent / "*.xml*"), str(report)),
            ],
            sleeps,
        )
    assert code == 0
    assert len(fake.requests) == 1
    parts = multipart_parts(fake.requests[0])
    fields = {p.get_param("name", header="content-disposition"): p for p in parts}
    assert fields["branch"].get_content() == "main"
    assert fields["final"].get_content() == "true"
    files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
    # The duplicate path named twice is sent once; the gzip input is not compressed again.
    assert [p.get_filename() for p in files] == ["junit.xml.gz", "other.xml.gz"]
    assert gzip.decompress(files[0].get_content()) == REPORT
    assert gzip.decompress(files[1].get_content()) == REPORT.replace(b"cli", b"gz")
    out = capsys.readouterr().out
    assert "upload 7 queued" in out and f"{fake.url}/api/v1/uploads/7" in out


# --- Retries -------------------------------------------------------------------------


def test_retries_503_honouring_retry_after_with_the_same_key_and_body(report, sleeps):
    script = [(503, {"Retry-After": "3"}, {"error": "unavailable"}), ACCEPTED]
    with FakePassline(script) as fake:
        code = upload(["--url", fake.url, "--token", "t", str(report)], sleeps)
    assert code == 0
    assert sleeps == [3.0]
    first, second = fake.requests
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert len(first["headers"]["Idempotency-Key"]) == 36
    assert first["body"] == second["body"]


def test_each_invocation_uses_a_new_idempotency_key(report, sleeps):
    with FakePassline([ACCEPTED, ACCEPTED]) as fake:
        upload(["--url", fake.url, "--token", "t", str(report)], sleeps)
        upload(["--url", fake.url, "--token", "t", str(report)], sleeps)
    keys = {r["headers"]["Idempotency-Key"] for r in fake.requests}
    assert len(keys) == 2


def test_gives_up_with_exit_4_after_the_retries(report, sleeps, capsys):
    script = [(503, {}, {}), (429, {}, {}), (502, {}, {})]
    with FakePassline(script) as fake:
        code = upload(["--url", fake.url, "--token", "t", "--retries", "2", str(report)], sleeps)
    assert code == cli.EXIT_GAVE_UP
    assert len(fake.requests) == 3
    assert len(sleeps) == 2
    assert "gave up after 3 attempts" in capsys.readouterr().err


def test_network_errors_are_retried_then_give_up(report, sleeps, capsys):
    with FakePassline([]) as fake:
        url = fake.url
    # The server is closed now: every attempt is refused at the TCP level.
    code = upload(["--url", url, "--token", "t", "--retries", "1", str(report)], sleeps)
    assert code == cli.EXIT_GAVE_UP
    assert len(sleeps) == 1
    assert "network error" in capsys.readouterr().err


@pytest.mark.parametrize("status", [400, 401, 403, 409, 413, 415, 422])
def test_refusal_prints_the_server_error_and_exits_3_without_retrying(
    report, sleeps, capsys, status
):
    body = {"error": "not_junit", "detail": "line 3, column 7: mismatched tag"}
    with FakePassline([(status, {}, body)]) as fake:
        code = upload(["--url", fake.url, "--token", "t", str(report)], sleeps)
    assert code == cli.EXIT_REFUSED
    assert len(fake.requests) == 1 and sleeps == []
    err = capsys.readouterr().err
    assert f"HTTP {status} not_junit" in err and "line 3, column 7" in err


def test_a_redirect_is_reported_not_followed_as_a_get(report, sleeps, capsys):
    script = [(301, {"Location": "https://passline.example.com/api/v1/uploads"}, {})]
    with FakePassline(script) as fake:
        code = upload(["--url", fake.url, "--token", "t", str(report)], sleeps)
    assert code == cli.EXIT_USAGE
    assert [r["method"] for r in fake.requests] == ["POST"]
    assert "redirects to https://passline.example.com/api/v1/uploads" in capsys.readouterr().err


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(retries=10, base_delay=1.0, max_delay=20.0)
    rng = random.Random(4)
    delays = [policy.delay(n, None, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(20.0, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert delays[4] > delays[0] * 4
    # A huge Retry-After is capped so a server cannot hold CI forever.
    assert policy.delay(1, 3600.0, rng) == 20.0


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("12", now=0) == 12.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert retry_after_seconds("soon", now=0) is None
    assert retry_after_seconds(None, now=0) is None


def test_send_with_retries_stops_on_success():
    from passline_upload.transport import Response

    answers = iter([Response(0, {}, b"network error: reset"), Response(202, {}, b"{}")])
    waits: list[float] = []
    response, attempts = send_with_retries(
        lambda: next(answers), policy=RetryPolicy(retries=5), sleep=waits.append
    )
    assert (response.status, attempts, len(waits)) == (202, 2, 1)


# --- --wait ---------------------------------------------------------------------------


def test_wait_polls_until_processed_and_prints_counts(report, sleeps, capsys):
    counts = {"tests": 3, "passed": 1, "failed": 1, "error": 0, "skipped": 1, "flaky": 0}
    script = [
        ACCEPTED,
        (200, {}, {"id": 7, "status": "processing"}),
        (200, {}, {"id": 7, "status": "processed", "counts": counts}),
    ]
    with FakePassline(script) as fake:
        code = upload(["--url", fake.url, "--token", "t", "--wait", str(report)], sleeps)
    assert code == 0
    assert [r["method"] for r in fake.requests] == ["POST", "GET", "GET"]
    assert fake.requests[1]["path"] == "/api/v1/uploads/7"
    assert "processed: tests=3 passed=1 failed=1" in capsys.readouterr().out


def test_wait_exits_3_when_processing_failed(report, sleeps, capsys):
    script = [ACCEPTED, (200, {}, {"id": 7, "status": "failed", "error": "line 2: bad"})]
    with FakePassline(script) as fake:
        code = upload(["--url", fake.url, "--token", "t", "--wait", str(report)], sleeps)
    assert code == cli.EXIT_REFUSED
    assert "line 2: bad" in capsys.readouterr().err


def test_module_entry_point_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "passline_upload", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "Exit codes" in result.stdout


# --- Against a live passline server ----------------------------------------------------


def cli_subprocess(args, *, env=None):
    """Run ``python -m passline_upload`` as CI would, with a clean environment."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "passline_upload", *args],
        cwd=REPO_ROOT,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def live_project(transactional_db):
    from ingest.services.projects import project_create
    from ingest.services.tokens import token_create

    project = project_create(slug="shop", name="Shop")
    _, plaintext = token_create(project=project, scope="upload", name="ci")
    return project, plaintext


def test_live_upload_is_accepted_processed_and_counted(live_server, live_project, report):
    from ingest.models import Upload

    project, token = live_project
    result = cli_subprocess(
        [
            *("--url", live_server.url, "--run", "pipeline-7", "--branch", "main"),
            *("--commit", "abc123", "--final", "--wait", str(report)),
        ],
        env={"PASSLINE_TOKEN": token},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "processed: tests=3 passed=1 failed=1 error=0 skipped=1" in result.stdout
    upload = Upload.objects.select_related("run").get(run__project=project)
    assert upload.status == Upload.Status.PROCESSED
    assert (upload.tests, upload.passed, upload.failed, upload.skipped) == (3, 1, 1, 1)
    assert upload.is_final and upload.idempotency_key
    assert (upload.run.key, upload.run.branch, upload.run.commit) == (
        "pipeline-7",
        "main",
        "abc123",
    )
    assert upload.run.is_complete
    assert f"{live_server.url}/api/v1/uploads/{upload.pk}" in result.stdout


def test_live_upload_reads_run_metadata_from_github_actions_env(live_server, live_project, report):
    from ingest.models import Run

    project, token = live_project
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REF_NAME": "main",
        "GITHUB_SHA": "feedbeef",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/shop",
    }
    result = cli_subprocess(
        ["--url", live_server.url, str(report)], env={"PASSLINE_TOKEN": token} | github
    )
    assert result.returncode == 0, result.stderr
    run = Run.objects.get(project=project)
    assert (run.key, run.branch, run.commit) == ("4242-1", "main", "feedbeef")
    assert run.build_url == "https://github.com/acme/shop/actions/runs/4242"


def test_live_upload_with_a_bad_token_exits_3_saying_unauthorized(
    live_server, live_project, report
):
    from ingest.models import Upload

    result = cli_subprocess(
        ["--url", live_server.url, "--token", "pl_upload_not-a-real-token", str(report)]
    )
    assert result.returncode == cli.EXIT_REFUSED
    assert "HTTP 401" in result.stderr and "unauthorized" in result.stderr.lower()
    assert "not-a-real-token" not in result.stderr + result.stdout
    assert not Upload.objects.exists()


def test_live_upload_of_a_non_junit_file_exits_3_with_the_server_detail(
    live_server, live_project, tmp_path
):
    from ingest.models import Upload

    _, token = live_project
    bogus = tmp_path / "notes.xml"
    bogus.write_text("this is not xml at all")
    result = cli_subprocess(["--url", live_server.url, "--token", token, "--wait", str(bogus)])
    assert result.returncode == cli.EXIT_REFUSED, result.stdout + result.stderr
    # Refused at intake (422) before anything is stored.
    assert "HTTP 422" in result.stderr, result.stderr
    assert not Upload.objects.exists()


def test_documented_invocations_are_valid_cli_arguments():
    import re
    import shlex

    recipes = (REPO_ROOT / "docs" / "ci-recipes.md").read_text()
    invocations = re.findall(r"(?:passline-upload|-m passline_upload) ([^\n`|]+)", recipes)
    final_uploads = 0
    invocations = [i for i in invocations if "--help" not in i and not i.startswith("[")]
    assert len(invocations) >= 4
    for line in invocations:
        args = cli.parser_build().parse_args(shlex.split(line.split(" #")[0]))
        final_uploads += args.final
        assert args.files
    # GitHub (2), GitLab and Jenkins each show an upload that completes the run.
    assert final_uploads >= 4
    assert recipes.count("if: always()") >= 3
    assert "when: always" in recipes and "post {" in recipes
