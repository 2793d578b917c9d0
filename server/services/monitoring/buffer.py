"""Counts a process buffers in memory and adds to the database now and then (the service
figures, `metrics.py`, and the usage per app, `limits.py`): one request never waits for a
write, and a failed write keeps its counts for the next flush."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from planfuse.logs import redact


class BufferedCounts:
    """Rows of counters by key, flushed at most every `flush_s` seconds.

    A subclass adds to `self._pending` under `self._lock` and provides `_write(rows, now)`
    (raises on failure) and `_restore(rows)` (puts unwritten rows back)."""

    #: What the counts are, for the log line of a failed write.
    what = "counts"

    def __init__(self, flush_s: float, clock: Callable[[], float], log: logging.Logger):
        self._flush_s = float(flush_s)
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[Any, list] = {}
        self._next_flush = clock() + self._flush_s
        self._next_prune = 0.0

    def flush_if_due(self) -> None:
        """`flush` unless another request's flush already ran since this one was due."""
        if self._clock() >= self._next_flush:
            self.flush()

    def flush(self) -> bool:
        """Add the unflushed counts to the database; prune old rows when due.

        Never raises: a failure is logged and the counts are kept for the next flush.
        Returns whether everything was written. Concurrent calls return at once.
        """
        if not self._flush_lock.acquire(blocking=False):
            return False
        try:
            now = self._clock()
            self._next_flush = now + self._flush_s
            with self._lock:
                rows, self._pending = self._pending, {}
            try:
                self._write(rows, now)
            except Exception as exc:
                # One line, not a traceback with the SQL: this repeats every flush while the
                # database is down.
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
                self._log.error(
                    "%s could not be written (%s: %s); kept for the next flush",
                    self.what,
                    type(exc).__name__,
                    redact(reason[0][:300]),
                )
                self._restore(rows)
                return False
            return True
        finally:
            self._flush_lock.release()

    def _write(self, rows: dict, now: float) -> None:
        raise NotImplementedError

    def _restore(self, rows: dict) -> None:
        raise NotImplementedError
