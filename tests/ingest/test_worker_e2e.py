"""Upload over HTTP, processed by a real `celery worker` process over a real broker.

Needs PostgreSQL (the worker is another process reading the test database) and a
broker in CELERY_BROKER_URL (RabbitMQ); CI provides both. Each test uses its own queues
(the three of passline/queues.py under a fresh PASSLINE_QUEUE_PREFIX), so concurrent
test runs on one broker never take each other's messages; the worker consumes all three.
The fault tests (worker killed, broker and database down) are in
tests/ingest/test_faults_*.py.
"""

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from dashboard.models import RunStats, TestStats, Trend
from ingest.models import Result, Upload
from passline import queues
from tests.conftest import REPO_ROOT, broker_reachable, skip_unless_service
from tests.ingest.fault_fixtures import test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(settings):
    """Switch this test process from eager Celery to the real broker, on a fresh queue."""
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs DATABASE_URL=postgres://… (CI runs it)")
    url = os.environ.get("CELERY_BROKER_URL", "")
    skip_unless_service(broker_reachable(url), f"no reachable broker at {url!r}")
    from passline.celery import app

    prefix = f"passline-e2e-{uuid.uuid4().hex[:12]}-"
    keys = ("task_always_eager", "broker_url", "task_default_queue", "task_routes")
    saved = {k: app.conf[k] for k in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False,
        broker_url=url,
        task_default_queue=prefix + queues.MAINTENANCE,
        task_routes=queues.task_routes(prefix),
    )
    _reset_router(app)
    try:
        yield {"url": url, "prefix": prefix, "queues": queues.queue_names(prefix)}
    finally:
        app.conf.update(saved)
        _reset_router(app)


def _reset_router(app) -> None:
    """Make Celery route with the current task_routes and default queue."""
    app.amqp.flush_routes()
    for cached in ("router", "queues"):
        app.amqp.__dict__.pop(cached, None)


class Worker:
    """A `celery -A passline worker` subprocess on the test database and media folder."""

    def __init__(self, *, broker: dict, media_root: Path, log: Path, env: dict | None = None):
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            **(env or {}),
            "MEDIA_ROOT": str(media_root),
            "CELERY_BROKER_URL": broker["url"],
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PASSLINE_QUEUE_PREFIX": broker["prefix"],
        }
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "passline", "worker"]
        # Every queue: ingest, derive and maintenance (as `make worker` does).
        command += ["--pool=solo", "--concurrency=1", "-Q", ",".join(broker["queues"])]
        command += ["--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle", "-n", f"{uuid.uuid4().hex}@e2e"]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(broker, settings, tmp_path):
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        worker = Worker(broker=broker, media_root=Path(settings.MEDIA_ROOT), log=log, env=env)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def token():
    call_command("createproject", "shop", "--name", "Shop", stdout=io.StringIO())
    out = io.StringIO()
    call_command("createtoken", "shop", "--scope", "upload", stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def _report(cases: int) -> bytes:
    rows = []
    for i in range(cases):
        inner = '<failure message="no">x</failure>' if i % 10 == 3 else ""
        rows.append(
            f'<testcase classname="e2e.C{i % 7}" name="t{i}" time="0.01">{inner}</testcase>'
        )
    return ('<?xml version="1.0"?><testsuite name="e2e">' + "".join(rows) + "</testsuite>").encode()


def _post(base: str, token: str, xml: bytes, **fields: str) -> dict:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n".encode()
        + xml
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/api/v1/uploads",
        data=b"".join(parts),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        return json.load(response)


def _get(base: str, token: str, url: str) -> dict:
    request = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _wait_for(predicate, *, timeout: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    log = worker.log.read_text(errors="replace")[-3000:] if worker else ""
    pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{log}")


def test_http_upload_is_processed_by_a_real_worker(live_server, start_worker, token):
    worker = start_worker()
    accepted = _post(live_server.url, token, _report(40), run="e2e-1", branch="main", final="true")
    assert accepted["status"] in ("queued", "processing", "processed")

    def processed():
        body = _get(live_server.url, token, accepted["url"])
        return body if body["status"] in ("processed", "failed") else None

    body = _wait_for(processed, timeout=90, what="the worker to process the upload", worker=worker)
    assert body["status"] == "processed", body
    assert body["counts"] == {
        "tests": 40,
        "passed": 36,
        "failed": 4,
        "error": 0,
        "skipped": 0,
        "flaky": 0,
    }
    assert body["run"] == "e2e-1"
    upload = Upload.objects.get(pk=accepted["id"])
    assert upload.run.is_complete
    assert Result.objects.filter(run=upload.run).count() == 40

    # The derive queue: a figures pass (rollups, flags), then the trend refresh and a
    # fold pass (the run folded into per-test stats), two tasks that run side by side.
    def derived():
        trend = Trend.objects.filter(project=upload.project, category=None).first()
        folded = TestStats.objects.filter(project=upload.project, last_run=upload.run)
        return trend if trend is not None and trend.n_points == 1 and folded.exists() else None

    _wait_for(derived, timeout=60, what="the derived figures", worker=worker)
    stats = RunStats.objects.get(run=upload.run)
    assert (stats.passed, stats.total, stats.is_complete) == (36, 40, True)
    assert TestStats.objects.filter(project=upload.project, last_run=upload.run).count() == 40


def test_a_worker_keeps_its_database_connection_from_task_to_task(live_server, start_worker, token):
    # Celery's Django fixup closes every connection around every task unless told
    # otherwise; with CONN_MAX_AGE set, the worker must reuse its connection instead of
    # opening a PostgreSQL backend per task. The worker's backends are told apart by
    # their application_name.
    name = f"passline-e2e-{uuid.uuid4().hex[:12]}"
    worker = start_worker(
        DATABASE_URL=f"{test_database_url()}?application_name={name}", CONN_MAX_AGE="60"
    )

    def backends() -> list[tuple[int, float]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity"
                " WHERE application_name = %s",
                [name],
            )
            return cursor.fetchall()

    second_posted = None
    for number in range(1, 4):
        if number == 2:
            second_posted = time.time()
        accepted = _post(live_server.url, token, _report(30), run=f"reuse-{number}", final="true")

        def settled(accepted=accepted):
            body = _get(live_server.url, token, accepted["url"])
            upload = Upload.objects.get(pk=accepted["id"])
            derived = RunStats.objects.filter(run_id=upload.run_id, is_complete=True).exists()
            return body["status"] == "processed" and derived

        _wait_for(settled, timeout=90, what=f"upload {number} processed", worker=worker)
    # The last task's end has closed nothing: one backend, opened before the second
    # upload's tasks ran (each task asked for its own before this change: none is left).
    kept = _wait_for(backends, timeout=10, what="the worker's kept connection", worker=worker)
    assert len(kept) == 1, kept
    assert kept[0][1] < second_posted
