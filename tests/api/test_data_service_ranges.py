"""Tiles and drawn maps answer HTTP `Range` on every interface (GDAL's /vsicurl/ reads
anything over 16 KB by ranges); JSON and XML documents, which carry their time of answer,
are always sent whole."""

from __future__ import annotations

import pytest

from tests.api.ogc_fixtures import import_all

# The parcels around the data's centre (106.59 E, 29.575 N): zoom 12 holds a dense tile.
OGC_TILE = "/ogc/collections/parcels/tiles/WebMercatorQuad/12/{row}/{col}"
WMTS_PNG = (
    "/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=parcels&STYLE=default"
    "&FORMAT=image/png&TILEMATRIXSET=WebMercatorQuad&TILEMATRIX=12&TILEROW={row}&TILECOL={col}"
)
WMS_MAP = (
    "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels&STYLES=&CRS=CRS:84"
    "&BBOX=106.55,29.55,106.63,29.60&WIDTH=512&HEIGHT=512&FORMAT=image/png"
)
ARCGIS_EXPORT = (
    "/arcgis/rest/services/parcels/MapServer/export?bbox=106.55,29.55,106.63,29.60"
    "&bboxSR=4490&size=512,512&format=png&f=image"
)


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def _centre_tile(z: int = 12) -> dict[str, int]:
    import math

    n = 2**z
    lat = math.radians(29.575)
    return {
        "col": int((106.59 + 180) / 360 * n),
        "row": int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n),
    }


@pytest.mark.parametrize(
    "url",
    [OGC_TILE.format(**_centre_tile()), WMTS_PNG.format(**_centre_tile()), WMS_MAP, ARCGIS_EXPORT],
    ids=["ogc-api-tile", "wmts-png", "wms-getmap", "arcgis-export"],
)
def test_tiles_and_maps_answer_byte_ranges(client, data, url):
    whole = client.get(url)
    assert whole.status_code == 200, whole.data[:300]
    assert whole.headers["Accept-Ranges"] == "bytes"
    body = whole.data
    assert len(body) > 200
    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
    assert first.data == body[:100]
    rest = client.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and first.data + rest.data == body
    last = client.get(url, headers={"Range": "bytes=-50"})
    assert last.status_code == 206 and last.data == body[-50:]
    beyond = client.get(url, headers={"Range": f"bytes={len(body) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(body)}"


def test_a_gzipped_tile_is_ranged_in_its_encoded_bytes(client, data):
    # The highest zoom whose centre tile is large enough to go out compressed.
    for z in (12, 11, 10, 9, 8):
        url = OGC_TILE.replace("/12/", f"/{z}/").format(**_centre_tile(z))
        packed = client.get(url, headers={"Accept-Encoding": "gzip"})
        if packed.headers.get("Content-Encoding") == "gzip":
            break
    else:
        raise AssertionError("no parcels tile large enough to be compressed")
    part = client.get(url, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == packed.data[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(packed.data)}"


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/collections/parcels/items?limit=20",
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=parcels&COUNT=20",
        "/ows?SERVICE=WMS&REQUEST=GetCapabilities",
    ],
    ids=["ogc-items", "wfs-getfeature", "wms-capabilities"],
)
def test_documents_are_sent_whole_whatever_the_range(client, data, url):
    r = client.get(url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 200
    assert "Accept-Ranges" not in r.headers and "Content-Range" not in r.headers
    assert len(r.data) > 100
