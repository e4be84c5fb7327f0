"""Pause Python's cyclic garbage collector while an upload is parsed and written.

An ingest allocates a list per test record and keeps a chunk of them (25,000) alive
until it is written. Every 700 new container objects start a collection, and the
survivors soon trigger full passes over every live object of the worker (Django's and
Celery's included): 0.1-0.2 s of a 100k-case ingest, during which the parser and the
writer thread both stand still. The records hold no reference cycles, so reference
counting frees them all the same; cyclic garbage from elsewhere in the process simply
waits until the pause ends (seconds).

The pause is process-wide, like the collector: overlapping pauses (a threaded worker
pool) nest, and the collector comes back when the last one ends, if it was on before.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (reference counting still works)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
