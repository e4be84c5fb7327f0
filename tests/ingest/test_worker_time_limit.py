"""A real prefork worker stops a task at its soft time limit and keeps serving.

Needs PostgreSQL (the worker is another process reading the test database) and a Redis
broker in CELERY_BROKER_URL, like tests/ingest/test_worker_e2e.py; its own queue keeps
concurrent runs apart. The limits are tiny (1 s soft, 5 s hard) so that a 400,000-case
upload overruns them. A message carries the limits of the process that sent it (the web
process, beat), which override the worker's own: this test process plays the web
process, so its tasks get the same tiny limits as the worker.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from ingest.models import Result, Upload
from tests.conftest import REPO_ROOT, broker_reachable, skip_unless_service
from tests.factories import ProjectFactory
from tests.ingest.test_processing import stored_upload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    skip_unless_service(broker_reachable(url), f"no reachable broker at {url!r}")
    return url


def _report(cases: int) -> bytes:
    rows = "".join(f'<testcase classname="t.C{i % 9}" name="t{i}"/>' for i in range(cases))
    return f'<?xml version="1.0"?><testsuite name="s">{rows}</testsuite>'.encode()


@pytest.fixture
def worker(settings, tmp_path):
    """Start a prefork worker (limits 1 s / 5 s) on a fresh queue; yield (queue, log)."""
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs DATABASE_URL=postgres://… (CI runs it)")
    url = _broker_url()
    from passline.celery import app

    queue = f"passline-limit-{uuid.uuid4().hex[:12]}"
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "task_default_queue")}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(task_always_eager=False, broker_url=url, task_default_queue=queue)
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_SOFT_TIME_LIMIT": "1",
        "CELERY_TASK_TIME_LIMIT": "5",
    }
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "passline", "worker", "--pool=prefork"]
    command += ["--concurrency=1", "-Q", queue, "--loglevel=INFO", "--without-gossip"]
    command += ["--without-mingle", "-n", f"{uuid.uuid4().hex}@limit"]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    try:
        yield queue, log
    finally:
        app.conf.update(saved)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _wait_for(predicate, *, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")


def test_task_over_its_soft_limit_is_stopped_and_the_worker_goes_on(worker):
    from ingest.tasks import upload_process

    queue, worker = worker
    # What a web process with CELERY_TASK_SOFT_TIME_LIMIT=1 / CELERY_TASK_TIME_LIMIT=5
    # sends (passed explicitly: Celery caches a task's options at its first send), on
    # this test's own queue rather than the production route (`ingest`).
    limits = {"soft_time_limit": 1, "time_limit": 5, "queue": queue}

    project = ProjectFactory(slug="limit")
    big = stored_upload(project, {"big.xml": _report(400_000)}, run_key="big")
    upload_process.apply_async((big.pk,), **limits)
    _wait_for(
        lambda: "SoftTimeLimitExceeded" in worker.read_text(errors="replace"),
        timeout=120,
        what="the soft time limit to stop the big upload",
        log=worker,
    )
    big.refresh_from_db()
    if big.status == Upload.Status.PROCESSED:
        pytest.skip("this machine parsed 400,000 cases within 1 s; nothing to prove")
    # Stopped inside its transaction: nothing half-stored.
    assert not Result.objects.filter(run_id=big.run_id).exists()

    small = stored_upload(project, {"small.xml": _report(20)}, run_key="small")
    upload_process.apply_async((small.pk,), **limits)
    _wait_for(
        lambda: Upload.objects.filter(pk=small.pk, status=Upload.Status.PROCESSED).exists(),
        timeout=60,
        what="the same worker to process the next upload",
        log=worker,
    )
    assert Result.objects.filter(run_id=small.run_id).count() == 20
