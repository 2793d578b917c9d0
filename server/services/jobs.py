"""Background jobs with progress: long work runs in a thread of the server process that
accepted it, while every process answers for its state.

How it behaves with several server processes (gunicorn workers, several hosts):

* **State lives in the database** (`jobs` table). Any process answers `GET /jobs/{id}`;
  the worker writes progress, stage and a heartbeat there (progress at most every
  ``PROGRESS_INTERVAL_S``, the heartbeat every ``job_heartbeat_s`` from a small thread).
* **Cancellation is a flag in the database.** `DELETE /jobs/{id}` on any process sets it;
  the worker reads it between chunks of work (at most every ``CANCEL_POLL_S``) and stops.
  A queued job is cancelled at once.
* **One job per key.** A job may claim a key (e.g. ``conflicts.detect:two_plans``): the
  unique `active_key` column holds it while the job is queued or running, so a second
  job with the same key is refused (`JobConflict`) even when the two requests reach
  different processes at the same instant.
* **Dead processes.** A queued or running job whose heartbeat is older than
  ``job_stale_after_s`` is marked failed ("its server process stopped") when it is read,
  when a job with its key is submitted, and when a server process starts its runner.

Two backends share this module's rows, handles and API: :class:`JobRunner` (threads of
the server process that accepted the job: the embedded default) and, with a broker
configured, `planfuse.services.job_queue` (Celery tasks on `planfuse worker` processes).
A :class:`PartitionedJob` runs as one partition in a thread, and as one task per
partition on the queue, merged once every partition has stored its result.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, DomainError, Forbidden, Interrupted, NotFound, Unavailable
from planfuse.geo.errors import GeoError
from planfuse.storage.database import database_unreachable
from planfuse.storage.models import Job, JobPart
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.jobs")

STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")
EXTRA_KEY = "jobs"
#: Progress is written to the database at most this often (stage changes always are).
PROGRESS_INTERVAL_S = 0.25
#: The cancel flag is read from the database at most this often.
CANCEL_POLL_S = 0.5

JobFunction = Callable[[PlanFuse, "JobHandle", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class PartitionedJob:
    """A job whose work splits into independent partitions and a merge.

    ``parts(ctx, params)`` says how many partitions the queue backend runs (≥ 1);
    ``run_part(ctx, handle, params, part, parts)`` computes one partition's answer;
    ``encode``/``decode`` turn an answer into bytes and back (stored per partition, so a
    partition that runs twice stores one answer); ``merge(ctx, handle, params, answers)``
    combines the answers (in partition order) and returns the job's summary; its handle
    is the job's own, at ``parts_share`` when it starts. The merged answer must not depend
    on how many partitions there were.

    Called like a plain job function (the in-process runner), it runs one partition and
    merges it, without encoding. ``path`` names it for workers: ``"module:attribute"``
    where it is defined.
    """

    path: str
    parts: Callable[[PlanFuse, dict[str, Any]], int]
    run_part: Callable[[PlanFuse, JobHandle, dict[str, Any], int, int], Any]
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    merge: Callable[[PlanFuse, JobHandle, dict[str, Any], list[Any]], dict[str, Any]]
    #: Share of the job's progress the partitions take; the merge takes the rest.
    parts_share: float = 0.9

    def __call__(self, ctx: PlanFuse, handle: JobHandle, params: dict[str, Any]) -> dict:
        answer = self.run_part(ctx, handle.scaled(0.0, self.parts_share), params, 0, 1)
        handle.progress(self.parts_share, "merging")
        return self.merge(ctx, handle, params, [answer])


def function_path(function: JobFunction | PartitionedJob) -> str:
    """``module:qualname`` of a job function, by which a worker process finds it.

    Refused (ValueError) for functions a worker cannot import (lambdas, closures).
    """
    if isinstance(function, PartitionedJob):
        return function.path
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None)
    if not module or not name or "<" in name:
        raise ValueError(
            f"job function {function!r} is not importable by name; a queue worker could "
            "not run it (define it at module level)"
        )
    return f"{module}:{name}"


def resolve_function(path: str) -> JobFunction | PartitionedJob:
    """The job function named by :func:`function_path`."""
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{path} is not a job function")
    return target


class JobCancelled(Exception):
    """Raised inside a job when its cancellation was requested."""


class JobConflict(Conflict):
    """A job with the same key is queued or running (the error names it)."""

    def __init__(self, job: Mapping[str, Any], key: str):
        super().__init__(
            f"job {job['id']} ({key}) is {job['state']} since {job['created_at']}; wait for it "
            f"(GET /api/v1/jobs/{job['id']}) or cancel it (DELETE) before starting another",
            code="job_running",
            title="A job is already running",
            errors=[{"field": "job", "message": "already running", "job": job["id"]}],
        )
        self.job = dict(job)


def failure_describer(ctx: PlanFuse) -> Callable[[BaseException], dict[str, Any]]:
    """How `ctx` records a failed job's `error` for clients (its `describe_failure`)."""
    if ctx.describe_failure is None:
        raise RuntimeError(
            "this context cannot record job failures: build it with "
            "build_context(settings, describe_failure=planfuse.http.problems.problem_dict)"
        )
    return ctx.describe_failure


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without a zone; they were written as UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def job_dict(job: Job) -> dict[str, Any]:
    """The API representation of a job."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": round(float(job.progress or 0.0), 4),
        "stage": job.stage or "",
        "summary": job.summary,
        "error": job.error,
        "params": job.params or {},
        "cancel_requested": bool(job.cancel_requested),
        "created_by": {"app": job.created_by_app, "user": job.created_by_user},
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "backend": job.backend or "process",
        "partitions": (
            {"total": int(job.parts_total), "done": int(job.parts_done or 0)}
            if job.parts_total
            else None
        ),
    }


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value else None


def worker_id() -> str:
    """This process: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def reap_stale_jobs(ctx: PlanFuse, *, job_id: str | None = None, key: str | None = None) -> int:
    """Mark queued/running jobs without a recent heartbeat as failed (their process died).

    A job on the queue is spared while it waits for a worker — queued, or with partitions
    or its merge still on the queue (behind other jobs' tasks) — and, while a task of it
    runs, for ``job_redelivery_s`` more: a partition whose worker was killed is handed to
    another worker after that long, and the job goes on.
    Limited to one job or one key when given. Returns how many were marked.
    """
    stale_s = ctx.settings.job_stale_after_s
    cutoffs = {
        "process": utcnow() - timedelta(seconds=stale_s),
        "queue": utcnow() - timedelta(seconds=stale_s + ctx.settings.job_redelivery_s),
    }
    query = select(
        Job.id,
        Job.worker,
        Job.heartbeat_at,
        Job.state,
        Job.backend,
        Job.parts_total,
        Job.parts_done,
        Job.stage,
    ).where(Job.state.in_(ACTIVE_STATES))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    if key is not None:
        query = query.where(Job.active_key == key)
    with ctx.db.session() as session:
        candidates = []
        for row in session.execute(query):
            backend = row.backend if row.backend in cutoffs else "process"
            if backend == "queue" and _waiting_on_queue(session, row):
                continue
            cutoff = cutoffs[backend]
            if row.heartbeat_at is None or _aware(row.heartbeat_at) < cutoff:
                candidates.append((row.id, row.worker, row.heartbeat_at, cutoff))
    reaped = 0
    describe = failure_describer(ctx)
    for found_id, worker, beat, cutoff in candidates:
        problem = Interrupted(
            f"the process running this job ({worker or 'not started'}) stopped; "
            f"no heartbeat since {_iso(beat)}. Start it again.",
            code="job_abandoned",
            title="Job abandoned",
        )
        # A write transaction of its own, guarded so a job that beat meanwhile is spared.
        with ctx.db.session() as session:
            result = session.execute(
                update(Job)
                .where(
                    Job.id == found_id,
                    Job.state.in_(ACTIVE_STATES),
                    Job.heartbeat_at < cutoff,
                )
                .values(
                    state="failed",
                    stage="abandoned",
                    error=describe(problem),
                    active_key=None,
                    finished_at=utcnow(),
                )
            )
            reaped += result.rowcount or 0
    if reaped:
        log.warning("marked %d abandoned job(s) failed", reaped)
    return reaped


def _waiting_on_queue(session, row) -> bool:
    """A queue job none of whose tasks runs: it waits for a worker, not for a dead one."""
    if row.state == "queued":
        return True
    if not row.parts_total:
        return False
    if row.parts_done == row.parts_total:
        return row.stage != "merging"  # the merge task is on the queue
    waiting = session.scalar(
        select(JobPart.part).where(JobPart.job_id == row.id, JobPart.state == "queued").limit(1)
    )
    return waiting is not None


def get_job(ctx: PlanFuse, job_id: str, *, app_id: str | None = None) -> dict[str, Any]:
    """A job by id (NotFound if unknown, or not visible to ``app_id``: jobs are private to the
    app that started them unless shared)."""
    reap_stale_jobs(ctx, job_id=job_id)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not _visible(job, app_id):
            raise NotFound("job", job_id)
        return job_dict(job)


def _visible(job: Job, app_id: str | None) -> bool:
    return app_id is None or job.shared or job.created_by_app == app_id


def find_active_job(ctx: PlanFuse, key: str) -> dict[str, Any] | None:
    """The queued or running job holding ``key``, if any."""
    with ctx.db.session() as session:
        job = session.scalars(select(Job).where(Job.active_key == key)).first()
        return job_dict(job) if job else None


def cancel_job(ctx: PlanFuse, job_id: str, *, app_id: str | None = None) -> dict[str, Any]:
    """Request cancellation. A queued job is cancelled at once; a running one stops at its
    next check (the returned state is still `running`, `cancel_requested` true). A job that
    already finished: Conflict. Cancelling a cancelled job again returns it unchanged."""
    reap_stale_jobs(ctx, job_id=job_id)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not _visible(job, app_id):
            raise NotFound("job", job_id)
        owner, state = job.created_by_app, job.state
    if app_id is not None and owner != app_id:
        raise Forbidden(f"job {job_id} was started by another app; only that app may cancel it")
    if state in ("done", "failed"):
        raise Conflict(
            f"job {job_id} already finished ({state}); there is nothing to cancel",
            code="job_finished",
            title="Job already finished",
        )
    with ctx.db.session() as session:
        # Queued: cancelled at once (unless a worker took it meanwhile).
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(
                state="cancelled",
                cancel_requested=True,
                stage="cancelled",
                active_key=None,
                finished_at=utcnow(),
            )
        )
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(cancel_requested=True)
        )
    runner = ctx.extras.get(EXTRA_KEY)
    if runner is not None:
        runner.signal_cancel(job_id)
    return get_job(ctx, job_id)


class JobHandle:
    """What a running job uses to report progress and to learn it should stop.

    ``progress(fraction, stage)`` records progress (0–1) and raises :class:`JobCancelled`
    when cancellation was requested; ``check()`` only does the latter. Both are cheap to
    call often: the database is touched at most every few hundred milliseconds.

    A partition's handle (``partition=True``) writes no progress of its own (partitions of
    one job run on several workers at once; the job's progress counts finished
    partitions), only the heartbeat, and stops when the job was cancelled or failed.
    """

    def __init__(
        self,
        ctx: PlanFuse,
        job_id: str,
        cancel_event: threading.Event,
        *,
        partition: bool = False,
    ):
        self.ctx = ctx
        self.id = job_id
        self._cancel = cancel_event
        self._partition = partition
        self._stage = ""
        self._progress = 0.0
        self._written_at = 0.0
        self._polled_at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def stage(self) -> str:
        return self._stage

    def check(self) -> None:
        """Raise JobCancelled if cancellation was requested (here or in another process),
        or the job ended meanwhile (another partition failed it)."""
        if self._cancel.is_set():
            raise JobCancelled(self.id)
        now = time.monotonic()
        if now - self._polled_at < CANCEL_POLL_S:
            return
        self._polled_at = now
        with self.ctx.db.session() as session:
            row = session.execute(
                select(Job.cancel_requested, Job.state).where(Job.id == self.id)
            ).first()
        if row is None or row.cancel_requested or row.state not in ACTIVE_STATES:
            self._cancel.set()
            raise JobCancelled(self.id)

    def progress(self, fraction: float, stage: str | None = None) -> None:
        """Record progress (clamped to 0–1, never going back) and the stage text."""
        with self._lock:
            fraction = min(1.0, max(self._progress, float(fraction)))
            changed_stage = stage is not None and stage != self._stage
            self._progress = fraction
            if stage is not None:
                self._stage = stage
            now = time.monotonic()
            write = changed_stage or now - self._written_at >= PROGRESS_INTERVAL_S
            if self._partition:
                write = now - self._written_at >= PROGRESS_INTERVAL_S * 4
            if write:
                self._written_at = now
        if write:
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if not self._partition:
                values.update(progress=fraction, stage=self._stage[:200])
            with self.ctx.db.session() as session:
                session.execute(update(Job).where(Job.id == self.id).values(**values))
        self.check()

    def span(self, start: float, end: float, stage: str | None = None) -> Callable[[float], None]:
        """A progress callback mapping 0–1 onto ``start``–``end`` of the whole job."""

        def report(fraction: float) -> None:
            self.progress(start + (end - start) * fraction, stage)

        return report

    def scaled(self, start: float, end: float) -> ScaledHandle:
        """A handle whose 0–1 is ``start``–``end`` of this one (a part of the job)."""
        return ScaledHandle(self, start, end)


class ScaledHandle:
    """A view of a :class:`JobHandle` whose progress 0–1 covers a span of the job."""

    def __init__(self, handle: JobHandle, start: float, end: float):
        self._handle = handle
        self._start = start
        self._end = end
        self.id = handle.id
        self.ctx = handle.ctx

    @property
    def stage(self) -> str:
        return self._handle.stage

    def check(self) -> None:
        self._handle.check()

    def progress(self, fraction: float, stage: str | None = None) -> None:
        self._handle.progress(self._start + (self._end - self._start) * fraction, stage)

    def span(self, start: float, end: float, stage: str | None = None) -> Callable[[float], None]:
        def report(fraction: float) -> None:
            self.progress(start + (end - start) * fraction, stage)

        return report

    def scaled(self, start: float, end: float) -> ScaledHandle:
        width = self._end - self._start
        return ScaledHandle(self._handle, self._start + width * start, self._start + width * end)


def create_job(
    ctx: PlanFuse,
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    app_id: str = "",
    user: str | None = None,
    key: str | None = None,
    shared: bool = False,
    stage: str = "queued",
    backend: str = "process",
) -> str:
    """Write a queued job's row; return its id. ``key``: refuse (JobConflict, 409) while
    another job holds the same key — decided by the database, whichever process asks."""
    if key is not None:
        reap_stale_jobs(ctx, key=key)
    job_id = secrets.token_hex(8)
    now = utcnow()
    try:
        with ctx.db.session() as session:
            session.add(
                Job(
                    id=job_id,
                    kind=kind,
                    state="queued",
                    progress=0.0,
                    stage=stage,
                    params=dict(params or {}),
                    active_key=key,
                    shared=shared,
                    cancel_requested=False,
                    created_by_app=app_id,
                    created_by_user=user,
                    created_at=now,
                    heartbeat_at=now,
                    backend=backend,
                )
            )
    except IntegrityError:
        holder = find_active_job(ctx, key) if key else None
        if holder is None:  # finished in between: the caller may simply retry
            raise Conflict(
                f"another {kind} job just held {key}; retry",
                code="job_running",
                title="Job running",
            ) from None
        raise JobConflict(holder, key) from None
    return job_id


def finish_job(ctx: PlanFuse, job_id: str, **values: Any) -> bool:
    """End an active job (done, failed or cancelled); False if it had ended already."""
    with ctx.db.session() as session:
        return bool(
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(ACTIVE_STATES))
                .values(active_key=None, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
            ).rowcount
        )


def start_job(ctx: PlanFuse, job_id: str, worker: str) -> dict[str, Any] | None:
    """Mark a queued job running on ``worker``; its params, or None if it was cancelled
    (or started elsewhere) meanwhile."""
    with ctx.db.session() as session:
        started = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued", Job.cancel_requested.is_(False))
            .values(
                state="running",
                started_at=utcnow(),
                heartbeat_at=utcnow(),
                worker=worker,
                stage="starting",
            )
        ).rowcount
        params = session.scalar(select(Job.params).where(Job.id == job_id)) or {}
    return dict(params) if started else None


def record_outcome(
    ctx: PlanFuse, job_id: str, stage: str | JobHandle, run: Callable[[], dict[str, Any]]
) -> str:
    """Run a job's body and record how it ended; returns the final state.

    ``stage``: the stage a failure names, or the handle whose stage it was then.

    ``run()`` returns the summary (done), raises JobCancelled (cancelled), a problem or
    domain error (failed with it, as ``ctx.describe_failure`` shows it to clients) or
    anything else (failed, opaque, logged). A database that went away during the job (it
    failed the job's own writes) fails it as `database_unavailable`; the end is recorded
    once the database answers again (:func:`finish_patiently`), so the job never stays
    "running" and is never half-saved (its results are written in one transaction).
    """
    try:
        summary = run()
    except JobCancelled:
        finish_patiently(ctx, job_id, state="cancelled", stage="cancelled")
        log.info("job %s cancelled", job_id)
        return "cancelled"
    except Exception as exc:
        if database_unreachable(exc):
            log.warning("job %s failed: the database could not be reached", job_id)
        elif not isinstance(exc, DomainError | GeoError):  # unexpected: keep the trace
            log.exception("job %s failed", job_id)
        error = failure_describer(ctx)(exc)
        where = stage if isinstance(stage, str) else stage.stage
        finish_patiently(ctx, job_id, state="failed", stage=f"failed: {where}"[:200], error=error)
        return "failed"
    finish_patiently(ctx, job_id, state="done", progress=1.0, stage="done", summary=summary)
    return "done"


#: How long a job's end waits for a database that went away before giving up (the job is
#: then failed as abandoned by whichever process reads it later).
FINISH_PATIENCE_S = 120.0


def finish_patiently(
    ctx: PlanFuse, job_id: str, *, patience_s: float = FINISH_PATIENCE_S, **values: Any
) -> bool:
    """`finish_job`, retried with backoff while the database cannot be reached (a restart)
    for up to `patience_s`; other errors are raised at once."""
    deadline = time.monotonic() + patience_s
    pause = 0.25
    while True:
        try:
            return finish_job(ctx, job_id, **values)
        except Exception as exc:
            if not database_unreachable(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


class RunnerBase:
    """What every job runner does when it starts: describe failures the context's way, and
    fail the jobs a dead process left queued or running (now, not a minute later)."""

    backend: str

    def __init__(self, ctx: PlanFuse):
        self.describe_failure = failure_describer(ctx)
        self.ctx = ctx
        try:
            reap_stale_jobs(ctx)
        except Exception:  # the schema may not exist yet (before `planfuse db upgrade`)
            log.debug("could not reap stale jobs at start", exc_info=True)


class JobRunner(RunnerBase):
    """Runs jobs in background threads of this process (one per context, in
    ``ctx.extras["jobs"]``; use :func:`planfuse.services.runners.job_runner`)."""

    backend = "process"

    def __init__(self, ctx: PlanFuse):
        super().__init__(ctx)
        self.worker = worker_id()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, int(ctx.settings.job_workers)), thread_name_prefix="job"
        )
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._futures: dict[str, Any] = {}
        self._closed = threading.Event()
        self._heartbeat: threading.Thread | None = None

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
        stage: str = "queued",
    ) -> dict[str, Any]:
        """Queue ``function(ctx, handle, params)`` and return the job (state `queued`).

        ``key``: refuse (JobConflict) while another job holds the same key.
        The function returns the job's summary (JSON-able dict); it raises a domain error
        (`planfuse.errors`) for an expected failure (described by the context's
        `describe_failure`, it becomes the job's `error`), JobCancelled when
        cancelled. Anything else fails the job with an opaque internal error (logged).
        """
        if self._closed.is_set():
            raise Unavailable(
                "the server is stopping; retry shortly", code="shutting_down", title="Shutting down"
            )
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
        cancel = threading.Event()
        with self._lock:
            self._running[job_id] = cancel
            self._futures[job_id] = self._pool.submit(self._run, job_id, function, cancel)
        self._ensure_heartbeat()
        return get_job(self.ctx, job_id)

    def signal_cancel(self, job_id: str) -> None:
        """Tell a job running in this process to stop now (the DB flag is set already)."""
        with self._lock:
            event = self._running.get(job_id)
        if event is not None:
            event.set()

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until a job this process runs has finished; return it (tests, CLI)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return get_job(self.ctx, job_id)

    # --- the worker side -------------------------------------------------------------

    def _run(self, job_id: str, function: JobFunction, cancel: threading.Event) -> None:
        try:
            params = start_job(self.ctx, job_id, self.worker)
            if params is None:  # cancelled while queued
                return
            handle = JobHandle(self.ctx, job_id, cancel)
            record_outcome(self.ctx, job_id, handle, lambda: function(self.ctx, handle, params))
        except Exception:  # the database itself failed; the heartbeat stops, reaping follows
            log.exception("job %s could not be recorded", job_id)
        finally:
            with self._lock:
                self._running.pop(job_id, None)

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is not None and self._heartbeat.is_alive():
                return
            self._heartbeat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        interval = max(0.5, float(self.ctx.settings.job_heartbeat_s))
        while not self._closed.wait(interval):
            ids = self.running_ids()
            if not ids:
                return
            beat_jobs(self.ctx, ids)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop: running jobs are asked to cancel and given ``timeout_s`` to do so."""
        if self._closed.is_set():
            return
        self._closed.set()
        with self._lock:
            events = list(self._running.values())
            futures = list(self._futures.values())
        for event in events:
            event.set()
        deadline = time.monotonic() + timeout_s
        for future in futures:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # A job's own failure was recorded by _run already.
            with contextlib.suppress(Exception):
                future.result(timeout=remaining)
        self._pool.shutdown(wait=False, cancel_futures=True)


def beat_jobs(ctx: PlanFuse, ids: Sequence[str]) -> None:
    """Record that the jobs ``ids`` are alive (their heartbeat), logging a failure."""
    try:
        with ctx.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(list(ids)), Job.state.in_(ACTIVE_STATES))
                .values(heartbeat_at=utcnow())
            )
    except Exception:
        log.warning("job heartbeat failed", exc_info=True)
