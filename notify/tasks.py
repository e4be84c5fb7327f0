"""Celery tasks of notify (queue ``notify``): thin adapters that take ids.

A failed delivery is not retried by sleeping: ``delivery_send`` schedules itself again
with a countdown, so a receiver that is down never holds a worker. Under the embedded
default (eager tasks) there is no countdown: retries wait for ``deliveries_sweep``
(Celery beat, every minute), which also picks up deliveries whose message was lost.
"""

from celery import current_app, shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from notify import services
from passline.publisher import BackgroundPublisher, publish_each

RETRY = {
    "bind": True,
    # IntegrityError: the derive queue creating the same run's rollup rows at the same
    # moment (run_notify refreshes stale rollups itself); the retry finds them.
    "autoretry_for": (OperationalError, InterfaceError, IntegrityError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _enqueue(delivery_id: int, countdown: float | None = None) -> None:
    if countdown and _eager():
        return  # the sweep retries it when due; eager mode cannot wait
    delivery_send.apply_async((delivery_id,), countdown=countdown or None)


def _deliveries_publish(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        _enqueue(delivery_id)


# Deliveries recorded in a web request (a quarantine set on the test page, "Redeliver")
# are sent without the request waiting for the broker: a message lost to an outage is
# left to ``deliveries_sweep``, as the delivery row is committed and pending.
deliveries = BackgroundPublisher(what="webhook delivery", publish=_deliveries_publish)


def _feedback_publish(run_ids: list[int]) -> None:
    publish_each(run_ids, send=run_notify.delay, mark=services.feedback_published)


# A completed run's feedback is published from the ingest worker's background thread:
# the request row is the outbox, ``feedback_sweep`` publishes what an outage kept back.
feedback = BackgroundPublisher(what="run feedback", publish=_feedback_publish)


@shared_task(**RETRY)
def run_notify(self, run_id: int) -> int:
    """Record a completed run's deliveries, then send each on its own task."""
    ids = services.run_notify(run_id=run_id)
    for delivery_id in ids:
        _enqueue(delivery_id)
    return len(ids)


@shared_task(**RETRY)
def delivery_send(self, delivery_id: int) -> str:
    """Make one attempt at a delivery; schedule the next one when it should be retried."""
    outcome = services.delivery_send(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        _enqueue(delivery_id, max(outcome.retry_in, 0.5))
    return outcome.status


@shared_task(**RETRY)
def delivery_redeliver(self, delivery_id: int) -> None:
    """Send a delivery again (after ``services.delivery_redeliver`` queued it)."""
    _enqueue(delivery_id)


@shared_task(**RETRY)
def deliveries_sweep(self) -> int:
    """Send deliveries that are due (retries, lost messages); Celery beat, every minute."""
    ids = services.deliveries_due()
    for delivery_id in ids:
        delivery_send.delay(delivery_id)
    return len(ids)


@shared_task(**RETRY)
def feedback_sweep(self) -> int:
    """Publish run feedback an outage kept from the broker, or whose message was lost;
    Celery beat, every minute."""
    run_ids = services.feedback_due()
    _feedback_publish(run_ids)
    return len(run_ids)
