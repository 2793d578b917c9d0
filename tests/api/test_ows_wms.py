"""WMS 1.3.0 / 1.1.1 at /ows, read by OWSLib and GDAL's WMS driver: capabilities, maps
whose planted features have their legend colours at known pixels, feature info, and the
standard's exception report for bad requests."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from tests.api.ogc_fixtures import import_all, import_geojson, parcel_features
from tests.api.ows_support import gdal, requires_gdal, serving

OGC = "{http://www.opengis.net/ogc}"
# The parcel grid (tests/api/ogc_fixtures.py) in EPSG:4490, latitude first as WMS 1.3.0
# reads CRS=EPSG:4490: 29.50–29.65 N, 106.50–106.68 E.
GRID_BBOX_LATLON = "29.5,106.5,29.65,106.68"
# Parcel 1 (code 0701, 居住用地 #FFFF2D at 72 % over white) covers 106.500–106.506 E,
# 29.500–29.506 N; the L-shaped green space (1401, #00FF00) 106.61–106.62 E at 29.63 N.
RESIDENTIAL_ON_WHITE = (255, 255, 104)  # 255·0.28 + (255, 255, 45)·0.72
GREEN_ON_WHITE = (71, 255, 71)  # 255·0.28 + (0, 255, 0)·0.72


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


@pytest.fixture
def url(data, app):
    with serving(app) as base:
        yield base


def _pixel(image: Image.Image, lon: float, lat: float, bbox=(106.5, 29.5, 106.68, 29.65)):
    west, south, east, north = bbox
    x = int((lon - west) / (east - west) * image.width)
    y = int((north - lat) / (north - south) * image.height)
    return image.getpixel((x, y))


def _map(client, query: str) -> Image.Image:
    response = client.get(f"/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return Image.open(io.BytesIO(response.data))


def _close(got, want, tolerance=2):
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=False))


def test_owslib_reads_capabilities_and_draws_a_map(url, data):
    from owslib.wms import WebMapService

    wms = WebMapService(f"{url}/ows", version="1.3.0")
    assert sorted(wms.contents) == ["districts", "facilities", "parcels", "roads"]
    parcels = wms["parcels"]
    assert parcels.title == "用地规划" and parcels.queryable == 1
    assert parcels.boundingBoxWGS84 == pytest.approx((106.50, 29.50, 106.68, 29.65))
    assert {"EPSG:4490", "EPSG:4523", "EPSG:3857", "CRS:84"} <= set(parcels.crsOptions)
    image = Image.open(
        io.BytesIO(
            wms.getmap(
                layers=["parcels"],
                srs="EPSG:4490",
                # OWSLib takes x,y and sends lat,lon, the 1.3.0 axis order of EPSG:4490.
                bbox=(106.5, 29.5, 106.68, 29.65),
                size=(360, 300),
                format="image/png",
            ).read()
        )
    ).convert("RGB")
    assert _close(_pixel(image, 106.503, 29.503), RESIDENTIAL_ON_WHITE)
    assert _close(_pixel(image, 106.615, 29.63), GREEN_ON_WHITE)
    assert _pixel(image, 106.55, 29.62) == (255, 255, 255)  # nothing there


def test_axis_order_per_version_and_crs(client, data):
    lat_first = _map(client, f"LAYERS=parcels&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}"
                     "&WIDTH=360&HEIGHT=300&FORMAT=image/png").convert("RGB")  # fmt: skip
    lon_first = _map(client, "LAYERS=parcels&CRS=CRS:84&BBOX=106.5,29.5,106.68,29.65"
                     "&WIDTH=360&HEIGHT=300&FORMAT=image/png").convert("RGB")  # fmt: skip
    old = client.get(
        "/ows?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&STYLES=&LAYERS=parcels&SRS=EPSG:4490"
        "&BBOX=106.5,29.5,106.68,29.65&WIDTH=360&HEIGHT=300&FORMAT=image/png"
    )
    old_image = Image.open(io.BytesIO(old.data)).convert("RGB")
    assert lat_first.tobytes() == lon_first.tobytes() == old_image.tobytes()
    assert _close(_pixel(lat_first, 106.503, 29.503), RESIDENTIAL_ON_WHITE)


def test_gauss_kruger_and_web_mercator_maps_agree(client, data):
    from pyproj import Transformer

    for crs, north_first in (("EPSG:4523", True), ("EPSG:3857", False)):
        to = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
        e0, n0 = to.transform(106.50, 29.50)
        e1, n1 = to.transform(106.68, 29.65)
        box = f"{n0},{e0},{n1},{e1}" if north_first else f"{e0},{n0},{e1},{n1}"
        image = _map(client, f"LAYERS=parcels&CRS={crs}&BBOX={box}&WIDTH=360&HEIGHT=300"
                     "&FORMAT=image/png").convert("RGB")  # fmt: skip
        assert _close(_pixel(image, 106.503, 29.503), RESIDENTIAL_ON_WHITE, 3), crs
        assert _close(_pixel(image, 106.615, 29.63), GREEN_ON_WHITE, 3), crs


def test_transparent_png_and_jpeg(client, data):
    image = _map(client, f"LAYERS=parcels&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}&WIDTH=360"
                 "&HEIGHT=300&FORMAT=image/png&TRANSPARENT=TRUE")  # fmt: skip
    assert image.mode == "RGBA"
    assert _pixel(image, 106.55, 29.62)[3] == 0
    r, g, b, a = _pixel(image, 106.503, 29.503)
    # 72 % of #FFFF2D, un-premultiplied from the 8-bit canvas.
    assert a == pytest.approx(184, abs=2) and min(r, g) >= 251 and b == pytest.approx(45, abs=3)
    jpeg = _map(client, f"LAYERS=parcels&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}&WIDTH=360"
                "&HEIGHT=300&FORMAT=image/jpeg&BGCOLOR=0x000000")  # fmt: skip
    assert jpeg.format == "JPEG"
    assert _close(_pixel(jpeg.convert("RGB"), 106.55, 29.62), (0, 0, 0), 6)


@requires_gdal
def test_gdal_translate_of_the_wms(url, data, tmp_path):
    listing = gdal("gdalinfo", f"WMS:{url}/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities")
    assert "LAYERS=parcels" in listing and "SUBDATASET_4_NAME" in listing
    out = tmp_path / "parcels.png"
    source = (f"WMS:{url}/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels"
              f"&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}")  # fmt: skip
    gdal("gdal_translate", "-of", "PNG", "-outsize", "360", "300", source, str(out))
    image = Image.open(out).convert("RGB")
    assert image.size == (360, 300)
    assert _close(_pixel(image, 106.503, 29.503), RESIDENTIAL_ON_WHITE, 6)
    assert _close(_pixel(image, 106.615, 29.63), GREEN_ON_WHITE, 6)


def test_get_feature_info_finds_the_feature_under_the_pixel(client, data):
    base = (
        "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=districts,parcels"
        f"&QUERY_LAYERS=parcels&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}&WIDTH=360&HEIGHT=300"
    )
    # Pixel (6, 294) is 106.5033 E, 29.5028 N: inside parcel 1.
    response = client.get(f"{base}&I=6&J=294&INFO_FORMAT=application/json")
    body = json.loads(response.data)
    assert [f["id"] for f in body["features"]] == ["parcels.1"]
    assert body["features"][0]["properties"]["code"] == "0701"
    html = client.get(f"{base}&I=6&J=294&INFO_FORMAT=text/html")
    assert html.mimetype == "text/html" and "地块1" in html.get_data(as_text=True)
    gml = client.get(f"{base}&I=6&J=294&INFO_FORMAT=application/vnd.ogc.gml")
    assert b'gml:id="parcels.1"' in gml.data
    empty = client.get(f"{base}&I=100&J=40&INFO_FORMAT=application/json")
    assert json.loads(empty.data)["features"] == []


def test_restricted_layer_in_a_map(ctx, client, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    query = (f"/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=secret&STYLES=&CRS=EPSG:4490"
             f"&BBOX={GRID_BBOX_LATLON}&WIDTH=100&HEIGHT=100&FORMAT=image/png")  # fmt: skip
    refused = client.get(query)
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
    assert ET.fromstring(refused.data).tag == f"{OGC}ServiceExceptionReport"
    allowed = client.get(query, headers={"Authorization": f"Bearer {admin_token}"})
    assert allowed.status_code == 200 and allowed.mimetype == "image/png"


MAP = "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&FORMAT=image/png&WIDTH=100&HEIGHT=100&"
LEGEND = "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&FORMAT=image/png&"


@pytest.mark.parametrize(
    ("query", "code", "locator"),
    [
        (MAP + "LAYERS=nope&CRS=EPSG:4490&BBOX=29,106,30,107", "LayerNotDefined", "LAYERS"),
        (MAP + "LAYERS=roads&CRS=EPSG:9999&BBOX=29,106,30,107", "InvalidCRS", "CRS"),
        # lon,lat numbers where 1.3.0's EPSG:4490 wants lat,lon: outside the world.
        (MAP + "LAYERS=roads&CRS=EPSG:4490&BBOX=106,29,107,30", "InvalidParameterValue", "BBOX"),
        (MAP + "LAYERS=roads&CRS=EPSG:4490&BBOX=30,106,29,107", "InvalidParameterValue", "BBOX"),
        (MAP + "LAYERS=roads&CRS=EPSG:4490", "MissingParameterValue", "BBOX"),
        ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=roads&STYLES=fancy&CRS=EPSG:4490"
         "&BBOX=29,106,30,107&WIDTH=100&HEIGHT=100&FORMAT=image/png", "StyleNotDefined",
         "STYLES"),
        ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=roads&STYLES=&CRS=EPSG:4490"
         "&BBOX=29,106,30,107&WIDTH=100&HEIGHT=100&FORMAT=image/bmp", "InvalidFormat", "FORMAT"),
        ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=roads&STYLES=&CRS=EPSG:4490"
         "&BBOX=29,106,30,107&WIDTH=100000&HEIGHT=100&FORMAT=image/png", "InvalidParameterValue",
         "WIDTH"),
        ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=roads&QUERY_LAYERS=roads"
         "&STYLES=&CRS=EPSG:4490&BBOX=29,106,30,107&WIDTH=100&HEIGHT=100&I=500&J=5",
         "InvalidPoint", "I"),
        ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegend", "OperationNotSupported", "REQUEST"),
        (LEGEND + "LAYER=nope", "LayerNotDefined", "LAYER"),
        (LEGEND.replace("image/png", "image/gif") + "LAYER=roads", "InvalidFormat", "FORMAT"),
        (LEGEND + "LAYER=roads&STYLE=fancy", "StyleNotDefined", "STYLE"),
        (LEGEND + "LAYER=roads&LANGUAGE=fr", "InvalidParameterValue", "LANGUAGE"),
        (LEGEND + "LAYER=roads&HEIGHT=100000", "InvalidParameterValue", "HEIGHT"),
        (LEGEND + "LAYER=roads&RULE=motorway", "InvalidParameterValue", "RULE"),
        ("SERVICE=WMS&REQUEST=GetLegendGraphic&FORMAT=image/png", "MissingParameterValue",
         "LAYER"),
    ],
)  # fmt: skip
def test_bad_requests_answer_a_service_exception_report(client, data, query, code, locator):
    response = client.get(f"/ows?{query}")
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    root = ET.fromstring(response.data)
    assert root.tag == f"{OGC}ServiceExceptionReport"
    exc = root.find(f"{OGC}ServiceException")
    assert (exc.get("code"), exc.get("locator")) == (code, locator), exc.text
    if code == "InvalidParameterValue" and locator == "WIDTH":
        assert "4096×4096" in exc.text


# --- GetLegendGraphic --------------------------------------------------------------------


def test_owslib_finds_each_layers_legend_and_it_shows_the_map_colours(url, data):
    """The capabilities give every layer a LegendURL (its size exact); the legend has one row
    per class in the map's order, each swatch in the colour the map draws that class."""
    from owslib.wms import WebMapService

    from planfuse.ows.legend import legend_entries

    wms = WebMapService(f"{url}/ows", version="1.3.0")
    legend_url = wms.contents["parcels"].styles["default"]["legend"]
    assert "request=GetLegendGraphic" in legend_url
    image = Image.open(io.BytesIO(wms.getOperationByName("GetMap") and _fetch(legend_url)))
    rows = legend_entries("land_use_plan", "parcels")
    assert rows[0].label == "01 耕地" and rows[-1].label == "其他"
    root = ET.fromstring(_fetch(f"{url}/ows?service=WMS&request=GetCapabilities&version=1.3.0"))
    wms_ns = "{http://www.opengis.net/wms}"
    sizes = {
        layer.findtext(f"{wms_ns}Name"): layer.find(f".//{wms_ns}LegendURL")
        for layer in root.iter(f"{wms_ns}Layer")
        if layer.findtext(f"{wms_ns}Name")
    }
    assert (int(sizes["parcels"].get("width")), int(sizes["parcels"].get("height"))) == image.size
    # Row 7 (0-based) is 07 居住用地: the swatch's centre is the map's residential colour.
    row = next(i for i, r in enumerate(rows) if r.code == "07")
    on_white = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    assert _close(on_white.getpixel((4 + 10, 4 + row * 24 + 10))[:3], RESIDENTIAL_ON_WHITE)
    # Labels are drawn (dark text pixels right of the swatches), in Chinese with a CJK font.
    text = on_white.crop((30, 4 + row * 24, image.width, 4 + row * 24 + 20)).convert("L")
    assert text.getextrema()[0] < 100


def _fetch(href: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(href) as response:
        return response.read()


def test_legend_rule_width_height_and_language(client, data):
    base = "/ows?service=WMS&request=GetLegendGraphic&format=image/png&layer="
    one = client.get(base + "parcels&rule=07&width=40&height=30")
    assert one.status_code == 200 and one.mimetype == "image/png"
    swatch = Image.open(io.BytesIO(one.data))
    assert swatch.size == (40, 30)
    on_white = Image.alpha_composite(Image.new("RGBA", swatch.size, "white"), swatch)
    assert _close(on_white.getpixel((20, 15))[:3], RESIDENTIAL_ON_WHITE)
    zh = Image.open(io.BytesIO(client.get(base + "parcels").data))
    en = Image.open(io.BytesIO(client.get(base + "parcels&language=en").data))
    assert zh.height == en.height and zh.width != en.width  # other labels, same rows
    # A layer in one style: one row named after the layer; a road is a line, not a box.
    roads = Image.open(io.BytesIO(client.get(base + "roads&rule=expressway").data))
    corner = roads.getpixel((1, 1))
    assert corner[3] == 0  # transparent corner: a line across, no filled box
    farmland = client.get(base + "districts")
    assert farmland.status_code == 200


def test_legend_of_a_restricted_layer_needs_credentials(ctx, client, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    query = "/ows?service=WMS&request=GetLegendGraphic&format=image/png&layer=secret"
    assert client.get(query).status_code == 401
    allowed = client.get(query, headers={"Authorization": f"Bearer {admin_token}"})
    assert allowed.status_code == 200 and allowed.mimetype == "image/png"


def test_wms_111_lists_get_legend_graphic(client, data):
    body = client.get("/ows?service=WMS&request=GetCapabilities&version=1.1.1").data
    assert b"<GetLegendGraphic><Format>image/png</Format>" in body
    assert b"<LegendURL" in body


# The two test districts (tests/api/ogc_fixtures.py): 沙坪坝区 106.40–106.54 E and 九龙坡区
# 106.54–106.70 E, both 29.40–29.70 N. Names are written #333333 on a white halo.
# The map is cut in half at 106.54 E: x = 240 of 512.
DISTRICTS_CRS84 = "106.38,29.38,106.72,29.72"


def _name_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels in `box` are darker than anything but the names (#333333; the
    districts' dashed outline is #6D6D6D)."""
    rgb = image.convert("RGB").crop(box)
    width, height = rgb.size
    pixels = (rgb.getpixel((x, y)) for x in range(width) for y in range(height))
    return sum(1 for p in pixels if max(p) < 90)


def test_district_names_are_written_from_the_widgets_scale_on(client, data):
    """The district style labels features with `name`, as the widget does: written inside
    each district at district scale (74 Web Mercator m a pixel), none at city scale (over
    the widget's 320 m a pixel); the map beside them keeps its colours."""
    near = _map(
        client,
        f"LAYERS=districts&CRS=CRS:84&BBOX={DISTRICTS_CRS84}&WIDTH=512&HEIGHT=512&FORMAT=image/png",
    )
    # Each district's half of the picture holds its name, in the middle third (a box's
    # interior point), and nothing of the names' grey elsewhere.
    west = 512 * (106.54 - 106.38) / 0.34
    assert _name_pixels(near, (0, 170, int(west), 342)) > 40
    assert _name_pixels(near, (int(west), 170, 512, 342)) > 40
    assert _name_pixels(near, (0, 0, 512, 150)) == 0
    assert _name_pixels(near, (0, 362, 512, 512)) == 0
    # The same districts in a city-wide map (2 km a pixel): drawn, not named.
    far = _map(
        client,
        "LAYERS=districts&CRS=CRS:84&BBOX=104,27.5,109,32.5&WIDTH=256&HEIGHT=256&FORMAT=image/png",
    )
    assert _name_pixels(far, (0, 0, 256, 256)) == 0
    inside = (int(256 * (106.47 - 104) / 5), int(256 * (32.5 - 29.55) / 5))
    assert far.convert("RGB").getpixel(inside) != (255, 255, 255)


def test_a_coarse_map_of_a_large_layer_is_drawn_from_its_overview(client, app, data, monkeypatch):
    """A layer at least `overview.MIN_FEATURES` large gets an overview: the first coarse map
    is drawn feature by feature while it builds, later ones from it, alike; finer maps
    and maps in other CRSs stay drawn feature by feature."""
    import numpy as np

    from planfuse.services.layers import derived
    from planfuse.services.maps import overview

    monkeypatch.setattr(overview, "MIN_FEATURES", 1)
    monkeypatch.setattr(overview, "SIZE", 512)
    server = app.extensions["planfuse"]
    coarse = f"LAYERS=parcels&CRS=EPSG:4490&BBOX={GRID_BBOX_LATLON}&WIDTH=120&HEIGHT=100"
    first = _map(client, coarse + "&FORMAT=image/png")  # feature by feature
    overview.wait(server)
    held = server.extras["map_overviews"]["held"]
    assert [key[0] for key in held] == ["parcels"]
    assert derived.names(server, "parcels", next(iter(held))[1], "map-overview") == [
        "map-overview-512"
    ]
    again = _map(client, coarse + "&FORMAT=image/png")
    assert again.size == first.size
    a = np.asarray(first.convert("RGB"), dtype=int)
    b = np.asarray(again.convert("RGB"), dtype=int)
    assert not np.array_equal(a, b)  # drawn another way …
    assert np.abs(a - b).mean() < 12  # … to the same picture
    # Parcel 1, residential, in the middle of its pixels; white where no parcel lies.
    assert _close(_pixel(again, 106.503, 29.503), RESIDENTIAL_ON_WHITE, tolerance=40)
    assert _close(_pixel(again, 106.679, 29.6499), (255, 255, 255))

    calls = []
    monkeypatch.setattr(overview, "draw", lambda *a: calls.append(a))
    fine = "LAYERS=parcels&CRS=EPSG:4490&BBOX=29.5,106.5,29.52,106.52&WIDTH=256&HEIGHT=256"
    _map(client, fine + "&FORMAT=image/png")
    mercator = "LAYERS=parcels&CRS=EPSG:3857&BBOX=11855000,3438000,11875000,3458000"
    _map(client, mercator + "&WIDTH=120&HEIGHT=100&FORMAT=image/png")
    assert calls == []


def test_facility_symbols_carry_their_glyph_as_in_the_widget(client, data):
    """The substation (a diamond, #F9A825 in the widget's style) is drawn with its glyph in
    white on it, as the map widget writes it; without the glyph the symbol is one colour."""
    from planfuse.services.maps.labels import label_font

    if not label_font(10)[1]:
        pytest.skip("no CJK font (Debian fonts-wqy-microhei, installed by ./bootstrap test)")
    # 0.004° around the substation at 106.5915, 29.5515: 200 px → the symbol at the centre.
    image = _map(
        client,
        "LAYERS=facilities&CRS=CRS:84&BBOX=106.5895,29.5495,106.5935,29.5535"
        "&WIDTH=200&HEIGHT=200&FORMAT=image/png&TRANSPARENT=TRUE",
    ).convert("RGBA")

    def pixels(x0, y0, x1, y1):
        return [image.getpixel((x, y)) for x in range(x0, x1) for y in range(y0, y1)]

    symbol = pixels(92, 92, 109, 109)
    assert sum(1 for *_, a in symbol if a > 200) > 100, "the symbol is drawn"
    # The symbol's white outline lies 8 px from its centre; within 3 px only the fill and
    # the glyph's white strokes are.
    centre = pixels(97, 97, 104, 104)
    white = sum(1 for r, g, b, a in centre if a > 200 and min(r, g, b) > 200)
    assert white >= 4, "its glyph is written in white on it"
    # Nothing outside the symbol.
    assert image.getpixel((20, 20))[3] == 0
