"""The console's chain editor and its cookie-signed-in routes: the page's config (a valid
starter document), validating with problems by step and field, publishing behind the CSRF
check, the versions; and the catalogue's 详情 setting an app's limits and showing usage."""

from __future__ import annotations

import json
import re

import pytest
from embed_support import basic

DOCUMENT = {
    "id": "touching_count",
    "name": {"zh-CN": "压占冲突数", "en": "Conflicts touched"},
    "description": {
        "zh-CN": "红线压占的冲突图斑数。",
        "en": "Conflict patches a red line touches.",
    },
    "dept": "natural_resources",
    "inputs": {"type": "object", "properties": {"geometry": {}, "crs": {"type": "string"}}},
    "steps": [{"id": "touching", "service": "conflicts_touching", "args": {"crs": "inputs.crs"}}],
    "outputs": {"count": "steps.touching.count"},
}


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": 0, "service_metrics_flush_s": 3600}


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
    page = embed_client.get("/admin/chains")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.get_data(as_text=True)  # no inline script
    return _config(page.data)


def test_validate_publish_and_versions_from_the_console(embed_client, page_config):
    csrf = {"X-CSRF-Token": page_config["csrf_token"]}
    assert page_config["chains"] == {"chains": [], "total": 0}
    # The starter validates.
    r = embed_client.post(page_config["validate_url"], json=page_config["starter"], headers=csrf)
    assert r.status_code == 200 and r.get_json()["valid"] is True
    # Problems by step and field; the CSRF token is required.
    bad = {**DOCUMENT, "outputs": {"n": "steps.touching.countz"}}
    assert embed_client.post(page_config["validate_url"], json=bad).status_code == 403
    r = embed_client.post(page_config["validate_url"], json=bad, headers=csrf)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "outputs.n"
    # Publish behind the CSRF token: version 1, then 2.
    assert embed_client.post(page_config["publish_url"], json=DOCUMENT).status_code == 403
    r = embed_client.post(page_config["publish_url"], json=DOCUMENT, headers=csrf)
    assert r.status_code == 201 and r.get_json()["version"] == 1
    changed = {
        **DOCUMENT,
        "outputs": {"count": "steps.touching.count", "n": "steps.touching.area_m2"},
    }
    r = embed_client.post(page_config["publish_url"], json=changed, headers=csrf)
    assert r.status_code == 201 and r.get_json()["version"] == 2
    listed = embed_client.get(page_config["list_url"]).get_json()
    assert [(c["id"], c["latest_version"]) for c in listed["chains"]] == [("touching_count", 2)]
    versions = embed_client.get(page_config["chain_url"].replace("CHAIN", "touching_count"))
    assert [v["version"] for v in versions.get_json()["versions"]] == [2, 1]
    one = embed_client.get(
        page_config["version_url"].replace("CHAIN", "touching_count").replace("VERSION", "1")
    )
    assert one.get_json()["document"]["outputs"] == DOCUMENT["outputs"]


def test_limits_and_usage_in_the_catalogue_details(embed_client, admin_token, host, other_host):
    login = embed_client.get("/admin/login")
    embed_client.post("/admin/login", data={"token": admin_token, "csrf_token": _csrf(login.data)})
    config = _config(embed_client.get("/admin/catalogue").data)
    url = config["grant_url"].replace("SERVICE", "siting_advanced").replace("APP", host.id)
    assert embed_client.post(url, json={"quota_per_day": 1}).status_code == 403
    r = embed_client.post(
        url, json={"quota_per_day": 1}, headers={"X-CSRF-Token": config["csrf_token"]}
    )
    assert r.status_code == 200 and r.get_json()["quota_per_day"] == 1
    calls = [
        embed_client.get("/api/v1/siting/options", headers=basic(app)).status_code
        for app in (host, host, other_host)
    ]
    assert calls == [200, 429, 200]
    detail = embed_client.get("/admin/catalogue/siting_advanced.json").get_json()
    grant = next(g for g in detail["grants"] if g["app_id"] == host.id)
    assert (grant["quota_per_day"], grant["rate_per_minute"]) == (1, None)
    usage = {a["app_id"]: (a["calls"], a["errors"]) for a in detail["usage"]["apps"]}
    assert usage == {host.id: (2, 1), other_host.id: (1, 0)}
    assert len(detail["usage"]["days"]) == 7
