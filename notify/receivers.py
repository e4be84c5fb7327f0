"""Receivers of ingest's and the lifecycle's signals: they act after commit, never blocking."""

from django.db import transaction

from notify import services
from notify.selectors import project_has_receivers
from notify.tasks import deliveries as deliveries_publisher
from notify.tasks import feedback as feedback_publisher


def on_run_completed(sender, *, run_id: int, project_id: int, **kwargs) -> None:
    """Decide and send the completed run's feedback on the ``notify`` queue.

    A project with no webhook and no forge has nothing to send: no task is queued (the
    ingest worker would pay a publish per run, the notify worker a task, for nothing).
    Otherwise the run's feedback request is recorded (the outbox) and ``run_notify``
    published by the process's background publisher: a broker outage leaves the
    request to ``feedback_sweep`` instead of losing the feedback.
    """

    def send() -> None:
        if project_has_receivers(project_id=project_id):
            services.feedback_request(run_id=run_id)
            feedback_publisher.publish_on_commit(run_id)

    transaction.on_commit(send)


def on_lifecycle_event(sender, *, event: str, project_id: int, payload: dict, **kwargs) -> None:
    """Record a lifecycle event's deliveries (``test.quarantined``, …) and send them.

    The event often comes from a web request (a quarantine set on the test page), so
    nothing here waits for the broker: the delivery rows are the outbox, the process's
    background publisher sends them on the ``notify`` queue, and ``deliveries_sweep``
    sends what an outage kept from the broker.
    """

    def record() -> None:
        for delivery_id in services.lifecycle_notify(
            event=event, project_id=project_id, payload=payload
        ):
            deliveries_publisher.publish_on_commit(delivery_id)

    transaction.on_commit(record)
