"""WMTS 1.0.0 at /wmts, read by OWSLib and GDAL's WMTS driver: capabilities with both tile
matrix sets, PNG tiles whose planted parcels have their legend colours at the right pixels,
vector tiles holding the features the tile meets, caching per layer version, restricted
layers, and OWS exception reports for bad requests."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET

import mapbox_vector_tile
import pytest
import shapely
from PIL import Image

from planfuse.services.maps.matrix import GRIDS
from tests.api.ogc_fixtures import import_all, import_geojson, parcel_features, stored
from tests.api.ows_support import exception_of, gdal, requires_gdal, serving

WMTS = "{http://www.opengis.net/wmts/1.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
# Parcel 1 (code 0701, 居住用地 #FFFF2D at 72 %) covers 106.500–106.506 E, 29.500–29.506 N;
# the L-shaped green space (1401, #00FF00) 106.61–106.62 E at 29.63 N.
RESIDENTIAL = (106.503, 29.503)
GREEN = (106.615, 29.63)
EMPTY = (106.55, 29.62)
RESIDENTIAL_ON_WHITE = (255, 255, 104)
GREEN_ON_WHITE = (71, 255, 71)


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


@pytest.fixture
def url(data, app):
    with serving(app) as base:
        yield base


def mercator_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(row, col) of the WebMercatorQuad tile holding the point."""
    n = 1 << z
    lat_r = math.radians(lat)
    row = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return row, int((lon + 180) / 360 * n)


def cgcs_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(row, col) of the CGCS2000Quad tile holding the point: 180°/2^z per tile."""
    size = 180 / (1 << z)
    return int((90 - lat) / size), int((lon + 180) / size)


def to_xy(grid_id: str, lon: float, lat: float) -> tuple[float, float]:
    if grid_id == "CGCS2000Quad":
        return lon, lat
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True).transform(lon, lat)


def pixel_of(grid_id: str, z: int, row: int, col: int, lon: float, lat: float) -> tuple[int, int]:
    x0, y0, x1, y1 = GRIDS[grid_id].bounds(z, row, col)
    x, y = to_xy(grid_id, lon, lat)
    return int((x - x0) / (x1 - x0) * 256), int((y1 - y) / (y1 - y0) * 256)


def on_white(rgba: tuple[int, int, int, int]) -> tuple[int, int, int]:
    r, g, b, a = rgba
    return tuple(round(c * a / 255 + 255 * (1 - a / 255)) for c in (r, g, b))


def close(got, want, tolerance=3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True))


def rest_tile(client, layer, grid_id, z, row, col, ext="png", **kwargs):
    return client.get(f"/wmts/1.0.0/{layer}/default/{grid_id}/{z}/{row}/{col}.{ext}", **kwargs)


# --- clients -------------------------------------------------------------------------------


def test_owslib_reads_capabilities_and_gets_a_tile(url, data):
    from owslib.wmts import WebMapTileService

    wmts = WebMapTileService(f"{url}/wmts")
    assert sorted(wmts.contents) == ["districts", "facilities", "parcels", "roads"]
    assert {"WebMercatorQuad", "CGCS2000Quad"} <= set(wmts.tilematrixsets)
    assert wmts.tilematrixsets["CGCS2000Quad"].crs == "urn:ogc:def:crs:EPSG::4490"
    parcels = wmts["parcels"]
    assert parcels.title == "用地规划"
    assert parcels.boundingBoxWGS84 == pytest.approx((106.50, 29.50, 106.68, 29.65))
    assert set(parcels.formats) == {"image/png", "application/vnd.mapbox-vector-tile"}
    assert set(parcels.tilematrixsetlinks) == {"WebMercatorQuad", "CGCS2000Quad"}
    assert [r["format"] for r in parcels.resourceURLs] == [
        "image/png",
        "application/vnd.mapbox-vector-tile",
    ]
    z = 14
    for grid_id, (row, col) in (
        ("WebMercatorQuad", mercator_tile(*RESIDENTIAL, z)),
        ("CGCS2000Quad", cgcs_tile(*RESIDENTIAL, z)),
    ):
        # The limits name the tiles the layer covers.
        limits = parcels.tilematrixsetlinks[grid_id].tilematrixlimits[str(z)]
        assert limits.mintilerow <= row <= limits.maxtilerow
        assert limits.mintilecol <= col <= limits.maxtilecol
        image = Image.open(
            io.BytesIO(
                wmts.gettile(
                    layer="parcels",
                    tilematrixset=grid_id,
                    tilematrix=str(z),
                    row=row,
                    column=col,
                    format="image/png",
                ).read()
            )
        )
        assert image.size == (256, 256) and image.mode == "RGBA"
        px = pixel_of(grid_id, z, row, col, *RESIDENTIAL)
        assert close(on_white(image.getpixel(px)), RESIDENTIAL_ON_WHITE), grid_id


def capabilities(url: str) -> str:
    """GDAL's name of the WMTS capabilities document."""
    return f"WMTS:{url}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"


@requires_gdal
@pytest.mark.parametrize(
    "grid_id, epsg",
    [("WebMercatorQuad", 3857), ("CGCS2000Quad", 4490)],
)
def test_gdal_opens_the_layer_with_its_crs_and_extent(url, data, grid_id, epsg):
    source = f"{capabilities(url)},layer=parcels,tilematrixset={grid_id}"
    info = json.loads(gdal("gdalinfo", "-json", source))
    assert info["stac"]["proj:epsg"] == epsg
    corners = info["cornerCoordinates"]
    west, north = corners["upperLeft"]
    east, south = corners["lowerRight"]
    want_west, want_south = to_xy(grid_id, 106.50, 29.50)
    want_east, want_north = to_xy(grid_id, 106.68, 29.65)
    tolerance = 1e-5 if epsg == 4490 else 1.0
    assert west == pytest.approx(want_west, abs=tolerance)
    assert east == pytest.approx(want_east, abs=tolerance)
    assert south == pytest.approx(want_south, abs=tolerance)
    assert north == pytest.approx(want_north, abs=tolerance)


@requires_gdal
def test_gdal_reads_pixels_of_the_cgcs2000_tiles(url, data, tmp_path):
    out = tmp_path / "parcels.png"
    source = f"{capabilities(url)},layer=parcels,tilematrixset=CGCS2000Quad"
    gdal("gdal_translate", "-q", "-outsize", "720", "600", "-projwin", "106.5", "29.65",
         "106.68", "29.5", source, str(out))  # fmt: skip
    image = Image.open(out).convert("RGBA")

    def at(lon, lat):
        return image.getpixel((int((lon - 106.5) / 0.18 * 720), int((29.65 - lat) / 0.15 * 600)))

    assert close(on_white(at(*RESIDENTIAL)), RESIDENTIAL_ON_WHITE, 4)
    assert close(on_white(at(*GREEN)), GREEN_ON_WHITE, 4)
    assert at(*EMPTY)[3] == 0


# --- PNG tiles -----------------------------------------------------------------------------


@pytest.mark.parametrize("grid_id", ["WebMercatorQuad", "CGCS2000Quad"])
def test_png_tiles_draw_the_features_where_they_are(client, data, grid_id):
    z = 12
    locate = mercator_tile if grid_id == "WebMercatorQuad" else cgcs_tile
    for point, want in ((RESIDENTIAL, RESIDENTIAL_ON_WHITE), (GREEN, GREEN_ON_WHITE)):
        row, col = locate(*point, z)
        r = rest_tile(client, "parcels", grid_id, z, row, col)
        assert r.status_code == 200 and r.mimetype == "image/png"
        assert r.headers["Cache-Control"] == "public, max-age=60"
        image = Image.open(io.BytesIO(r.data))
        assert close(on_white(image.getpixel(pixel_of(grid_id, z, row, col, *point))), want)
    row, col = locate(*EMPTY, 16)
    empty = Image.open(io.BytesIO(rest_tile(client, "parcels", grid_id, 16, row, col).data))
    assert empty.getpixel(pixel_of(grid_id, 16, row, col, *EMPTY))[3] == 0
    # Far away from the layer: a transparent tile.
    far = Image.open(io.BytesIO(rest_tile(client, "parcels", grid_id, 3, 0, 0).data))
    assert far.size == (256, 256) and far.getextrema()[3] == (0, 0)


def test_kvp_and_restful_tiles_are_the_same(client, data):
    row, col = mercator_tile(*RESIDENTIAL, 13)
    kvp = client.get(
        "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=parcels&STYLE=default"
        f"&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=13&TILEROW={row}"
        f"&TILECOL={col}"
    )
    assert kvp.status_code == 200
    assert kvp.data == rest_tile(client, "parcels", "WebMercatorQuad", 13, row, col).data


# --- vector tiles --------------------------------------------------------------------------


def test_webmercatorquad_vector_tiles_are_the_tiles_ones(client, data):
    z = 14
    row, col = mercator_tile(*RESIDENTIAL, z)
    r = rest_tile(client, "parcels", "WebMercatorQuad", z, row, col, "mvt")
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    assert r.data == client.get(f"/tiles/parcels/{z}/{col}/{row}.mvt").data


def test_cgcs2000_vector_tiles_hold_the_features_they_meet(client, data):
    geoms = stored(data, "parcels")
    z = 13  # the detail zoom of CGCS2000Quad: every feature meeting the tile is kept
    for point in (RESIDENTIAL, GREEN):
        row, col = cgcs_tile(*point, z)
        r = rest_tile(client, "parcels", "CGCS2000Quad", z, row, col, "mvt")
        assert r.status_code == 200
        features = mapbox_vector_tile.decode(r.data)["parcels"]["features"]
        got = {f["properties"]["fid"] for f in features}
        tile = shapely.box(*GRIDS["CGCS2000Quad"].bounds(z, row, col))
        want = {fid for fid, g in geoms.items() if g.intersects(tile)}
        assert want and want <= got
        buffered = tile.buffer(tile.bounds[2] - tile.bounds[0], join_style="mitre")
        assert got <= {fid for fid, g in geoms.items() if g.intersects(buffered)}
        assert {f["properties"].get("code") for f in features} - {None}
    row, col = cgcs_tile(*EMPTY, 18)
    assert rest_tile(client, "parcels", "CGCS2000Quad", 18, row, col, "mvt").status_code == 204


# --- caching, versions, access ---------------------------------------------------------------


def test_a_new_layer_version_invalidates_cached_tiles(client, ctx, tmp_path):
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features())
    z = 14
    row, col = cgcs_tile(*RESIDENTIAL, z)
    px = pixel_of("CGCS2000Quad", z, row, col, *RESIDENTIAL)
    before = rest_tile(client, "parcels", "CGCS2000Quad", z, row, col)
    assert Image.open(io.BytesIO(before.data)).getpixel(px)[3] > 0
    etag = before.headers["ETag"]
    again = rest_tile(client, "parcels", "CGCS2000Quad", z, row, col,
                      headers={"If-None-Match": etag})  # fmt: skip
    assert again.status_code == 304
    # Version 2 holds only the L-shaped parcel, far from this tile.
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features()[48:49])
    after = rest_tile(client, "parcels", "CGCS2000Quad", z, row, col,
                      headers={"If-None-Match": etag})  # fmt: skip
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert Image.open(io.BytesIO(after.data)).getextrema()[3] == (0, 0)


def test_restricted_layer_tiles_need_credentials(client, ctx, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    row, col = mercator_tile(*RESIDENTIAL, 14)
    for ext in ("png", "mvt"):
        r = rest_tile(client, "secret", "WebMercatorQuad", 14, row, col, ext)
        assert r.status_code == 401
        assert "Bearer" in r.headers["WWW-Authenticate"]
        code, _, text = exception_of(r)
        assert code == "NoApplicableCode" and "restricted" in text
        ok = rest_tile(client, "secret", "WebMercatorQuad", 14, row, col, ext,
                       headers={"Authorization": f"Bearer {admin_token}"})  # fmt: skip
        assert ok.status_code == 200
        assert ok.headers["Cache-Control"].startswith("private")
    kvp = client.get(
        "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=secret&STYLE=default"
        f"&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=14&TILEROW={row}"
        f"&TILECOL={col}"
    )
    assert kvp.status_code == 401
    wrong = rest_tile(client, "secret", "WebMercatorQuad", 14, row, col,
                      headers={"Authorization": "Bearer pfa_not-a-token"})  # fmt: skip
    assert wrong.status_code in (401, 403)


# --- errors --------------------------------------------------------------------------------

GET_TILE = (
    "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=parcels&STYLE=default"
    "&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=2&TILEROW=1&TILECOL=3"
)


@pytest.mark.parametrize(
    "change, code, locator",
    [
        (("LAYER=parcels", "LAYER=nothing"), "InvalidParameterValue", "Layer"),
        (
            ("TILEMATRIXSET=WebMercatorQuad", "TILEMATRIXSET=GoogleCRS84Quad"),
            "InvalidParameterValue",
            "TileMatrixSet",
        ),
        (("TILEMATRIX=2", "TILEMATRIX=23"), "TileOutOfRange", "TileMatrix"),
        (("TILEROW=1", "TILEROW=4"), "TileOutOfRange", "TileRow"),
        (("TILECOL=3", "TILECOL=4"), "TileOutOfRange", "TileCol"),
        (("TILECOL=3", "TILECOL=-1"), "TileOutOfRange", "TileCol"),
        (("TILEROW=1", "TILEROW=x"), "TileOutOfRange", "TileRow"),
        (("FORMAT=image/png", "FORMAT=image/gif"), "InvalidParameterValue", "Format"),
        (("STYLE=default", "STYLE=fancy"), "InvalidParameterValue", "Style"),
        (("&TILECOL=3", ""), "MissingParameterValue", "TILECOL"),
        (("REQUEST=GetTile", "REQUEST=GetLegend"), "OperationNotSupported", "request"),
        (("VERSION=1.0.0", "VERSION=2.0.0"), "InvalidParameterValue", "version"),
        (("SERVICE=WMTS", "SERVICE=WCS"), "InvalidParameterValue", "service"),
    ],
)
def test_bad_kvp_requests_are_exception_reports(client, data, change, code, locator):
    r = client.get(GET_TILE.replace(*change))
    assert r.status_code == 400
    got_code, got_locator, text = exception_of(r)
    assert (got_code, got_locator) == (code, locator), text


def test_bad_restful_requests(client, data):
    assert client.get(GET_TILE).status_code == 200
    for path, status, code in (
        ("/wmts/1.0.0/nothing/default/WebMercatorQuad/2/1/3.png", 404, "InvalidParameterValue"),
        ("/wmts/1.0.0/parcels/default/WebMercatorQuad/2/1/3.gif", 404, "InvalidParameterValue"),
        ("/wmts/1.0.0/parcels/default/Nothing/2/1/3.png", 400, "InvalidParameterValue"),
        ("/wmts/1.0.0/parcels/default/CGCS2000Quad/22/1/3.png", 400, "TileOutOfRange"),
        ("/wmts/1.0.0/parcels/default/CGCS2000Quad/2/4/3.png", 400, "TileOutOfRange"),
        ("/wmts/1.0.0/parcels/default/CGCS2000Quad/2/3/8.mvt", 400, "TileOutOfRange"),
    ):
        r = client.get(path)
        assert r.status_code == status, path
        assert exception_of(r)[0] == code, path
    # CGCS2000Quad is twice as wide as it is high: column 7 of zoom 2 exists.
    assert client.get("/wmts/1.0.0/parcels/default/CGCS2000Quad/2/3/7.png").status_code == 200


def test_restful_capabilities_are_the_kvp_ones(client, data):
    kvp = client.get("/wmts?service=WMTS&request=GetCapabilities")
    rest = client.get("/wmts/1.0.0/WMTSCapabilities.xml")
    assert kvp.status_code == rest.status_code == 200
    assert kvp.data == rest.data
    root = ET.fromstring(rest.data)
    sets = {s.findtext(f"{OWS}Identifier"): s for s in root.iter(f"{WMTS}TileMatrixSet") if len(s)}
    cgcs = sets["CGCS2000Quad"]
    first = cgcs.find(f"{WMTS}TileMatrix")
    # EPSG:4490 is latitude first: the top-left corner is 90 N, 180 W.
    assert first.findtext(f"{WMTS}TopLeftCorner") == "90.0 -180.0"
    assert (first.findtext(f"{WMTS}MatrixWidth"), first.findtext(f"{WMTS}MatrixHeight")) == (
        "2",
        "1",
    )
    assert len(sets["WebMercatorQuad"].findall(f"{WMTS}TileMatrix")) == 23


# --- GetFeatureInfo ------------------------------------------------------------------------


def feature_info(client, grid_id, z, row, col, i, j, info="application/json", layer="parcels"):
    return client.get(
        f"/wmts?SERVICE=WMTS&REQUEST=GetFeatureInfo&VERSION=1.0.0&LAYER={layer}&STYLE=default"
        f"&FORMAT=image/png&TILEMATRIXSET={grid_id}&TILEMATRIX={z}&TILEROW={row}"
        f"&TILECOL={col}&I={i}&J={j}&INFOFORMAT={info}"
    )


@pytest.mark.parametrize("grid_id", ["WebMercatorQuad", "CGCS2000Quad"])
def test_get_feature_info_finds_the_feature_under_a_pixel(client, data, grid_id):
    z = 14
    locate = mercator_tile if grid_id == "WebMercatorQuad" else cgcs_tile
    row, col = locate(*RESIDENTIAL, z)
    i, j = pixel_of(grid_id, z, row, col, *RESIDENTIAL)
    r = feature_info(client, grid_id, z, row, col, i, j)
    assert r.status_code == 200 and r.mimetype == "application/json"
    features = r.get_json()["features"]
    assert [(f["layer"], f["properties"]["code"]) for f in features] == [("parcels", "0701")]
    assert features[0]["id"] == "parcels.1"
    html = feature_info(client, grid_id, z, row, col, i, j, "text/html")
    assert html.mimetype == "text/html" and "0701" in html.get_data(as_text=True)
    row, col = locate(*EMPTY, 17)
    i, j = pixel_of(grid_id, 17, row, col, *EMPTY)
    assert feature_info(client, grid_id, 17, row, col, i, j).get_json()["features"] == []


def test_get_feature_info_refusals(client, data, ctx, tmp_path):
    code, locator, _ = exception_of(feature_info(client, "WebMercatorQuad", 2, 1, 3, 256, 0))
    assert (code, locator) == ("PointIJOutOfRange", "I")
    r = feature_info(client, "WebMercatorQuad", 2, 1, 3, 0, 0, "text/plain")
    assert exception_of(r)[:2] == ("InvalidParameterValue", "InfoFormat")
    import_geojson(ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5],
                   restricted=True)  # fmt: skip
    assert feature_info(client, "WebMercatorQuad", 2, 1, 3, 0, 0, layer="secret").status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"wms_max_features": 20}])
def test_a_tile_too_dense_to_draw_is_refused_not_failed(client, data, settings_overrides):
    row, col = mercator_tile(*RESIDENTIAL, 10)  # all 56 parcels
    r = rest_tile(client, "parcels", "WebMercatorQuad", 10, row, col)
    assert r.status_code == 400
    code, locator, text = exception_of(r)
    assert (code, locator) == ("InvalidParameterValue", "TileMatrix")
    assert "zoom in" in text
    # Vector tiles have no such limit; a closer PNG tile is drawn.
    assert rest_tile(client, "parcels", "WebMercatorQuad", 10, row, col, "mvt").status_code == 200
    row, col = mercator_tile(*RESIDENTIAL, 16)
    assert rest_tile(client, "parcels", "WebMercatorQuad", 16, row, col).status_code == 200
