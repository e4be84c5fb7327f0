"""gc_paused: the cyclic collector is off inside, and comes back as it was."""

import gc
import threading

import pytest

from ingest.gc_pause import gc_paused


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_collector_is_off_inside_and_back_on_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_comes_back_after_an_error():
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_that_was_off_stays_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_resume_when_the_last_one_ends():
    """Two ingests in one threaded worker: the first to finish must not resume it."""
    first_in, first_may_leave = threading.Event(), threading.Event()
    seen = {}

    def first():
        with gc_paused():
            first_in.set()
            first_may_leave.wait(5)
        seen["after first"] = gc.isenabled()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    with gc_paused():
        first_may_leave.set()
        thread.join(5)
        seen["second, after first left"] = gc.isenabled()
    assert seen == {"after first": False, "second, after first left": False}
    assert gc.isenabled()
