"""The map widget's server side, on SQLite and PostgreSQL: its page (template, config, CSP
with and without a basemap) and the `layers` lock that limits which restricted layers a
session may read through the data services."""

import math

import pytest
from embed_support import HOST_ORIGIN, csp, exchange_session, page_config
from map_support import SENSITIVE_RESTRICTED, load_map_dataset

from planfuse.widgets.registry import BUILD_WIDGETS_DIR

TIANDITU = "https://t{0-7}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=0123abcd"


@pytest.fixture
def settings_overrides(request):
    return getattr(request, "param", {})


@pytest.fixture(autouse=True)
def _map_bundle():
    """The widget page needs the built bundle (CI builds before the tests)."""
    if not (BUILD_WIDGETS_DIR / "map.js").is_file():
        from embed_browser import build_frontend

        build_frontend()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def session_token(client, host, **claims) -> str:
    return exchange_session(client, host, "map", **claims)["session_token"]


# --- the page -------------------------------------------------------------------------------


def test_map_page_renders_its_template_with_no_basemap_by_default(embed_client, host):
    r = embed_client.get(f"/embed/map?app={host.id}&host_origin={HOST_ORIGIN}&locale=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="pf-map"' in html and 'id="pf-layer-list"' in html
    assert "Layers and legend" in html
    assert '<link rel="icon" href="data:,">' in html
    config = page_config(r)
    assert config["widget"] == "map"
    assert "basemap_url" not in config
    policy = csp(r)
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["connect-src"] == "'self'"
    assert policy["script-src"] == "'self'"


@pytest.mark.parametrize("settings_overrides", [{"basemap_url": TIANDITU}], indirect=True)
def test_a_configured_basemap_reaches_the_page_and_its_image_policy_only(embed_client, host):
    r = embed_client.get(f"/embed/map?app={host.id}")
    assert r.status_code == 200
    assert page_config(r)["basemap_url"] == TIANDITU
    policy = csp(r)
    assert policy["img-src"] == "'self' data: blob: https://*.tianditu.gov.cn"
    assert policy["connect-src"] == "'self'"
    # Every widget draws the shared map, so every widget page gets the basemap.
    assert (
        "https://*.tianditu.gov.cn"
        in csp(embed_client.get(f"/embed/probe?app={host.id}"))["img-src"]
    )


@pytest.mark.parametrize(
    "settings_overrides", [{"basemap_url": "https://tiles.example.org/{z}/{x}.png"}], indirect=True
)
def test_a_broken_basemap_setting_opens_nothing(embed_client, host):
    r = embed_client.get(f"/embed/map?app={host.id}")
    assert "basemap_url" not in page_config(r)
    assert csp(r)["img-src"] == "'self' data: blob:"


def test_map_params_from_the_query_are_checked_against_the_manifest(embed_client, host):
    ok = embed_client.get(
        f"/embed/map?app={host.id}&param.layers=%5B%22roads%22%5D&param.zoom=12"
        "&param.center=%5B106.5%2C29.5%5D"
    )
    assert ok.status_code == 200
    assert page_config(ok)["params"] == {"layers": ["roads"], "zoom": 12, "center": [106.5, 29.5]}
    bad = embed_client.get(f"/embed/map?app={host.id}&param.layers=roads")
    assert bad.status_code == 400
    assert "layers" in page_config(bad)["error"]["message"]


# --- the layers lock ------------------------------------------------------------------------


@pytest.fixture
def dataset(pf, tmp_path):
    load_map_dataset(pf, tmp_path / "layers")


def test_a_locked_layer_set_keeps_restricted_layers_outside_it_from_the_session(
    embed_client, host, dataset
):
    z, x, y = tile_of(SENSITIVE_RESTRICTED.lon, SENSITIVE_RESTRICTED.lat, 14)
    tile = f"/tiles/sensitive_zones/{z}/{x}/{y}.mvt"
    locked_out = session_token(embed_client, host, params={"layers": ["districts", "roads"]})
    for url in (
        tile,
        "/tiles/sensitive_zones.json",
        "/ogc/collections/sensitive_zones/items",
        "/ogc/collections/sensitive_zones/items/1",
    ):
        r = embed_client.get(url, headers={"Authorization": f"Bearer {locked_out}"})
        assert r.status_code == 403, url
        problem = r.get_json()
        assert "locked by the embed token" in problem["detail"]
        assert problem["errors"] == [{"field": "layers", "message": "locked by the embed token"}]
    # Public layers stay public; the lock limits what the session adds, not open data.
    assert (
        embed_client.get(
            "/tiles/roads.json", headers={"Authorization": f"Bearer {locked_out}"}
        ).status_code
        == 200
    )

    locked_in = session_token(embed_client, host, params={"layers": ["sensitive_zones"]})
    r = embed_client.get(tile, headers={"Authorization": f"Bearer {locked_in}"})
    assert r.status_code == 200
    assert r.data

    unlocked = session_token(embed_client, host)
    assert (
        embed_client.get(tile, headers={"Authorization": f"Bearer {unlocked}"}).status_code == 200
    )
    assert embed_client.get(tile).status_code == 401


def test_the_layers_lock_must_be_a_list_of_layer_ids(embed_client, host):
    r = embed_client.post(
        "/embed/session", json={"token": host.token("map", params={"layers": "roads"})}
    )
    assert r.status_code in (400, 401, 403)
    assert "layers" in r.get_json()["detail"]


def test_the_catalogue_tells_the_map_which_layers_are_restricted(embed_client, dataset):
    layers = {
        entry["id"]: entry for entry in embed_client.get("/api/v1/layers").get_json()["layers"]
    }
    assert layers["sensitive_zones"]["restricted"] is True
    assert layers["districts"]["restricted"] is False
    assert layers["districts"]["kind"] == "district"
    assert len(layers["districts"]["bbox"]) == 4
