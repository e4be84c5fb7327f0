"""The Celery app: broker settings that let workers survive broker restarts."""

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
