"""passline-upload: PR numbers from CI, and --wait/--gate against a fake and a live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passline_upload import cli
from passline_upload.ci_env import ci_context_detect
from passline_upload.verdict_text import verdict_markdown, verdict_text
from tests.test_uploader_cli import (
    ACCEPTED,
    FakePassline,
    cli_subprocess,
    live_project,  # noqa: F401 (fixture)
    multipart_parts,
    report,  # noqa: F401 (fixture)
    sleeps,  # noqa: F401 (fixture)
    upload,
)

# --- PR numbers from the CI environment ------------------------------------------------


@pytest.mark.parametrize(
    ("env", "pr"),
    [
        ({"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/42/merge"}, "42"),
        ({"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main"}, ""),
        ({"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "17"}, "17"),
        ({"GITLAB_CI": "true"}, ""),
        ({"JENKINS_URL": "x", "CHANGE_ID": "8"}, "8"),
        ({"BUILDKITE": "true", "BUILDKITE_PULL_REQUEST": "123"}, "123"),
        ({"BUILDKITE": "true", "BUILDKITE_PULL_REQUEST": "false"}, ""),
        (
            {"CIRCLECI": "true", "CIRCLE_PULL_REQUEST": "https://github.com/acme/shop/pull/55"},
            "55",
        ),
        ({"CIRCLECI": "true", "CIRCLE_PULL_REQUEST": "https://github.com/acme/shop"}, ""),
        ({"TF_BUILD": "True", "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "9"}, "9"),
        ({"TF_BUILD": "True", "SYSTEM_PULLREQUEST_PULLREQUESTID": "301"}, "301"),
        ({"JENKINS_URL": "x", "CHANGE_ID": "not-a-number"}, ""),
        ({"HOME": "/root"}, ""),
    ],
)
def test_detects_the_pull_request_number(env, pr):
    assert ci_context_detect(env).pr == pr


def test_github_event_file_gives_the_number_and_base_commit(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 77, "base": {"sha": "b45e"}}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/main"}
    found = ci_context_detect(env | {"GITHUB_EVENT_PATH": str(event)})
    assert (found.pr, found.base_commit) == ("77", "b45e")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert ci_context_detect(env | {"GITHUB_EVENT_PATH": str(broken)}).pr == ""
    assert ci_context_detect(env | {"GITHUB_EVENT_PATH": str(tmp_path / "none")}).pr == ""


def test_pr_option_overrides_the_environment_and_is_sent(report, sleeps):  # noqa: F811
    with FakePassline([ACCEPTED]) as fake:
        code = upload(
            ["--url", fake.url, "--token", "t", "--pr", "5", str(report)],
            sleeps,
            env={"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "17"},
        )
    assert code == 0
    fields = {
        p.get_param("name", header="content-disposition"): p
        for p in multipart_parts(fake.requests[0])
    }
    assert fields["pr"].get_content() == "5"


@pytest.mark.parametrize("bad", ["0", "abc", "-1", "1.5"])
def test_a_bad_pr_option_is_a_usage_error(report, sleeps, bad, capsys):  # noqa: F811
    with pytest.raises(SystemExit) as exit_info:
        upload(["--url", "http://h", "--token", "t", "--pr", bad, str(report)], sleeps)
    assert exit_info.value.code == cli.EXIT_USAGE
    assert "positive integer" in capsys.readouterr().err


# --- the verdict's text and Markdown ---------------------------------------------------

VERDICT = {
    "run": "pr-7",
    "ready": True,
    "complete": True,
    "base": {"run": "m2", "branch": "main", "commit": "abc"},
    "pass_rate": 0.8,
    "delta_points": -5.0,
    "new_failures": [
        {
            "classname": "pkg.Cart",
            "name": f"test_{i}|x",
            "category": "Cart",
            "outcome": "failed",
            "message": "AssertionError: boom",
            "failing_since": "pr-7",
        }
        for i in range(25)
    ],
    "new_failures_total": 25,
    "fixed_total": 2,
    "still_failing": 3,
    "flaky_total": 0,
    "quarantined": 0,
    "gates": {"new-failures": "fail", "below-target": "fail", "flagged": "pass"},
}


def test_text_lists_at_most_20_new_failures_with_failing_since():
    text = verdict_text(VERDICT, gates=["new-failures"], url="https://p/x")
    assert text.splitlines()[0] == (
        "passline: run pr-7 against main (m2): pass rate 80.0% (-5.00 pts); "
        "25 new failures, 2 fixed, 3 still failing"
    )
    assert text.count("failing since pr-7") == 20 and "… and 5 more" in text
    assert "Gates: new-failures FAIL" in text and text.rstrip().endswith("https://p/x")


def test_quarantined_new_failures_are_listed_apart_not_as_new_failures():
    held = dict(VERDICT["new_failures"][0], name="test_held", quarantined=True)
    verdict = dict(
        VERDICT,
        new_failures=[*VERDICT["new_failures"][:2], held],
        new_failures_total=3,
        quarantined_new_failures=1,
        quarantined=4,
        gates={"new-failures": "fail"},
    )
    text = verdict_text(verdict, gates=["new-failures"], url="https://p/x")
    assert text.splitlines()[0].endswith(
        "2 new failures, 1 failing in quarantine, 2 fixed, 3 still failing, 4 quarantined"
    )
    assert "New failures (2):" in text
    assert text.count("test_held") == 1
    assert "Failing in quarantine (1, no gate fails on them): pkg.Cart::test_held" in text
    markdown = verdict_markdown(verdict, gates=[], url="u")
    assert "**New failures (2)**" in markdown and markdown.count("test\\_held") == 1
    assert "**Failing in quarantine (1)**: pkg.Cart::test\\_held (no gate" in markdown


def test_markdown_escapes_cells_and_stays_small_with_huge_names():
    huge = dict(VERDICT)
    huge["new_failures"] = [
        dict(item, name="n" * 5000, message="m" * 5000) for item in VERDICT["new_failures"]
    ]
    markdown = verdict_markdown(huge, gates=["flagged"], url="https://p/x")
    assert len(markdown) < 20_000
    assert markdown.startswith("### ✅ passline:")  # the chosen gate (flagged) passes
    assert "test\\_0\\|x" in verdict_markdown(VERDICT, gates=[], url="u")


# --- --wait / --gate against a fake server ----------------------------------------------

PROCESSED = (200, {}, {"id": 7, "status": "processed", "run": "r1", "project": "shop"})


def test_a_gate_on_a_run_that_never_completes_gives_up_with_4(report, sleeps, capsys):  # noqa: F811
    incomplete = (200, {}, {**VERDICT, "run": "r1", "ready": False, "complete": False})
    with FakePassline([ACCEPTED, PROCESSED, incomplete]) as fake:
        code = upload(
            [
                *("--url", fake.url, "--token", "t", "--gate", "new-failures"),
                *("--wait-timeout", "0", str(report)),
            ],
            sleeps,
        )
    assert code == cli.EXIT_GAVE_UP
    assert fake.requests[2]["path"] == "/api/v1/projects/shop/runs/r1/verdict"
    assert "is not complete" in capsys.readouterr().err


def test_wait_without_gate_prints_the_verdict_so_far_of_an_incomplete_run(report, sleeps, capsys):  # noqa: F811
    incomplete = (200, {}, {**VERDICT, "ready": False, "complete": False})
    with FakePassline([ACCEPTED, PROCESSED, incomplete]) as fake:
        code = upload(["--url", fake.url, "--token", "t", "--wait", str(report)], sleeps)
    assert code == cli.EXIT_OK
    assert "the run is not complete yet" in capsys.readouterr().out


# --- against a live passline server ---------------------------------------------------

BASE_REPORT = b"""<testsuite name="shop">
  <testcase classname="shop.Cart" name="test_add"/>
  <testcase classname="shop.Cart" name="test_remove"/>
  <testcase classname="shop.Cart" name="test_total"><failure message="off by one"/></testcase>
</testsuite>"""
REGRESSED_REPORT = b"""<testsuite name="shop">
  <testcase classname="shop.Cart" name="test_add"/>
  <testcase classname="shop.Cart" name="test_remove">
    <failure message="KeyError: 'sku'&#10;trace"/></testcase>
  <testcase classname="shop.Cart" name="test_total"/>
</testsuite>"""


def _write(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_live_gate_exits_5_on_a_new_failure_and_0_when_fixed(live_server, live_project, tmp_path):  # noqa: F811
    _, token = live_project
    env = {"PASSLINE_TOKEN": token}
    base = cli_subprocess(
        [
            *("--url", live_server.url, "--run", "main-1", "--branch", "main", "--final"),
            *("--wait", str(_write(tmp_path, "base.xml", BASE_REPORT))),
        ],
        env=env,
    )
    assert base.returncode == 0, base.stdout + base.stderr
    assert "passline: run main-1 (no base run)" in base.stdout

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    regressed = cli_subprocess(
        [
            *("--url", live_server.url, "--run", "pr-7", "--branch", "feature", "--final"),
            *("--gate", "new-failures", "--gate", "flagged", "--pr", "7"),
            str(_write(tmp_path, "pr.xml", REGRESSED_REPORT)),
        ],
        env=env | {"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert regressed.returncode == cli.EXIT_GATE_FAILED, regressed.stdout + regressed.stderr
    out = regressed.stdout
    assert "passline: run pr-7 against main (main-1): pass rate 66.7% (+0.00 pts); " in out
    assert "1 new failure, 1 fixed, 0 still failing" in out
    assert (
        "shop.Cart::test_remove (failed, failing since pr-7, Uncategorized): KeyError: 'sku'" in out
    )
    assert "Gates: new-failures FAIL, flagged ok" in out
    assert f"{live_server.url}/p/shop/runs/pr-7/" in out
    assert "gate failed: new-failures" in regressed.stderr
    written = summary.read_text()
    assert written.startswith("earlier step\n### ❌ passline: run pr-7 against main")
    assert (
        "| shop.Cart::test\\_remove | Uncategorized | failed | pr-7 | KeyError: 'sku' |" in written
    )
    assert f"[Open the run in passline]({live_server.url}/p/shop/runs/pr-7/)" in written

    fixed = cli_subprocess(
        [
            *("--url", live_server.url, "--run", "pr-7b", "--branch", "feature", "--final"),
            *("--gate", "new-failures", str(_write(tmp_path, "ok.xml", BASE_REPORT))),
        ],
        env=env | {"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "0 new failures" in fixed.stdout and "Gates: new-failures ok" in fixed.stdout
    assert "### ✅ passline: run pr-7b" in summary.read_text()
    below = cli_subprocess(
        [
            *("--url", live_server.url, "--run", "pr-7c", "--branch", "feature", "--final"),
            *("--gate", "below-target", str(_write(tmp_path, "ok2.xml", BASE_REPORT))),
        ],
        env=env,
    )
    assert below.returncode == cli.EXIT_GATE_FAILED, below.stdout + below.stderr
    assert "Gates: below-target FAIL" in below.stdout
