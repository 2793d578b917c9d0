"""OGC API – Tiles under /ogc: the tile matrix sets, each collection's vector and map
tilesets, and tiles that are the `/tiles` and WMTS ones; links from the landing page and
collections, conformance, problems for bad requests, restricted layers."""

from __future__ import annotations

import io
import math
from urllib.parse import urlsplit

import mapbox_vector_tile
import pytest
from PIL import Image

from tests.api.ogc_fixtures import import_all, import_geojson, parcel_features
from tests.api.ows_support import requires_gdal

REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TILES_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
RESIDENTIAL = (106.503, 29.503)  # inside parcel 1 (0701 居住用地)
RESIDENTIAL_RGBA = (255, 255, 45, 184)  # #FFFF2D at 72 %
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def mercator_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    lat_r = math.radians(lat)
    row = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return row, int((lon + 180) / 360 * n)


def cgcs_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    size = 180 / (1 << z)
    return int((90 - lat) / size), int((lon + 180) / size)


def _get(client, url, status=200, **kwargs):
    r = client.get(url, **kwargs)
    assert r.status_code == status, (url, r.get_data(as_text=True))
    return r


def _path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _link(document, rel):
    return next(link for link in document["links"] if link["rel"] == rel)


def test_landing_page_collections_and_conformance_link_the_tiles(client, data):
    landing = _get(client, "/ogc").get_json()
    sets = _get(client, _path(_link(landing, REL + "tiling-schemes")["href"])).get_json()
    assert [s["id"] for s in sets["tileMatrixSets"]] == ["WebMercatorQuad", "CGCS2000Quad"]
    collection = _get(client, "/ogc/collections/parcels").get_json()
    vector = _get(client, _path(_link(collection, REL + "tilesets-vector")["href"])).get_json()
    assert [t["dataType"] for t in vector["tilesets"]] == ["vector", "vector"]
    maps = _get(client, _path(_link(collection, REL + "tilesets-map")["href"])).get_json()
    assert [t["dataType"] for t in maps["tilesets"]] == ["map", "map"]
    conforms = set(_get(client, "/ogc/conformance").get_json()["conformsTo"])
    for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "png", "oas30"):
        assert TILES_CONF + name in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms


def test_tile_matrix_set_documents(client):
    mercator = _get(client, "/ogc/tileMatrixSets/WebMercatorQuad").get_json()
    assert mercator["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert len(mercator["tileMatrices"]) == 23
    assert mercator["tileMatrices"][0]["matrixWidth"] == 1
    cgcs = _get(client, "/ogc/tileMatrixSets/CGCS2000Quad").get_json()
    assert cgcs["crs"] == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert cgcs["orderedAxes"] == ["Lat", "Lon"]
    first = cgcs["tileMatrices"][0]
    assert first["pointOfOrigin"] == [90.0, -180.0]
    assert (first["matrixWidth"], first["matrixHeight"], first["cellSize"]) == (2, 1, 0.703125)
    problem = _get(client, "/ogc/tileMatrixSets/GoogleCRS84Quad", 404).get_json()
    assert set(problem) >= PROBLEM_KEYS and "WebMercatorQuad" in problem["detail"]


@pytest.mark.parametrize("grid_id, locate", [("WebMercatorQuad", mercator_tile),
                                             ("CGCS2000Quad", cgcs_tile)])  # fmt: skip
def test_tileset_metadata_and_its_template_give_the_tile(client, data, grid_id, locate):
    tileset = _get(client, f"/ogc/collections/parcels/tiles/{grid_id}").get_json()
    assert tileset["dataType"] == "vector"
    assert _link(tileset, REL + "tiling-scheme")["href"].endswith(f"/tileMatrixSets/{grid_id}")
    assert tileset["boundingBox"]["lowerLeft"] == pytest.approx([106.50, 29.50])
    layer = tileset["layers"][0]
    assert layer["id"] == "parcels" and layer["geometryType"] == "polygons"
    assert {"fid", "district", "code"} <= set(layer["propertiesSchema"]["properties"])
    z = 14
    row, col = locate(*RESIDENTIAL, z)
    limits = next(lim for lim in tileset["tileMatrixSetLimits"] if lim["tileMatrix"] == str(z))
    assert limits["minTileRow"] <= row <= limits["maxTileRow"]
    assert limits["minTileCol"] <= col <= limits["maxTileCol"]
    template = _link(tileset, "item")
    assert template["templated"] and template["type"] == "application/vnd.mapbox-vector-tile"
    href = template["href"].format(tileMatrix=z, tileRow=row, tileCol=col)
    r = _get(client, _path(href))
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    fids = {
        f["properties"]["fid"] for f in mapbox_vector_tile.decode(r.data)["parcels"]["features"]
    }
    assert 1 in fids


def test_webmercatorquad_tiles_are_the_tiles_ones(client, data):
    for z, (lon, lat) in ((10, RESIDENTIAL), (15, RESIDENTIAL), (16, (106.55, 29.62))):
        row, col = mercator_tile(lon, lat, z)
        ours = client.get(f"/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{row}/{col}")
        theirs = client.get(f"/tiles/parcels/{z}/{col}/{row}.mvt")
        assert ours.status_code == theirs.status_code
        assert ours.data == theirs.data
    assert ours.status_code == 204  # between the parcels


def test_map_tiles_are_the_wmts_ones(client, data):
    z = 13
    for grid_id, locate in (("WebMercatorQuad", mercator_tile), ("CGCS2000Quad", cgcs_tile)):
        row, col = locate(*RESIDENTIAL, z)
        ours = _get(client, f"/ogc/collections/parcels/map/tiles/{grid_id}/{z}/{row}/{col}")
        assert ours.mimetype == "image/png"
        wmts = _get(client, f"/wmts/1.0.0/parcels/default/{grid_id}/{z}/{row}/{col}.png")
        assert ours.data == wmts.data
        image = Image.open(io.BytesIO(ours.data))
        assert image.size == (256, 256) and image.getextrema()[3][1] > 0
        vector = _get(client, f"/ogc/collections/parcels/tiles/{grid_id}/{z}/{row}/{col}")
        same = _get(client, f"/wmts/1.0.0/parcels/default/{grid_id}/{z}/{row}/{col}.mvt")
        assert vector.data == same.data


def test_tiles_are_revalidated_and_follow_new_versions(client, ctx, tmp_path):
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features())
    row, col = mercator_tile(*RESIDENTIAL, 15)
    url = f"/ogc/collections/parcels/tiles/WebMercatorQuad/15/{row}/{col}"
    first = _get(client, url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert _get(client, url, 304, headers={"If-None-Match": etag}).data == b""
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features()[48:49])
    after = _get(client, url, 204, headers={"If-None-Match": etag})
    assert after.headers["ETag"] != etag


@pytest.mark.parametrize(
    "path, status, field",
    [
        ("tiles/WebMercatorQuad/23/0/0", 400, "tileMatrix"),
        ("tiles/WebMercatorQuad/2/4/0", 400, "tileRow"),
        ("tiles/CGCS2000Quad/2/0/8", 400, "tileCol"),
        ("map/tiles/CGCS2000Quad/2/x/0", 400, "tileRow"),
        ("tiles/WorldCRS84Quad/2/0/0", 404, "tileMatrixSetId"),
        ("map/tiles/Nothing", 404, "tileMatrixSetId"),
    ],
)
def test_bad_tile_requests_are_problems(client, data, path, status, field):
    r = _get(client, f"/ogc/collections/parcels/{path}", status)
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert set(problem) >= PROBLEM_KEYS
    assert problem["errors"][0]["field"] == field


def test_unknown_collection_is_404(client, data):
    for path in ("tiles", "map/tiles/WebMercatorQuad", "tiles/WebMercatorQuad/0/0/0"):
        assert _get(client, f"/ogc/collections/nothing/{path}", 404).mimetype == (
            "application/problem+json"
        )


def test_restricted_layer_tiles_need_credentials(client, ctx, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    # The metadata is public, like the collection's.
    _get(client, "/ogc/collections/secret/tiles/CGCS2000Quad")
    row, col = cgcs_tile(*RESIDENTIAL, 14)
    for prefix in ("tiles", "map/tiles"):
        url = f"/ogc/collections/secret/{prefix}/CGCS2000Quad/14/{row}/{col}"
        refused = _get(client, url, 401)
        assert "Bearer" in refused.headers["WWW-Authenticate"]
        ok = _get(client, url, headers={"Authorization": f"Bearer {admin_token}"})
        assert ok.headers["Cache-Control"].startswith("private")


@requires_gdal
def test_gdal_reads_a_vector_tile_where_the_parcels_are(client, data, tmp_path):
    """GDAL's MVT driver (Debian's gdal-bin) reads an OGC API tile: the same features as
    the tile's own decoder, placed in EPSG:3857 where the stored parcels are."""
    import json

    import shapely

    from tests.api.ogc_fixtures import stored, to_mercator
    from tests.api.ows_support import gdal

    z = 14
    row, col = mercator_tile(*RESIDENTIAL, z)
    tile = _get(client, f"/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{row}/{col}").data
    (tmp_path / "tile.mvt").write_bytes(tile)
    out = tmp_path / "tile.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), str(tmp_path / "tile.mvt"),
         "-oo", f"X={col}", "-oo", f"Y={row}", "-oo", f"Z={z}", "-oo", "CLIP=NO")  # fmt: skip
    read = json.loads(out.read_text())["features"]
    decoded = mapbox_vector_tile.decode(tile)["parcels"]["features"]
    assert sorted(f["properties"]["fid"] for f in read) == sorted(
        f["properties"]["fid"] for f in decoded
    )
    # Parcel 1 as GDAL places it (not clipping again): the stored parcel cut to the tile
    # and its buffer (64 of the 4,096 units on each side), to a tile unit along its outline.
    mine = next(f for f in read if f["properties"]["fid"] == 1)
    drawn = shapely.geometry.shape(mine["geometry"])
    origin = 20037508.342789244
    size = 2 * origin / (1 << z)
    unit, buffer = size / 4096, size * 64 / 4096
    west, north = -origin + col * size, origin - row * size
    cut = shapely.box(west - buffer, north - size - buffer, west + size + buffer, north + buffer)
    parcel = to_mercator(stored(data, "parcels")[1]).intersection(cut)
    assert drawn.area == pytest.approx(parcel.area, rel=1e-3)
    assert drawn.symmetric_difference(parcel).area < parcel.length * unit
    assert mine["properties"]["code"] == "0701"
