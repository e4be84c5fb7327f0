# ruff: noqa: F811 (pytest fixtures imported from fault_fixtures)
"""Fault: the broker stops and starts under a running worker with uploads in flight.

The production shape on the test's own RabbitMQ node: gunicorn, one prefork worker,
beat. While the broker is down every POST is still answered 202 (the upload is
committed; publishing is left to the dispatcher), the same worker process consumes
again soon after the broker is back, and every accepted upload is processed exactly
once, with default settings.
"""

import time

import pytest

from ingest.models import Upload
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

IN_FLIGHT_CASES = 100_000
SMALL_CASES = 200
DURING_OUTAGE = 20
OUTAGE_SECONDS = 10
HEALTHY = 10


def processed(pk: int) -> bool:
    return Upload.objects.filter(pk=pk, status=Upload.Status.PROCESSED).exists()


def test_broker_restart_under_a_running_worker_loses_nothing(stack, rabbit):
    _, token = token_create(project=ProjectFactory(slug="faults"), scope="upload", name="ci")
    stack.start_web()
    worker = stack.start_worker()
    stack.start_beat()
    ci = Uploader(stack.url, token)
    expected, post = ci.expected, ci.post
    healthy = ci.baseline(cases=SMALL_CASES, count=HEALTHY)
    wait_until(
        lambda: all(processed(a.json()["id"]) for a in healthy),
        timeout=90,
        what="warm-up",
        logs=stack.logs,
    )

    # An upload in flight: being processed when the broker goes away.
    big = post(IN_FLIGHT_CASES).json()["id"]
    wait_until(
        lambda: Upload.objects.filter(pk=big).exclude(status=Upload.Status.QUEUED).exists(),
        timeout=60,
        what="the worker to claim the big upload",
        logs=stack.logs,
    )
    stopped = time.monotonic()
    rabbit.stop()
    record("broker", f"in-flight upload status at broker stop: {Upload.objects.get(pk=big).status}")

    during = [post(SMALL_CASES) for _ in range(DURING_OUTAGE)]
    record(
        "broker", f"POST latency with the broker down: {latency_summary(during, baseline=healthy)}"
    )
    assert all(a.status == 202 for a in during)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))

    rabbit.start()
    back = time.monotonic()
    after = post(SMALL_CASES).json()["id"]
    wait_until(
        lambda: processed(after),
        timeout=30,
        what="the worker to consume again after the broker came back",
        logs=stack.logs,
    )
    consuming = time.monotonic() - back
    record(
        "broker", f"broker back -> same worker consuming (new upload processed): {consuming:.1f} s"
    )

    outage_ids = [a.json()["id"] for a in during]
    wait_until(
        lambda: (
            not Upload.objects.filter(pk__in=expected)
            .exclude(status=Upload.Status.PROCESSED)
            .exists()
        ),
        timeout=120 - consuming,
        what="every upload accepted during the outage to be processed",
        logs=stack.logs,
    )
    record(
        "broker",
        f"broker back -> all {len(outage_ids)} outage uploads + in-flight processed: "
        f"{time.monotonic() - back:.1f} s",
    )
    assert worker.alive(), "the worker process exited instead of reconnecting"
    record("broker", f"beat process survived the outage: {stack.beat.alive()}")
    assert len(stack.workers) == 1
    assert_nothing_lost(expected)

    # The service answers afterwards.
    health = request(stack.url + "/healthz")
    assert health.status == 200, health.body
    assert health.json()["checks"]["broker"] == "ok"
    final = post(SMALL_CASES).json()["id"]
    wait_until(lambda: processed(final), timeout=30, what="a last upload", logs=stack.logs)
    assert worker.alive()
