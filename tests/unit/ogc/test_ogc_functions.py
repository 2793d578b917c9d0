"""The data-service API functions called directly, without Flask (pygeoapi style): they take
parsed values and return documents or raise ProblemError."""

from __future__ import annotations

import pytest

from planfuse.http.problems import ProblemError
from planfuse.ogc import features, tiles
from tests.api.ogc_fixtures import import_geojson, parcel_features

BASE = "https://gis.example.cn/pf"


@pytest.fixture
def parcels(ctx, tmp_path):
    import_geojson(ctx, tmp_path, "parcels", "land_use_plan", parcel_features()[:12])
    return ctx


def test_items_function(parcels):
    result = features.items(parcels, "parcels", [("limit", "5"), ("code", "0701")], base_url=BASE)
    assert result.media_type == "application/geo+json"
    assert result.content_crs == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    body = result.body
    assert [f["id"] for f in body["features"]] == [1, 7]
    assert body["numberMatched"] == 2
    self_link = next(link for link in body["links"] if link["rel"] == "self")
    assert self_link["href"].startswith(BASE + "/ogc/collections/parcels/items?")


def test_item_function_and_errors(parcels):
    one = features.item(parcels, "parcels", "3", [("crs", "EPSG:4326")], base_url=BASE)
    assert one.body["id"] == 3 and one.content_crs.endswith("/4326")
    with pytest.raises(ProblemError) as info:
        features.item(parcels, "parcels", "13", [], base_url=BASE)
    assert info.value.status == 404
    with pytest.raises(ProblemError) as info:
        features.items(parcels, "parcels", [("limit", "0")], base_url=BASE)
    assert info.value.status == 400


def test_collections_and_landing(parcels):
    assert [c["id"] for c in features.collections(parcels, BASE)["collections"]] == ["parcels"]
    landing = features.landing_page(BASE)
    assert landing["links"][0]["href"] == BASE + "/ogc"


def test_tile_functions(parcels):
    class Cache(dict):
        def set(self, key, value, timeout=None):
            self[key] = value

    cache = Cache()
    x, y = 6519, 3392  # the z13 tile over the first parcels (106.503°E, 29.503°N)
    first = tiles.get_tile(parcels, cache, "parcels", "13", str(x), str(y))
    assert first.content and len(cache) == 1
    again = tiles.get_tile(
        parcels, cache, "parcels", "13", str(x), str(y), if_none_match=first.etag
    )
    assert again.content is None
    doc = tiles.tilejson(parcels, "parcels", base_url=BASE).document
    assert doc["tiles"] == [BASE + "/tiles/parcels/{z}/{x}/{y}.mvt"]
