# ruff: noqa: F811 (pytest fixtures imported from fault_fixtures)
"""Fault: the broker stops and starts under a running worker with uploads in flight.

The production shape on the test's own RabbitMQ node: gunicorn, one prefork worker,
beat. While the broker is down every POST is still answered 202 (the upload is
committed; publishing is left to the dispatcher), the same worker process consumes
again soon after the broker is back, and every accepted upload is processed exactly
once, with default settings. Every completed run's webhook delivery arrives too,
including the in-flight run's, which completed while the broker was down (its
feedback request waited for ``feedback_sweep``, which beat sends every 5 s here:
``PASSLINE_SWEEP_INTERVAL_SECONDS``, a minute by default).
"""

import time

import pytest

from ingest.models import Upload
from ingest.services.tokens import token_create
from notify import services as notify_services
from notify.models import Delivery, FeedbackRequest
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

# Big enough to be still processing once the broker has stopped (about 1 s after the
# signal here, against about 3 s to process this many): the redelivery after the outage
# is what the test is about.
IN_FLIGHT_CASES = 300_000
SMALL_CASES = 200
DURING_OUTAGE = 20
OUTAGE_SECONDS = 10
HEALTHY = 10


def processed(pk: int) -> bool:
    return Upload.objects.filter(pk=pk, status=Upload.Status.PROCESSED).exists()


def test_broker_restart_under_a_running_worker_loses_nothing(stack, rabbit, receiver):
    project = ProjectFactory(slug="faults")
    _, token = token_create(project=project, scope="upload", name="ci")
    notify_services.webhook_create(
        project=project, kind="generic", url=receiver.url + "/hook", events=["run.completed"]
    )
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
    in_flight = Upload.objects.get(pk=big).status
    record(
        "broker",
        f"in-flight upload status once the broker stopped ({time.monotonic() - stopped:.1f} s "
        f"after the signal): {in_flight}",
    )
    assert in_flight == Upload.Status.PROCESSING, "the upload finished before the broker stopped"

    during = [post(SMALL_CASES) for _ in range(DURING_OUTAGE)]
    record(
        "broker", f"POST latency with the broker down: {latency_summary(during, baseline=healthy)}"
    )
    assert all(a.status == 202 for a in during)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))

    left = FeedbackRequest.objects.filter(published_at__isnull=True).count()
    record("broker", f"run feedback requests left unpublished by the outage: {left}")
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

    # Feedback: one run.completed delivery per run, the outage's included.
    runs = set(Upload.objects.filter(pk__in=[*expected, final]).values_list("run_id", flat=True))
    delivered = Delivery.objects.filter(run__in=runs, status=Delivery.Status.SUCCEEDED)
    states = Delivery.objects.filter(run__in=runs).values_list(
        "run_id", "status", "attempts", "last_status_code", "last_error"
    )
    wait_until(
        lambda: delivered.count() == len(runs),
        timeout=150,  # a request the outage left waits 30 s, then for the sweep
        what=lambda: (
            f"every run's webhook delivery ({len(runs)} runs; deliveries: {list(states)}; "
            f"requests left: {list(FeedbackRequest.objects.values_list('run_id', 'published_at'))})"
        ),
        logs=stack.logs,
    )
    record(
        "broker", f"broker back -> every run's webhook delivered: {time.monotonic() - back:.1f} s"
    )
    assert len(receiver.requests) == len(runs)
    assert not FeedbackRequest.objects.filter(done_at__isnull=True).exists()
