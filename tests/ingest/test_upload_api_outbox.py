# ruff: noqa: F811 (pytest fixtures imported from upload_api_helpers)
"""The database is the outbox: a POST is answered once the upload is committed.

Publishing its processing happens after commit in a background thread, so a broker
that hangs or is down never delays or fails the answer; the dispatcher publishes later.
"""

import threading

import pytest

from ingest import dispatcher
from ingest.models import Upload
from passline.celery import app
from tests.factories import ProjectFactory
from tests.ingest.upload_api_helpers import (
    REPORT,
    URL,
    upload_token,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(db):
    return ProjectFactory(slug="shop")


def test_post_is_answered_while_the_broker_hangs_then_fails(
    live_server,
    upload_token,
    monkeypatch,
):
    import json
    import urllib.request

    release = threading.Event()
    attempts = []

    def hanging_broker(upload_id):
        attempts.append(upload_id)
        release.wait(30)
        raise ConnectionRefusedError("broker down")

    app.conf.task_always_eager = False  # restored by the autouse _eager_celery fixture
    monkeypatch.setattr("ingest.tasks.upload_process.delay", hanging_broker)
    monkeypatch.setattr(dispatcher, "_publisher", dispatcher._Publisher())
    request = urllib.request.Request(
        live_server.url + URL + "?run=r1",
        data=REPORT,
        headers={
            "Authorization": f"Bearer {upload_token[1]}",
            "Content-Type": "application/xml",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, json.load(response)
    finally:
        release.set()
    # Answered while the publish was still hanging: the request never waited for it.
    assert status == 202
    assert body["status"] == "queued"
    upload = Upload.objects.get(pk=body["id"])
    assert upload.status == Upload.Status.QUEUED
    assert upload.dispatched_at is None  # left to the dispatcher
    assert upload.files.count() == 1
