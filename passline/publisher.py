"""Publish Celery messages from a background thread, so no request waits for the broker.

A request commits a row that says what is to be done (an upload, a re-categorisation
job): the database is the outbox. After commit it hands the row's id to the process's
``BackgroundPublisher``, which publishes in batches from a daemon thread. When the broker
is down the publish fails in that thread, is logged, and the row stays unpublished; a
beat-driven sweep (``ingest.dispatcher``) publishes it once the broker is back. So a
broker outage delays work, never fails the request and never loses it.
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, transaction

logger = logging.getLogger("passline.ops")


def publish_each(
    ids: list[int], *, send: Callable[[int], object], mark: Callable[[list[int]], object]
) -> list[int]:
    """Call ``send(id)`` for each id in order, then ``mark`` those sent; return them.

    Stop at the first failure (the broker is down: the rest would fail too) and re-raise
    it after marking what was sent.
    """
    sent: list[int] = []
    try:
        for item_id in ids:
            send(item_id)
            sent.append(item_id)
    finally:
        if sent:
            mark(sent)
    return sent


class BackgroundPublisher:
    """A daemon thread per process that calls ``publish(ids)`` on the ids handed to it.

    ``publish`` publishes the messages of a batch of row ids (in order) and marks the
    rows published; it raises when the broker is down. ``what`` names the work in logs.
    """

    MAX_BACKLOG = 10_000
    BATCH = 500

    def __init__(self, *, what: str, publish: Callable[[list[int]], object]) -> None:
        self.what = what
        self._publish = publish
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[int] = queue.Queue(self.MAX_BACKLOG)

    def publish_on_commit(self, item_id: int) -> None:
        """Publish `item_id` once the current transaction commits; never block the caller.

        With the embedded default (eager Celery) the task runs right after commit, in
        this process; with a broker the background thread publishes it.
        """
        from passline.celery import app

        if app.conf.task_always_eager:
            transaction.on_commit(lambda: self._publish([item_id]), robust=True)
        else:
            transaction.on_commit(lambda: self.submit(item_id), robust=True)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` seconds for what was handed over to be published.

        Run at exit, so that a short-lived process (``manage.py importreports``) does
        not leave its work to the sweep.
        """
        if self._pid != os.getpid():
            return
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)

    def submit(self, item_id: int) -> None:
        """Queue `item_id` for publishing; never block (the sweep is the backstop)."""
        with self._lock:
            if self._pid != os.getpid():
                # First use in this process (gunicorn forks after import).
                self._queue = queue.Queue(self.MAX_BACKLOG)
                threading.Thread(target=self._run, name="passline-publisher", daemon=True).start()
                self._pid = os.getpid()
                atexit.register(self.drain)
        try:
            self._queue.put_nowait(item_id)
        except queue.Full:
            logger.warning(
                "publish backlog full; left to the sweep", extra={"what": self.what, "id": item_id}
            )

    def _run(self) -> None:
        pending = self._queue
        while True:
            batch = [pending.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            close_old_connections()
            try:
                self._publish(batch)
            except Exception:
                # The broker (or the database) is down: the sweep publishes these once
                # it is back; nothing is lost, the rows are committed.
                logger.warning(
                    "could not publish; left to the sweep",
                    extra={"what": self.what, "items": len(batch)},
                    exc_info=True,
                )
            finally:
                close_old_connections()
                for _ in batch:
                    pending.task_done()
