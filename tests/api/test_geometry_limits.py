"""Geometry work cannot starve the server: oversized input is refused before it is parsed,
validation that runs too long is stopped in its worker process and answered 422, one user
or app cannot take every heavy slot (429), and /healthz answers while every geometry
worker is busy."""

from __future__ import annotations

import math
import threading
import time

import pytest
from compliance_world import CENTRE, build_world, project
from embed_support import basic, session_headers

from planfuse.geo.parse import boundary_points, coordinates
from planfuse.services.geometry_pool import geometry_pool

CHECK = "/api/v1/compliance/check"
BODY = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}
TIME_LIMIT_S = 3.0
#: Vertices of a zigzag that GEOS validates in well over TIME_LIMIT_S on any machine.
SLOW = 100_000


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "geometry_time_limit_s": TIME_LIMIT_S,
        "geometry_pool_min_vertices": 1000,
        "geometry_workers": 2,
        "geometry_queue_wait_s": 0.5,
        "heavy_requests_per_user": 1,
        "heavy_requests_per_app": 3,
        "heavy_requests_max": 3,
    }


@pytest.fixture
def client(embed_client):
    return embed_client


def zigzag(vertices: int) -> dict:
    """A valid star-shaped red line (~200 m across) whose every spike overlaps its
    neighbours' bounding boxes: the shape that makes GEOS validation quadratic."""
    coords = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        r = 0.001 if i % 2 == 0 else 0.0005
        coords.append([CENTRE[0] + r * math.cos(angle), CENTRE[1] + r * math.sin(angle)])
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


class Spy:
    """Counts calls of a geo-core function (the real one still runs)."""

    def __init__(self, monkeypatch, module, name: str):
        self.calls = 0
        real = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


def test_a_500000_line_coordinate_list_is_refused_before_a_line_is_parsed(
    client, host, monkeypatch
):
    lines = "\n".join(f"J{i},{3300000 + i * 0.01:.2f},{500000 + i % 7}.00" for i in range(500_000))
    spy = Spy(monkeypatch, boundary_points, "_split_fields")
    r = client.post(CHECK, json={**BODY, "geometry": lines}, headers=basic(host))
    assert r.status_code == 400, r.get_json()
    assert "more than 250000 vertices" in r.get_json()["detail"]
    assert spy.calls == 0


def test_a_300000_vertex_geojson_is_refused_before_a_position_is_checked(client, host, monkeypatch):
    features = []
    for j in range(3000):
        ring = [[106.5 + j * 1e-3 + k * 1e-6, 29.5 + k * 1e-6] for k in range(99)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    spy = Spy(monkeypatch, coordinates, "_positions")
    body = {**BODY, "geometry": {"type": "FeatureCollection", "features": features}}
    r = client.post(CHECK, json=body, headers=basic(host))
    assert r.status_code == 400, r.get_json()
    assert "more than 250000 vertices" in r.get_json()["detail"]
    assert spy.calls == 0


def test_validation_over_the_time_limit_is_stopped_and_answered_422(client, pf, host):
    build_world(pf, ["basic_farmland"])
    r = client.post(
        CHECK, json={**BODY, "geometry": zigzag(SLOW), "repair": True}, headers=basic(host)
    )
    assert r.status_code == 422, r.get_json()
    problem = r.get_json()
    assert problem["type"].endswith("/geometry_too_complex")
    assert f"{TIME_LIMIT_S:g} s" in problem["detail"]
    assert geometry_pool(pf).busy == 0
    # The server goes on: an ordinary check right after.
    ok = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    )
    assert ok.status_code == 201, ok.get_json()


def _post_in_thread(client, body, headers, answers: list) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: answers.append(client.post(CHECK, json=body, headers=headers))
    )
    thread.start()
    return thread


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _warm(pool) -> None:
    """Start every worker first, so the heavy requests start their work together."""
    threads = [
        threading.Thread(target=pool.run, args=(time.sleep, 0.5)) for _ in range(pool.processes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_healthz_answers_while_every_geometry_worker_is_busy(client, pf, host):
    build_world(pf, ["basic_farmland"])
    pool = geometry_pool(pf)
    # Both slow requests must be in the pool at once. Each parses its 100,000 vertices in
    # its own thread first, which on a loaded machine can take longer than the module's
    # 3 s limit, so one could be stopped before the other arrives; with 10 s (GEOS needs
    # about 26 s for this shape) they overlap, and both still end at the limit.
    pool.time_limit_s = 10.0
    _warm(pool)
    answers: list = []
    # Every session made first: between the workers filling up and the third call, only
    # /healthz runs (a worker frees itself at the time limit).
    slow_headers = [session_headers(client, host, "compliance", sub=f"user-{i}") for i in range(2)]
    third_headers = session_headers(client, host, "compliance", sub="user-9")
    threads = [
        _post_in_thread(client, {**BODY, "geometry": zigzag(SLOW)}, headers, answers)
        for headers in slow_headers
    ]
    try:
        _wait_until(lambda: pool.busy == 2, "both geometry workers to be busy")
        health = client.get("/healthz")
        assert health.status_code == 200
        # Answered while both heavy requests were still being worked on.
        assert pool.busy == 2
        # A third caller finds every worker busy: 503 with Retry-After, not a wait.
        busy = client.post(
            CHECK,
            json={**BODY, "geometry": zigzag(2_000)},
            headers=third_headers,
        )
        assert busy.status_code == 503, busy.get_json()
        assert busy.get_json()["type"].endswith("/geometry_workers_busy")
        assert int(busy.headers["Retry-After"]) >= 1
    finally:
        for thread in threads:
            thread.join()
    assert sorted(a.status_code for a in answers) == [422, 422]


def test_one_user_gets_one_heavy_request_at_a_time(client, pf, host):
    build_world(pf, ["basic_farmland"])
    pool = geometry_pool(pf)
    _warm(pool)
    headers = session_headers(client, host, "compliance", sub="user-1")
    answers: list = []
    thread = _post_in_thread(client, {**BODY, "geometry": zigzag(SLOW)}, headers, answers)
    try:
        _wait_until(lambda: pool.busy == 1, "the geometry worker to be busy")
        again = client.post(
            CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=headers
        )
        assert again.status_code == 429, again.get_json()
        assert again.get_json()["type"].endswith("/too_many_heavy_requests")
        assert int(again.headers["Retry-After"]) >= 1
        # Another user of the same app is not held up by the first one's limit.
        other = client.post(
            CHECK,
            json={**BODY, "geometry": project(-100, 50, 100, 150)},
            headers=session_headers(client, host, "compliance", sub="user-2"),
        )
        assert other.status_code == 201, other.get_json()
    finally:
        thread.join()
    assert answers[0].status_code == 422
