"""Jobs on the queue (Celery over a private Redis, real `planfuse worker` processes), on
SQLite and PostgreSQL: the same job API as the in-process runner; a partitioned job runs
its partitions on both workers and merges them; a worker killed with SIGKILL mid-partition
loses nothing (late acknowledgement, the partition runs again elsewhere, stored once);
cancel reaches partitions on every worker; an unreachable broker is a 503 that leaves a
failed job, not a queued one forever."""

from __future__ import annotations

import signal

import pytest
import queue_jobs
from queue_support import redis_server, stop, wait_for, wait_workers_ready, workers
from sqlalchemy import select

from planfuse.errors import Unavailable
from planfuse.services.job_queue import QueueJobRunner
from planfuse.services.jobs import cancel_job, get_job
from planfuse.services.runners import job_runner
from planfuse.storage.models import JobPart

pytestmark = pytest.mark.slow

N = 200
EXPECTED = sum(i * i for i in range(N))


@pytest.fixture
def broker():
    with redis_server() as (url, _proc, _port):
        yield url


@pytest.fixture
def settings_overrides(broker):
    return {"broker_url": broker, "job_redelivery_s": 3, "job_heartbeat_s": 1}


def worker_settings(ctx) -> dict:
    return {
        "database_url": ctx.settings.database_url,
        "broker_url": ctx.settings.broker_url,
        "job_redelivery_s": 3,
        "job_heartbeat_s": 1,
        "secret_key": ctx.settings.secret_key,
        "log_level": "WARNING",
    }


def parts_of(ctx, job_id):
    with ctx.db.session() as session:
        return session.execute(
            select(JobPart.part, JobPart.state, JobPart.worker, JobPart.attempts)
            .where(JobPart.job_id == job_id)
            .order_by(JobPart.part)
        ).all()


def test_with_a_broker_jobs_run_on_a_worker_not_in_the_server(ctx, tmp_path):
    runner = job_runner(ctx)
    assert isinstance(runner, QueueJobRunner)
    job = runner.submit("test.double", queue_jobs.double, {"x": 21}, app_id="app-1")
    # No worker yet: the job waits on the queue, and is not reaped as abandoned.
    assert get_job(ctx, job["id"])["state"] == "queued"
    assert job["backend"] == "queue"
    with workers(worker_settings(ctx), 1, tmp_path):
        done = runner.wait(job["id"], timeout=60)
    assert done["state"] == "done" and done["summary"] == {"answer": 42}
    assert done["progress"] == 1.0 and done["created_by"]["app"] == "app-1"


def test_partitions_run_on_both_workers_and_merge(ctx, tmp_path):
    runner = job_runner(ctx)
    params = {"n": N, "parts": 6, "sleep_s": 0.01}
    with workers(worker_settings(ctx), 2, tmp_path):
        wait_workers_ready(ctx, 2)
        job = runner.submit("test.squares", queue_jobs.squares, params)
        done = runner.wait(job["id"], timeout=90)
    assert done["state"] == "done", done
    assert done["summary"] == {"sum": EXPECTED, "answered": list(range(6))}
    assert done["partitions"] == {"total": 6, "done": 6}
    rows = parts_of(ctx, job["id"])
    assert [r.state for r in rows] == ["done"] * 6
    assert {r.worker.split(":")[0] for r in rows}  # recorded who ran each
    assert len({r.worker for r in rows}) == 2, "both workers took partitions"


def test_a_worker_killed_mid_partition_loses_nothing(ctx, tmp_path):
    runner = job_runner(ctx)
    # Each partition runs ~2.5 s, so the kill lands inside one.
    params = {"n": N, "parts": 4, "sleep_s": 0.05}
    with workers(worker_settings(ctx), 2, tmp_path) as procs:
        wait_workers_ready(ctx, 2)
        job = runner.submit("test.squares", queue_jobs.squares, params)
        running = wait_for(
            lambda: [r for r in parts_of(ctx, job["id"]) if r.state == "running"], 60
        )
        victim_pid = int(running[0].worker.rsplit(":", 1)[1])
        victim = next(p for p in procs if p.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        # What the dead worker left half done (its row still says running).
        orphans = {
            r.part
            for r in parts_of(ctx, job["id"])
            if r.state == "running" and r.worker == running[0].worker
        }
        done = runner.wait(job["id"], timeout=120)
    assert done["state"] == "done", (done, (tmp_path / "worker0.log").read_text()[-3000:])
    assert done["summary"] == {"sum": EXPECTED, "answered": [0, 1, 2, 3]}
    rows = parts_of(ctx, job["id"])
    assert all(r.state == "done" for r in rows)
    assert orphans, "the kill landed while the worker ran a partition"
    # The killed partition ran again (on the surviving worker) and counted once.
    assert all(r.attempts >= 2 for r in rows if r.part in orphans)
    assert done["partitions"] == {"total": 4, "done": 4}


def test_cancel_reaches_partitions_on_every_worker(ctx, tmp_path):
    runner = job_runner(ctx)
    params = {"n": 100_000, "parts": 4, "sleep_s": 0.01}
    with workers(worker_settings(ctx), 2, tmp_path):
        wait_workers_ready(ctx, 2)
        job = runner.submit("test.squares", queue_jobs.squares, params)
        wait_for(
            lambda: len({r.worker for r in parts_of(ctx, job["id"]) if r.state == "running"}) == 2,
            60,
        )
        cancel_job(ctx, job["id"])
        done = runner.wait(job["id"], timeout=30)
        assert done["state"] == "cancelled"
        # Every partition stopped: none is still writing a heartbeat or finishing.
        wait_for(lambda: True, 2)
        assert not [r for r in parts_of(ctx, job["id"]) if r.state == "done"]
    assert get_job(ctx, job["id"])["state"] == "cancelled"


def test_an_unreachable_broker_is_a_503_and_a_failed_job(ctx, broker):
    with redis_server() as (url, proc, _port):
        pass  # a port where nothing listens any more
    from planfuse.context import build_context
    from planfuse.http.problems import problem_dict
    from planfuse.settings import load_settings

    values = dict(ctx.settings.items()) | {"broker_url": url}
    other = build_context(load_settings(values, environ={}), describe_failure=problem_dict)
    try:
        with pytest.raises(Unavailable) as info:
            job_runner(other).submit("test.double", queue_jobs.double, {"x": 1})
        assert "broker" in str(info.value)
        from planfuse.storage.models import Job

        with other.db.session() as session:
            states = session.scalars(select(Job.state)).all()
        assert states == ["failed"]
    finally:
        other.close()
    stop(proc)


def test_a_job_waiting_on_the_queue_is_not_taken_for_abandoned(ctx):
    """Partitions behind other jobs' tasks write no heartbeat; that is waiting, not death.
    Once a task of it runs and stops beating (its worker died and no other took over in
    `job_redelivery_s`), it is abandoned."""
    from datetime import timedelta

    from sqlalchemy import update

    from planfuse.services.jobs import create_job, reap_stale_jobs
    from planfuse.storage.models import Job
    from planfuse.storage.models.base import utcnow

    job_id = create_job(ctx, "test.squares", {}, backend="queue")
    old = utcnow() - timedelta(hours=1)
    with ctx.db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state="running", heartbeat_at=old, parts_total=2, parts_done=1)
        )
        session.add_all(
            [
                JobPart(job_id=job_id, part=0, state="done", attempts=1),
                JobPart(job_id=job_id, part=1, state="queued", attempts=0),
            ]
        )
    assert reap_stale_jobs(ctx) == 0
    with ctx.db.session() as session:
        session.execute(update(JobPart).where(JobPart.part == 1).values(state="running"))
    assert reap_stale_jobs(ctx) == 1
    assert get_job(ctx, job_id)["state"] == "failed"
