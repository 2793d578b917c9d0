"""Rate limits per client IP and per host app: 429 problems with Retry-After and the IETF
RateLimit headers, stricter limits on the token exchange, counters shared through Redis
between server processes, and no counting for credentials that were refused."""

from __future__ import annotations

import secrets

import pytest
from embed_support import basic

from planfuse.app import create_app

PAGE = "/api/v1/openapi.json"
REPORTS = "/api/v1/compliance/reports"


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "rate_limit_per_ip": "5 per minute",
        "rate_limit_per_app": "3 per minute",
        "rate_limit_session_per_ip": "2 per minute",
    }


@pytest.fixture
def client(embed_client):
    return embed_client


def from_ip(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def a_fresh_ip() -> str:
    """An address no other test (nor an earlier run sharing Redis) has counted."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def assert_limited(response) -> dict:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/rate_limited")
    assert "Retry-After" in problem["detail"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["RateLimit-Remaining"] == "0"
    return problem


def test_a_client_ip_over_its_limit_gets_429_with_retry_after(client):
    ip = from_ip(a_fresh_ip())
    for n in range(5):
        r = client.get(PAGE, **ip)
        assert r.status_code == 200
        assert r.headers["RateLimit-Limit"] == "5"
        assert r.headers["RateLimit-Remaining"] == str(4 - n)
        assert 0 <= int(r.headers["RateLimit-Reset"]) <= 60
        assert r.headers["RateLimit-Policy"] == "5;w=60"
    problem = assert_limited(client.get(PAGE, **ip))
    assert "5 per 1 minute" in problem["detail"]
    # Another address is counted apart; the probes are never limited.
    assert client.get(PAGE, **from_ip(a_fresh_ip())).status_code == 200
    assert client.get("/healthz", **ip).status_code == 200


def test_the_token_exchange_has_its_own_stricter_limit(client, host):
    ip = from_ip(a_fresh_ip())
    for _ in range(2):
        r = client.post("/embed/session", json={"token": host.token()}, **ip)
        assert r.status_code == 200, r.get_json()
    assert_limited(client.post("/embed/session", json={"token": host.token()}, **ip))


def test_an_app_over_its_limit_gets_429_from_any_address(client, host, other_host):
    for _ in range(3):
        assert client.get(REPORTS, headers=basic(host), **from_ip(a_fresh_ip())).status_code == 200
    assert_limited(client.get(REPORTS, headers=basic(host), **from_ip(a_fresh_ip())))
    # Other apps keep their own budget.
    assert (
        client.get(REPORTS, headers=basic(other_host), **from_ip(a_fresh_ip())).status_code == 200
    )


def test_refused_credentials_do_not_spend_the_apps_budget(client, host):
    for _ in range(4):
        r = client.get(REPORTS, headers=basic(host.id, "wrong"), **from_ip(a_fresh_ip()))
        assert r.status_code == 401
    for _ in range(3):
        assert client.get(REPORTS, headers=basic(host), **from_ip(a_fresh_ip())).status_code == 200


@pytest.mark.parametrize(
    "settings_overrides", [{"rate_limit_per_ip": "2 per minute", "proxy_hops": 1}]
)
def test_behind_a_proxy_the_forwarded_address_is_the_client(client, settings_overrides):
    proxy = from_ip("192.0.2.10")
    first, second = {"X-Forwarded-For": a_fresh_ip()}, {"X-Forwarded-For": a_fresh_ip()}
    for _ in range(2):
        assert client.get(PAGE, headers=first, **proxy).status_code == 200
    assert_limited(client.get(PAGE, headers=first, **proxy))
    assert client.get(PAGE, headers=second, **proxy).status_code == 200


def test_server_processes_share_the_counters_through_redis(ctx, tmp_path):
    config = {
        **{k: v for k, v in ctx.settings.items()},
        "redis_url": "redis://127.0.0.1:6379/14",
        "rate_limit_per_ip": "3 per minute",
    }
    first, second = create_app(config), create_app(config)
    try:
        ip = from_ip(a_fresh_ip())
        assert first.test_client().get(PAGE, **ip).status_code == 200
        assert second.test_client().get(PAGE, **ip).status_code == 200
        assert first.test_client().get(PAGE, **ip).status_code == 200
        assert_limited(second.test_client().get(PAGE, **ip))
    finally:
        first.extensions["planfuse"].close()
        second.extensions["planfuse"].close()


def test_with_redis_down_requests_are_still_served_and_counted_in_memory(ctx):
    config = {
        **{k: v for k, v in ctx.settings.items()},
        "redis_url": "redis://127.0.0.1:1/0",
        "rate_limit_per_ip": "2 per minute",
    }
    app = create_app(config)
    try:
        client, ip = app.test_client(), from_ip(a_fresh_ip())
        assert [client.get(PAGE, **ip).status_code for _ in range(2)] == [200, 200]
        assert_limited(client.get(PAGE, **ip))
    finally:
        app.extensions["planfuse"].close()


@pytest.mark.parametrize("settings_overrides", [{"rate_limits_enabled": False}])
def test_limits_can_be_switched_off(client, settings_overrides):
    ip = from_ip(a_fresh_ip())
    responses = [client.get(PAGE, **ip) for _ in range(10)]
    assert {r.status_code for r in responses} == {200}
    assert "RateLimit-Limit" not in responses[-1].headers
