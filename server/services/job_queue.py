"""Jobs on a real queue: Celery tasks over a Redis broker, run by `planfuse worker`.

With ``broker_url`` set, a server process that accepts a job writes its row (as the
in-process runner does) and sends one task; `planfuse worker` processes on any host run
it. The row stays the whole truth (state, progress, stage, cancel flag, heartbeat), so
`GET /api/v1/jobs/{id}` answers the same on every server process and the API does not
change with the backend.

A :class:`~planfuse.services.jobs.PartitionedJob` (conflict detection) becomes one task
per partition, taken by whichever worker is free, and one merge task sent by the
partition that completes the count:

* **Late acknowledgement.** A task is acknowledged when it has finished
  (``task_acks_late``, one message prefetched per worker). A worker killed mid-task
  leaves its message unacknowledged; the broker hands it to another worker after
  ``job_redelivery_s`` (Redis visibility timeout) and the job goes on.
* **Idempotent partitions.** A partition's answer is written once, keyed by
  (job, partition) with a compare-and-set on its state; a partition that ran twice
  stores one answer and counts once. The start and merge tasks may run twice as well:
  the start re-sends only partitions without an answer, the merge is claimed on the row.
* **Cancel on every worker.** `DELETE /jobs/{id}` sets the flag in the database; every
  partition reads it at its start and between chunks of its overlay (at most every
  ``CANCEL_POLL_S``), on whichever worker it runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Unavailable
from planfuse.services.jobs import (
    ACTIVE_STATES,
    JobCancelled,
    JobFunction,
    JobHandle,
    PartitionedJob,
    RunnerBase,
    create_job,
    finish_job,
    function_path,
    get_job,
    record_outcome,
    resolve_function,
    worker_id,
)
from planfuse.storage.models import Job, JobPart
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.jobs.queue")

QUEUE = "planfuse"
TASK_START = "planfuse.jobs.start"
TASK_PART = "planfuse.jobs.part"
TASK_MERGE = "planfuse.jobs.merge"
CELERY_KEY = "celery"


def make_celery(ctx: PlanFuse):
    """The Celery application of ``ctx``: broker, late acknowledgement, the three tasks."""
    from celery import Celery

    settings = ctx.settings
    app = Celery("planfuse", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options={
            "visibility_timeout": int(settings.job_redelivery_s),
            # Every worker looks for messages of dead workers this often (seconds), so a
            # partition is handed on within about `job_redelivery_s` of its worker dying.
            "unacked_restore_interval": max(1, min(10, int(settings.job_redelivery_s) // 3)),
            "unacked_restore_throttle": 1,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        },
    )

    @app.task(name=TASK_START, acks_late=True)
    def start(job_id: str, path: str) -> None:
        run_start(ctx, job_id, path)

    @app.task(name=TASK_PART, acks_late=True)
    def part(job_id: str, path: str, number: int, total: int) -> None:
        run_partition(ctx, job_id, path, number, total)

    @app.task(name=TASK_MERGE, acks_late=True)
    def merge(job_id: str, path: str) -> None:
        run_merge(ctx, job_id, path)

    return app


def celery_app(ctx: PlanFuse):
    """This process's Celery application for ``ctx`` (made once)."""
    return ctx.shared(CELERY_KEY, lambda: _Closing(make_celery(ctx))).app


class _Closing:
    """Holds the Celery app in ``ctx.extras`` and closes its broker connections with it."""

    def __init__(self, app):
        self.app = app

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.app.close()


#: The broker probe's limits: /readyz must answer quickly with the broker down.
PROBE_TIMEOUT_S = 1.0


def broker_reachable(ctx: PlanFuse) -> tuple[bool, str | None]:
    """(answers, why not) of the job queue's broker: a Redis PING, or a connection for
    another transport."""
    url = ctx.settings.broker_url
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            ctx.shared(BROKER_PROBE_KEY, lambda: _RedisProbe(url)).client.ping()
        else:
            with celery_app(ctx).connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # redis and kombu errors have no common base
        return False, f"{type(exc).__name__}: {str(exc)[:200]}"
    return True, None


BROKER_PROBE_KEY = "broker_probe"


class _RedisProbe:
    """One Redis client for the probes (it reconnects by itself after a restart)."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT_S / 2, socket_timeout=PROBE_TIMEOUT_S
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


#: How a server process retries a send before answering 503 (about a second: the caller
#: waits), and how a worker does (half a minute: a task of a running job must not be lost
#: to a broker restarting).
SUBMIT_RETRY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.2}
WORKER_RETRY = {"max_retries": 30, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2}


def send(ctx: PlanFuse, task: str, *args: Any, patient: bool = False) -> None:
    """Send a task to the queue; Unavailable (503) when the broker cannot be reached."""
    try:
        celery_app(ctx).send_task(
            task,
            args=list(args),
            queue=QUEUE,
            retry=True,
            retry_policy=WORKER_RETRY if patient else SUBMIT_RETRY,
        )
    except Exception as exc:  # kombu / redis connection errors have no common base
        log.warning("could not send %s: %s", task, type(exc).__name__)
        raise Unavailable(
            "the job queue (broker) is not reachable; retry shortly. Check PLANFUSE_BROKER_URL "
            "and that Redis is running",
            retry_after_s=5,
            code="queue_unavailable",
        ) from None


class QueueJobRunner(RunnerBase):
    """Submits jobs to the queue; `planfuse worker` processes run them. Same interface as
    :class:`~planfuse.services.jobs.JobRunner`."""

    backend = "queue"

    def submit(
        self,
        kind: str,
        function: JobFunction | PartitionedJob,
        params: Mapping[str, Any] | None = None,
        *,
        app_id: str = "",
        user: str | None = None,
        key: str | None = None,
        shared: bool = False,
        stage: str = "waiting for a worker",
    ) -> dict[str, Any]:
        """Write the job (state `queued`) and send its start task; return the job."""
        path = function_path(function)
        job_id = create_job(
            self.ctx,
            kind,
            params,
            app_id=app_id,
            user=user,
            key=key,
            shared=shared,
            stage=stage,
            backend=self.backend,
        )
        try:
            send(self.ctx, TASK_START, job_id, path)
        except Unavailable as exc:
            finish_job(
                self.ctx,
                job_id,
                state="failed",
                stage="failed: queue unavailable",
                error=self.describe_failure(exc),
            )
            raise
        return get_job(self.ctx, job_id)

    def signal_cancel(self, job_id: str) -> None:
        """Nothing to signal here: every worker reads the cancel flag from the database."""

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Poll until the job has finished on some worker; return it (tests, CLI)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = get_job(self.ctx, job_id)
            if job["state"] not in ACTIVE_STATES:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(0.1)

    def close(self, timeout_s: float = 0.0) -> None:
        """Jobs belong to the workers; a stopping server process leaves them running."""


# --- the worker side -------------------------------------------------------------------


@contextlib.contextmanager
def heartbeat(ctx: PlanFuse, job_id: str) -> Iterator[None]:
    """Keep the job's heartbeat fresh while the block runs (a task of it is alive)."""
    stop = threading.Event()
    interval = max(0.5, float(ctx.settings.job_heartbeat_s))

    def beat() -> None:
        from planfuse.services.jobs import beat_jobs

        while not stop.wait(interval):
            beat_jobs(ctx, [job_id])

    thread = threading.Thread(target=beat, name=f"beat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 1)


def claim_job(ctx: PlanFuse, job_id: str, worker: str) -> dict[str, Any] | None:
    """Mark the job running on ``worker`` (queued, or running when the start task was
    delivered again after its worker died); its params, or None if it ended or was
    cancelled meanwhile."""
    with ctx.db.session() as session:
        claimed = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.state.in_(ACTIVE_STATES),
                Job.cancel_requested.is_(False),
            )
            .values(
                state="running",
                started_at=func.coalesce(Job.started_at, utcnow()),
                heartbeat_at=utcnow(),
                worker=worker,
            )
        ).rowcount
        params = session.scalar(select(Job.params).where(Job.id == job_id)) or {}
    if not claimed:
        # Cancelled while queued: say so on the row (the runner in a thread does the same).
        finish_job(ctx, job_id, state="cancelled", stage="cancelled")
        return None
    return dict(params)


def run_start(ctx: PlanFuse, job_id: str, path: str) -> None:
    """The start task: run a plain job whole, or plan a partitioned one and send its
    partitions (only those without an answer, when delivered again)."""
    worker = worker_id()
    params = claim_job(ctx, job_id, worker)
    if params is None:
        return
    function = resolve_function(path)
    if not isinstance(function, PartitionedJob):
        handle = JobHandle(ctx, job_id, threading.Event())
        with heartbeat(ctx, job_id):
            record_outcome(ctx, job_id, handle, lambda: function(ctx, handle, params))
        return

    def plan() -> int:
        handle = JobHandle(ctx, job_id, threading.Event())
        handle.progress(0.0, "planning partitions")
        return max(1, int(function.parts(ctx, params)))

    try:
        total = plan()
    except Exception as exc:
        record_outcome(ctx, job_id, "planning partitions", _raise(exc))
        return
    pending = ensure_parts(ctx, job_id, total)
    for number in pending:
        if not send_or_fail(ctx, job_id, TASK_PART, job_id, path, number, total):
            return
    if not pending and parts_complete(ctx, job_id):
        send_or_fail(ctx, job_id, TASK_MERGE, job_id, path)


def send_or_fail(ctx: PlanFuse, job_id: str, task: str, *args: Any) -> bool:
    """Send a task of a running job; if the broker is gone, fail the job (it would wait
    for a task that never comes) and say False."""
    try:
        send(ctx, task, *args, patient=True)
    except Unavailable as exc:
        record_outcome(ctx, job_id, "sending tasks", _raise(exc))
        return False
    return True


def _raise(exc: BaseException) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        raise exc

    return run


def ensure_parts(ctx: PlanFuse, job_id: str, total: int) -> list[int]:
    """Create the job's partition rows (once); the partitions still without an answer."""
    with ctx.db.write_session() as session:
        # A write first (see run_partition), then what exists, then what is missing.
        session.execute(
            update(Job).where(Job.id == job_id).values(parts_total=total, heartbeat_at=utcnow())
        )
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.parts_done == 0)
            .values(stage=f"partitions 0/{total}")
        )
        existing = {
            number: state
            for number, state in session.execute(
                select(JobPart.part, JobPart.state).where(JobPart.job_id == job_id)
            )
        }
        missing = [n for n in range(total) if n not in existing]
        if missing:
            try:
                with session.begin_nested():
                    session.add_all(
                        JobPart(job_id=job_id, part=n, state="queued", attempts=0) for n in missing
                    )
            except IntegrityError:  # another delivery of the start task made them
                pass
    return [n for n in range(total) if existing.get(n) != "done"]


def parts_complete(ctx: PlanFuse, job_id: str) -> bool:
    with ctx.db.session() as session:
        row = session.execute(
            select(Job.parts_total, Job.parts_done, Job.state).where(Job.id == job_id)
        ).first()
    return bool(row and row.state == "running" and row.parts_total == row.parts_done)


def run_partition(ctx: PlanFuse, job_id: str, path: str, number: int, total: int) -> None:
    """A partition task: compute one partition's answer and store it once; the one that
    completes the count sends the merge."""
    worker = worker_id()
    # Write first, then read, in one transaction: a SQLite transaction that began with a
    # read cannot write once another process (a heartbeat) has written meanwhile.
    with ctx.db.session() as session:
        started = session.execute(
            update(JobPart)
            .where(JobPart.job_id == job_id, JobPart.part == number, JobPart.state != "done")
            .values(
                state="running",
                worker=worker,
                attempts=JobPart.attempts + 1,
                started_at=utcnow(),
            )
        ).rowcount
        job = session.execute(
            select(Job.state, Job.cancel_requested, Job.params).where(Job.id == job_id)
        ).first()
    if job is None or job.state != "running":
        return
    if job.cancel_requested:
        finish_job(ctx, job_id, state="cancelled", stage="cancelled")
        return
    params = dict(job.params or {})
    function = resolve_function(path)
    if not started:  # answered already (a second delivery): only make sure of the merge
        if parts_complete(ctx, job_id):
            send_or_fail(ctx, job_id, TASK_MERGE, job_id, path)
        return
    handle = JobHandle(ctx, job_id, threading.Event(), partition=True)
    began = time.perf_counter()
    try:
        with heartbeat(ctx, job_id):
            answer = function.run_part(ctx, handle, params, number, total)
            blob = function.encode(answer)
    except JobCancelled:
        finish_job(ctx, job_id, state="cancelled", stage="cancelled")
        return
    except Exception as exc:
        record_outcome(ctx, job_id, f"partition {number + 1}/{total}", _raise(exc))
        return
    if store_part(ctx, job_id, number, blob, time.perf_counter() - began, function.parts_share):
        send_or_fail(ctx, job_id, TASK_MERGE, job_id, path)


def store_part(
    ctx: PlanFuse, job_id: str, number: int, blob: bytes, seconds: float, share: float
) -> bool:
    """Store a partition's answer (once) and count it; True for the partition that
    completes the count (it sends the merge)."""
    with ctx.db.session() as session:
        stored = session.execute(
            update(JobPart)
            .where(JobPart.job_id == job_id, JobPart.part == number, JobPart.state != "done")
            .values(state="done", result=blob, seconds=seconds, finished_at=utcnow())
        ).rowcount
        if not stored:
            return False
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(parts_done=Job.parts_done + 1, heartbeat_at=utcnow())
        )
        done, total = session.execute(
            select(Job.parts_done, Job.parts_total).where(Job.id == job_id)
        ).one()
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(
                progress=func.max(Job.progress, share * done / max(1, total))
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(Job.progress, share * done / max(1, total)),
                stage=f"partitions {done}/{total}",
            )
        )
    return done == total


def claim_merge(ctx: PlanFuse, job_id: str) -> bool:
    """Take the merge: once, unless the worker that took it stopped beating."""
    stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
    with ctx.db.session() as session:
        return bool(
            session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.state == "running",
                    Job.parts_done == Job.parts_total,
                    (Job.stage != "merging") | (Job.heartbeat_at < stale),
                )
                .values(stage="merging", heartbeat_at=utcnow(), worker=worker_id())
            ).rowcount
        )


def run_merge(ctx: PlanFuse, job_id: str, path: str) -> None:
    """The merge task: decode every partition's answer in order, merge, record the job."""
    if not claim_merge(ctx, job_id):
        return
    function = resolve_function(path)
    with ctx.db.session() as session:
        params = dict(session.scalar(select(Job.params).where(Job.id == job_id)) or {})
        blobs = session.scalars(
            select(JobPart.result).where(JobPart.job_id == job_id).order_by(JobPart.part)
        ).all()
    handle = JobHandle(ctx, job_id, threading.Event())

    def merge() -> dict[str, Any]:
        answers = [function.decode(blob) for blob in blobs]
        handle.progress(function.parts_share, "merging")
        return function.merge(ctx, handle, params, answers)

    with heartbeat(ctx, job_id):
        state = record_outcome(ctx, job_id, "merging", merge)
    if state == "done":
        # The answers were needed only until the merge; the rows stay as a record.
        with ctx.db.session() as session:
            session.execute(update(JobPart).where(JobPart.job_id == job_id).values(result=None))
