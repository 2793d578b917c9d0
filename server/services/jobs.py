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
  job with the same key is refused (`JobConflict`, 409) even when the two requests reach
  different processes at the same instant.
* **Dead processes.** A queued or running job whose heartbeat is older than
  ``job_stale_after_s`` is marked failed ("its server process stopped") when it is read,
  when a job with its key is submitted, and when a server process starts its runner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError, not_found, problem_from_exception
from planfuse.storage.models import Job
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


class JobCancelled(Exception):
    """Raised inside a job when its cancellation was requested."""


class JobConflict(ProblemError):
    """A job with the same key is queued or running (409 naming it)."""

    def __init__(self, job: Mapping[str, Any], key: str):
        super().__init__(
            409,
            "job_running",
            f"job {job['id']} ({key}) is {job['state']} since {job['created_at']}; wait for it "
            f"(GET /api/v1/jobs/{job['id']}) or cancel it (DELETE) before starting another",
            title="A job is already running",
            errors=[{"field": "job", "message": "already running", "job": job["id"]}],
        )
        self.job = dict(job)


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
    }


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value else None


def worker_id() -> str:
    """This process: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def reap_stale_jobs(ctx: PlanFuse, *, job_id: str | None = None, key: str | None = None) -> int:
    """Mark queued/running jobs without a recent heartbeat as failed (their process died).

    Limited to one job or one key when given. Returns how many were marked.
    """
    cutoff = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
    query = select(Job).where(Job.state.in_(ACTIVE_STATES))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    if key is not None:
        query = query.where(Job.active_key == key)
    with ctx.db.session() as session:
        candidates = [
            (job.id, job.worker, job.heartbeat_at)
            for job in session.scalars(query)
            if (_aware(job.heartbeat_at) or cutoff) < cutoff or job.heartbeat_at is None
        ]
    reaped = 0
    for found_id, worker, beat in candidates:
        problem = ProblemError(
            500,
            "job_abandoned",
            f"the server process running this job ({worker or 'not started'}) stopped; "
            f"no heartbeat since {_iso(beat)}. Start it again.",
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
                    error=problem.to_dict(),
                    active_key=None,
                    finished_at=utcnow(),
                )
            )
            reaped += result.rowcount or 0
    if reaped:
        log.warning("marked %d abandoned job(s) failed", reaped)
    return reaped


def get_job(ctx: PlanFuse, job_id: str, *, app_id: str | None = None) -> dict[str, Any]:
    """A job by id (404 if unknown, or not visible to ``app_id``: jobs are private to the
    app that started them unless shared)."""
    reap_stale_jobs(ctx, job_id=job_id)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not _visible(job, app_id):
            raise not_found("job", job_id)
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
    already finished: 409. Cancelling a cancelled job again returns it unchanged."""
    reap_stale_jobs(ctx, job_id=job_id)
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not _visible(job, app_id):
            raise not_found("job", job_id)
        owner, state = job.created_by_app, job.state
    if app_id is not None and owner != app_id:
        raise ProblemError(
            403,
            "forbidden",
            f"job {job_id} was started by another app; only that app may cancel it",
            title="Forbidden",
        )
    if state in ("done", "failed"):
        raise ProblemError(
            409,
            "job_finished",
            f"job {job_id} already finished ({state}); there is nothing to cancel",
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
    if isinstance(runner, JobRunner):
        runner.signal_cancel(job_id)
    return get_job(ctx, job_id)


class JobHandle:
    """What a running job uses to report progress and to learn it should stop.

    ``progress(fraction, stage)`` records progress (0–1) and raises :class:`JobCancelled`
    when cancellation was requested; ``check()`` only does the latter. Both are cheap to
    call often: the database is touched at most every few hundred milliseconds.
    """

    def __init__(self, ctx: PlanFuse, job_id: str, cancel_event: threading.Event):
        self.ctx = ctx
        self.id = job_id
        self._cancel = cancel_event
        self._stage = ""
        self._progress = 0.0
        self._written_at = 0.0
        self._polled_at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def stage(self) -> str:
        return self._stage

    def check(self) -> None:
        """Raise JobCancelled if cancellation was requested (here or in another process)."""
        if self._cancel.is_set():
            raise JobCancelled(self.id)
        now = time.monotonic()
        if now - self._polled_at < CANCEL_POLL_S:
            return
        self._polled_at = now
        with self.ctx.db.session() as session:
            flag = session.scalar(select(Job.cancel_requested).where(Job.id == self.id))
        if flag:
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
            if write:
                self._written_at = now
        if write:
            with self.ctx.db.session() as session:
                session.execute(
                    update(Job)
                    .where(Job.id == self.id)
                    .values(progress=fraction, stage=self._stage[:200], heartbeat_at=utcnow())
                )
        self.check()

    def span(self, start: float, end: float, stage: str | None = None) -> Callable[[float], None]:
        """A progress callback mapping 0–1 onto ``start``–``end`` of the whole job."""

        def report(fraction: float) -> None:
            self.progress(start + (end - start) * fraction, stage)

        return report


class JobRunner:
    """Runs jobs in background threads of this process (one per context, in
    ``ctx.extras["jobs"]``; use :func:`job_runner`)."""

    def __init__(self, ctx: PlanFuse):
        self.ctx = ctx
        self.worker = worker_id()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, int(ctx.settings.job_workers)), thread_name_prefix="job"
        )
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._futures: dict[str, Any] = {}
        self._closed = threading.Event()
        self._heartbeat: threading.Thread | None = None
        # A job left queued/running by a process that died is failed now, not in a minute.
        try:
            reap_stale_jobs(ctx)
        except Exception:  # the schema may not exist yet (before `planfuse db upgrade`)
            log.debug("could not reap stale jobs at start", exc_info=True)

    def submit(
        self,
        kind: str,
        function: JobFunction,
        params: Mapping[str, Any] | None = None,
        *,
        app_id: str = "",
        user: str | None = None,
        key: str | None = None,
        shared: bool = False,
        stage: str = "queued",
    ) -> dict[str, Any]:
        """Queue ``function(ctx, handle, params)`` and return the job (state `queued`).

        ``key``: refuse (JobConflict, 409) while another job holds the same key.
        The function returns the job's summary (JSON-able dict); it raises ProblemError for
        an expected failure (the problem becomes the job's `error`), JobCancelled when
        cancelled. Anything else fails the job with an opaque internal error (logged).
        """
        if self._closed.is_set():
            raise ProblemError(503, "shutting_down", "the server is stopping; retry shortly")
        if key is not None:
            reap_stale_jobs(self.ctx, key=key)
        job_id = secrets.token_hex(8)
        now = utcnow()
        try:
            with self.ctx.db.session() as session:
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
                    )
                )
        except IntegrityError:
            holder = find_active_job(self.ctx, key) if key else None
            if holder is None:  # finished in between: the caller may simply retry
                raise ProblemError(
                    409, "job_running", f"another {kind} job just held {key}; retry"
                ) from None
            raise JobConflict(holder, key) from None
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

    def _finish(self, job_id: str, **values: Any) -> None:
        with self.ctx.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(ACTIVE_STATES))
                .values(active_key=None, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
            )

    def _run(self, job_id: str, function: JobFunction, cancel: threading.Event) -> None:
        try:
            with self.ctx.db.session() as session:
                started = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "queued", Job.cancel_requested.is_(False))
                    .values(
                        state="running",
                        started_at=utcnow(),
                        heartbeat_at=utcnow(),
                        worker=self.worker,
                        stage="starting",
                    )
                ).rowcount
                params = session.scalar(select(Job.params).where(Job.id == job_id)) or {}
            if not started:  # cancelled while queued
                return
            handle = JobHandle(self.ctx, job_id, cancel)
            try:
                summary = function(self.ctx, handle, dict(params))
            except JobCancelled:
                self._finish(job_id, state="cancelled", stage="cancelled")
                log.info("job %s cancelled", job_id)
            except Exception as exc:
                problem = problem_from_exception(exc)
                if problem.status >= 500:
                    log.exception("job %s failed", job_id)
                self._finish(
                    job_id,
                    state="failed",
                    stage=f"failed: {handle.stage}"[:200],
                    error=problem.to_dict(),
                )
            else:
                self._finish(job_id, state="done", progress=1.0, stage="done", summary=summary)
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
            try:
                with self.ctx.db.session() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id.in_(ids), Job.state.in_(ACTIVE_STATES))
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:
                log.warning("job heartbeat failed", exc_info=True)

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


def job_runner(ctx: PlanFuse) -> JobRunner:
    """This process's job runner for ``ctx`` (created on first use)."""
    return ctx.shared(EXTRA_KEY, lambda: JobRunner(ctx))
