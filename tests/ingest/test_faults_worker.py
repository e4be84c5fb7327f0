# ruff: noqa: F811 (pytest fixtures imported from fault_fixtures)
"""Fault: a worker SIGKILLed in the middle of an upload; its supervisor starts another.

With the default settings the killed worker's upload is processed again within two
minutes (in practice seconds: RabbitMQ redelivers the unacknowledged message at once and
the dead worker's claim lock went with its database connection), once, with exact
counts; POSTs meanwhile are accepted as usual.
"""

import time

import pytest

from ingest.models import Result, Upload
from ingest.services.tokens import token_create
from tests.factories import ProjectFactory
from tests.ingest.fault_fixtures import assert_nothing_lost, rabbit, stack  # noqa: F401
from tests.ingest.fault_services import (
    Uploader,
    latency_summary,
    record,
    request,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.fault, pytest.mark.django_db(transaction=True)]

BIG_CASES = 150_000
SMALL_CASES = 200
HEALTHY = 10


def test_killed_worker_upload_is_processed_once_within_two_minutes(stack):
    _, token = token_create(project=ProjectFactory(slug="faults"), scope="upload", name="ci")
    stack.start_web()
    first = stack.start_worker()
    stack.start_beat()
    ci = Uploader(stack.url, token)
    expected, post = ci.expected, ci.post
    healthy = ci.baseline(cases=SMALL_CASES, count=HEALTHY)
    warm = [a.json()["id"] for a in healthy]
    wait_until(
        lambda: (
            Upload.objects.filter(pk__in=warm, status=Upload.Status.PROCESSED).count() == HEALTHY
        ),
        timeout=90,
        what="warm-up",
        logs=stack.logs,
    )
    big = post(BIG_CASES).json()["id"]
    wait_until(
        lambda: Upload.objects.filter(pk=big, status=Upload.Status.PROCESSING).exists(),
        timeout=90,
        what="the worker to claim the big upload",
        logs=stack.logs,
    )
    time.sleep(0.5)  # well into parsing and writing
    first.kill()
    killed = time.monotonic()
    upload = Upload.objects.get(pk=big)
    if upload.status == Upload.Status.PROCESSED:
        pytest.skip("the worker finished before it could be killed; nothing to prove")
    # Killed mid-transaction: nothing half-stored, the upload still claimed.
    assert upload.status == Upload.Status.PROCESSING
    assert not Result.objects.filter(run_id=upload.run_id).exists()

    during = [post(SMALL_CASES) for _ in range(5)]
    record(
        "worker-kill", f"POST latency with no worker: {latency_summary(during, baseline=healthy)}"
    )

    stack.start_worker()  # what the supervisor (compose: restart: unless-stopped) does
    wait_until(
        lambda: Upload.objects.filter(pk=big, status=Upload.Status.PROCESSED).exists(),
        timeout=120,
        what="the killed worker's upload to be processed",
        logs=stack.logs,
    )
    record(
        "worker-kill",
        f"SIGKILL -> upload of {BIG_CASES} cases processed by the restarted worker: "
        f"{time.monotonic() - killed:.1f} s",
    )
    wait_until(
        lambda: (
            not Upload.objects.filter(pk__in=expected)
            .exclude(status=Upload.Status.PROCESSED)
            .exists()
        ),
        timeout=120 - (time.monotonic() - killed),
        what="every accepted upload to be processed",
        logs=stack.logs,
    )
    assert Upload.objects.get(pk=big).attempts == 2
    assert_nothing_lost(expected)
    health = request(stack.url + "/healthz")
    assert health.status == 200, health.body
