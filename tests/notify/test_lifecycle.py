"""Lifecycle events (test.quarantined, quarantine.expired, digest.weekly) delivered end to end.

The services raise ``lifecycle_event`` after commit; notify's receiver records a delivery
per subscribed webhook and hands each to the background publisher, which sends it. Here the
on-commit callbacks run (eager Celery) and local servers record what arrives.
"""

import hashlib
import hmac
from datetime import timedelta

import pytest

from dashboard.codeowners.services import codeowners_set
from dashboard.derive.detect import run_detect
from dashboard.lifecycle.events import lifecycle_event
from dashboard.lifecycle.policy import policy_set
from dashboard.services.quarantine import quarantines_expire, test_quarantine
from dashboard.tasks import digests_weekly_send
from ingest.models import Test
from notify import services
from notify.models import Delivery, DeliveryAttempt
from tests.dashboard.analytics_data import make_run
from tests.factories import ProjectFactory
from tests.notify.conftest import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]
SECRET = "lifecycle-secret"
LETTERS = {"p": (1, False), "f": (2, False), "r": (1, True)}
CODEOWNERS = "* @org/core\n/src/net/ @org/net @bob\n"


def runs(project, tests: dict[str, str], *, start: int = 0) -> None:
    """One complete default-branch run per letter, each followed by detection."""
    for i in range(max(len(h) for h in tests.values())):
        results = [
            (name, *LETTERS[letters[i]][:1], "A", LETTERS[letters[i]][1])
            for name, letters in tests.items()
            if i < len(letters)
        ]
        run = make_run(project, f"r{start + i}", at(start + i), results)
        run_detect(run_id=run.pk)


@pytest.fixture
def shop():
    project = ProjectFactory(slug="shop", name="Shop")
    runs(project, {"test_io": "pppp", "steady": "pppp"})
    Test.objects.filter(project=project, name="test_io").update(file="src/net/test_io.py")
    codeowners_set(project=project, text=CODEOWNERS, source="api")
    return project


def hook(project, kind: str, url: str, events: list[str], secret: str = ""):
    return services.webhook_create(
        project=project, kind=kind, url=url, events=events, secret=secret
    )


def test_io(project) -> Test:
    return Test.objects.get(project=project, name="test_io")


test_io.__test__ = False


def test_a_person_quarantining_sends_a_signed_generic_webhook(
    shop, receiver, django_capture_on_commit_callbacks
):
    webhook = hook(shop, "generic", f"{receiver.url}/in", ["test.quarantined"], SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        state = test_quarantine(
            project=shop, test=test_io(shop), reason="races on port 8001", actor="user:ann"
        )

    [request] = receiver.requests
    assert request.headers["x-passline-event"] == "test.quarantined"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-passline-signature"], f"sha256={expected}")
    body = request.json()
    test = test_io(shop)
    assert body == {
        "event": "test.quarantined",
        "project": "shop",
        "test": {
            "project": "shop",
            "test_id": test.pk,
            "classname": "pkg",
            "name": "test_io",
            "file": "src/net/test_io.py",
            "owners": ["@org/net", "@bob"],
            "state": "quarantined",
            "reason": "races on port 8001",
            "by": "user:ann",
            "since": state.since.isoformat(),
            "expires": state.expires_at.isoformat(),
            "url": f"https://passline.example.com/p/shop/tests/{test.pk}/",
        },
        "url": f"https://passline.example.com/p/shop/tests/{test.pk}/",
    }
    delivery = Delivery.objects.get(webhook=webhook)
    assert request.headers["x-passline-delivery"] == str(delivery.uuid)
    assert (delivery.run, delivery.event, delivery.detail) == (
        None,
        "test.quarantined",
        "pkg::test_io",
    )
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == 200


def test_auto_detection_quarantine_sends_a_slack_message(
    shop, slack, django_capture_on_commit_callbacks
):
    hook(shop, "slack", f"{slack.url}/services/T0/B0/X", ["test.quarantined"])
    policy_set(project_id=shop.pk, action="quarantine")
    with django_capture_on_commit_callbacks(execute=True):
        runs(shop, {"test_io": "rr", "steady": "pp"}, start=10)

    [request] = slack.requests  # steady is not flaky: one message
    body = request.json()
    assert body["text"].startswith("Quarantined in Shop: pkg::test_io\nReason: ")
    section = body["blocks"][1]["text"]["text"]
    assert "By: automatic detection (pass on retry)" in section
    assert "Owners: @org/net, @bob" in section
    assert "Until: " in section and " UTC (renew it to keep it longer)" in section
    link = body["blocks"][2]["elements"][0]["text"]
    assert link == (
        f"<https://passline.example.com/p/shop/tests/{test_io(shop).pk}/|Open the test in passline>"
    )
    assert Delivery.objects.get(event="test.quarantined").status == Delivery.Status.SUCCEEDED


def test_expiry_sends_quarantine_expired_to_teams(shop, teams, django_capture_on_commit_callbacks):
    webhook = hook(shop, "teams", f"{teams.url}/workflows/1", ["quarantine.expired"])
    test_quarantine(
        project=shop, test=test_io(shop), reason="slow CI", actor="command", days=3, now=at(0)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert quarantines_expire(now=at(24 * 4)) == 1

    [request] = teams.requests  # the quarantine itself was not subscribed
    card = request.json()["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"]]
    assert texts[0] == "Quarantine expired in Shop: pkg::test_io"
    assert "Quarantined since 2026-03-01 00:00 UTC, expired 2026-03-04 00:00 UTC" in texts[1]
    assert "Reason it was quarantined: slow CI" in texts
    assert "By: a command" in texts and "Owners: @org/net, @bob" in texts
    assert card["actions"][0]["url"].endswith(f"/p/shop/tests/{test_io(shop).pk}/")
    assert Delivery.objects.get(webhook=webhook).status == Delivery.Status.SUCCEEDED


def test_weekly_digest_is_sent_per_project_with_its_flaky_tests(
    shop, receiver, slack, django_capture_on_commit_callbacks, time_machine
):
    other = ProjectFactory(slug="other", name="Other")
    runs(other, {"fine": "pppp"})
    generic = hook(shop, "generic", f"{receiver.url}/shop", ["digest.weekly"], SECRET)
    chat = hook(shop, "slack", f"{slack.url}/services/T0/B0/X", ["digest.weekly"])
    quiet = hook(other, "generic", f"{receiver.url}/other", ["digest.weekly"])
    runs(shop, {"test_io": "rr", "steady": "pp"}, start=10)  # suggest (the default)
    time_machine.move_to(at(24), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert digests_weekly_send() == 1  # "other" has nothing to report

    [request] = receiver.requests
    assert request.path == "/shop" and request.headers["x-passline-event"] == "digest.weekly"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-passline-signature"] == f"sha256={expected}"
    digest = request.json()["digest"]
    assert digest["counts"] == {"flaky": 1, "quarantined": 0, "expiring": 0, "suggested": 1}
    [flaky] = digest["flaky"]
    assert flaky["test"] == "pkg::test_io" and flaky["owners"] == ["@org/net", "@bob"]
    assert flaky["url"] == f"https://passline.example.com/p/shop/tests/{test_io(shop).pk}/"
    assert digest["markdown"].startswith("# Flaky tests this week: Shop")
    assert request.json()["url"] == "https://passline.example.com/p/shop/flaky/"

    [message] = slack.requests
    section = message.json()["blocks"][1]["text"]["text"]
    assert section.startswith("1 flaky (1 suggested for quarantine), 0 quarantined")
    assert (
        f"<https://passline.example.com/p/shop/tests/{test_io(shop).pk}/|• pkg::test_io — "
        "33.3% flaky, broke 0 of 6 runs, @org/net, @bob>"
    ) in section
    statuses = {d.webhook_id: d.status for d in Delivery.objects.all()}
    assert statuses == {generic.pk: "succeeded", chat.pk: "succeeded"}
    assert quiet.pk not in statuses


def test_only_subscribed_active_webhooks_and_one_delivery_per_event(
    shop, receiver, django_capture_on_commit_callbacks
):
    wanted = hook(shop, "generic", f"{receiver.url}/a", ["test.quarantined"])
    hook(shop, "generic", f"{receiver.url}/b", ["regression", "quarantine.expired"])
    off = hook(shop, "generic", f"{receiver.url}/c", ["test.quarantined"])
    off.is_active = False
    off.save()
    test, sent = test_io(shop), []
    lifecycle_event.connect(lambda **kwargs: sent.append(kwargs), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            test_quarantine(project=shop, test=test, reason="x", actor="user:ann")
    finally:
        lifecycle_event.disconnect(dispatch_uid="t")
    [first] = sent
    for _ in range(2):  # the same event signalled again
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle_event.send(
                sender=None, event=first["event"], project_id=shop.pk, payload=first["payload"]
            )
    assert [r.path for r in receiver.requests] == ["/a"]
    assert Delivery.objects.get().webhook == wanted
    # Renewing is a new event (a new expiry): one more message.
    with django_capture_on_commit_callbacks(execute=True):
        test_quarantine(project=shop, test=test, reason="x", actor="user:ann", days=60)
    assert [r.path for r in receiver.requests] == ["/a", "/a"]


def test_a_failed_lifecycle_delivery_is_retried_like_run_events(
    shop, receiver, django_capture_on_commit_callbacks
):
    webhook = hook(shop, "generic", f"{receiver.url}/in", ["test.quarantined"])
    receiver.fail_next(503)
    with django_capture_on_commit_callbacks(execute=True):
        test_quarantine(project=shop, test=test_io(shop), reason="x", actor="user:ann")
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 503
    assert services.deliveries_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == [
        delivery.pk
    ]
    outcome = services.delivery_send(
        delivery_id=delivery.pk, now=delivery.next_attempt_at + timedelta(seconds=1)
    )
    assert outcome.status == Delivery.Status.SUCCEEDED
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["x-passline-delivery"] == second.headers["x-passline-delivery"]
    assert [a.status_code for a in DeliveryAttempt.objects.filter(delivery=delivery)] == [200, 503]


def test_quarantining_on_the_page_never_waits_for_the_broker(
    shop, receiver, deliveries_handed, django_capture_on_commit_callbacks
):
    """With a broker, the request records the delivery and only hands its id over."""
    hook(shop, "generic", f"{receiver.url}/in", ["test.quarantined"], SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        test_quarantine(project=shop, test=test_io(shop), reason="flaky", actor="user:ann")
    delivery = Delivery.objects.get(event="test.quarantined")
    assert deliveries_handed == [delivery.pk]
    assert delivery.status == Delivery.Status.PENDING and receiver.requests == []
