"""Vector tiles and TileJSON over HTTP, on SQLite and PostgreSQL: tile contents against the
stored geometry, caching and invalidation, empty tiles, bad coordinates, access."""

from __future__ import annotations

import itertools
import math

import mapbox_vector_tile
import pytest
import shapely

from planfuse.ogc import tiles
from tests.api.ogc_fixtures import (
    facility_features,
    import_all,
    import_geojson,
    parcel_features,
    stored,
    to_mercator,
)

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return x, y


def decode(content: bytes, layer: str) -> list[dict]:
    decoded = mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})
    return decoded[layer]["features"] if layer in decoded else []


def fids_in(client, layer: str, z: int, x: int, y: int) -> set[int]:
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert r.status_code in (200, 204), r.get_data(as_text=True)
    if r.status_code == 204:
        assert r.data == b""
        return set()
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    return {f["properties"]["fid"] for f in decode(r.data, layer)}


def truth(data, layer: str, z: int, x: int, y: int) -> tuple[set[int], set[int]]:
    """Features intersecting the tile itself, and the tile with its buffer (EPSG:3857)."""
    bounds = tiles.tile_bounds(z, x, y)
    core, buffered = shapely.box(*bounds), shapely.box(*tiles.buffered(bounds))
    geoms = {fid: to_mercator(g) for fid, g in stored(data, layer).items()}
    return (
        {fid for fid, g in geoms.items() if g.intersects(core)},
        {fid for fid, g in geoms.items() if g.intersects(buffered)},
    )


# --- contents --------------------------------------------------------------------------------

DETAIL_TILES = [
    (14, 106.505, 29.505),
    (14, 106.545, 29.535),
    (15, 106.52, 29.52),
    (16, 106.5075, 29.5075),
    (15, 106.63, 29.63),
    (16, 106.67, 29.51),
    (17, 106.5435, 29.5335),
]


@pytest.mark.parametrize(("z", "lon", "lat"), DETAIL_TILES)
@pytest.mark.parametrize("layer", ["parcels", "roads", "facilities", "districts"])
def test_tile_holds_the_features_in_its_bounds(client, data, layer, z, lon, lat):
    x, y = tile_of(lon, lat, z)
    core, buffered = truth(data, layer, z, x, y)
    got = fids_in(client, layer, z, x, y)
    # Every feature meeting the tile is in it; nothing beyond the documented buffer is.
    assert core <= got <= buffered, (core, got, buffered)


def test_tile_contents_exactly_when_no_feature_is_in_the_buffer_band(client, data):
    z = 16
    (x0, y1), (x1, y0) = tile_of(106.50, 29.50, z), tile_of(106.58, 29.56, z)
    exact = 0
    for x in range(x0, x1 + 1, 3):
        for y in range(y0, y1 + 1, 3):
            core, buffered = truth(data, "parcels", z, x, y)
            if core == buffered:
                assert fids_in(client, "parcels", z, x, y) == core, (x, y)
                exact += bool(core)
    assert exact >= 10


def test_tile_attributes_and_geometry(client, data):
    z = 16
    x, y = tile_of(106.5015, 29.5015, z)
    r = client.get(f"/tiles/parcels/{z}/{x}/{y}.mvt")
    features = decode(r.data, "parcels")
    one = next(f for f in features if f["properties"]["fid"] == 1)
    assert one["properties"] == {"fid": 1, "district": "500106", "code": "0701", "name": "地块1"}
    assert one["id"] == 1
    ring = one["geometry"]["coordinates"][0]
    # Exterior rings have positive area in tile coordinates (y down): the MVT rule.
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))
    assert area2 > 0
    assert all(
        -tiles.BUFFER_UNITS <= v <= tiles.EXTENT + tiles.BUFFER_UNITS for p in ring for v in p
    )
    r = client.get(
        f"/tiles/roads/{14}/{tile_of(106.61, 29.52, 14)[0]}/{tile_of(106.61, 29.52, 14)[1]}.mvt"
    )
    roads = decode(r.data, "roads")
    assert {f["properties"].get("class") for f in roads} >= {"expressway"}
    assert any(f["properties"].get("name") == "内环快速路" for f in roads)


def test_polygon_with_hole_keeps_its_hole(client, data):
    # The deepest tile holding the whole parcel 50 (106.66–106.68°E, 29.50–29.52°N).
    z = next(z for z in range(16, 0, -1) if tile_of(106.66, 29.52, z) == tile_of(106.68, 29.50, z))
    x, y = tile_of(106.67, 29.51, z)
    features = decode(client.get(f"/tiles/parcels/{z}/{x}/{y}.mvt").data, "parcels")
    holed = next(f for f in features if f["properties"]["fid"] == 50)
    assert holed["geometry"]["type"] == "Polygon"
    assert len(holed["geometry"]["coordinates"]) == 2


def expected_at_low_zoom(data, layer: str, z: int, x: int, y: int) -> tuple[set, set]:
    """The documented rule: below zoom 14, lines and polygons smaller than a screen pixel
    (1/256 of the tile) in both directions are left out. Returns the features meeting the
    tile and those meeting the buffered tile, each after the rule."""
    core, buffered = truth(data, layer, z, x, y)
    if z >= tiles.DETAIL_ZOOM:
        return core, buffered
    bounds = tiles.tile_bounds(z, x, y)
    pixel_m = (bounds[2] - bounds[0]) / 256
    geoms = stored(data, layer)
    big = set()
    for fid in buffered:
        minx, miny, maxx, maxy = to_mercator(geoms[fid]).bounds
        if max(maxx - minx, maxy - miny) >= pixel_m:
            big.add(fid)
    return core & big, buffered & big


@pytest.mark.parametrize("z", [8, 10, 11, 12, 13, 14])
def test_tiny_features_are_dropped_below_detail_zoom(client, data, z):
    x, y = tile_of(106.5075, 29.5075, z)
    got = fids_in(client, "parcels", z, x, y)
    core, buffered = expected_at_low_zoom(data, "parcels", z, x, y)
    assert core <= got <= buffered
    # Parcel 51 is a ~55 m square (web Mercator metres): one screen pixel is 611 m at z8,
    # 153 m at z10, 76 m at z11 and 38 m at z12.
    assert (51 in got) == (z >= 12)
    assert 1 in got  # the ~700 m grid squares


def test_points_are_thinned_to_one_per_pixel_at_low_zoom(client, data):
    lon, lat = 106.5216, 29.5216
    x, y = tile_of(lon, lat, 10)
    assert fids_in(client, "facilities", 10, x, y) == {1}  # 1 and 2 share a 153 m pixel
    x, y = tile_of(lon, lat, 14)
    assert fids_in(client, "facilities", 14, x, y) == {1, 2}
    assert len(facility_features()) == 3


# --- empty tiles -----------------------------------------------------------------------------


def test_tile_outside_the_layer_is_204_without_loading_the_layer(client, app, data):
    x, y = tile_of(116.4, 39.9, 10)  # Beijing
    r = client.get(f"/tiles/parcels/10/{x}/{y}.mvt")
    assert r.status_code == 204 and r.data == b""
    assert "ETag" in r.headers
    cache = tiles.tile_index_cache(app.extensions["planfuse"])
    assert cache.builds == 0


def test_tile_between_features_is_204(client, data):
    z = 18
    x, y = tile_of(106.5081, 29.5035, z)  # in the gap between grid squares
    _, buffered = truth(data, "parcels", z, x, y)
    assert not buffered
    r = client.get(f"/tiles/parcels/{z}/{x}/{y}.mvt")
    assert r.status_code == 204


# --- caching and invalidation ----------------------------------------------------------------


def test_tiles_are_cached_and_revalidated(client, data, monkeypatch):
    z = 15
    x, y = tile_of(106.52, 29.52, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    calls = []
    real = tiles.render_tile
    monkeypatch.setattr(tiles, "render_tile", lambda *a: calls.append(a) or real(*a))
    second = client.get(url)
    assert second.data == first.data and second.headers["ETag"] == etag
    assert calls == []
    r = client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.data == b""


def test_a_new_layer_version_invalidates_cached_tiles(client, app, ctx, tmp_path):
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features())
    z = 15
    x, y = tile_of(106.52, 29.52, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
    before = client.get(url)
    old = {f["properties"]["fid"] for f in decode(before.data, "parcels")}
    assert old
    # Version 2 holds only the L-shaped parcel, far from this tile.
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features()[48:49])
    after = client.get(url)
    assert after.status_code == 204
    assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": before.headers["ETag"]}).status_code == 204
    x, y = tile_of(106.63, 29.615, z)
    assert fids_in(client, "parcels", z, x, y) == {1}


# --- TileJSON --------------------------------------------------------------------------------


def test_tilejson_document(client, data):
    r = client.get("/tiles/parcels.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://localhost/tiles/parcels/{z}/{x}/{y}.mvt"]
    assert doc["minzoom"] == 0 and doc["maxzoom"] == tiles.TILEJSON_MAXZOOM
    assert doc["bounds"] == pytest.approx([106.50, 29.50, 106.68, 29.65])
    lon, lat, zoom = doc["center"]
    assert 106.5 < lon < 106.7 and 29.5 < lat < 29.7 and 8 <= zoom <= 14
    (layer,) = doc["vector_layers"]
    assert layer["id"] == "parcels"
    assert layer["fields"] == {
        "fid": "Number",
        "district": "String",
        "code": "String",
        "name": "String",
    }
    roads = client.get("/tiles/roads.json").get_json()
    assert "class" in roads["vector_layers"][0]["fields"]


def test_tilejson_attribution_is_text_even_when_rendered_as_html(ctx, client, tmp_path):
    from planfuse.services.layers.importer import ImportOptions, import_layer
    from tests.api.ogc_fixtures import _write

    path = _write(tmp_path, "plain", parcel_features()[:2])
    department = '规划局 <img src=x onerror="alert(1)"> & 自然资源局'
    options = ImportOptions(
        layer_id="odd", kind="land_use_plan", crs="EPSG:4490", name="odd", department=department
    )
    import_layer(ctx, path, options)
    doc = client.get("/tiles/odd.json").get_json()
    assert doc["attribution"] == (
        "规划局 &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; 自然资源局"
    )
    assert "<" not in doc["attribution"]


def test_tilejson_uses_public_url(ctx, tmp_path):
    from planfuse.app import create_app

    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features()[:2])
    app = create_app(
        {
            "database_url": ctx.settings.database_url,
            "secret_key": ctx.settings.secret_key,
            "public_url": "https://plan.example.cn/gis",
        }
    )
    doc = app.test_client().get("/tiles/parcels.json").get_json()
    assert doc["tiles"] == ["https://plan.example.cn/gis/tiles/parcels/{z}/{x}/{y}.mvt"]
    app.extensions["planfuse"].close()


# --- bad input and access --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/parcels/23/0/0.mvt", 400),
        ("/tiles/parcels/99999999999/0/0.mvt", 400),
        ("/tiles/parcels/3/8/0.mvt", 400),
        ("/tiles/parcels/3/0/8.mvt", 400),
        ("/tiles/parcels/0/1/0.mvt", 400),
        ("/tiles/parcels/3/-1/0.mvt", 400),
        ("/tiles/parcels/a/0/0.mvt", 400),
        ("/tiles/parcels/3/1.5/0.mvt", 400),
        ("/tiles/nothing/3/0/0.mvt", 404),
        ("/tiles/nothing.json", 404),
        ("/tiles/%00/0/0/0.mvt", 404),
        ("/tiles/a%00.json", 404),
        ("/tiles/parcels/3/0/0.png", 404),
    ],
)
def test_bad_tile_requests_are_problems(client, data, url, status):
    r = client.get(url)
    assert r.status_code == status
    assert r.mimetype == "application/problem+json"
    assert r.get_json().keys() >= PROBLEM_KEYS


def test_restricted_layer_tiles_need_a_token(client, ctx, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    z = 15
    x, y = tile_of(106.502, 29.502, z)
    for url in (f"/tiles/secret/{z}/{x}/{y}.mvt", "/tiles/secret.json"):
        r = client.get(url)
        assert r.status_code == 401
        assert r.mimetype == "application/problem+json"
        r = client.get(url, headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200
        assert r.headers["Cache-Control"].startswith("private")
