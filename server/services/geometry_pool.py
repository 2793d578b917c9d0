"""Heavy geometry work in a bounded pool of worker processes with a hard time limit.

Validating and repairing a large polygon is GEOS work whose cost depends on the shape: a
20,000-vertex zigzag makes GEOS's noding compare most segments with most others, and such
work cannot be interrupted inside a thread. So a large input is parsed in a worker
process: at most `geometry_workers` run at once per server process, a request waits at
most `geometry_queue_wait_s` for one (then `Unavailable`, 503 with Retry-After), and a task
still running after `geometry_time_limit_s` has its process killed (then `TooComplex`,
422): the work stops with the request, and the server's threads stay free for everything
else (/healthz included).

Workers are started from a fork server preloaded with the geo core (a new one costs a
fork, not an interpreter start) and are kept between tasks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from planfuse.context import PlanFuse
from planfuse.errors import Interrupted, TooComplex, Unavailable
from planfuse.geo.parse import ParsedFeature, count_positions, parse_features

T = TypeVar("T")

#: Longest a new worker process may take to start (a loaded machine, a cold fork server).
STARTUP_TIMEOUT_S = 60.0
#: Modules the fork server imports once, so each worker starts with them loaded.
PRELOAD = ["planfuse.geo.parse", "planfuse.geo.crs"]


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    """A worker's loop: run each (function, args, kwargs) and send back the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C stops us through it
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, args, kwargs = task
        try:
            outcome = ("ok", fn(*args, **kwargs))
        except Exception as exc:
            # Exceptions with their own attributes (the problems of a GeometryInputError)
            # do not survive pickling through their args alone: send the class and state.
            outcome = ("error", (type(exc), exc.args, dict(vars(exc))))
        conn.send(outcome)


def _rebuild(cls: type[BaseException], args: tuple, state: dict) -> BaseException:
    exc = cls.__new__(cls)
    BaseException.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class _Worker:
    def __init__(self, mp: Any) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        # Starting is not the task's time: wait for the worker to say it is ready.
        if not self.conn.poll(STARTUP_TIMEOUT_S) or self.conn.recv() != "ready":
            self.kill()
            raise Unavailable(
                "a geometry worker could not be started; retry in a few seconds",
                retry_after_s=5,
                code="geometry_workers_busy",
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1)
        self.conn.close()


class GeometryPool:
    """At most `processes` worker processes; `run` gives each task `time_limit_s`."""

    def __init__(self, processes: int, time_limit_s: float, queue_wait_s: float) -> None:
        self.processes = max(1, int(processes))
        self.time_limit_s = float(time_limit_s)
        self.queue_wait_s = float(queue_wait_s)
        self._slots = threading.BoundedSemaphore(self.processes)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(PRELOAD)

    @property
    def busy(self) -> int:
        """How many workers are running a task now."""
        return len(self._busy)

    def busy_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._busy if w.pid is not None]

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker process (fn, arguments and result picklable).

        Raises what `fn` raised; `Unavailable` when no worker frees up within
        `queue_wait_s`; `TooComplex` (and kills the worker) when the task outlives
        `time_limit_s`; `Interrupted` when the worker died (e.g. out of memory).
        """
        if not self._slots.acquire(timeout=self.queue_wait_s):
            raise Unavailable(
                f"all {self.processes} geometry workers are busy with large geometries; "
                "retry in a few seconds",
                retry_after_s=max(1, round(self.time_limit_s / 2)),
                code="geometry_workers_busy",
            )
        worker: _Worker | None = None
        try:
            worker = self._take()
            try:
                worker.conn.send((fn, args, kwargs))
                finished = worker.conn.poll(self.time_limit_s)
                if finished:
                    status, payload = worker.conn.recv()
            except (EOFError, OSError):
                self._discard(worker)
                worker = None
                raise Interrupted(
                    "the geometry worker stopped before it finished (it may have run out of "
                    "memory); simplify the geometry or retry",
                    code="geometry_worker_died",
                ) from None
            if not finished:
                self._discard(worker)
                worker = None
                raise TooComplex(
                    f"the geometry took longer than {self.time_limit_s:g} s to validate and "
                    "was stopped; simplify it (fewer vertices, no zigzags) or split it into "
                    "several parts",
                    code="geometry_too_complex",
                    errors=[
                        {
                            "field": "geometry",
                            "message": "validation exceeded the time limit "
                            f"({self.time_limit_s:g} s, setting geometry_time_limit_s)",
                        }
                    ],
                )
            if status == "error":
                raise _rebuild(*payload)
            return payload
        finally:
            if worker is not None:
                self._release(worker)
            self._slots.release()

    def _take(self) -> _Worker:
        worker = None
        with self._lock:
            if self._closed:
                raise Unavailable("the server is shutting down", retry_after_s=1)
            while self._idle and worker is None:
                worker = self._idle.pop()
                if not worker.process.is_alive():
                    worker.conn.close()
                    worker = None
        if worker is None:
            worker = _Worker(self._mp)  # outside the lock: starting one takes a while
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Stop every worker (idle ones now, busy ones when their task ends)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


def geometry_pool(ctx: PlanFuse) -> GeometryPool:
    """This server process's geometry pool (created on first use)."""
    settings = ctx.settings
    return ctx.shared(
        "geometry_pool",
        lambda: GeometryPool(
            settings.geometry_workers,
            settings.geometry_time_limit_s,
            settings.geometry_queue_wait_s,
        ),
    )


def estimated_vertices(data: Any) -> int:
    """About how many vertices an input has, cheaply: a GeoJSON object's are counted from
    its arrays' lengths; text's from its commas and line breaks (an over-estimate)."""
    if isinstance(data, Mapping):
        return count_positions(data)
    if isinstance(data, str):
        return data.count(",") + data.count("\n")
    if isinstance(data, bytes | bytearray):
        return data.count(b",") + data.count(b"\n")
    return 0


def parse_features_bounded(ctx: PlanFuse, data: Any, **options: Any) -> list[ParsedFeature]:
    """`parse_features(data, **options)`, in the geometry pool when the input is large.

    Small inputs (under `geometry_pool_min_vertices`) are parsed here: their validation
    costs milliseconds whatever their shape, less than a trip to a worker. GeoJSON over
    the vertex cap is refused here too, from its counted arrays, without being sent.
    """
    estimate = estimated_vertices(data)
    over_cap = isinstance(data, Mapping) and estimate > options.get(
        "max_vertices", ctx.settings.max_vertices
    )
    if estimate < ctx.settings.geometry_pool_min_vertices or over_cap:
        return parse_features(data, **options)
    return geometry_pool(ctx).run(parse_features, data, **options)
