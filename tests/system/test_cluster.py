"""PlanFuse as a small cluster on this machine (tests/cluster_support.py): two web
processes behind HAProxy, two workers, PostgreSQL with PostGIS and Redis, each its own
process on its own loopback address.

Checks: a widget session made through one web process works on the other; a detection
submitted on web 1 is polled on web 2, runs on both workers and gives the single-process
answer; a worker killed with SIGKILL mid-detection ⇒ the job still completes with the same
answer; a web process killed with SIGKILL ⇒ the balancer sends traffic to the other with
no failed request beyond the ones in flight; Redis restarted ⇒ service back (sessions,
cache, a new detection) without restarting anything else.
"""

from __future__ import annotations

import math
import shutil
import threading
import time

import pytest
from cluster_support import (
    Cluster,
    load_two_plans,
    make_workdir,
    missing_parts,
    request,
)
from embed_support import claims_for, sign_hs256
from queue_support import wait_workers_ready
from sqlalchemy import select

from planfuse.auth.apps import create_host_app
from planfuse.context import build_context
from planfuse.http.problems import problem_dict
from planfuse.services.conflicts.detect import detect
from planfuse.settings import load_settings
from planfuse.storage.models import JobPart

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        bool(missing_parts()),
        reason=f"missing {', '.join(missing_parts())} (bootstrap test installs them)",
    ),
]

PARCELS = 20_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    workdir = make_workdir()
    c = Cluster(workdir)
    try:
        c.start_postgres()
        c.start_redis()
        c.upgrade()
        ctx = build_context(
            load_settings(c.base_settings(), environ={}), describe_failure=problem_dict
        )
        load_two_plans(ctx, tmp_path_factory.mktemp("cluster-data"), PARCELS)
        app, secret = create_host_app(ctx, "cluster host", ["http://127.0.0.1:9"], ["conflicts"])
        c.host = (app.id, secret)
        # The single-process answer, computed here before any worker runs.
        c.expected = detect(ctx, "two_plans").type_stats
        c.ctx = ctx
        for name in ("web1", "web2"):
            c.start_web(name)
        for name in ("worker1", "worker2"):
            c.start_worker(name)
        for name in ("web1", "web2"):
            c.wait_ready(name)
        wait_workers_ready(ctx, 2)
        c.start_balancer()
        yield c
    except BaseException:
        print(c.log_tail())
        raise
    finally:
        c.stop()
        if getattr(c, "ctx", None) is not None:
            c.ctx.close()
        shutil.rmtree(workdir, ignore_errors=True)


def session_on(cluster: Cluster, web: str) -> dict[str, str]:
    """Bearer headers of a conflicts-widget session (coordinator) exchanged on ``web``."""
    app_id, secret = cluster.host
    token = sign_hs256(claims_for(app_id, "conflicts", roles=["coordinator"]), secret)
    status, body = request(cluster.url(web) + "/embed/session", "POST", {"token": token})
    assert status == 200, body
    return {"Authorization": f"Bearer {body['session_token']}"}


def run_detection(cluster: Cluster, submit_on: str, poll_on: str, during=None) -> dict:
    headers = session_on(cluster, submit_on)
    deadline = time.monotonic() + 300  # seconds, generous for a loaded CI machine
    while True:
        status, body = request(
            cluster.url(submit_on) + "/api/v1/conflicts/detect",
            "POST",
            {"analysis": "two_plans"},
            headers,
        )
        if status != 409:
            break
        # A detection of an earlier check still runs (one per analysis): let it finish.
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    assert status == 202, body
    job_id = body["job"]["id"]
    assert body["job"]["backend"] == "queue"
    if during:
        during(job_id)
    while True:
        status, job = request(f"{cluster.url(poll_on)}/api/v1/jobs/{job_id}", headers=headers)
        assert status == 200, job
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def parts(cluster: Cluster, job_id: str):
    with cluster.ctx.db.session() as session:
        return session.execute(
            select(JobPart.part, JobPart.state, JobPart.worker, JobPart.attempts).where(
                JobPart.job_id == job_id
            )
        ).all()


def assert_expected_answer(cluster: Cluster, job: dict) -> None:
    assert job["state"] == "done", job
    by_type = job["summary"]["by_type"]
    assert set(by_type) == set(cluster.expected)
    for code, entry in cluster.expected.items():
        assert by_type[code]["count"] == entry["count"], code
        assert by_type[code]["sliver_count"] == entry["sliver_count"], code
        assert math.isclose(by_type[code]["area_m2"], entry["area_m2"], abs_tol=0.01), code
    assert job["summary"]["conflicts"]["count"] > 1_000


def test_a_widget_session_made_on_one_web_process_works_on_the_other(cluster):
    headers = session_on(cluster, "web1")
    status, body = request(cluster.url("web2") + "/api/v1/conflicts/options", headers=headers)
    assert status == 200, body
    assert {a["name"] for a in body["analyses"]} >= {"two_plans"}
    # The embed token is spent for good on every process: replaying it on web 2 fails.
    app_id, secret = cluster.host
    token = sign_hs256(claims_for(app_id, "conflicts"), secret)
    first, _ = request(cluster.url("web2") + "/embed/session", "POST", {"token": token})
    again, problem = request(cluster.url("web1") + "/embed/session", "POST", {"token": token})
    assert (first, again) == (200, 401), problem


def test_a_detection_from_web1_polled_on_web2_runs_on_both_workers(cluster):
    job = run_detection(cluster, "web1", "web2")
    assert_expected_answer(cluster, job)
    rows = parts(cluster, job["id"])
    assert job["partitions"] == {"total": len(rows), "done": len(rows)} and len(rows) >= 8
    workers = {r.worker.rsplit(":", 1)[1] for r in rows}
    pids = {str(cluster.procs[n].pid) for n in ("worker1", "worker2")}
    assert workers == pids, "both workers ran partitions"


def test_a_worker_killed_mid_detection_loses_nothing(cluster):
    orphans: set[int] = set()

    def kill_one(job_id: str) -> None:
        deadline = time.monotonic() + 120
        while True:
            running = [r for r in parts(cluster, job_id) if r.state == "running"]
            if running:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        pid = int(running[0].worker.rsplit(":", 1)[1])
        victim = next(n for n in ("worker1", "worker2") if cluster.procs[n].pid == pid)
        cluster.kill(victim)
        kill_one.victim = victim
        # What the dead worker left half done: its rows still say running.
        orphans.update(
            r.part
            for r in parts(cluster, job_id)
            if r.state == "running" and r.worker == running[0].worker
        )

    kill_one.victim = None
    try:
        job = run_detection(cluster, "web2", "web1", during=kill_one)
        assert_expected_answer(cluster, job)
        rows = parts(cluster, job["id"])
        assert all(r.state == "done" for r in rows)
        assert orphans, "the kill landed while the worker ran a partition"
        assert all(r.attempts >= 2 for r in rows if r.part in orphans), "ran again"
    finally:
        if kill_one.victim is not None:
            cluster.start_worker(kill_one.victim)
            wait_workers_ready(cluster.ctx, 2)


def test_a_web_process_killed_sends_traffic_to_the_other(cluster):
    headers = session_on(cluster, "web2")
    url = cluster.url("lb") + "/api/v1/conflicts?limit=5&geometry=false"
    results: list[int] = []
    stop = threading.Event()
    in_flight = 4

    def client() -> None:
        while not stop.is_set():
            try:
                status, _ = request(url, headers=headers, timeout_s=10)
            except OSError:
                status = 0
            results.append(status)

    threads = [threading.Thread(target=client) for _ in range(in_flight)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        before = len(results)
        cluster.kill("web1")
        time.sleep(3.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    after = results[before:]
    failed = [s for s in after if s != 200]
    assert before > 10 and len(after) > 20
    assert len(failed) <= in_flight, failed
    cluster.start_web("web1")
    cluster.wait_ready("web1")


def test_redis_restarted_service_back_without_restarts(cluster):
    headers = session_on(cluster, "web1")
    tile = cluster.url("lb") + "/api/v1/conflicts/options"
    assert request(tile, headers=headers)[0] == 200
    cluster.procs["redis"].terminate()
    cluster.procs["redis"].wait(timeout=10)
    cluster.start_redis()
    # Nothing else restarted: sessions, reads and a new detection work again.
    deadline = time.monotonic() + 30
    while request(tile, headers=headers)[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    job = run_detection(cluster, "web1", "web2")
    assert_expected_answer(cluster, job)
