"""The service catalogue's live figures (GET /api/v1/admin/services, /admin/services):
requests counted per service by every server process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from conftest import TEST_SECRET
from sqlalchemy import select

from planfuse.app import create_app
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.metrics import MetricsRecorder, metrics_recorder
from planfuse.storage.models.metrics import service_metrics_table

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3aG8ifQ.c2VjcmV0LXNpZ25hdHVyZQ"


@pytest.fixture
def settings_overrides():
    # No flush on the way out of a request: the tests flush when they choose.
    return {"service_metrics_flush_s": 3600}


def admin_headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def report(client, admin_token) -> dict:
    r = client.get("/api/v1/admin/services", headers=admin_headers(admin_token))
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    return r.get_json()


def by_id(body: dict) -> dict:
    return {s["id"]: s for s in body["services"]}


def second_app(ctx, **overrides):
    """Another server process over the same database (a second gunicorn worker)."""
    application = create_app(
        {"database_url": ctx.settings.database_url, "secret_key": TEST_SECRET}
        | {k: v for k, v in ctx.settings.items() if k not in {"database_url", "secret_key"}}
        | overrides
    )
    application.testing = True
    return application


def stored_rows(ctx) -> list[dict]:
    with ctx.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(service_metrics_table)).mappings()]


def test_requests_are_counted_per_service(client, admin_token):
    for _ in range(3):
        assert client.get("/api/v1/layers").status_code == 200
    assert client.get("/ogc/collections").status_code == 200
    assert client.get("/ogc/collections/no-such-layer").status_code == 404
    assert client.get("/api/v1/ledgers/nothing").status_code in {401, 404}
    assert client.get("/api/v1/nowhere").status_code == 404
    assert client.get("/healthz").status_code == 200

    body = report(client, admin_token)
    services = by_id(body)
    assert set(services) == set(SERVICES_BY_ID)
    layers = services["layer_catalogue"]
    assert layers["kind"] == "data" and layers["base_path"] == "/api/v1/layers"
    assert layers["name"] == {"zh-CN": "图层目录", "en": "Layer catalogue"}
    for name, minutes in {"15m": 15, "1h": 60, "24h": 1440}.items():
        window = layers["windows"][name]
        assert window["minutes"] == minutes and window["requests"] == 3
        assert window["requests_per_minute"] == round(3 / minutes, 3)
        assert window["client_errors"] == window["server_errors"] == 0
        assert 0 < window["p50_ms"] <= window["p95_ms"]
    assert layers["status"] == "ok" and layers["last_request_at"] is not None
    series = layers["requests_per_minute_1h"]
    assert len(series) == 60 and sum(series) == 3

    ogc = services["ogc_features"]["windows"]["15m"]
    assert (ogc["requests"], ogc["client_errors"], ogc["client_error_rate"]) == (2, 1, 0.5)
    ledgers = services["layer_ledgers"]["windows"]["15m"]
    assert (ledgers["requests"], ledgers["client_errors"]) == (1, 1)
    assert services["other"]["windows"]["15m"]["requests"] == 2  # /api/v1/nowhere, /healthz
    assert services["siting_advanced"]["status"] == "idle"
    assert services["siting_advanced"]["windows"]["24h"]["p50_ms"] is None

    # The report's own request is counted under admin by the next report.
    again = by_id(report(client, admin_token))
    assert again["admin"]["windows"]["15m"]["requests"] == 1
    assert again["layer_catalogue"]["windows"]["15m"]["requests"] == 3

    deps = {d["name"]: d for d in body["dependencies"]}
    assert deps["database"]["ready"] is True and deps["cache"]["ready"] is True
    assert deps["cache"]["backend"] == "in-process"
    assert body["layers"] == {"layers": 0, "features": 0, "last_updated": None}
    assert body["metrics_error"] is None


def test_two_server_processes_add_up(app, ctx, admin_token):
    other = second_app(ctx)
    try:
        one, two = app.test_client(), other.test_client()
        for _ in range(2):
            one.get("/ogc/collections")
        for _ in range(3):
            two.get("/ogc/collections")
        two.get("/ogc/collections/missing")
        assert metrics_recorder(other.extensions["planfuse"]).flush() is True
        assert metrics_recorder(app.extensions["planfuse"]).flush() is True
        # Rows are added to, not replaced: a second flush from the same process adds too.
        one.get("/ogc/collections")
        ogc = by_id(report(one, admin_token))["ogc_features"]["windows"]["15m"]
        assert (ogc["requests"], ogc["client_errors"]) == (7, 1)
    finally:
        other.extensions["planfuse"].close()


@pytest.mark.parametrize(
    ("redis_url", "ready"), [("redis://127.0.0.1:6379/12", True), ("redis://127.0.0.1:1/0", False)]
)
def test_the_redis_cache_is_checked(ctx, admin_token, redis_url, ready):
    other = second_app(ctx, redis_url=redis_url)
    try:
        body = report(other.test_client(), admin_token)
    finally:
        other.extensions["planfuse"].close()
    cache = {d["name"]: d for d in body["dependencies"]}["cache"]
    assert (cache["backend"], cache["ready"]) == ("redis", ready)
    assert (cache["detail"] is None) == ready  # the error's class when it is down
    assert body["metrics_error"] is None


def test_the_report_needs_an_admin(client, admin_token):
    r = client.get("/api/v1/admin/services")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    r = client.get("/api/v1/admin/services", headers=admin_headers("pfa_wrong"))
    assert r.status_code == 403  # an unknown admin token, as for every admin route
    assert client.get("/admin/services.json").status_code == 401
    assert client.get("/admin/services").status_code == 302  # to the sign-in page


def test_no_token_path_or_query_string_is_recorded(client, app, ctx):
    client.get(f"/ogc/collections?token={SECRET}&access_token={SECRET}")
    client.get(f"/ogc/collections/{SECRET}/items?f=json&key={SECRET}")
    client.get(f"/embed/probe?token={SECRET}", headers={"Authorization": f"Bearer {SECRET}"})
    client.post("/embed/session", json={"token": SECRET})
    client.get(f"/{SECRET}?token={SECRET}")
    recorder = metrics_recorder(app.extensions["planfuse"])
    assert {service for _minute, service in recorder.pending()} <= set(SERVICES_BY_ID)
    assert recorder.flush() is True
    rows = stored_rows(ctx)
    assert rows and {row["service"] for row in rows} <= set(SERVICES_BY_ID)
    text = repr(rows)
    for fragment in (SECRET, "token", "eyJ", "collections", "json"):
        assert fragment not in text


def test_old_rows_are_pruned(ctx):
    start = time.time()
    now = [start]
    recorder = MetricsRecorder(ctx, clock=lambda: now[0])

    def request_at(seconds_from_start: float) -> int:
        now[0] = start + seconds_from_start
        recorder.record("ledgers", 200, 5.0)
        return int(now[0] // 60)

    day = 86400
    request_at(-8 * day)
    near_limit = request_at(-7 * day + 20 * 60)  # 7 days old 20 minutes from now
    latest = request_at(0)
    assert recorder.flush() is True  # the first flush of a process prunes
    assert sorted(row["minute"] for row in stored_rows(ctx)) == [near_limit, latest]
    # Pruning runs at most once an hour: 30 minutes on, the expired row is still there.
    half_hour = request_at(30 * 60)
    assert recorder.flush() is True
    assert len(stored_rows(ctx)) == 3
    hour = request_at(61 * 60)
    assert recorder.flush() is True
    assert sorted(row["minute"] for row in stored_rows(ctx)) == [latest, half_hour, hour]


def test_a_failing_flush_never_fails_the_request(app, ctx, caplog):
    with ctx.db.engine.begin() as conn:
        service_metrics_table.drop(conn)
    recorder = metrics_recorder(app.extensions["planfuse"])
    recorder._next_flush = 0  # due now: the next response flushes once it is sent
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="planfuse.service_metrics"):
        r = client.get("/api/v1/layers")
        assert r.status_code == 200
        r.close()  # the server is done with the response: the flush runs
    assert "could not be written" in caplog.text
    assert sum(row[0] for row in recorder.pending().values()) == 1
    with ctx.db.engine.begin() as conn:
        service_metrics_table.create(conn)
    assert recorder.flush() is True
    assert [row["requests"] for row in stored_rows(ctx)] == [1]


def test_every_route_belongs_to_a_catalogue_service(app):
    from planfuse.web.metrics import endpoint_services

    others = {e for e, service in endpoint_services(app).items() if service == "other"}
    assert others == {
        "home.home",
        "home.favicon",
        "health.healthz",
        "health.readyz",
        "static",
        "api.openapi_json",
    }


# --- the console page --------------------------------------------------------------------


def sign_in(client, token: str) -> None:
    page = client.get("/admin/login")
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    r = client.post("/admin/login", data={"token": token, "csrf_token": csrf})
    assert r.status_code == 302


def test_console_page_and_its_json(client, admin_token):
    client.get("/api/v1/layers")
    sign_in(client, admin_token)
    page = client.get("/admin/services")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "服务监控 · Services" in html and "/static/build/admin-services.js" in html
    assert 'href="/admin/services"' in html  # the console's navigation
    config = json.loads(
        re.search(
            r'<script type="application/json" id="admin-config">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert config["report_url"] == "/admin/services.json" and config["refresh_s"] == 15
    assert by_id(config["report"])["layer_catalogue"]["windows"]["1h"]["requests"] == 1

    r = client.get("/admin/services.json")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert by_id(r.get_json())["admin"]["windows"]["15m"]["requests"] >= 3
