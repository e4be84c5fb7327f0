"""Ingest's signals after commit: every receiver runs, whatever another one does."""

import logging

import pytest
from kombu.exceptions import OperationalError as BrokerDown

from dashboard.models import DeriveBacklog, DeriveClaim
from ingest import signals
from notify import services as notify_services
from notify.models import FeedbackRequest
from tests.factories import ProjectFactory, RunFactory

pytestmark = pytest.mark.django_db


def test_a_failing_receiver_is_logged_and_the_others_still_run(
    django_capture_on_commit_callbacks, caplog
):
    seen = []

    def fails(sender, **kwargs):
        raise RuntimeError("boom")

    def records(sender, **kwargs):
        seen.append(kwargs["project_id"])

    signals.project_recategorized.connect(fails, dispatch_uid="test-fails")
    signals.project_recategorized.connect(records, dispatch_uid="test-records")
    try:
        with (
            caplog.at_level(logging.ERROR, logger="passline.ops"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            signals.send_after_commit(signals.project_recategorized, project_id=7)
    finally:
        signals.project_recategorized.disconnect(dispatch_uid="test-fails")
        signals.project_recategorized.disconnect(dispatch_uid="test-records")
    assert seen == [7]
    (failure,) = [r for r in caplog.records if "receiver failed" in r.message]
    assert failure.receiver.endswith("fails") and failure.exc_info[0] is RuntimeError


def test_a_broker_down_at_completion_keeps_the_derive_and_feedback_requests(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    # The run completes as the broker goes away: the derive pass cannot be published.
    # Its backlog row and queued claim wait for derive_sweep, and notify still records
    # the run's feedback request (before, the derive publish raised and notify's
    # receiver never ran: the run's PR comment and webhooks were lost).
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = ProjectFactory()
    notify_services.webhook_create(
        project=project, kind="generic", url="http://127.0.0.1:9/x", events=["run.completed"]
    )
    run = RunFactory(project=project)

    def broker_down(*args, **kwargs):
        raise BrokerDown("connection refused")

    monkeypatch.setattr("dashboard.derive.backlog._enqueue", broker_down)
    monkeypatch.setattr("dashboard.tasks.derive_pass.delay", broker_down)
    monkeypatch.setattr("notify.tasks.run_notify.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        signals.send_after_commit(signals.run_completed, run_id=run.pk, project_id=project.pk)
    assert DeriveBacklog.objects.filter(run=run).exists()
    assert DeriveClaim.objects.get(project=project).queued
    request = FeedbackRequest.objects.get(run=run)
    assert request.published_at is None  # left to feedback_sweep
