"""The OGC API's JSON goes out gzip-compressed to clients that accept it; nothing else
changes (same document, same headers, same paging)."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.api.ogc_fixtures import import_all

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def test_items_are_compressed_and_decode_to_the_same_document(client, data):
    url = "/ogc/collections/parcels/items?limit=50&crs=http://www.opengis.net/def/crs/EPSG/0/4523"
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.get_data())) == plain.get_json()
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    assert packed.mimetype == "application/geo+json"
    assert packed.headers["Content-Crs"] == plain.headers["Content-Crs"]
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Accept-Encoding" in plain.headers["Vary"]


def test_a_problem_response_stays_a_plain_problem(client, data):
    r = client.get("/ogc/collections/parcels/items?limit=0", headers=GZIP)
    assert r.status_code == 400 and "Content-Encoding" not in r.headers
    assert r.get_json()["status"] == 400


def test_small_documents_gzip_refused_and_tiles_are_left_alone(client, data):
    # The conformance document is small: not worth compressing.
    small = client.get("/ogc/conformance", headers=GZIP)
    assert len(small.get_data()) < 1024 and "Content-Encoding" not in small.headers
    refused = client.get("/ogc/collections", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # Vector tiles keep their own cache and ETag path.
    tile = client.get("/tiles/parcels/14/13242/6801.mvt", headers=GZIP)
    assert "Content-Encoding" not in tile.headers
    # The function API (it can carry session tokens) is never compressed.
    api = client.get("/api/v1/layers", headers=GZIP)
    assert "Content-Encoding" not in api.headers
