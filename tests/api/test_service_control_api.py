"""Running the catalogue's services (SQLite and PostgreSQL): stopping and starting a
service across two server processes, grants per app and service for backends and widget
sessions, and per-service configuration with validation and history."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TEST_SECRET
from embed_support import basic, probe_widget, session_headers
from sqlalchemy import update

from planfuse.app import create_app
from planfuse.services.siting.search import Thresholds, thresholds
from planfuse.storage.models import ServiceState
from planfuse.widgets.registry import widget_registry

CACHE_S = 0.2
SITING = {"scope": {"districts": ["500112"]}, "land_use": "1001"}


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": CACHE_S}


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other(ctx, tmp_path):
    """A client of another server process over the same database (a second gunicorn
    worker)."""
    application = create_app(
        {"database_url": ctx.settings.database_url, "secret_key": TEST_SECRET}
        | {k: v for k, v in ctx.settings.items() if k not in {"database_url", "secret_key"}}
    )
    application.testing = True
    assets = tmp_path / "probe-assets-2"
    assets.mkdir(exist_ok=True)
    (assets / "probe.js").write_text("/* probe */\n")
    widget_registry(application.extensions["planfuse"]).add(probe_widget(assets))
    yield application.test_client()
    application.extensions["planfuse"].close()


def wait_past_cache() -> None:
    time.sleep(CACHE_S * 1.5)


def test_a_stopped_service_answers_503_in_every_process_until_started(
    embed_client, admin_token, host, other
):
    ledger = "/api/v1/ledgers/city_plan?by=city"
    # Before: the ledger is refused for want of data (409), not for being stopped.
    assert other.get(ledger, headers=basic(host)).status_code != 503

    r = embed_client.post(
        "/api/v1/admin/services/city_plan_ledger_city/stop",
        json={"reason": "数据更新"},
        headers=admin(admin_token),
    )
    assert r.status_code == 200, r.get_json()
    state = r.get_json()
    assert state["running"] is False and state["stopped"]["reason"] == "数据更新"
    assert state["stopped"]["changed_by"] == "admin:test admin"

    wait_past_cache()
    for client in (embed_client, other):
        r = client.get(ledger, headers=basic(host))
        assert r.status_code == 503 and r.mimetype == "application/problem+json"
        body = r.get_json()
        assert body["type"].endswith("/service_stopped") and body["title"] == "Service stopped"
        assert "城市规划台账-全市" in body["detail"] and "数据更新" in body["detail"]
        assert "Retry-After" not in r.headers  # no restart scheduled
        # Even without credentials: the service is stopped for everyone.
        assert client.get(ledger).status_code == 503
        # Its sibling of the same route runs on.
        by_district = client.get("/api/v1/ledgers/city_plan", headers=basic(host))
        assert by_district.status_code != 503
    listed = embed_client.get(
        "/api/v1/catalogue", query_string={"status": "stopped"}, headers=admin(admin_token)
    ).get_json()
    assert [s["id"] for s in listed["services"]] == ["city_plan_ledger_city"]
    assert listed["services"][0]["status_name"]["zh-CN"] == "已停止"
    assert listed["services"][0]["stopped"]["reason"] == "数据更新"

    # Started from the second process: the first one follows.
    r = other.post("/api/v1/admin/services/city_plan_ledger_city/start", headers=admin(admin_token))
    assert r.status_code == 200 and r.get_json()["running"] is True
    wait_past_cache()
    assert embed_client.get(ledger, headers=basic(host)).status_code != 503


def test_a_scheduled_restart_sends_retry_after_and_starts_by_itself(
    embed_client, admin_token, host, pf
):
    restart = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    r = embed_client.post(
        "/api/v1/admin/services/siting_basic/stop",
        json={"restart_at": restart},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    r = embed_client.post("/api/v1/siting/search/basic", json=SITING, headers=basic(host))
    assert r.status_code == 503
    assert 590 <= int(r.headers["Retry-After"]) <= 600
    # The restart time comes: the service runs without anyone starting it.
    with pf.db.session() as session:
        session.execute(
            update(ServiceState).values(restart_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    wait_past_cache()
    r = embed_client.post("/api/v1/siting/search/basic", json=SITING, headers=basic(host))
    assert r.status_code != 503


def test_a_stopped_widget_shows_a_friendly_page(embed_client, admin_token):
    r = embed_client.post(
        "/api/v1/admin/services/widget_compliance/stop", headers=admin(admin_token)
    )
    assert r.status_code == 200
    r = embed_client.get("/embed/compliance", headers={"Accept": "text/html"})
    assert r.status_code == 503 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "已暂停使用，请稍后再试" in page and "合规审查组件" in page
    assert "Traceback" not in page


@pytest.mark.parametrize(
    ("service", "body", "status", "field"),
    [
        ("admin", {}, 400, "service_id"),
        ("service_catalogue", {}, 400, "service_id"),
        ("no_such_service", {}, 404, None),
        ("siting_basic", {"restart_at": "tomorrow"}, 400, "restart_at"),
        ("siting_basic", {"restart_at": "2026-01-01T00:00:00"}, 400, "restart_at"),
        ("siting_basic", {"restart_at": "2020-01-01T00:00:00Z"}, 400, "restart_at"),
        ("siting_basic", {"reason": "x" * 501}, 400, "reason"),
        ("siting_basic", {"why": "x"}, 400, "why"),
    ],
)
def test_a_bad_stop_is_refused_and_stores_nothing(
    embed_client, admin_token, service, body, status, field
):
    r = embed_client.post(
        f"/api/v1/admin/services/{service}/stop", json=body, headers=admin(admin_token)
    )
    assert r.status_code == status, r.get_json()
    if field:
        assert r.get_json()["errors"][0]["field"] == field
    listed = embed_client.get(
        "/api/v1/catalogue", query_string={"status": "stopped"}, headers=admin(admin_token)
    ).get_json()
    assert listed["total"] == 0


def test_only_an_administrator_starts_and_stops(embed_client, host):
    for action in ("stop", "start"):
        r = embed_client.post(f"/api/v1/admin/services/siting_basic/{action}", headers=basic(host))
        assert r.status_code == 401


def test_grants_apply_to_the_apps_backend_and_widgets_in_every_process(
    embed_client, admin_token, host, other_host, other
):
    url = "/api/v1/admin/services/siting_options_probe/grants"
    assert embed_client.get(url, headers=admin(admin_token)).status_code == 404

    grants = embed_client.get(
        "/api/v1/admin/services/siting_advanced/grants", headers=admin(admin_token)
    ).get_json()["grants"]
    assert {g["app_id"]: (g["granted"], g["explicit"]) for g in grants} == {
        host.id: (True, False),
        other_host.id: (True, False),
    }
    r = embed_client.put(
        f"/api/v1/admin/services/siting_advanced/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    assert r.get_json() | {"app_name": None} == {
        "app_id": host.id,
        "app_name": None,
        "service_id": "siting_advanced",
        "granted": False,
        "explicit": True,
        "disabled": False,
        "rate_per_minute": None,  # no limit set (planfuse.services.monitoring.limits)
        "quota_per_day": None,
    }
    wait_past_cache()
    session = session_headers(embed_client, host, "siting")
    for client in (embed_client, other):
        r = client.get("/api/v1/siting/options", headers=basic(host))
        assert r.status_code == 403 and r.get_json()["type"].endswith("/service_not_granted")
        assert "siting_advanced" not in r.get_json()["detail"]  # names, not ids
        assert "Siting, advanced conditions" in r.get_json()["detail"]
        assert client.get("/api/v1/siting/options", headers=session).status_code == 403
        # Another app, and another service of the same app, are not affected.
        assert client.get("/api/v1/siting/options", headers=basic(other_host)).status_code != 403
        assert client.get("/api/v1/siting/plans", headers=basic(host)).status_code == 200
    seen = embed_client.get("/api/v1/catalogue", headers=basic(host)).get_json()
    assert "siting_advanced" not in [s["id"] for s in seen["services"]]
    assert (
        embed_client.get("/api/v1/catalogue/siting_advanced", headers=basic(host)).status_code
        == 404
    )

    # An application service refused to an app that may embed every widget; then the
    # default again.
    r = embed_client.put(
        f"/api/v1/admin/services/widget_map/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    assert r.get_json()["granted"] is False
    r = embed_client.put(
        f"/api/v1/admin/services/siting_advanced/grants/{host.id}",
        json={"allowed": None},
        headers=admin(admin_token),
    )
    assert r.get_json()["granted"] is True and r.get_json()["explicit"] is False
    assert embed_client.get("/api/v1/siting/options", headers=basic(host)).status_code != 403
    seen = embed_client.get("/api/v1/catalogue", headers=basic(host)).get_json()
    ids = [s["id"] for s in seen["services"]]
    assert "siting_advanced" in ids and "widget_map" not in ids


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("siting_advanced/grants/{app}", {"allowed": "yes"}, 400, "allowed"),
        ("siting_advanced/grants/{app}", {}, 400, "allowed"),
        ("admin/grants/{app}", {"allowed": False}, 400, "service_id"),
        ("siting_advanced/grants/no-such-app", {"allowed": False}, 404, None),
        ("no_such_service/grants/{app}", {"allowed": False}, 404, None),
    ],
)
def test_a_bad_grant_is_refused(embed_client, admin_token, host, path, body, status, field):
    r = embed_client.put(
        "/api/v1/admin/services/" + path.format(app=host.id), json=body, headers=admin(admin_token)
    )
    assert r.status_code == status, r.get_json()
    if field:
        assert r.get_json()["errors"][0]["field"] == field


def config_of(client, token, service="siting_advanced") -> dict:
    r = client.get(f"/api/v1/admin/services/{service}/config", headers=admin(token))
    assert r.status_code == 200
    return {item["name"]: item for item in r.get_json()["config"]}


def test_configuration_is_validated_kept_with_history_and_read_by_every_process(
    embed_client, admin_token, other
):
    items = config_of(embed_client, admin_token)
    assert set(items) == {"tolerance_m2", "inside_share"}
    assert items["tolerance_m2"]["value"] == items["tolerance_m2"]["default"] == 1.0
    assert items["tolerance_m2"]["setting"] == "siting_tolerance_m2"
    assert items["inside_share"]["minimum"] == 0.5 and not items["inside_share"]["changed"]

    r = embed_client.put(
        "/api/v1/admin/services/siting_advanced/config",
        json={"values": {"tolerance_m2": 5, "inside_share": 0.99}, "note": "边界误差放宽"},
        headers=admin(admin_token),
    )
    assert r.status_code == 200, r.get_json()
    changed = {i["name"]: i for i in r.get_json()["config"]}
    assert changed["tolerance_m2"]["value"] == 5.0 and changed["tolerance_m2"]["changed"]
    wait_past_cache()
    for client in (embed_client, other):
        # What the siting search runs with, in each process.
        assert thresholds(client.application.extensions["planfuse"]) == Thresholds(5.0, 0.99)
        assert config_of(client, admin_token)["tolerance_m2"]["value"] == 5.0

    r = embed_client.put(
        "/api/v1/admin/services/siting_advanced/config",
        json={"values": {"tolerance_m2": None}},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    assert config_of(embed_client, admin_token)["tolerance_m2"]["value"] == 1.0
    history = embed_client.get(
        "/api/v1/admin/services/siting_advanced/config/history", headers=admin(admin_token)
    ).get_json()["history"]
    assert [(h["name"], h["old_value"], h["new_value"]) for h in history] == [
        ("tolerance_m2", 5.0, None),
        ("inside_share", None, 0.99),
        ("tolerance_m2", None, 5.0),
    ]
    assert history[-1]["note"] == "边界误差放宽" and history[-1]["changed_by"] == "admin:test admin"
    assert history[0]["changed_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": {"tolerance_m2": -1}}, "values.tolerance_m2"),
        ({"values": {"tolerance_m2": "5"}}, "values.tolerance_m2"),
        ({"values": {"tolerance_m2": True}}, "values.tolerance_m2"),
        ({"values": {"tolerance_m2": 1e9}}, "values.tolerance_m2"),
        ({"values": {"inside_share": 1.5}}, "values.inside_share"),
        ({"values": {"tolerance_m2": 2, "sliver": 3}}, "values.sliver"),
        ({"values": {}}, "values"),
        ({"values": [1]}, "values"),
        ({"values": {"tolerance_m2": 2}, "note": "x" * 501}, "note"),
        ({"values": {"tolerance_m2": 2}, "who": "me"}, "who"),
    ],
)
def test_a_bad_configuration_stores_nothing(embed_client, admin_token, body, field):
    r = embed_client.put(
        "/api/v1/admin/services/siting_advanced/config", json=body, headers=admin(admin_token)
    )
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errors"][0]["field"] == field
    assert config_of(embed_client, admin_token)["tolerance_m2"]["value"] == 1.0
    history = embed_client.get(
        "/api/v1/admin/services/siting_advanced/config/history", headers=admin(admin_token)
    ).get_json()["history"]
    assert history == []


def test_a_service_without_configuration_says_so(embed_client, admin_token):
    assert config_of(embed_client, admin_token, "city_plan_ledger_city") == {}
    r = embed_client.put(
        "/api/v1/admin/services/city_plan_ledger_city/config",
        json={"values": {"tolerance_m2": 1}},
        headers=admin(admin_token),
    )
    assert r.status_code == 400 and "it has: none" in r.get_json()["detail"]
