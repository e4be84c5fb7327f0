"""A completed run's message sent by a real Celery worker over the real broker.

Needs PostgreSQL and a broker (CI has both): the worker is another process reading the
test database; it consumes a queue of this test's own, with every task this process
queues routed to it, and the ``notify`` queue.
"""

import os
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from notify import services
from notify.models import Delivery
from tests.conftest import skip_unless_service
from tests.ingest.test_worker_e2e import Worker, _broker_reachable
from tests.notify.conftest import head_run, make_project
from tests.notify.helpers import complete
from tests.notify.servers import FakeGitHub, FakeSlack

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings, tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs DATABASE_URL=postgres://… (CI runs it)")
    url = os.environ.get("CELERY_BROKER_URL", "")
    skip_unless_service(_broker_reachable(url), f"no reachable broker at {url!r}")
    from passline.celery import app

    queue = f"passline-notify-{uuid.uuid4().hex[:12]}"
    keys = ("task_always_eager", "broker_url", "task_default_queue", "task_routes")
    saved = {k: app.conf[k] for k in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False, broker_url=url, task_default_queue=queue, task_routes={}
    )
    monkeypatch.setenv("PASSLINE_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("PASSLINE_BASE_URL", "https://passline.example.com")
    # The worker routes the deliveries it queues itself by the production routes (the
    # ``notify`` queue): it consumes that queue too.
    process = Worker(
        broker={"url": url, "queue": f"{queue},notify"},
        media_root=Path(settings.MEDIA_ROOT),
        log=tmp_path / "worker.log",
    )
    try:
        yield process
    finally:
        process.stop()
        app.conf.update(saved)


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
