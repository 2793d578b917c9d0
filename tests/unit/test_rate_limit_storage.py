"""The in-memory rate-limit counters under a threaded server: many request threads at once
start the counters' expiry timer once, never the same timer twice (planfuse.web.ratelimit)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from limits.storage import storage_from_string

from planfuse.web.ratelimit import LockedMemoryStorage


def test_the_scheme_names_the_locked_storage():
    storage = storage_from_string("planfuse-memory://")
    assert isinstance(storage, LockedMemoryStorage)


class _SlowTimer:
    """A timer slow to build, counting each start: it widens the moment between a thread
    assigning the storage's new timer and starting it."""

    starts: ClassVar[Counter] = Counter()

    def __init__(self, interval: float, function) -> None:
        time.sleep(0.002)
        self.alive = False

    def is_alive(self) -> bool:
        return self.alive

    def start(self) -> None:
        _SlowTimer.starts[id(self)] += 1
        self.alive = True


def test_threads_restarting_the_expiry_timer_at_once_start_each_timer_once(monkeypatch):
    storage = LockedMemoryStorage()
    storage.timer.join()  # the first timer has run out: the next count restarts one
    monkeypatch.setattr(threading, "Timer", _SlowTimer)
    _SlowTimer.starts.clear()
    barrier = threading.Barrier(8)

    def restart(_: int) -> None:
        barrier.wait()
        storage._MemoryStorage__schedule_expiry()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(restart, range(8)))
    assert list(_SlowTimer.starts.values()) == [1]  # one timer, started once


def test_many_threads_counting_at_once_keep_their_counts():
    storage = LockedMemoryStorage()
    barrier = threading.Barrier(8)

    def count(n: int) -> int:
        barrier.wait()
        return max(storage.incr(f"key-{n % 2}", expiry=60) for _ in range(100))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert max(pool.map(count, range(8))) == 400
