"""The Celery app: broker settings that let workers survive broker restarts."""

from celery.utils.imports import symbol_by_name
from django.conf import settings

from passline.celery import RECONNECT_INTERVAL_MAX, PromptReconnectConsumer, app


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
