"""A completed run's message sent by a real Celery worker over the real broker.

Needs PostgreSQL and a broker (CI has both): the worker is another process reading the
test database; it consumes a queue of this test's own, with every task this process
queues routed to it, and the ``notify`` queue.
"""

import time
from pathlib import Path

import pytest

from notify import services
from notify.models import Delivery
from tests.ingest.test_worker_e2e import Worker, broker  # noqa: F401 (fixture)
from tests.notify.conftest import head_run, make_project
from tests.notify.helpers import complete
from tests.notify.servers import FakeGitHub, FakeSlack

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(broker, settings, tmp_path, monkeypatch):  # noqa: F811
    """A worker on this test's own queues, the notify queue included."""
    monkeypatch.setenv("PASSLINE_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("PASSLINE_BASE_URL", "https://passline.example.com")
    process = Worker(broker=broker, media_root=Path(settings.MEDIA_ROOT), log=tmp_path / "w.log")
    try:
        yield process
    finally:
        process.stop()


def test_worker_posts_the_pr_comment_and_the_chat_message(
    worker, settings, django_capture_on_commit_callbacks
):
    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = make_project()
    with FakeGitHub() as github, FakeSlack() as slack:
        services.forge_set(
            project=project, kind="github", repo="acme/shop", token=github.token, api_url=github.url
        )
        services.webhook_create(
            project=project, kind="slack", url=f"{slack.url}/s", events=["run.completed"]
        )
        run = head_run(project, "pr-1", branch="feat", pr=7)
        complete(django_capture_on_commit_callbacks, run)
        deadline = time.time() + 60
        while time.time() < deadline and not (slack.requests and github.statuses):
            time.sleep(0.2)
        assert [c["issue"] for c in github.comments.values()] == [7]
        assert github.statuses[0]["context"] == "passline/shop"
        assert "run pr-1" in slack.requests[0].json()["text"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_worker_sends_a_quarantine_to_chat(worker, settings, django_capture_on_commit_callbacks):
    """The lifecycle payload crosses the broker as JSON and the notify queue sends it."""
    from dashboard.services.quarantine import test_quarantine
    from ingest.models import Test

    settings.PASSLINE_WEBHOOK_ALLOW_PRIVATE = True
    project = make_project()
    login = Test.objects.get(project=project, name="test_login")
    with FakeSlack() as slack:
        services.webhook_create(
            project=project, kind="slack", url=f"{slack.url}/s", events=["test.quarantined"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            test_quarantine(project=project, test=login, reason="port clash", actor="user:ann")
        deadline = time.time() + 60
        while time.time() < deadline and not slack.requests:
            time.sleep(0.2)
        body = slack.requests[0].json()
        assert body["text"] == "Quarantined in Shop: pkg::test_login\nReason: port clash"
    [delivery] = Delivery.objects.all()
    assert (delivery.event, delivery.status, delivery.run_id) == (
        "test.quarantined",
        "succeeded",
        None,
    )
