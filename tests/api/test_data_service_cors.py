"""CORS on the data services: another department's web map reads /ogc and /tiles from its
own origin; the function API and the widget pages stay same-origin."""

from __future__ import annotations

import pytest

from planfuse.app import create_app
from planfuse.context import build_context
from planfuse.settings import SettingsError, load_settings
from tests.api.ogc_fixtures import import_geojson, parcel_features
from tests.conftest import TEST_SECRET

PORTAL = "https://gis.slj.cq.gov.cn"


def make_client(sqlite_url: str, **settings):
    ctx = build_context(load_settings({"database_url": sqlite_url}, environ={}))
    ctx.db.upgrade()
    ctx.close()
    app = create_app({"database_url": sqlite_url, "secret_key": TEST_SECRET, **settings})
    return app.test_client()


@pytest.fixture
def parcels(ctx, tmp_path):
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features())
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:3], restricted=True
    )
    return ctx


def test_items_and_tiles_are_readable_from_any_origin_by_default(client, parcels):
    r = client.get("/ogc/collections/parcels/items?limit=2", headers={"Origin": PORTAL})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # A browser script may read the CRS of the answer and the tile's ETag.
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Content-Crs", "ETag"} <= exposed
    assert "Access-Control-Allow-Credentials" not in r.headers
    tilejson = client.get("/tiles/parcels.json", headers={"Origin": PORTAL})
    assert tilejson.status_code == 200
    assert tilejson.headers["Access-Control-Allow-Origin"] == "*"


def test_a_problem_response_is_readable_cross_origin_too(client, parcels):
    r = client.get("/ogc/collections/nope/items", headers={"Origin": PORTAL})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # A restricted layer is still refused without a token: CORS opens reading, not access.
    r = client.get("/ogc/collections/secret/items", headers={"Origin": PORTAL})
    assert r.status_code == 401
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_allows_the_authorization_header_for_restricted_layers(client, parcels):
    r = client.options(
        "/tiles/secret/14/13200/6800.mvt",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert int(r.headers["Access-Control-Max-Age"]) > 0
    assert r.data == b""


def test_function_api_and_widget_pages_stay_same_origin(client, parcels):
    for path in ("/api/v1/layers", "/embed/map?app=app_x", "/healthz", "/"):
        r = client.get(path, headers={"Origin": PORTAL})
        assert "Access-Control-Allow-Origin" not in r.headers, path
    # Without an Origin (a desktop GIS, a server) there is nothing to say.
    r = client.get("/ogc/collections")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_a_listed_origin_is_echoed_and_others_get_nothing(sqlite_url):
    client = make_client(sqlite_url, data_cors_origins=[PORTAL + ":443/", "http://127.0.0.1:8001"])
    r = client.get("/ogc/collections", headers={"Origin": PORTAL})
    assert r.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Origin" in r.headers["Vary"]
    r = client.get("/ogc/collections", headers={"Origin": "https://gis.slj.cq.gov.cn.evil.net"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" in r.headers["Vary"]


def test_an_empty_setting_opens_to_no_origin(sqlite_url):
    client = make_client(sqlite_url, data_cors_origins=[])
    r = client.get("/ogc/collections", headers={"Origin": PORTAL})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize(
    "origin", ["gis.example.gov.cn", "https://*.example.gov.cn", "https://a.cn/x"]
)
def test_a_malformed_origin_stops_the_start_with_the_setting_named(sqlite_url, origin):
    with pytest.raises(SettingsError, match="PLANFUSE_DATA_CORS_ORIGINS"):
        create_app(
            {"database_url": sqlite_url, "secret_key": TEST_SECRET, "data_cors_origins": [origin]}
        )
