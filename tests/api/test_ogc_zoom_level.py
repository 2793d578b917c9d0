"""`zoom-level` on OGC API – Features items (Part 7 draft) over the demo's real district
boundaries: the same features and properties, far fewer vertices, every outline within half
a pixel of the stored one (measured in metres), and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from planfuse.geo.generalise import zoom_tolerance_m
from planfuse.services.features.layers import current_layers


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


def _districts(ctx) -> str:
    return next(ref.id for ref in current_layers(ctx) if ref.kind == "district")


def _items(client, layer: str, query: str = "") -> dict:
    response = client.get(f"/ogc/collections/{layer}/items?{query or 'limit=100'}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_districts_at_zoom_10_keep_every_feature_within_half_a_pixel(ctx, client):
    layer = _districts(ctx)
    full = _items(client, layer)
    coarse = _items(client, layer, "limit=100&zoom-level=10")
    assert [f["id"] for f in coarse["features"]] == [f["id"] for f in full["features"]]
    assert len(full["features"]) == 38
    assert [f["properties"] for f in coarse["features"]] == [
        f["properties"] for f in full["features"]
    ]
    surveyed = np.array([shapely.geometry.shape(f["geometry"]) for f in full["features"]])
    simple = np.array([shapely.geometry.shape(f["geometry"]) for f in coarse["features"]])
    # Chongqing's boundaries lose most of their vertices at a city-wide map's zoom …
    assert (
        shapely.get_num_coordinates(simple).sum()
        < 0.3 * shapely.get_num_coordinates(surveyed).sum()
    )
    assert shapely.is_valid(simple).all()
    # … and each stays within half a zoom-10 pixel of the survey (plus the 1e-9° rounding).
    gaps = shapely.hausdorff_distance(ctx.work.to_work(simple), ctx.work.to_work(surveyed))
    lat = (shapely.bounds(surveyed)[:, 1] + shapely.bounds(surveyed)[:, 3]) / 2
    assert (gaps <= zoom_tolerance_m(10, lat) + 0.01).all()
    assert gaps.max() > 1.0  # it did simplify
    # The next link keeps the zoom level.
    page = _items(client, layer, "zoom-level=10&limit=5")
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "zoom-level=10" in nxt


def test_one_district_at_a_deep_zoom_keeps_nearly_every_vertex(ctx, client):
    layer = _districts(ctx)
    feature = _items(client, layer, "district=500103")["features"][0]
    surveyed = shapely.geometry.shape(feature["geometry"])
    one = client.get(f"/ogc/collections/{layer}/items/{feature['id']}?zoom-level=20")
    assert one.status_code == 200
    deep = shapely.geometry.shape(one.get_json()["geometry"])
    gap = shapely.hausdorff_distance(ctx.work.to_work(deep), ctx.work.to_work(surveyed))
    assert gap <= float(zoom_tolerance_m(20, 29.55)) + 0.01


@pytest.mark.parametrize("value", ["25", "-1", "ten", "1.5", ""])
def test_a_bad_zoom_level_is_refused_naming_it(ctx, client, value):
    layer = _districts(ctx)
    for url in (
        f"/ogc/collections/{layer}/items?zoom-level={value}",
        f"/ogc/collections/{layer}/items/1?zoom-level={value}",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        body = response.get_json()
        assert body["errors"][0]["field"] == "zoom-level"
        assert "0 to 24" in body["detail"]


def test_the_api_definition_lists_zoom_level(client):
    api = client.get("/ogc/api").get_json()
    for path in (
        "/ogc/collections/{collectionId}/items",
        "/ogc/collections/{collectionId}/items/{featureId}",
    ):
        names = [p.get("name") for p in api["paths"][path]["get"]["parameters"]]
        assert "zoom-level" in names, path


def test_each_feature_is_simplified_once_per_layer_version_and_zoom(ctx, client, monkeypatch):
    from planfuse.services.features import output

    calls: list[int] = []
    real = output.simplify_for_zoom

    def counted(geoms, zoom_level, work):
        calls.append(len(geoms))
        return real(geoms, zoom_level, work)

    monkeypatch.setattr(output, "simplify_for_zoom", counted)
    layer = _districts(ctx)
    first = _items(client, layer, "limit=10&zoom-level=9")
    again = _items(client, layer, "limit=20&zoom-level=9")
    assert calls == [10, 10]  # the second page of ten only
    assert again["features"][:10] == first["features"]
    _items(client, layer, "limit=10&zoom-level=8")  # another zoom: simplified anew
    assert calls == [10, 10, 10]
