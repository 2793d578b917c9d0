"""The geometry pool and the heavy-request limits: overrunning work is killed and answered
TooComplex, a full pool answers Unavailable, errors come back with their problems, and
the per-app, per-user and per-process limits refuse the request over them."""

from __future__ import annotations

import os
import threading
import time

import pytest

from planfuse.errors import RateLimited, TooComplex, Unavailable
from planfuse.geo.errors import GeometryInputError
from planfuse.geo.parse import parse_features
from planfuse.services.geometry_pool import GeometryPool
from planfuse.services.heavy_requests import HeavyRequestLimits

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.fixture
def pool():
    pool = GeometryPool(processes=1, time_limit_s=1.0, queue_wait_s=0.2)
    yield pool
    pool.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_busy(pool: GeometryPool, n: int) -> None:
    deadline = time.monotonic() + 60
    while pool.busy < n or len(pool.busy_pids()) < n:
        assert time.monotonic() < deadline, "the pool never got busy"
        time.sleep(0.01)


def test_a_result_comes_back_from_the_worker(pool):
    features = pool.run(parse_features, SQUARE)
    assert features[0].geometry.area == 1.0
    # The worker is kept for the next task.
    assert pool.run(parse_features, BOWTIE, repair=True)[0].repaired


def test_a_geometry_error_comes_back_with_its_problems(pool):
    with pytest.raises(GeometryInputError) as caught:
        pool.run(parse_features, BOWTIE)
    problem = caught.value.errors[0]
    assert "Self-intersection" in problem.message
    assert problem.vertex is not None


def test_work_over_the_time_limit_is_killed_and_answered_too_complex(pool):
    pids: list[int] = []
    watcher = threading.Thread(target=lambda: (_wait_busy(pool, 1), pids.extend(pool.busy_pids())))
    watcher.start()
    with pytest.raises(TooComplex) as caught:
        pool.run(time.sleep, 60)
    watcher.join()
    assert caught.value.code == "geometry_too_complex"
    assert "geometry_time_limit_s" in caught.value.errors[0]["message"]
    # The process running it is gone, not left computing after the answer.
    assert pids and _gone(pids[0])
    assert pool.busy == 0
    # A fresh worker takes the next task.
    assert pool.run(parse_features, SQUARE)[0].geometry.area == 1.0


def test_a_full_pool_answers_unavailable_with_retry_after(pool):
    def overrun() -> None:
        with pytest.raises(TooComplex):
            pool.run(time.sleep, 60)

    runner = threading.Thread(target=overrun)
    runner.start()
    try:
        _wait_busy(pool, 1)
        with pytest.raises(Unavailable) as caught:
            pool.run(parse_features, SQUARE)
        assert caught.value.code == "geometry_workers_busy"
        assert caught.value.retry_after_s >= 1
    finally:
        runner.join()


def test_a_closed_pool_stops_its_workers():
    pool = GeometryPool(processes=1, time_limit_s=5.0, queue_wait_s=0.2)
    pool.run(parse_features, SQUARE)
    worker = pool._idle[0]
    pool.close()
    assert not worker.process.is_alive()


def test_heavy_request_limits_per_user_per_app_and_per_process():
    limits = HeavyRequestLimits(total=3, per_app=2, per_user=1)
    limits.acquire("app1", "u1")
    with pytest.raises(RateLimited) as caught:
        limits.acquire("app1", "u1")
    assert caught.value.code == "too_many_heavy_requests"
    assert "u1" in caught.value.message
    limits.acquire("app1", "u2")
    with pytest.raises(RateLimited) as caught:
        limits.acquire("app1", "u3")
    assert "heavy_requests_per_app" in caught.value.message
    limits.acquire("app2", None)
    with pytest.raises(Unavailable) as caught:
        limits.acquire("app3", "u9")
    assert caught.value.code == "server_busy"
    assert caught.value.retry_after_s >= 1
    limits.release("app1", "u1")
    limits.acquire("app3", "u9")
    assert limits.running == 3
