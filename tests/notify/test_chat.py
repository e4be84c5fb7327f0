"""Slack and Teams messages against local servers that check their wire formats."""

import pytest

from notify import services
from notify.models import Delivery
from tests.notify.conftest import head_run
from tests.notify.helpers import complete

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def test_slack_regression_message_is_short_and_names_what_changed(
    project, slack, django_capture_on_commit_callbacks
):
    hook = services.webhook_create(
        project=project,
        kind="slack",
        url=f"{slack.url}/services/T000/B000/XXXX",
        events=["regression"],
    )
    complete(django_capture_on_commit_callbacks, head_run(project))

    [request] = slack.requests
    assert request.path == "/services/T000/B000/XXXX"
    body = request.json()
    assert body["text"].startswith("Regression in Shop · main · run m2: 1 new failure")
    section = body["blocks"][1]["text"]["text"]
    assert "Pass rate 90.0% (-5.0 pts vs main), target 90.0%: reached" in section
    assert "• pkg.test_login (Auth)" in section
    assert body["blocks"][2]["elements"][0]["text"] == (
        "<https://passline.example.com/p/shop/runs/m2/|Open the run in passline>"
    )
    assert Delivery.objects.get(webhook=hook).status == Delivery.Status.SUCCEEDED
    assert "X-Passline-Signature".lower() not in request.headers


def test_slack_escapes_names_for_mrkdwn(project, slack, django_capture_on_commit_callbacks):
    from notify.chat import slack as slack_format

    verdict = {
        "run": "r",
        "branch": "main",
        "new_failures": [{"classname": "a<b>", "name": "t&u"}],
    }
    body, _ = slack_format.build(event="regression", verdict=verdict, project="P", detail="")
    assert b"a&amp;lt;b&amp;gt;" not in body and b"a&lt;b&gt;.t&amp;u" in body


def test_teams_message_is_an_adaptive_card_accepted_by_the_workflow(
    project, teams, django_capture_on_commit_callbacks
):
    hook = services.webhook_create(
        project=project,
        kind="teams",
        url=f"{teams.url}/workflows/abc/triggers/manual/paths/invoke?sig=xyz",
        events=["run.completed", "regression"],
    )
    complete(django_capture_on_commit_callbacks, head_run(project))

    assert len(teams.requests) == 2
    assert set(Delivery.objects.filter(webhook=hook).values_list("status", flat=True)) == {
        Delivery.Status.SUCCEEDED
    }
    card = teams.requests[0].json()["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block["text"] for block in card["body"]]
    assert any("Pass rate 90.0%" in t for t in texts)
    assert card["actions"][0]["url"] == "https://passline.example.com/p/shop/runs/m2/"


def test_target_reached_is_sent_once_and_again_only_after_dropping_below(
    project, slack, django_capture_on_commit_callbacks
):
    # m1: 19/20 = 95% >= 90% (first seen). Later runs: below, then at the target again.
    services.webhook_create(
        project=project, kind="slack", url=f"{slack.url}/s", events=["target.reached"]
    )
    from tests.dashboard.analytics_data import F, P, make_run
    from tests.notify.conftest import COMMON, at

    def run(key, hours, failing):
        results = [*COMMON, ("test_login", P, "Auth"), ("test_cart", P, "Cart")]
        results = [(n, F if i < failing else o, c) for i, (n, o, c) in enumerate(results)]
        made = make_run(project, key, at(hours), results)
        complete(django_capture_on_commit_callbacks, made)
        return len(slack.requests)

    assert run("a", 1, 0) == 1  # 100%: first time at the target (project and both categories)
    assert "Target reached" in slack.requests[0].json()["text"]
    assert run("b", 2, 1) == 1  # 95%: still reached, nothing new
    assert run("c", 3, 4) == 1  # 80%: dropped below
    assert run("d", 4, 0) == 2  # 100%: reached again
    assert "Shop at 100.0% (target 90%)" in slack.requests[1].json()["text"]
