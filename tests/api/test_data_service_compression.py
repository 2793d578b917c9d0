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


def test_small_documents_and_gzip_refused(client, data):
    # The landing page is small: not worth compressing.
    small = client.get("/ogc", headers=GZIP)
    assert len(small.get_data()) < 1024 and "Content-Encoding" not in small.headers
    refused = client.get("/ogc/collections", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # The function API (it can carry session tokens) is never compressed.
    api = client.get("/api/v1/layers", headers=GZIP)
    assert "Content-Encoding" not in api.headers


# --- vector tiles: gzip and byte ranges -------------------------------------------------


def _dense_tile(client) -> tuple[str, bytes]:
    """A parcels tile over 1 KB (worth compressing): the one holding the data's centre, at the
    highest zoom where it is that large."""
    import math

    for z in (12, 11, 10, 9):
        n = 2**z
        x = int((106.59 + 180) / 360 * n)
        lat = math.radians(29.575)
        y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
        url = f"/tiles/parcels/{z}/{x}/{y}.mvt"
        r = client.get(url)
        if r.status_code == 200 and len(r.data) > 1024:
            return url, r.data
    raise AssertionError("no parcels tile over 1 KB")


def test_tiles_go_out_gzipped_to_clients_that_accept_it(client, data):
    url, plain = _dense_tile(client)
    packed = client.get(url, headers=GZIP)
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain
    assert len(packed.data) < len(plain)
    assert "Accept-Encoding" in packed.headers["Vary"]
    # Its own ETag: a cache never hands the compressed bytes to a client that did not ask.
    again = client.get(url)
    assert "Content-Encoding" not in again.headers
    assert packed.headers["ETag"] != again.headers["ETag"]
    # Revalidation works for both.
    for headers, etag in ((GZIP, packed.headers["ETag"]), ({}, again.headers["ETag"])):
        r = client.get(url, headers={**headers, "If-None-Match": etag})
        assert r.status_code == 304
    # Second time from the cache: the same bytes.
    assert client.get(url, headers=GZIP).data == packed.data


def test_tiles_answer_byte_ranges(client, data):
    url, plain = _dense_tile(client)
    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["Accept-Ranges"] == "bytes"
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(plain)}"
    assert first.data == plain[:100]
    rest = client.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and first.data + rest.data == plain
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    beyond = client.get(url, headers={"Range": f"bytes={len(plain) + 10}-"})
    assert beyond.status_code == 416
