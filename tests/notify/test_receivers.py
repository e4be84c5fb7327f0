"""A completed run queues notify's task only when its project has somewhere to send."""

import pytest

from notify import receivers, services
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("notify.receivers.run_notify_task.delay", calls.append)
    return calls


def complete(project, run_id: int, callbacks) -> None:
    with callbacks(execute=True):
        receivers.on_run_completed(sender=None, run_id=run_id, project_id=project.pk)


def test_a_project_without_webhook_or_forge_queues_nothing(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = ProjectFactory()
    complete(project, 1, django_capture_on_commit_callbacks)
    hook = services.webhook_create(
        project=project, kind="generic", url="http://127.0.0.1:9/x", events=["run.completed"]
    )
    hook.is_active = False
    hook.save()
    complete(project, 2, django_capture_on_commit_callbacks)  # a disabled webhook only
    assert queued == []


def test_an_active_webhook_or_a_forge_queues_the_task(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    with_hook, with_forge = ProjectFactory(), ProjectFactory()
    services.webhook_create(
        project=with_hook, kind="generic", url="http://127.0.0.1:9/x", events=["run.completed"]
    )
    services.forge_set(project=with_forge, kind="github", repo="acme/shop", token="ghp_x")
    complete(with_hook, 1, django_capture_on_commit_callbacks)
    complete(with_forge, 2, django_capture_on_commit_callbacks)
    assert queued == [1, 2]
