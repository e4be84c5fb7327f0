"""Signals that let other apps react to ingest without ingest importing them.

Receivers only enqueue work (with ``transaction.on_commit``); they hold no logic.
Ingest sends them with ``send_after_commit``: every receiver runs even when another
fails (a broker down when the derive layer publishes must not keep notify from
recording the run's feedback), and a failure is logged, never raised into the
committed upload's task. Each receiver's work has a sweep that picks up what failed.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("passline.ops")

# Sent after an upload's results are committed. kwargs: upload_id, run_id, project_id,
# run_completed (True when this upload completed its run: run_completed follows).
upload_processed = Signal()
# Sent when a run becomes complete (final part, or quiet period). kwargs: run_id, project_id.
run_completed = Signal()
# Sent after results of a project were re-categorised (rules changed). kwargs: project_id.
project_recategorized = Signal()


def send_after_commit(signal: Signal, **kwargs) -> None:
    """Send `signal` (sender None) with `kwargs` once the current transaction commits.

    Robustly: each receiver is called whatever the others do; failures are logged.
    """

    def send() -> None:
        for receiver, result in signal.send_robust(sender=None, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "signal receiver failed; its sweep will pick the work up",
                    extra={"receiver": getattr(receiver, "__qualname__", repr(receiver)), **kwargs},
                    exc_info=result,
                )

    transaction.on_commit(send, robust=True)
