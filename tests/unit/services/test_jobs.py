"""The job facility on SQLite and PostgreSQL: progress and stage in the database, a
summary when done, a problem when failed (opaque for unexpected errors), cancellation of
queued and running jobs through the database flag, one job per key, jobs of a dead
process failed by the heartbeat timeout, and close() stopping running jobs."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from planfuse.errors import Conflict, DomainError
from planfuse.http.problems import problem_from_exception
from planfuse.services.jobs import (
    JobConflict,
    JobRunner,
    cancel_job,
    get_job,
    reap_stale_jobs,
)
from planfuse.settings import load_settings
from planfuse.storage.models import Job
from planfuse.storage.models.base import utcnow


@pytest.fixture
def runner(ctx):
    r = JobRunner(ctx)
    yield r
    r.close(timeout_s=5)


def wait_for(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_progress_stage_and_summary(ctx, runner):
    seen = threading.Event()
    go = threading.Event()

    def work(ctx_, handle, params):
        handle.progress(0.5, "half way")
        seen.set()
        go.wait(5)
        return {"answer": params["x"] * 2}

    job = runner.submit("test.double", work, {"x": 21}, app_id="app-1", user="u")
    assert job["state"] in ("queued", "running")
    assert seen.wait(5)
    wait_for(lambda: get_job(ctx, job["id"])["stage"] == "half way")
    middle = get_job(ctx, job["id"])
    assert middle["state"] == "running" and middle["progress"] == 0.5
    go.set()
    done = runner.wait(job["id"], timeout=5)
    assert done["state"] == "done" and done["progress"] == 1.0
    assert done["summary"] == {"answer": 42}
    assert done["created_by"] == {"app": "app-1", "user": "u"}
    assert done["started_at"] and done["finished_at"]


def test_a_problem_fails_the_job_with_its_message(ctx, runner):
    def work(ctx_, handle, params):
        handle.progress(0.1, "reading")
        raise Conflict("no land plan", code="missing_layers")

    job = runner.wait(runner.submit("test.fail", work)["id"], timeout=5)
    assert job["state"] == "failed"
    assert job["error"]["detail"] == "no land plan"
    assert job["stage"] == "failed: reading"


def test_an_unexpected_error_fails_the_job_opaquely(ctx, runner, caplog):
    def work(ctx_, handle, params):
        raise RuntimeError("secret internals")

    job = runner.wait(runner.submit("test.crash", work)["id"], timeout=5)
    assert job["state"] == "failed"
    assert "secret" not in job["error"]["detail"]
    assert job["error"]["status"] == 500


def test_one_job_per_key(ctx, runner):
    go = threading.Event()

    def work(ctx_, handle, params):
        go.wait(5)
        return {}

    first = runner.submit("test.keyed", work, key="k")
    with pytest.raises(JobConflict) as info:
        runner.submit("test.keyed", work, key="k")
    problem = problem_from_exception(info.value)
    assert problem.status == 409 and first["id"] in problem.detail
    other = runner.submit("test.keyed", work, key="other")
    go.set()
    runner.wait(first["id"], timeout=5)
    runner.wait(other["id"], timeout=5)
    # The key is free once the job finished.
    runner.wait(runner.submit("test.keyed", work, key="k")["id"], timeout=5)


def test_cancel_a_running_job_through_the_database_flag(ctx, runner):
    started = threading.Event()

    def work(ctx_, handle, params):
        started.set()
        while True:
            handle.check()
            time.sleep(0.01)

    job = runner.submit("test.loop", work, key="loop")
    assert started.wait(5)
    # As another process would: only the flag in the database.
    with ctx.db.session() as s:
        s.execute(update(Job).where(Job.id == job["id"]).values(cancel_requested=True))
    done = runner.wait(job["id"], timeout=5)
    assert done["state"] == "cancelled"
    with ctx.db.session() as s:
        assert s.scalar(select(Job.active_key).where(Job.id == job["id"])) is None


def test_cancel_a_queued_job_at_once(ctx):
    busy = threading.Event()
    release = threading.Event()
    # One worker thread, so a second job waits as `queued`.
    ctx.settings = load_settings({**dict(ctx.settings), "job_workers": 1}, environ={})
    runner = JobRunner(ctx)
    try:

        def block(ctx_, handle, params):
            busy.set()
            release.wait(5)
            return {}

        first = runner.submit("test.block", block)
        assert busy.wait(5)
        queued = runner.submit("test.block", block)
        assert get_job(ctx, queued["id"])["state"] == "queued"
        cancelled = cancel_job(ctx, queued["id"])
        assert cancelled["state"] == "cancelled"
        release.set()
        runner.wait(first["id"], timeout=5)
        runner.wait(queued["id"], timeout=5)
        assert get_job(ctx, queued["id"])["state"] == "cancelled"
        with pytest.raises(DomainError) as info:
            cancel_job(ctx, first["id"])
        assert problem_from_exception(info.value).status == 409
    finally:
        runner.close(timeout_s=5)


def test_a_job_of_a_dead_process_is_failed_by_the_heartbeat_timeout(ctx):
    old = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s + 1)
    with ctx.db.session() as s:
        s.add(
            Job(
                id="dead0001",
                kind="test.dead",
                state="running",
                active_key="k-dead",
                worker="gone:1",
                created_at=old,
                heartbeat_at=old,
            )
        )
        s.add(Job(id="alive001", kind="test.alive", state="running", heartbeat_at=utcnow()))
    assert reap_stale_jobs(ctx) == 1
    dead = get_job(ctx, "dead0001")
    assert dead["state"] == "failed"
    assert "gone:1" in dead["error"]["detail"]
    assert get_job(ctx, "alive001")["state"] == "running"
    # A new runner (a server start) reaps too; the key is free.
    with ctx.db.session() as s:
        s.execute(update(Job).where(Job.id == "alive001").values(heartbeat_at=old, active_key="k2"))
    runner = JobRunner(ctx)
    try:
        assert get_job(ctx, "alive001")["state"] == "failed"
        runner.wait(runner.submit("test.k2", lambda c, h, p: {}, key="k2")["id"], timeout=5)
    finally:
        runner.close()


def test_heartbeat_keeps_a_long_job_alive(ctx):
    ctx.settings = load_settings(
        {**dict(ctx.settings), "job_heartbeat_s": 1, "job_stale_after_s": 2}, environ={}
    )
    runner = JobRunner(ctx)
    go = threading.Event()
    try:
        job = runner.submit("test.slow", lambda c, h, p: go.wait(10) and {})
        time.sleep(3.2)
        # Three seconds without progress, but the heartbeat ran: not reaped.
        assert get_job(ctx, job["id"])["state"] == "running"
        go.set()
        assert runner.wait(job["id"], timeout=5)["state"] == "done"
    finally:
        runner.close()


def test_close_stops_running_jobs(ctx):
    runner = JobRunner(ctx)
    started = threading.Event()

    def work(ctx_, handle, params):
        started.set()
        while True:
            handle.check()
            time.sleep(0.01)

    job = runner.submit("test.loop", work)
    assert started.wait(5)
    runner.close(timeout_s=5)
    assert get_job(ctx, job["id"])["state"] == "cancelled"
    with pytest.raises(DomainError):
        runner.submit("test.after", work)


def test_unknown_jobs_and_other_apps(ctx, runner):
    with pytest.raises(DomainError) as info:
        get_job(ctx, "nope")
    assert problem_from_exception(info.value).status == 404
    private = runner.wait(runner.submit("t", lambda c, h, p: {}, app_id="a")["id"], timeout=5)
    with pytest.raises(DomainError):
        get_job(ctx, private["id"], app_id="b")
    shared = runner.wait(
        runner.submit("t", lambda c, h, p: {}, app_id="a", shared=True)["id"], timeout=5
    )
    assert get_job(ctx, shared["id"], app_id="b")["id"] == shared["id"]


def test_a_server_start_fails_the_jobs_of_a_dead_process(ctx):
    from planfuse.app import create_app

    old = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s + 1)
    with ctx.db.session() as s:
        s.add(Job(id="dead0002", kind="t", state="queued", active_key="k3", heartbeat_at=old))
    app = create_app({"database_url": ctx.settings.database_url, "secret_key": "s" * 40})
    try:
        # Read the row directly: get_job would reap it by itself.
        with ctx.db.session() as s:
            assert s.scalar(select(Job.state).where(Job.id == "dead0002")) == "failed"
    finally:
        app.extensions["planfuse"].close()
