"""Per-app rate limits and daily quotas per service, and usage per app and day (SQLite
and PostgreSQL; the counters also in Redis): one app limited, another not; the limit holds
across two server processes; a refused call names the service, the limit and when it
resets; the usage figures are exact."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import TEST_SECRET
from embed_support import basic

from planfuse.app import create_app
from planfuse.services.monitoring.limits import usage_recorder

RATE_URL = "/api/v1/siting/options"  # siting_advanced
QUOTA_URL = "/api/v1/conflicts/options"  # conflict_detection
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(params=["database", "redis"])
def counter_backend(request):
    return request.param


@pytest.fixture
def settings_overrides(counter_backend):
    overrides = {"service_state_cache_s": 0, "service_metrics_flush_s": 3600}
    if counter_backend == "redis":
        overrides["redis_url"] = "redis://127.0.0.1:6379/0"
    return overrides


@pytest.fixture
def other(ctx):
    """A second server process over the same database (and Redis)."""
    application = create_app(
        {"database_url": ctx.settings.database_url, "secret_key": TEST_SECRET}
        | {k: v for k, v in ctx.settings.items() if k not in {"database_url", "secret_key"}}
    )
    application.testing = True
    yield application
    application.extensions["planfuse"].close()


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def away_from_the_minute_boundary() -> None:
    """The rate limit counts clock minutes: start a test well inside one."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_rate_limit_for_one_app_across_processes(
    embed_client, host, other_host, admin_token, other, counter_backend
):
    r = embed_client.put(
        f"/api/v1/admin/services/siting_advanced/grants/{host.id}",
        json={"rate_per_minute": 3},
        headers=admin(admin_token),
    )
    assert r.status_code == 200, r.get_json()
    grant = r.get_json()
    assert (grant["granted"], grant["explicit"], grant["rate_per_minute"]) == (True, False, 3)
    assert grant["quota_per_day"] is None
    away_from_the_minute_boundary()
    second = other.test_client()
    answers = [embed_client.get(RATE_URL, headers=basic(host)).status_code for _ in range(2)]
    answers.append(second.get(RATE_URL, headers=basic(host)).status_code)
    assert answers == [200, 200, 200]
    # The fourth call of the minute, in either process, is refused.
    for client in (second, embed_client):
        r = client.get(RATE_URL, headers=basic(host))
        assert r.status_code == 429, r.get_json()
        problem = r.get_json()
        assert problem["type"].endswith("/rate_limited")
        assert "辅助选址-高级条件" in problem["detail"] and "3 times a minute" in problem["detail"]
        error = problem["errors"][0]
        assert (error["field"], error["service"], error["limit"]) == (
            "rate_per_minute",
            "siting_advanced",
            3,
        )
        reset = datetime.fromisoformat(error["reset_at"])
        assert reset.second == 0 and 0 < reset.timestamp() - time.time() <= 60
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another app is not limited; nor is this app on another service.
    assert all(
        embed_client.get(RATE_URL, headers=basic(other_host)).status_code == 200 for _ in range(6)
    )
    assert embed_client.get(QUOTA_URL, headers=basic(host)).status_code == 200

    # Usage per app and day, exact: refused calls are calls answered with an error.
    usage_recorder(other.extensions["planfuse"]).flush()  # the other process's counts
    r = embed_client.get(
        "/api/v1/admin/services/siting_advanced/usage?days=3", headers=admin(admin_token)
    )
    assert r.status_code == 200, r.get_json()
    usage = r.get_json()
    today = datetime.now(SHANGHAI).strftime("%Y-%m-%d")
    assert usage["timezone"] == "Asia/Shanghai" and usage["days"][-1] == today
    assert len(usage["days"]) == 3
    apps = {a["app_id"]: a for a in usage["apps"]}
    assert set(apps) == {host.id, other_host.id}
    assert (apps[host.id]["calls"], apps[host.id]["errors"]) == (5, 2)
    assert apps[host.id]["days"][-1] == {"day": today, "calls": 5, "errors": 2}
    assert apps[host.id]["days"][0] == {"day": usage["days"][0], "calls": 0, "errors": 0}
    assert apps[host.id]["rate_per_minute"] == 3
    assert (apps[other_host.id]["calls"], apps[other_host.id]["errors"]) == (6, 0)
    assert apps[other_host.id]["rate_per_minute"] is None
    assert (usage["calls"], usage["errors"]) == (11, 2)

    # Removing the limit lifts it at once.
    r = embed_client.put(
        f"/api/v1/admin/services/siting_advanced/grants/{host.id}",
        json={"rate_per_minute": None},
        headers=admin(admin_token),
    )
    assert r.get_json()["rate_per_minute"] is None
    assert embed_client.get(RATE_URL, headers=basic(host)).status_code == 200


def test_daily_quota_resets_at_midnight_in_the_usage_time_zone(
    embed_client, host, other_host, admin_token
):
    r = embed_client.put(
        f"/api/v1/admin/services/conflict_detection/grants/{host.id}",
        json={"allowed": True, "quota_per_day": 2},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    assert (r.get_json()["explicit"], r.get_json()["quota_per_day"]) == (True, 2)
    assert [embed_client.get(QUOTA_URL, headers=basic(host)).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    r = embed_client.get(QUOTA_URL, headers=basic(host))
    assert r.status_code == 429 and r.get_json()["type"].endswith("/quota_exceeded")
    error = r.get_json()["errors"][0]
    assert (error["field"], error["service"], error["limit"]) == (
        "quota_per_day",
        "conflict_detection",
        2,
    )
    midnight = (datetime.now(SHANGHAI) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert datetime.fromisoformat(error["reset_at"]) == midnight
    assert error["reset_at"].endswith("+08:00")
    retry = int(r.headers["Retry-After"])
    assert abs(retry - (midnight.timestamp() - time.time())) < 5
    assert embed_client.get(QUOTA_URL, headers=basic(other_host)).status_code == 200
    # The grants list shows the limits.
    grants = embed_client.get(
        "/api/v1/admin/services/conflict_detection/grants", headers=admin(admin_token)
    ).get_json()["grants"]
    mine = next(g for g in grants if g["app_id"] == host.id)
    assert (mine["quota_per_day"], mine["rate_per_minute"]) == (2, None)


@pytest.mark.parametrize("counter_backend", ["database"])  # the counters play no part
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate_per_minute": 0}, "rate_per_minute"),
        ({"quota_per_day": "many"}, "quota_per_day"),
        ({"quota_per_day": True}, "quota_per_day"),
        ({}, "allowed"),
        ({"allowed": "yes"}, "allowed"),
    ],
)
def test_bad_limits_are_refused(embed_client, host, admin_token, body, field):
    r = embed_client.put(
        f"/api/v1/admin/services/siting_advanced/grants/{host.id}",
        json=body,
        headers=admin(admin_token),
    )
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == field
    r = embed_client.get(
        "/api/v1/admin/services/siting_advanced/usage?days=0", headers=admin(admin_token)
    )
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "days"
    r = embed_client.get("/api/v1/admin/services/nothing/usage", headers=admin(admin_token))
    assert r.status_code == 404
