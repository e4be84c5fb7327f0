"""Celery application for passline; task bodies live in the apps' tasks modules."""

import functools
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passline.settings")

# Seconds between a worker's attempts to reach a lost broker. kombu's default grows to
# 30 s, so after a long outage a worker could idle half a minute with the broker back.
RECONNECT_INTERVAL_MAX = 5


class PromptReconnectConsumer(Consumer):
    """Celery's consumer, retrying a lost broker connection at least every 5 seconds."""

    def ensure_connected(self, conn):
        conn.ensure_connection = functools.partial(
            conn.ensure_connection,
            interval_start=1,
            interval_step=1,
            interval_max=RECONNECT_INTERVAL_MAX,
        )
        return super().ensure_connected(conn)


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **_) -> None:
    """Around each task run by a worker, close the connections Django would close
    around a request: past CONN_MAX_AGE, broken, or left in a transaction.

    Kept connections are then reused from task to task (see CELERY_DB_REUSE_MAX in
    settings). An eager task runs inside its caller's transaction: left alone.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()


app = Celery("passline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
