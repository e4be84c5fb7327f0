"""The Celery app: broker settings that let workers survive broker restarts."""

import json
import os
import subprocess
import sys
import time

import pytest
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.db import connection, transaction

from passline.celery import (
    RECONNECT_INTERVAL_MAX,
    PromptReconnectConsumer,
    app,
    close_old_connections,
)
from tests.conftest import REPO_ROOT


class FakeConnection:
    def __init__(self):
        self.calls = []

    def ensure_connection(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self


def test_workers_use_the_prompt_reconnect_consumer():
    assert symbol_by_name(app.conf.worker_consumer) is PromptReconnectConsumer


def test_lost_broker_is_retried_for_ever_at_least_every_few_seconds():
    consumer = PromptReconnectConsumer.__new__(PromptReconnectConsumer)
    consumer.app = app
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    conn = FakeConnection()
    assert consumer.ensure_connected(conn) is conn
    ((args, kwargs),) = conn.calls
    assert args[1] is None  # max_retries: for ever
    assert kwargs["interval_max"] == RECONNECT_INTERVAL_MAX <= 5


def test_broker_settings_survive_restarts():
    assert settings.CELERY_BROKER_CONNECTION_RETRY is True
    assert settings.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP is True
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
    assert 0 < settings.CELERY_BROKER_HEARTBEAT <= 60
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


class FakeTask:
    def __init__(self, *, eager: bool):
        self.request = type("Request", (), {"is_eager": eager})()


@pytest.mark.django_db(transaction=True)
def test_task_signals_close_connections_as_django_does_after_a_request(settings):
    # Celery's fixup would close every connection around every task; with a reuse
    # limit set it leaves that to passline's handler, which honours CONN_MAX_AGE.
    assert app.conf.get("db_reuse_max") == settings.CELERY_DB_REUSE_MAX > 1
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE not reached
    with transaction.atomic(), connection.cursor() as cursor:
        # An eager task runs inside its caller's transaction: never closed there.
        close_old_connections(sender=FakeTask(eager=True))
        cursor.execute("SELECT 1")
    assert connection.connection is kept
    close_old_connections(sender=FakeTask(eager=False))
    assert connection.connection is kept
    connection.close_at = time.monotonic() - 1  # past CONN_MAX_AGE
    close_old_connections(sender=FakeTask(eager=False))
    # Django never closes SQLite's in-memory test database.
    assert connection.connection is None or connection.is_in_memory_db()


SWEEPS = ("derive-sweep", "feedback-sweep", "deliveries-sweep")


def _sweep_schedule(interval: str | None) -> dict[str, list[int]]:
    """Return {sweep: [schedule, expire_seconds]} as a process with that setting sees it."""
    env = {k: v for k, v in os.environ.items() if k != "PASSLINE_SWEEP_INTERVAL_SECONDS"}
    if interval is not None:
        env["PASSLINE_SWEEP_INTERVAL_SECONDS"] = interval
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "s = settings.CELERY_BEAT_SCHEDULE; "
        f"print(json.dumps({{k: [s[k]['schedule'], s[k]['options']['expire_seconds']] "
        f"for k in {list(SWEEPS)!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "passline.settings"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def test_sweeps_run_every_minute_unless_an_interval_is_set():
    assert _sweep_schedule(None) == {key: [60, 60] for key in SWEEPS}
    assert _sweep_schedule("5") == {key: [5, 5] for key in SWEEPS}
