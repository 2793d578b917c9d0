"""The console's catalogue page and its cookie-signed-in twins of the catalogue API: the
page's config, the list with filters, one service's 详情 (schemas, figures, grants,
configuration), and stop and start behind the CSRF check."""

from __future__ import annotations

import json
import re

import pytest


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def _config(html: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="admin-config">(.*?)</script>', html)
    return json.loads(match.group(1))


@pytest.fixture
def page_config(embed_client, admin_token) -> dict:
    login = embed_client.get("/admin/login")
    r = embed_client.post(
        "/admin/login", data={"token": admin_token, "csrf_token": _csrf(login.data)}
    )
    assert r.status_code == 302
    page = embed_client.get("/admin/catalogue")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    return _config(page.data)


def test_the_page_and_its_json(embed_client, page_config, host):
    assert [k["id"] for k in page_config["kinds"]] == ["data", "function", "application"]
    assert [s["id"] for s in page_config["statuses"]] == ["running", "degraded", "stopped"]
    assert page_config["catalogue"]["services"][0]["name"]["zh-CN"] == "城市规划台账-按区县"
    r = embed_client.get("/admin/catalogue.json?kind=function&q=综合台账")
    assert [s["id"] for s in r.get_json()["services"]] == [
        "comprehensive_ledger_by_district",
        "comprehensive_ledger_total",
    ]
    assert embed_client.get("/admin/catalogue.json?status=ok").status_code == 400

    detail = embed_client.get("/admin/catalogue/siting_advanced.json").get_json()
    assert detail["endpoints"][0]["schemas"]["operation_id"] == "sitingSearch"
    assert set(detail["metrics"]["windows"]) == {"15m", "1h", "24h"}
    assert len(detail["metrics"]["requests_per_minute_1h"]) == 60
    assert [g["app_id"] for g in detail["grants"]] == [host.id]
    assert {c["name"] for c in detail["config"]} == {"tolerance_m2", "inside_share"}
    assert embed_client.get("/admin/catalogue/admin.json").status_code == 404


def test_stop_and_start_need_the_csrf_token(embed_client, page_config):
    url = "/admin/catalogue/widget_map/stop"
    r = embed_client.post(url, json={"reason": "维护"})
    assert r.status_code == 403 and r.get_json()["type"].endswith("csrf_failed")
    headers = {"X-CSRF-Token": page_config["csrf_token"]}
    r = embed_client.post(url, json={"reason": "维护"}, headers=headers)
    assert r.status_code == 200 and r.get_json()["stopped"]["reason"] == "维护"
    assert r.get_json()["stopped"]["changed_by"] == "admin:test admin"
    r = embed_client.post("/admin/catalogue/widget_map/start", headers=headers)
    assert r.status_code == 200 and r.get_json()["running"] is True


def test_signed_out_gets_nothing(embed_client):
    assert embed_client.get("/admin/catalogue").status_code == 302
    assert embed_client.get("/admin/catalogue.json").status_code == 401
    assert embed_client.get("/admin/catalogue/siting_basic.json").status_code == 401
    assert embed_client.post("/admin/catalogue/siting_basic/stop", json={}).status_code == 401
