"""A completed run's feedback: queued only when its project has somewhere to send, through
an outbox, so a broker outage at completion delays the feedback and never loses it."""

import datetime as dt

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from notify import receivers, services, tasks
from notify.models import Delivery, FeedbackRequest, Webhook
from tests.factories import ProjectFactory, RunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The broker: records each run_notify published."""
    calls = []
    monkeypatch.setattr("notify.tasks.run_notify.delay", calls.append)
    return calls


def complete(run, callbacks) -> None:
    with callbacks(execute=True):
        receivers.on_run_completed(sender=None, run_id=run.pk, project_id=run.project_id)


def webhook_on(project) -> Webhook:
    """Give `project` a generic run.completed webhook (nothing listens there)."""
    return services.webhook_create(
        project=project, kind="generic", url="http://127.0.0.1:9/x", events=["run.completed"]
    )


def with_webhook(**kwargs):
    project = ProjectFactory(**kwargs)
    webhook_on(project)
    return project


def test_a_project_without_webhook_or_forge_queues_nothing(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = ProjectFactory()
    complete(RunFactory(project=project), django_capture_on_commit_callbacks)
    hook = webhook_on(project)
    hook.is_active = False
    hook.save()
    complete(RunFactory(project=project), django_capture_on_commit_callbacks)  # disabled only
    assert queued == []
    assert not FeedbackRequest.objects.exists()


def test_an_active_webhook_or_a_forge_queues_the_task(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    with_forge = ProjectFactory()
    services.forge_set(project=with_forge, kind="github", repo="acme/shop", token="ghp_x")
    runs = [RunFactory(project=with_webhook()), RunFactory(project=with_forge)]
    for run in runs:
        complete(run, django_capture_on_commit_callbacks)
    assert queued == [run.pk for run in runs]
    # Published: the sweep leaves them to their tasks (until they look lost).
    assert FeedbackRequest.objects.filter(published_at__isnull=False).count() == 2
    assert services.feedback_due(now=timezone.now() + dt.timedelta(minutes=1)) == []


def test_a_broker_outage_at_completion_delays_the_feedback_and_loses_nothing(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    run = RunFactory(project=with_webhook())

    def broker_down(run_id):
        raise BrokerDown("connection refused")

    monkeypatch.setattr("notify.tasks.run_notify.delay", broker_down)
    complete(run, django_capture_on_commit_callbacks)  # the publish fails, the run is done
    request = FeedbackRequest.objects.get(run=run)
    assert request.published_at is None
    assert not Delivery.objects.filter(run=run).exists()
    now = timezone.now()
    assert services.feedback_due(now=now) == []  # its publish may still be on its way
    assert services.feedback_due(now=now + dt.timedelta(seconds=31)) == [run.pk]

    # The broker is back: the sweep publishes it; the worker records the deliveries.
    monkeypatch.setattr(
        "notify.tasks.run_notify.delay", lambda run_id: services.run_notify(run_id=run_id)
    )
    FeedbackRequest.objects.update(requested_at=now - dt.timedelta(seconds=31))
    assert tasks.feedback_sweep.apply().get() == 1
    assert Delivery.objects.filter(run=run, event="run.completed").count() == 1
    assert FeedbackRequest.objects.get(run=run).done_at is not None


def test_a_lost_request_is_published_again_and_given_up_after_a_day(queued, settings):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = with_webhook()
    lost, old = RunFactory(project=project), RunFactory(project=project)
    now = timezone.now()
    services.feedback_request(run_id=lost.pk)
    services.feedback_published([lost.pk], now=now)
    services.feedback_request(run_id=old.pk)
    FeedbackRequest.objects.filter(run=old).update(requested_at=now - dt.timedelta(hours=25))
    assert services.feedback_due(now=now + dt.timedelta(minutes=9)) == []
    assert services.feedback_due(now=now + dt.timedelta(minutes=11)) == [lost.pk]
    assert not FeedbackRequest.objects.filter(run=old).exists()  # given up, with a warning
    services.run_notify(run_id=lost.pk)
    assert FeedbackRequest.objects.get(run=lost).done_at is not None
    assert services.feedback_due(now=now + dt.timedelta(minutes=11)) == []


def test_a_run_whose_receiver_never_ran_gets_its_feedback_requested(queued, settings):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    now = timezone.now()
    early = dt.timedelta(minutes=5)
    before_hook = RunFactory(completed_at=now - early)
    project = before_hook.project
    webhook_on(project)
    missed = RunFactory(project=project, completed_at=now - dt.timedelta(minutes=2))
    just_now = RunFactory(project=project, completed_at=now)
    done = RunFactory(project=project, completed_at=now - dt.timedelta(minutes=2))
    services.feedback_request(run_id=done.pk)
    services.feedback_done(run_id=done.pk)
    other = RunFactory(completed_at=now - dt.timedelta(minutes=2))  # no receivers

    # Created after its project's webhook existed, completed over a minute ago, no request.
    Webhook.objects.filter(project=project).update(created_at=now - early + dt.timedelta(seconds=1))
    assert services.feedback_due(now=now) == [missed.pk]
    assert FeedbackRequest.objects.filter(run=missed, done_at__isnull=True).exists()
    for run in (before_hook, just_now, other):
        assert not FeedbackRequest.objects.filter(run=run).exists()
    tasks.feedback_sweep.apply()  # publishes it (the fake broker records it)
    assert queued[-1] == missed.pk
