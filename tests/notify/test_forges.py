"""GitHub and GitLab: one sticky comment per PR and project, and a commit status."""

import re

import pytest

from notify import messages, services
from notify.models import Delivery, ForgeIntegration
from tests.notify.conftest import head_run
from tests.notify.helpers import complete

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]
MARKER = "<!-- passline:shop -->"


@pytest.fixture
def on_github(project, github):
    return services.forge_set(
        project=project, kind="github", repo="acme/shop", token=github.token, api_url=github.url
    )


@pytest.fixture
def on_gitlab(project, gitlab):
    return services.forge_set(
        project=project, kind="gitlab", repo="42", token=gitlab.token, api_url=gitlab.api_url
    )


def test_github_comment_is_created_once_then_updated_in_place(
    project, on_github, github, django_capture_on_commit_callbacks
):
    github.add_comment("acme/shop", 7, "LGTM from a human")
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))

    [comment] = [c for c in github.comments_on("acme/shop", 7) if MARKER in c["body"]]
    assert "1 new failure" in comment["body"] and "`pkg.test_login`" in comment["body"]
    first_id = comment["id"]
    assert github.statuses[-1]["state"] == "failure"
    assert github.statuses[-1]["context"] == "passline/shop"
    assert github.statuses[-1]["sha"] == "abc123"
    assert github.statuses[-1]["target_url"] == "https://passline.example.com/p/shop/runs/pr-1/"

    # The PR is fixed and pushed again: the same comment is edited, the status turns green.
    fixed = head_run(project, "pr-2", hours=2, branch="feat", pr=7, regress=False, commit="def456")
    complete(django_capture_on_commit_callbacks, fixed)
    ours = [c for c in github.comments_on("acme/shop", 7) if MARKER in c["body"]]
    assert [c["id"] for c in ours] == [first_id]
    assert "no change in failing tests" in ours[0]["body"] or "new failure" not in ours[0]["body"]
    assert len(github.comments_on("acme/shop", 7)) == 2
    methods = [(r.method, r.path.split("?")[0]) for r in github.requests]
    assert ("PATCH", f"/repos/acme/shop/issues/comments/{first_id}") in methods
    assert [m for m in methods if m[0] == "POST" and "comments" in m[1]] == [
        ("POST", "/repos/acme/shop/issues/7/comments")
    ]
    assert github.statuses[-1]["state"] == "success" and github.statuses[-1]["sha"] == "def456"


def test_github_requests_carry_the_documented_headers(
    project, on_github, github, django_capture_on_commit_callbacks
):
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))
    for request in github.requests:
        assert request.headers["authorization"] == "Bearer ghp_test"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
    assert Delivery.objects.get(forge=on_github).status == Delivery.Status.SUCCEEDED


def test_github_finds_its_comment_on_a_later_page(
    project, on_github, github, django_capture_on_commit_callbacks
):
    for i in range(130):
        github.add_comment("acme/shop", 7, f"comment {i}")
    existing = github.add_comment("acme/shop", 7, f"{MARKER}\nold verdict")
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))
    assert len(github.comments_on("acme/shop", 7)) == 131
    assert "old verdict" not in github.comments[existing]["body"]
    assert sum("page=2" in r.path for r in github.requests) == 1


def test_a_run_without_pr_posts_no_comment(
    project, on_github, github, django_capture_on_commit_callbacks
):
    complete(django_capture_on_commit_callbacks, head_run(project, "push", branch="feat"))
    assert github.requests == []


def test_a_wrong_token_is_logged_and_not_retried(
    project, github, django_capture_on_commit_callbacks
):
    forge = services.forge_set(
        project=project, kind="github", repo="acme/shop", token="wrong", api_url=github.url
    )
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))
    delivery = Delivery.objects.get(forge=forge)
    assert delivery.status == Delivery.Status.FAILED and delivery.last_status_code == 401
    assert "wrong" not in delivery.last_error


def test_gitlab_note_is_created_once_then_updated_and_status_uses_gitlab_states(
    project, on_gitlab, gitlab, django_capture_on_commit_callbacks
):
    gitlab.add_note("42", 3, "assigned to @dev", system=True)
    complete(django_capture_on_commit_callbacks, head_run(project, "mr-1", branch="feat", pr=3))
    [note] = [n for n in gitlab.notes_on("42", 3) if MARKER in n["body"]]
    assert gitlab.statuses[-1] == {
        "state": "failed",
        "name": "passline/shop",
        "description": gitlab.statuses[-1]["description"],
        "target_url": "https://passline.example.com/p/shop/runs/mr-1/",
        "project": "42",
        "sha": "abc123",
    }
    fixed = head_run(project, "mr-2", hours=2, branch="feat", pr=3, regress=False)
    complete(django_capture_on_commit_callbacks, fixed)
    ours = [n for n in gitlab.notes_on("42", 3) if MARKER in n["body"]]
    assert [n["id"] for n in ours] == [note["id"]]
    assert gitlab.statuses[-1]["state"] == "success"
    assert all(r.headers["private-token"] == "glpat-test" for r in gitlab.requests)
    assert ("PUT", f"/api/v4/projects/42/merge_requests/3/notes/{note['id']}") in [
        (r.method, r.path) for r in gitlab.requests
    ]


def test_gitlab_project_path_is_url_encoded(project, gitlab, django_capture_on_commit_callbacks):
    services.forge_set(
        project=project,
        kind="gitlab",
        repo="group/shop",
        token=gitlab.token,
        api_url=gitlab.api_url,
    )
    complete(django_capture_on_commit_callbacks, head_run(project, "mr-1", branch="feat", pr=3))
    assert gitlab.requests[0].path.startswith(
        "/api/v4/projects/group%2Fshop/merge_requests/3/notes"
    )


def test_forge_api_on_a_private_address_is_refused_without_the_setting(
    project, on_github, github, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = False
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))
    assert github.requests == []
    assert Delivery.objects.get(forge=on_github).status == Delivery.Status.REFUSED


def test_forge_retries_after_a_500(project, on_github, github, django_capture_on_commit_callbacks):
    github.fail_next(502)
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))
    delivery = Delivery.objects.get(forge=on_github)
    assert delivery.status == Delivery.Status.PENDING
    services.delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert len([c for c in github.comments_on("acme/shop", 7) if MARKER in c["body"]]) == 1


def test_comment_stays_under_60000_characters_and_lists_at_most_50_tests():
    tests = [
        {
            "classname": "pkg." + "x" * 200,
            "name": f"test_{i}",
            "category": "Auth",
            "owners": ["@org/auth"],
            "message": "boom " * 100,
            "failing_since": "r1",
        }
        for i in range(400)
    ]
    verdict = {
        "run": "r2",
        "branch": "feat",
        "pr": 7,
        "base": {"run": "r1", "branch": "main"},
        "pass_rate": 0.5,
        "delta_points": -10.0,
        "new_failures": tests,
        "new_failures_total": 400,
        "fixed": tests,
        "fixed_total": 400,
        "target": 0.9,
        "tests_needed": 100,
        "gates": {"new-failures": "fail"},
        "url": "https://p/x/",
    }
    body = messages.comment_markdown(
        verdict=verdict, slug="shop", project="Shop", gates=["new-failures"]
    )
    assert len(body) < 60_000
    assert body.startswith(MARKER)
    assert body.count("| `pkg.") == 100  # 50 new failures + 50 fixed
    assert "…and 350 more: [see the run](https://p/x/)." in body


def test_token_is_stored_encrypted(project, on_github):
    stored = ForgeIntegration.objects.values_list("token_encrypted", flat=True).get()
    assert "ghp_test" not in stored


def test_an_older_run_completing_late_does_not_overwrite_a_newer_verdict(
    project, on_github, github, django_capture_on_commit_callbacks
):
    older = head_run(project, "pr-1", hours=1, branch="feat", pr=7)
    newer = head_run(project, "pr-2", hours=2, branch="feat", pr=7, regress=False)
    complete(django_capture_on_commit_callbacks, newer)
    complete(django_capture_on_commit_callbacks, older)
    [comment] = github.comments_on("acme/shop", 7)
    assert "run pr-2" in comment["body"].lower() or "[pr-2]" in comment["body"]
    assert [s["state"] for s in github.statuses] == ["success"]
    assert Delivery.objects.get(run=older).status == Delivery.Status.SKIPPED


def test_a_quarantined_test_failing_is_no_new_failure_in_the_comment_or_status(
    project, on_github, github, django_capture_on_commit_callbacks
):
    from dashboard.services.quarantine import test_quarantine
    from ingest.models import Test

    login = Test.objects.get(project=project, name="test_login")
    test_quarantine(project=project, test=login, reason="flaky login", actor="user:ann")
    complete(django_capture_on_commit_callbacks, head_run(project, "pr-1", branch="feat", pr=7))

    [comment] = [c for c in github.comments_on("acme/shop", 7) if MARKER in c["body"]]
    body = comment["body"]
    assert not re.search(r"\d+ new failure", body) and "#### New failures" not in body
    assert "1 failing in quarantine" in body
    assert "#### Failing in quarantine (1)" in body and "`pkg.test_login`" in body
    assert github.statuses[-1]["state"] == "success"  # the new-failures gate passes
    assert github.statuses[-1]["description"].startswith("1 failing in quarantine")
