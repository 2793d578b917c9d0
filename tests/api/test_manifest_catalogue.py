"""The widget manifest (`/embed/manifest.json`) and the admin console's embed page read the
service catalogue: each built-in widget carries its application service's entry (names,
department, live status), a stopped widget says so within the state cache's time, and a
widget outside the catalogue (the test probe) has none."""

from __future__ import annotations

import json
import re
import time

import pytest

from planfuse.services.monitoring.listing import Reader, list_catalogue

CACHE_S = 0.2
BUILT_IN = ("compliance", "siting", "conflicts", "map", "approval", "monitor", "projects")


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": CACHE_S}


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_built_in_widget_carries_its_catalogue_entry(embed_client, pf):
    manifest = embed_client.get("/embed/manifest.json").get_json()
    catalogue = {
        s["widget"]: s
        for s in list_catalogue(pf, Reader.administrator(), kind="application")["services"]
    }
    assert set(BUILT_IN) <= set(catalogue)
    for name in BUILT_IN:
        service = manifest["widgets"][name]["service"]
        entry = catalogue[name]
        assert service["id"] == entry["id"] == f"widget_{name}"
        assert service["name"] == entry["name"]
        assert service["dept"] == entry["dept"] and service["dept_name"] == entry["dept_name"]
        assert service["status"] == "running" and service["status_name"]["zh-CN"] == "运行中"
    # The catalogue's order first; the probe (registered by the tests, not catalogued) last.
    names = list(manifest["widgets"])
    assert names[: len(catalogue)] == [n for n in catalogue if n in manifest["widgets"]]
    assert names[-1] == "probe" and manifest["widgets"]["probe"]["service"] is None
    # The rest of the manifest is the registry's, unchanged.
    assert manifest["widgets"]["probe"]["commands"]
    assert manifest["protocol_version"] == 1


def test_a_stopped_widget_says_so_in_the_manifest_and_the_console(embed_client, admin_token, host):
    stop = embed_client.post(
        "/api/v1/admin/services/widget_map/stop",
        json={"reason": "maintenance"},
        headers=admin(admin_token),
    )
    assert stop.status_code == 200, stop.get_json()
    time.sleep(CACHE_S * 1.5)
    manifest = embed_client.get("/embed/manifest.json").get_json()
    assert manifest["widgets"]["map"]["service"]["status"] == "stopped"
    assert manifest["widgets"]["map"]["service"]["status_name"]["en"] == "Stopped"
    assert manifest["widgets"]["compliance"]["service"]["status"] == "running"

    page = embed_client.get("/admin/login")
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    signed_in = embed_client.post("/admin/login", data={"token": admin_token, "csrf_token": csrf})
    assert signed_in.status_code == 302
    embed = embed_client.get("/admin/embed")
    config = json.loads(
        re.search(
            rb'<script type="application/json" id="admin-config">(.*?)</script>', embed.data
        ).group(1)
    )
    assert config["manifest"]["widgets"]["map"]["service"]["status"] == "stopped"
    assert config["manifest"]["widgets"]["siting"]["service"]["name"]["zh-CN"] == "辅助选址组件"

    start = embed_client.post("/api/v1/admin/services/widget_map/start", headers=admin(admin_token))
    assert start.status_code == 200
    time.sleep(CACHE_S * 1.5)
    manifest = embed_client.get("/embed/manifest.json").get_json()
    assert manifest["widgets"]["map"]["service"]["status"] == "running"
