"""Generic webhooks against a local receiver: payload, signature, retries, idempotency."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from notify import services, tasks
from notify.models import Delivery, DeliveryAttempt, Webhook
from tests.notify.conftest import head_run
from tests.notify.helpers import complete

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]
SECRET = "s3cret-for-tests"


@pytest.fixture
def hook(project, receiver):
    return services.webhook_create(
        project=project,
        kind="generic",
        url=f"{receiver.url}/hooks/passline?x=1",
        events=["regression", "run.completed"],
        secret=SECRET,
    )


def test_regression_delivery_is_signed_json_with_event_and_delivery_headers(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    run = head_run(project)
    complete(django_capture_on_commit_callbacks, run)

    posts = {r.headers["x-passline-event"]: r for r in receiver.requests}
    assert set(posts) == {"regression", "run.completed"}
    request = posts["regression"]
    assert request.method == "POST" and request.path == "/hooks/passline?x=1"
    assert request.headers["content-type"] == "application/json"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-passline-signature"] == f"sha256={expected}"
    delivery = Delivery.objects.get(webhook=hook, event="regression")
    assert request.headers["x-passline-delivery"] == str(delivery.uuid)
    body = request.json()
    assert body["event"] == "regression" and body["project"] == "shop"
    assert body["run"]["run"] == "m2" and body["run"]["base"]["run"] == "m1"
    assert [t["name"] for t in body["run"]["new_failures"]] == ["test_login"]
    assert body["url"] == "https://passline.example.com/p/shop/runs/m2/"
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_signature_changes_with_the_secret(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    complete(django_capture_on_commit_callbacks, head_run(project))
    request = receiver.requests[0]
    wrong = hmac.new(b"other", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-passline-signature"] != f"sha256={wrong}"


def test_no_regression_message_when_nothing_changed(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    complete(django_capture_on_commit_callbacks, head_run(project, regress=False))
    assert [r.headers["x-passline-event"] for r in receiver.requests] == ["run.completed"]


def test_one_message_per_event_per_run_however_often_the_run_completes(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    run = head_run(project)
    for _ in range(3):  # duplicate signals, a retried task, late parts
        complete(django_capture_on_commit_callbacks, run)
    assert sorted(r.headers["x-passline-event"] for r in receiver.requests) == [
        "regression",
        "run.completed",
    ]
    assert Delivery.objects.filter(run=run).count() == 2


def test_retries_after_a_500_with_backoff_then_delivers_with_the_same_delivery_id(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    hook.events = ["regression"]
    hook.save()
    receiver.fail_next(500)
    complete(django_capture_on_commit_callbacks, head_run(project))

    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == Delivery.Status.PENDING and delivery.last_status_code == 500
    first = DeliveryAttempt.objects.get(delivery=delivery)
    assert delivery.next_attempt_at - first.at == dt.timedelta(seconds=5)
    # Not due yet: nothing is sent.
    assert services.delivery_send(delivery_id=delivery.pk).status == "not-due"
    outcome = services.delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert outcome.status == Delivery.Status.SUCCEEDED
    assert len(receiver.requests) == 2
    ids = {r.headers["x-passline-delivery"] for r in receiver.requests}
    assert ids == {str(delivery.uuid)}
    assert receiver.requests[0].body == receiver.requests[1].body
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0


def test_a_429_is_retried_after_its_retry_after(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    hook.events = ["regression"]
    hook.save()
    receiver.fail_next(429, headers={"Retry-After": "42"})
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 429 and not attempt.ok
    assert delivery.next_attempt_at - attempt.at == dt.timedelta(seconds=42)
    services.delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and len(receiver.requests) == 2


def test_a_4xx_other_than_429_is_not_retried(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    hook.events = ["regression"]
    hook.save()
    receiver.fail_next(410)
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == Delivery.Status.FAILED and delivery.next_attempt_at is None


def test_the_task_reschedules_itself_with_a_countdown_instead_of_sleeping(
    project, hook, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    hook.events = ["regression"]
    hook.save()
    receiver.fail_next(503, headers={"Retry-After": "3"})
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    services.delivery_redeliver(delivery=delivery)
    receiver.fail_next(503, headers={"Retry-After": "3"})
    scheduled = []
    monkeypatch.setattr(tasks, "_eager", lambda: False)
    monkeypatch.setattr(
        tasks.delivery_send,
        "apply_async",
        lambda args, countdown=None: scheduled.append((args, countdown)),
    )
    assert tasks.delivery_send(delivery.pk) == Delivery.Status.PENDING
    assert scheduled == [((delivery.pk,), 3.0)]


def test_gives_up_after_the_last_attempt(
    project, hook, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_NOTIFY_MAX_ATTEMPTS = 2
    hook.events = ["regression"]
    hook.save()
    receiver.fail_next(500, 500, 500)
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    services.delivery_send(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2
    assert len(receiver.requests) == 2


def test_webhook_is_disabled_after_20_consecutive_failures(project, hook, receiver):
    hook.events = ["run.completed"]
    hook.save()
    receiver.fail_next(*([500] * 40))
    now = timezone.now()
    for i in range(22):
        for delivery_id in services.run_notify(run_id=head_run(project, f"r{i}", hours=1 + i).pk):
            services.delivery_send(delivery_id=delivery_id, now=now)
        now += dt.timedelta(hours=2)  # past any pause
    hook.refresh_from_db()
    assert not hook.is_active and hook.consecutive_failures == 20
    assert "20 failed deliveries in a row" in hook.disabled_reason
    assert len(receiver.requests) == 20  # disabled: later runs send nothing
    services.webhook_enable(webhook=hook)
    hook.refresh_from_db()
    assert hook.is_active and hook.consecutive_failures == 0 and hook.paused_until is None


def test_after_three_failures_in_a_row_deliveries_wait_instead_of_each_timing_out(
    project, hook, receiver
):
    hook.events = ["run.completed"]
    hook.save()
    receiver.fail_next(500, 500, 500)
    now = timezone.now()
    for i in range(3):
        [delivery_id] = services.run_notify(run_id=head_run(project, f"r{i}", hours=1 + i).pk)
        services.delivery_send(delivery_id=delivery_id, now=now)
    hook.refresh_from_db()
    assert hook.paused_until == now + dt.timedelta(seconds=5)
    [waiting] = services.run_notify(run_id=head_run(project, "r3", hours=4).pk)
    outcome = services.delivery_send(delivery_id=waiting, now=now + dt.timedelta(seconds=1))
    assert outcome.status == "paused" and outcome.retry_in == 4
    assert len(receiver.requests) == 3
    delivery = Delivery.objects.get(pk=waiting)
    assert delivery.attempts == 0 and delivery.next_attempt_at == hook.paused_until
    # The pause is over: it is sent, and a success closes the circuit.
    assert services.delivery_send(delivery_id=waiting, now=hook.paused_until).status == "succeeded"
    hook.refresh_from_db()
    assert hook.paused_until is None and hook.consecutive_failures == 0


def test_loopback_receiver_is_refused_without_the_setting(
    project, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = False
    hook = services.webhook_create(
        project=project, kind="generic", url=f"{receiver.url}/x", events=["run.completed"]
    )
    complete(django_capture_on_commit_callbacks, head_run(project))
    assert receiver.requests == []
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == Delivery.Status.REFUSED
    assert "PASSLINE_WEBHOOK_ALLOW_PRIVATE" in delivery.last_error
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and "127.0.0.1" in attempt.error


def test_redeliver_sends_the_same_delivery_again(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    hook.events = ["run.completed"]
    hook.save()
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    assert services.delivery_redeliver(delivery=delivery)
    tasks.delivery_redeliver(delivery.pk)
    assert [r.headers["x-passline-delivery"] for r in receiver.requests] == [str(delivery.uuid)] * 2
    assert DeliveryAttempt.objects.filter(delivery=delivery, ok=True).count() == 2


def test_a_redelivery_whose_message_is_lost_is_sent_by_the_sweep(
    project, hook, receiver, django_capture_on_commit_callbacks
):
    """ "Redeliver" with the broker down: the publish fails, the beat sweep sends it."""
    hook.events = ["run.completed"]
    hook.save()
    complete(django_capture_on_commit_callbacks, head_run(project))
    delivery = Delivery.objects.get(webhook=hook)
    assert services.delivery_redeliver(delivery=delivery)  # its message never arrives
    assert services.deliveries_due() == [delivery.pk]
    tasks.deliveries_sweep()
    assert [r.headers["x-passline-delivery"] for r in receiver.requests] == [str(delivery.uuid)] * 2
    assert services.deliveries_due() == []


def test_the_webhook_url_and_secret_are_stored_encrypted(project, hook, receiver):
    stored = Webhook.objects.values("url_encrypted", "secret_encrypted").get(pk=hook.pk)
    assert receiver.url not in json.dumps(stored) and SECRET not in json.dumps(stored)
    assert hook.url_display == "http://127.0.0.1"


def test_a_receiver_that_hangs_costs_at_most_the_timeout(project, settings):
    import socket

    settings.PASSLINE_NOTIFY_TIMEOUT_SECONDS = 0.5
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        hook = services.webhook_create(
            project=project,
            kind="generic",
            url=f"http://127.0.0.1:{listener.getsockname()[1]}/",
            events=["run.completed"],
        )
        [delivery_id] = services.run_notify(run_id=head_run(project).pk)
        outcome = services.delivery_send(delivery_id=delivery_id)
    finally:
        listener.close()
    assert outcome.status == Delivery.Status.PENDING and outcome.retry_in == 5
    attempt = DeliveryAttempt.objects.get(delivery__webhook=hook)
    assert attempt.duration_ms < 2000 and "timed out" in attempt.error


def test_sweep_sends_due_retries_and_takes_over_stale_claims(project, hook, receiver):
    hook.events = ["run.completed"]
    hook.save()
    now = timezone.now()
    due, stale, later = (
        services.run_notify(run_id=head_run(project, key, hours=h).pk)[0]
        for key, h in (("a", 1), ("b", 2), ("c", 3))
    )
    Delivery.objects.filter(pk=due).update(next_attempt_at=now - dt.timedelta(seconds=1))
    Delivery.objects.filter(pk=stale).update(
        status=Delivery.Status.SENDING, claimed_at=now - dt.timedelta(minutes=6)
    )
    Delivery.objects.filter(pk=later).update(next_attempt_at=now + dt.timedelta(minutes=1))
    assert sorted(services.deliveries_due(now=now)) == sorted([due, stale])
    assert tasks.deliveries_sweep() == 2  # eager: sent at once
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {
        due: Delivery.Status.SUCCEEDED,
        stale: Delivery.Status.SUCCEEDED,
        later: Delivery.Status.PENDING,
    }
    assert len(receiver.requests) == 2
