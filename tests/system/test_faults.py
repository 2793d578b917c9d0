"""Faults of the real dependencies, started and stopped by the test: a private PostgreSQL
cluster and a private Redis (tests/cluster_support.py; the machine's shared servers are
never touched) under a real `planfuse serve`.

* PostgreSQL stopped during requests: every request is answered — 503 with Retry-After
  and `database_unavailable` where the database is needed, never a 500; /healthz stays
  200, /readyz is 503 naming the database; an embed token cannot be exchanged (the replay
  store fails closed); nothing is half-written; after the restart everything answers again
  without restarting the server.
* PostgreSQL stopped during a conflict detection: the job ends (failed as
  `database_unavailable`, or done if it never noticed), never stays running and never
  leaves half its patches; the next detection matches the earlier one patch for patch.
* Redis (cache and broker) stopped: pages and tiles are served without the cache,
  /readyz says `degraded` and names the cache and the job queue, a detection submission is
  503 with Retry-After; after the restart the cache fills again.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter

import pytest
from cluster_support import Cluster, load_two_plans, make_workdir, missing_parts, request
from compliance_world import build_world, project
from embed_support import claims_for, sign_hs256
from sqlalchemy import func, select

from planfuse.auth.apps import create_host_app
from planfuse.context import build_context
from planfuse.http.problems import problem_dict
from planfuse.settings import load_settings
from planfuse.storage.models import ComplianceReport, Conflict, Job

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        bool(missing_parts()),
        reason=f"missing {', '.join(missing_parts())} (bootstrap test installs them)",
    ),
]

#: Parcels per plan: a detection of some seconds on one web process.
PARCELS = 6_000
CHECK = "/api/v1/compliance/check"
BODY = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Private PostgreSQL and Redis, one web process running jobs in its own threads
    (no broker), the cache on Redis."""
    workdir = make_workdir()
    c = Cluster(workdir, settings={"broker_url": "", "log_level": "WARNING"})
    try:
        c.start_postgres()
        c.start_redis()
        c.upgrade()
        ctx = build_context(
            load_settings(c.base_settings(), environ={}), describe_failure=problem_dict
        )
        c.ctx = ctx
        load_two_plans(ctx, tmp_path_factory.mktemp("fault-data"), PARCELS)
        build_world(ctx)
        app, secret = create_host_app(
            ctx, "fault host", ["http://127.0.0.1:9"], ["conflicts", "compliance"]
        )
        c.host = (app.id, secret)
        c.start_web("web1")
        c.wait_ready("web1")
        yield c
    except BaseException:
        print(c.log_tail())
        raise
    finally:
        c.stop()
        if getattr(c, "ctx", None) is not None:
            c.ctx.close()
        shutil.rmtree(workdir, ignore_errors=True)


def basic(cluster: Cluster) -> dict[str, str]:
    import base64

    app_id, secret = cluster.host
    return {"Authorization": "Basic " + base64.b64encode(f"{app_id}:{secret}".encode()).decode()}


def embed_token(cluster: Cluster, widget: str = "conflicts", **claims) -> str:
    app_id, secret = cluster.host
    return sign_hs256(claims_for(app_id, widget, **claims), secret)


def coordinator(cluster: Cluster) -> dict[str, str]:
    token = embed_token(cluster, roles=["coordinator"])
    status, body = request(cluster.url("web1") + "/embed/session", "POST", {"token": token})
    assert status == 200, body
    return {"Authorization": f"Bearer {body['session_token']}"}


def wait_until(predicate, timeout_s: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached after {timeout_s} s"
        time.sleep(0.2)


def ready(cluster: Cluster) -> bool:
    status, body = request(cluster.url("web1") + "/readyz", timeout_s=5)
    return status == 200 and body["status"] == "ready"


def assert_unavailable(status: int, body, headers_ok: bool = True) -> None:
    assert status == 503, body
    assert body["type"].endswith(("/database_unavailable", "/not_ready")), body


class Traffic(threading.Thread):
    """Requests of several kinds, one after another, until stopped: (kind, status, body,
    Retry-After) of each."""

    def __init__(self, cluster: Cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.results: list[tuple[str, int, object, str | None]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        import json
        import urllib.error
        import urllib.request

        base = self.cluster.url("web1")
        calls = [
            ("check", "POST", CHECK, {**BODY, "geometry": project(-100, 50, 100, 150)}),
            ("layers", "GET", "/api/v1/layers", None),
            ("items", "GET", "/ogc/collections/basic_farmland/items?limit=2", None),
            ("conflicts", "GET", "/api/v1/conflicts?limit=2&geometry=false", None),
        ]
        k = 0
        while not self.halt.is_set():
            kind, method, path, body = calls[k % len(calls)]
            k += 1
            data = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(base + path, data=data, method=method)
            for name, value in basic(self.cluster).items():
                req.add_header(name, value)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, raw, retry = r.status, r.read(), r.headers.get("Retry-After")
            except urllib.error.HTTPError as exc:
                status, raw, retry = exc.code, exc.read(), exc.headers.get("Retry-After")
            except OSError as exc:
                status, raw, retry = 0, str(exc).encode(), None
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw[:200]
            self.results.append((kind, status, parsed, retry))


def reports(cluster: Cluster) -> int:
    with cluster.ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(ComplianceReport))


def test_postgresql_stopped_during_requests(cluster):
    base = cluster.url("web1")
    assert ready(cluster)
    stored_before = reports(cluster)
    traffic = Traffic(cluster)
    traffic.start()
    try:
        wait_until(lambda: len(traffic.results) >= 8, what="traffic before the stop")
        cluster.stop_postgres("fast")
        stopped_at = len(traffic.results)
        # While it is down: probes, a token exchange, and the traffic's answers.
        status, body = request(base + "/readyz", timeout_s=10)
        assert status == 503, body
        assert body["errors"][0]["dependency"] == "database"
        assert request(base + "/healthz", timeout_s=5)[0] == 200
        token = embed_token(cluster, "compliance")
        status, body = request(base + "/embed/session", "POST", {"token": token}, timeout_s=10)
        assert_unavailable(status, body)
        wait_until(lambda: len(traffic.results) >= stopped_at + 12, what="traffic while down")
        down = traffic.results[stopped_at:]
        cluster.run_postgres()
        wait_until(lambda: ready(cluster), what="ready after the restart")
        restarted_at = len(traffic.results)
        wait_until(lambda: len(traffic.results) >= restarted_at + 8, what="traffic after")
    finally:
        traffic.halt.set()
        traffic.join(timeout=60)

    statuses = Counter(status for _, status, _, _ in traffic.results)
    assert not [r for r in traffic.results if r[1] >= 500 and r[1] != 503], statuses
    assert 0 not in statuses, "every request was answered"
    unavailable = [r for r in down if r[1] == 503]
    assert len(unavailable) >= 8, Counter(r[1] for r in down)
    for kind, _, problem, retry_after in unavailable:
        assert problem["type"].endswith("/database_unavailable"), (kind, problem)
        assert retry_after is not None and int(retry_after) > 0, kind
    after = traffic.results[restarted_at:]
    assert after and all(status in (200, 201) for _, status, _, _ in after), Counter(
        r[1] for r in after
    )
    # Nothing half-written: every 201 check is one stored report (none more, none less).
    created = sum(1 for kind, status, _, _ in traffic.results if kind == "check" and status == 201)
    assert reports(cluster) - stored_before == created
    # The token refused while the replay store was down is not spent: it works now, once.
    status, body = request(base + "/embed/session", "POST", {"token": token})
    assert status == 200, body
    status, body = request(base + "/embed/session", "POST", {"token": token})
    assert status == 401, body


def run_detection(cluster: Cluster, headers: dict[str, str], during=None) -> dict:
    base = cluster.url("web1")
    status, body = request(
        base + "/api/v1/conflicts/detect", "POST", {"analysis": "two_plans"}, headers
    )
    assert status == 202, body
    job_id = body["job"]["id"]
    if during:
        during(job_id)

    def finished():
        status, job = request(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout_s=10)
        return job if status == 200 and job["state"] not in ("queued", "running") else None

    return wait_until(finished, timeout_s=300, what=f"job {job_id} ended")


def patches(cluster: Cluster) -> dict[int, tuple]:
    with cluster.ctx.db.session() as session:
        rows = session.execute(
            select(Conflict.id, Conflict.area_m2, Conflict.current, Conflict.last_job).where(
                Conflict.analysis == "two_plans"
            )
        ).all()
    return {r.id: (r.area_m2, r.current, r.last_job) for r in rows}


def test_postgresql_stopped_during_a_detection(cluster):
    headers = coordinator(cluster)
    reference = run_detection(cluster, headers)
    assert reference["state"] == "done", reference
    count = reference["summary"]["conflicts"]["count"]
    assert count > 100
    before = patches(cluster)

    def stop_mid_overlay(job_id: str) -> None:
        def overlaying():
            with cluster.ctx.db.session() as session:
                job = session.get(Job, job_id)
                return job.state == "running" and 0.05 < job.progress < 0.85

        wait_until(overlaying, timeout_s=120, what="the detection under way")
        cluster.stop_postgres("fast")
        time.sleep(3)
        cluster.run_postgres()

    faulted = run_detection(cluster, headers, during=stop_mid_overlay)
    if faulted["state"] == "failed":
        assert faulted["error"]["status"] == 503, faulted
        assert faulted["error"]["type"].endswith("/database_unavailable"), faulted
        # Nothing of it was saved: the patches are those of the reference, untouched.
        assert patches(cluster) == before
    else:  # it never touched the database while it was down: a whole answer
        assert faulted["state"] == "done", faulted
        assert faulted["summary"]["conflicts"]["count"] == count
    again = run_detection(cluster, headers)
    assert again["state"] == "done", again
    assert again["summary"]["conflicts"]["count"] == count
    assert again["summary"]["patches"]["new"] == 0
    assert again["summary"]["patches"]["obsolete"] == 0
    assert again["summary"]["patches"]["matched"] == reference["summary"]["patches"]["new"]


def test_redis_stopped_and_restarted(cluster):
    import redis

    base = cluster.url("web1")
    headers = coordinator(cluster)
    tile = base + "/tiles/basic_farmland/14/13271/6798.mvt"
    client = redis.Redis(host="127.0.0.5", port=cluster.redis_port)
    assert request(tile)[0] in (200, 204)
    cluster.procs["redis"].terminate()
    cluster.procs["redis"].wait(timeout=10)
    try:
        status, body = request(base + "/readyz", timeout_s=10)
        assert status == 200, body
        assert body["status"] == "degraded"
        assert body["dependencies"] == {"database": "up", "cache": "down"}
        assert [d["dependency"] for d in body["down"]] == ["cache"]
        # Served without the cache: tiles, data, a check, a new widget session.
        for _ in range(3):
            assert request(tile, timeout_s=10)[0] in (200, 204)
        assert request(base + "/api/v1/layers", timeout_s=10)[0] == 200
        status, _ = request(
            base + CHECK, "POST", {**BODY, "geometry": project(-100, 50, 100, 150)}, basic(cluster)
        )
        assert status == 201
        assert coordinator(cluster)
    finally:
        cluster.start_redis()
    wait_until(lambda: ready(cluster), timeout_s=30, what="ready with Redis back")
    # The cache fills again, without a restart of the server.
    client.flushall()
    other = base + "/tiles/basic_farmland/14/13272/6798.mvt"
    wait_until(
        lambda: request(other)[0] in (200, 204) and client.dbsize() > 0,
        timeout_s=30,
        what="a tile cached in Redis again",
    )
    assert request(base + "/api/v1/conflicts?limit=1", headers=headers)[0] == 200
