"""The ArcGIS REST FeatureServer at /arcgis/rest/services, read by GDAL's ESRIJSON driver
and checked against the stored geometry and OGC API – Features' own counts."""

from __future__ import annotations

import json
from urllib.parse import quote

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.api.ogc_fixtures import import_all, import_geojson, parcel_features, stored
from tests.api.ows_support import gdal, requires_gdal, serving

BASE = "/arcgis/rest/services"


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


@pytest.fixture
def url(data, app):
    with serving(app) as base:
        yield base


def _json(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.data)


def _query(client, layer="parcels", status=200, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return _json(client, f"{BASE}/{layer}/FeatureServer/0/query?{query}", status)


def _own_count(client, query: str) -> int:
    return _json(client, f"/ogc/collections/parcels/items?{query}&limit=1")["numberMatched"]


def test_service_directory_and_layer_description(client, data):
    services = _json(client, f"{BASE}?f=json")["services"]
    assert {"name": "parcels", "type": "FeatureServer"} in services and len(services) == 4
    server = _json(client, f"{BASE}/parcels/FeatureServer?f=json")
    assert server["layers"][0]["id"] == 0 and server["capabilities"] == "Query"
    assert server["fullExtent"]["spatialReference"]["wkid"] == 4490
    layer = _json(client, f"{BASE}/parcels/FeatureServer/0?f=pjson")
    assert layer["geometryType"] == "esriGeometryPolygon" and layer["objectIdField"] == "OBJECTID"
    assert [f["name"] for f in layer["fields"]][:2] == ["OBJECTID", "code"]
    assert layer["advancedQueryCapabilities"]["supportsPagination"] is True
    roads = _json(client, f"{BASE}/roads/FeatureServer/0?f=json")
    assert roads["geometryType"] == "esriGeometryPolyline"


@requires_gdal
def test_gdal_esrijson_reads_every_layer_page_by_page(url, data, client, tmp_path):
    counts = {"districts": 2, "parcels": 56, "roads": 3, "facilities": 3}
    for name, count in counts.items():
        source = f"{url}{BASE}/{name}/FeatureServer/0/query?where=1%3D1&outFields=*&f=json"
        info = gdal("ogrinfo", "-ro", "-so", source, "ESRIJSON")
        assert f"Feature Count: {count}" in info, info
        assert "China Geodetic Coordinate System 2000" in info
    # Pages of 10: GDAL follows exceededTransferLimit with resultOffset.
    out = tmp_path / "parcels.geojson"
    source = (f"{url}{BASE}/parcels/FeatureServer/0/query?where=1%3D1&outFields=*"
              "&resultRecordCount=10&f=json")  # fmt: skip
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), source, "ESRIJSON")
    features = json.loads(out.read_text("utf-8"))["features"]
    assert sorted(f["properties"]["OBJECTID"] for f in features) == list(range(1, 57))
    shapes = stored(data, "parcels")
    for feature in features:
        got = shapely.normalize(shapely.geometry.shape(feature["geometry"]))
        want = shapely.normalize(shapes[feature["properties"]["OBJECTID"]])
        assert got.equals_exact(want, 1e-9), feature["properties"]
    # An envelope and a where clause: the OGC API's own counts.
    box = "106.5,29.5,106.56,29.53"
    source = (f"{url}{BASE}/parcels/FeatureServer/0/query?where=1%3D1&outFields=*&f=json"
              f"&geometry={box}&geometryType=esriGeometryEnvelope&inSR=4490")  # fmt: skip
    info = gdal("ogrinfo", "-ro", "-so", source, "ESRIJSON")
    assert f"Feature Count: {_own_count(client, f'bbox={box}')}" in info
    source = (f"{url}{BASE}/parcels/FeatureServer/0/query?outFields=*&f=json"
              "&where=" + quote("code = '0701'"))  # fmt: skip
    info = gdal("ogrinfo", "-ro", "-so", source, "ESRIJSON")
    assert f"Feature Count: {_own_count(client, 'code=0701')}" in info


def test_query_options(client, data):
    body = _query(client, where="code IN ('0701','1401') AND OBJECTID >= 10", outFields="code",
                  returnGeometry="false", f="json")  # fmt: skip
    ids = [f["attributes"]["OBJECTID"] for f in body["features"]]
    codes = {fid: f["attributes"]["code"] for fid, f in zip(ids, body["features"], strict=True)}
    assert ids == sorted(ids) and min(ids) >= 10 and set(codes.values()) == {"0701", "1401"}
    assert "geometry" not in body["features"][0]
    assert [f["name"] for f in body["fields"]] == ["OBJECTID", "code"]
    assert _query(client, where="1=1", returnCountOnly="true", f="json") == {"count": 56}
    ranged = _query(client, where="OBJECTID > 50 AND OBJECTID <= 54", f="json")
    assert [f["attributes"]["OBJECTID"] for f in ranged["features"]] == [51, 52, 53, 54]
    assert _query(client, where="OBJECTID >= 55", returnCountOnly="true", f="json")["count"] == 2
    # Paging: resultOffset/resultRecordCount and exceededTransferLimit.
    page = _query(client, where="1=1", resultOffset=50, resultRecordCount=4, f="json")
    assert [f["attributes"]["OBJECTID"] for f in page["features"]] == [51, 52, 53, 54]
    assert page["exceededTransferLimit"] is True
    last = _query(client, where="1=1", resultOffset=54, resultRecordCount=4, f="json")
    assert last["exceededTransferLimit"] is False and len(last["features"]) == 2
    # A record count of 10⁹ is capped at maxRecordCount, not refused.
    assert len(_query(client, where="1=1", resultRecordCount=10**9, f="json")["features"]) == 56
    by_id = _query(client, layer="facilities", objectIds="3,2", f="geojson")
    assert [f["properties"]["OBJECTID"] for f in by_id["features"]] == [2, 3]
    assert by_id["features"][1]["geometry"]["coordinates"] == [106.5915, 29.5515]


def test_out_sr_is_x_then_y(client, data):
    point = stored(data, "facilities")[3]
    for wkid, epsg in ((3857, "EPSG:3857"), (102100, "EPSG:3857"), (4523, "EPSG:4523")):
        body = _query(client, layer="facilities", objectIds=3, outSR=wkid, f="json")
        x, y = Transformer.from_crs("EPSG:4490", epsg, always_xy=True).transform(point.x, point.y)
        geometry = body["features"][0]["geometry"]
        assert (geometry["x"], geometry["y"]) == pytest.approx((x, y), abs=1e-3)
        assert body["spatialReference"]["latestWkid"] == int(epsg[5:])
    # Gauss–Krüger zone 35 with its zone number: the easting (x) starts with 35.
    assert 35_000_000 < body["features"][0]["geometry"]["x"] < 36_000_000


def test_polygon_rings_and_geometry_filters(client, data):
    holed = _query(client, objectIds=50, f="json")["features"][0]["geometry"]["rings"]
    assert len(holed) == 2
    assert shapely.LinearRing(holed[0]).is_ccw is False  # exterior clockwise
    assert shapely.LinearRing(holed[1]).is_ccw is True  # hole counter-clockwise
    to_web = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    # Edges away from the parcels' edges: a round trip through metres moves them by 1e-9°.
    x0, y0 = to_web.transform(106.5005, 29.5005)
    x1, y1 = to_web.transform(106.5555, 29.5255)
    envelope = json.dumps({"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1,
                           "spatialReference": {"wkid": 102100}})  # fmt: skip
    body = _query(client, geometry=envelope, geometryType="esriGeometryEnvelope",
                  returnCountOnly="true", f="json")  # fmt: skip
    assert body["count"] == _own_count(client, "bbox=106.5005,29.5005,106.5555,29.5255") == 23
    triangle = json.dumps({"rings": [[[106.5, 29.5], [106.52, 29.5], [106.5, 29.52],
                                      [106.5, 29.5]]]})  # fmt: skip
    body = _query(client, geometry=triangle, geometryType="esriGeometryPolygon", inSR=4490,
                  returnCountOnly="true", f="json")  # fmt: skip
    expected = sum(
        1
        for geom in stored(data, "parcels").values()
        if geom.intersects(shapely.Polygon([(106.5, 29.5), (106.52, 29.5), (106.5, 29.52)]))
    )
    assert body["count"] == expected


def _ids(client, **params):
    body = _query(client, returnGeometry="false", outFields="district", f="json", **params)
    return sorted(f["attributes"]["OBJECTID"] for f in body["features"])


def _related(data, query_geometry, predicate):
    """The fids whose stored geometry relates to the query geometry, by shapely here."""
    shapes = stored(data, "parcels")
    return sorted(fid for fid, geom in shapes.items() if predicate(query_geometry, geom))


def test_spatial_relations_follow_esri(client, data):
    # Contains parcel 1 (106.500–106.506, 29.500–29.506) and tiny parcel 51, overlaps
    # parcel 2 (29.510–29.516) and touches none.
    area = shapely.box(106.499, 29.499, 106.509, 29.513)
    polygon = json.dumps({"rings": [list(map(list, area.exterior.coords))]})
    spatial = {"geometry": polygon, "geometryType": "esriGeometryPolygon", "inSR": 4490}
    # Esri's reading: the query geometry <relation> the feature.
    expected = {
        "esriSpatialRelIntersects": (shapely.intersects, [1, 2, 51]),
        "esriSpatialRelContains": (shapely.contains, [1, 51]),
        "esriSpatialRelWithin": (shapely.within, []),
        "esriSpatialRelOverlaps": (shapely.overlaps, [2]),
        "esriSpatialRelTouches": (shapely.touches, []),
        "esriSpatialRelCrosses": (shapely.crosses, []),
    }
    for relation, (predicate, known) in expected.items():
        assert _related(data, area, predicate) == known, relation
        assert _ids(client, spatialRel=relation, **spatial) == known, relation
        counted = _query(client, spatialRel=relation, returnCountOnly="true", f="json", **spatial)
        assert counted["count"] == len(known)
    # A parcel's edge touches it; a point inside it lies within it; a line crosses it.
    edge = shapely.box(106.506, 29.501, 106.508, 29.505)
    rings = json.dumps({"rings": [list(map(list, edge.exterior.coords))]})
    touching = _ids(client, geometry=rings, geometryType="esriGeometryPolygon",
                    spatialRel="esriSpatialRelTouches")  # fmt: skip
    assert touching == _related(data, edge, shapely.touches) == [1]
    inside = _ids(client, geometry="106.503,29.503", geometryType="esriGeometryPoint",
                  spatialRel="esriSpatialRelWithin")  # fmt: skip
    assert inside == _related(data, shapely.Point(106.503, 29.503), shapely.within) == [1]
    line = shapely.LineString([(106.495, 29.503), (106.52, 29.503)])
    paths = json.dumps(
        {"paths": [list(map(list, line.coords))], "spatialReference": {"wkid": 4490}}
    )
    crossing = _ids(client, geometry=paths, geometryType="esriGeometryPolyline",
                    spatialRel="esriSpatialRelCrosses")  # fmt: skip
    assert crossing == _related(data, line, shapely.crosses) == [1, 7]
    # With objectIds the relation still applies; the index relation is the envelope one.
    assert _ids(client, objectIds="1,2", spatialRel="esriSpatialRelContains", **spatial) == [1]
    envelope = _ids(client, spatialRel="esriSpatialRelEnvelopeIntersects", **spatial)
    assert _ids(client, spatialRel="esriSpatialRelIndexIntersects", **spatial) == envelope
    # The query geometry in Web Mercator (inSR 3857) relates the same way.
    to_web = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    web = shapely.transform(area, lambda c: np.column_stack(to_web.transform(c[:, 0], c[:, 1])))
    web_rings = json.dumps({"rings": [list(map(list, web.exterior.coords))]})
    assert _ids(client, geometry=web_rings, geometryType="esriGeometryPolygon", inSR=3857,
                spatialRel="esriSpatialRelContains") == [1, 51]  # fmt: skip


def test_restricted_layer_asks_for_a_token(ctx, client, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    body = _query(client, layer="secret", status=401, where="1=1", f="json")
    assert body["error"]["code"] == 499
    response = client.get(
        f"{BASE}/secret/FeatureServer/0/query?where=1%3D1&f=json",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200 and len(json.loads(response.data)["features"]) == 5


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"where": "code = '1' OR 1=1"}, 400, "character 12"),
        ({"where": "code = '1'; DROP TABLE features"}, 400, "character 11"),
        ({"where": "nope = 1"}, 400, "not in this layer"),
        ({"where": "code LIKE '07%'"}, 400, "= or IN"),
        ({"where": "1=1", "outSR": "2000"}, 400, "not offered"),
        ({"where": "1=1", "outFields": "code,secret"}, 400, "outFields"),
        ({"where": "1=1", "geometry": "1,2,3"}, 400, "envelope"),
        ({"where": "1=1", "geometry": "{bad json"}, 400, "geometry"),
        ({"where": "1=1", "spatialRel": "esriSpatialRelRelation"}, 400, "esriSpatialRelWithin"),
        (
            {"where": "1=1", "geometry": '{"paths": 5}', "geometryType": "esriGeometryPolyline"},
            400,
            "polyline",
        ),
        (
            {"where": "1=1", "geometry": "1,2", "geometryType": "esriGeometryMultipatch"},
            400,
            "geometryType",
        ),
        ({"where": "1=1", "resultRecordCount": "-5"}, 400, "resultRecordCount"),
        ({"where": "1=1", "f": "kmz"}, 400, "f=json"),
        ({"where": "1=1", "returnGeometry": "maybe"}, 400, "true or false"),
    ],
)
def test_bad_queries_answer_arcgis_error_json(client, data, params, status, words):
    body = _query(client, status=status, **params)
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert words in body["error"]["message"], body


def test_unknown_service_and_layer(client, data):
    assert _json(client, f"{BASE}/nope/FeatureServer/0?f=json", 404)["error"]["code"] == 404
    assert _json(client, f"{BASE}/parcels/FeatureServer/3?f=json", 404)["error"]["code"] == 404


# --- MapServer -----------------------------------------------------------------------------


def test_map_server_exports_the_layer_with_its_legend_colours(client, data):
    import io

    from PIL import Image

    service = _json(client, f"{BASE}/parcels/MapServer?f=json")
    assert service["capabilities"] == "Map,Query" and service["layers"][0]["id"] == 0
    response = client.get(
        f"{BASE}/parcels/MapServer/export?bbox=106.5,29.5,106.68,29.65&bboxSR=4490"
        "&size=360,300&format=png&transparent=false&f=image"
    )
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    # Parcel 1 (0701 居住用地, #FFFF2D at 72 % over white) at its corner 106.503 E, 29.503 N.
    x, y = int(0.003 / 0.18 * 360), int((29.65 - 29.503) / 0.15 * 300)
    assert _near(image.getpixel((x, y)), (255, 255, 104), 2)
    assert image.getpixel((int(0.05 / 0.18 * 360), int(0.03 / 0.15 * 300))) == (255, 255, 255)
    # The same map in Web Mercator (bboxSR 102100) puts parcel 1 at the same corner.
    to_web = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    x0, y0 = to_web.transform(106.5, 29.5)
    x1, y1 = to_web.transform(106.68, 29.65)
    web = client.get(
        f"{BASE}/parcels/MapServer/export?bbox={x0},{y0},{x1},{y1}&bboxSR=102100"
        "&size=360,300&format=jpg&f=image"
    )
    assert web.mimetype == "image/jpeg"
    picture = Image.open(io.BytesIO(web.data)).convert("RGB")
    assert _near(picture.getpixel((x, y)), (255, 255, 104), 6)


def test_parameter_names_are_case_insensitive_as_in_arcgis_rest(client, data):
    import io

    from PIL import Image

    # OpenLayers' ImageArcGISRest and other clients send upper-case names.
    upper = client.get(
        f"{BASE}/parcels/MapServer/export?BBOX=106.5,29.5,106.68,29.65&BBOXSR=4490"
        "&SIZE=360,300&FORMAT=PNG32&TRANSPARENT=false&F=image&DPI=90"
    )
    assert upper.status_code == 200 and upper.mimetype == "image/png"
    x, y = int(0.003 / 0.18 * 360), int((29.65 - 29.503) / 0.15 * 300)
    picture = Image.open(io.BytesIO(upper.data)).convert("RGB")
    assert _near(picture.getpixel((x, y)), (255, 255, 104), 2)
    counted = _json(
        client, f"{BASE}/parcels/FeatureServer/0/query?WHERE=1%3D1&RETURNCOUNTONLY=true&F=json"
    )
    assert counted == {"count": 56}
    # The first of a name given twice in different cases counts, as for a repeated name.
    twice = _json(
        client,
        f"{BASE}/parcels/FeatureServer/0/query?where=OBJECTID>=55&WHERE=1%3D1&returnCountOnly=true&f=json",
    )
    assert twice == {"count": 2}


def _near(got, want, tolerance):
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True))


def test_map_server_legend_gives_each_class_its_swatch(client, data):
    import base64
    import io

    from PIL import Image

    body = _json(client, f"{BASE}/parcels/MapServer/legend?f=json")
    (layer,) = body["layers"]
    assert layer["layerId"] == 0 and layer["layerName"] == "用地规划"
    labels = [item["label"] for item in layer["legend"]]
    assert labels[0] == "01 耕地" and labels[-1] == "其他" and "07 居住用地" in labels
    residential = next(i for i in layer["legend"] if i["label"] == "07 居住用地")
    assert residential["values"] == ["07"] and residential["contentType"] == "image/png"
    swatch = Image.open(io.BytesIO(base64.b64decode(residential["imageData"])))
    assert swatch.size == (residential["width"], residential["height"]) == (20, 20)
    on_white = Image.alpha_composite(Image.new("RGBA", swatch.size, "white"), swatch)
    assert _near(on_white.getpixel((10, 10))[:3], (255, 255, 104), 2)
    bigger = _json(client, f"{BASE}/parcels/MapServer/legend?f=json&size=32,24")
    assert bigger["layers"][0]["legend"][0]["width"] == 32
    bad = client.get(f"{BASE}/parcels/MapServer/legend?f=json&size=1000,1000")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == 400
    assert "size" in json.dumps(bad.get_json())


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("bbox=1,2&f=image", "four numbers"),
        ("bbox=106.6,29.5,106.5,29.6&f=image", "xmin < xmax"),
        ("bbox=106.5,29.5,106.6,29.6&size=100000,10&f=image", "4096×4096"),
        ("bbox=106.5,29.5,106.6,29.6&format=bmp&f=image", "format"),
        ("bbox=106.5,29.5,106.6,29.6&bboxSR=2000&f=image", "not offered"),
        ("bbox=106.5,29.5,106.6,29.6&f=kmz", "f=image"),
    ],
)
def test_bad_exports_answer_arcgis_error_json(client, data, query, words):
    body = _json(client, f"{BASE}/parcels/MapServer/export?{query}", 400)
    assert words in body["error"]["message"], body


# --- identify ------------------------------------------------------------------------------


def _identify(client, layer="parcels", status=200, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return _json(client, f"{BASE}/{layer}/MapServer/identify?{query}", status)


def test_identify_finds_the_parcel_under_a_click(client, data):
    # A click inside parcel 1 (106.500–106.506, 29.500–29.506), as Leaflet's esri plugin sends.
    click = json.dumps({"x": 106.503, "y": 29.503, "spatialReference": {"wkid": 4490}})
    view = {"mapExtent": "106.5,29.5,106.6,29.6", "imageDisplay": "1000,1000,96"}
    body = _identify(client, geometry=click, geometryType="esriGeometryPoint", sr=4490,
                     layers="all", tolerance=0, returnGeometry="true", f="json",
                     **view)  # fmt: skip
    (result,) = body["results"]
    assert result["layerId"] == 0 and result["layerName"] == "用地规划"
    assert result["attributes"]["OBJECTID"] == 1 and result["attributes"]["code"] == "0701"
    assert result["displayFieldName"] == "name" and result["value"] == "地块1"
    assert result["geometryType"] == "esriGeometryPolygon"
    got = shapely.normalize(shapely.Polygon(result["geometry"]["rings"][0]))
    assert got.equals_exact(shapely.normalize(stored(data, "parcels")[1]), 1e-9)
    assert result["geometry"]["spatialReference"]["wkid"] == 4490
    # 0.0005° east of its edge: missed without tolerance, hit with 10 px of 0.0001° each.
    near = {"geometry": "106.5065,29.503", "sr": 4490, **view}
    assert _identify(client, tolerance=0, f="json", **near)["results"] == []
    assert _identify(client, tolerance=4, f="json", **near)["results"] == []
    wide = _identify(client, tolerance=10, returnGeometry="false", f="pjson", **near)
    assert [r["attributes"]["OBJECTID"] for r in wide["results"]] == [1]
    assert "geometry" not in wide["results"][0]
    # Only other layers asked: nothing; layers=top:0 and visible:0 ask layer 0.
    assert _identify(client, layers="visible:1", tolerance=10, f="json", **near)["results"] == []
    assert len(_identify(client, layers="top:0", tolerance=10, f="json", **near)["results"]) == 1


def test_identify_in_web_mercator_answers_in_it(client, data):
    to_web = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    x, y = to_web.transform(106.5065, 29.503)
    x0, y0 = to_web.transform(106.5, 29.5)
    x1, y1 = to_web.transform(106.6, 29.6)
    extent = json.dumps({"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1})
    body = _identify(client, geometry=f"{x},{y}", sr=102100, tolerance=10, mapExtent=extent,
                     imageDisplay="1000,1000", f="json")  # fmt: skip
    (result,) = body["results"]
    assert result["attributes"]["OBJECTID"] == 1
    assert result["geometry"]["spatialReference"]["latestWkid"] == 3857
    xs = [c[0] for c in result["geometry"]["rings"][0]]
    assert min(xs) == pytest.approx(to_web.transform(106.5, 29.5)[0], abs=1e-3)
    # An envelope finds every parcel it meets, as a query would.
    box = "106.5005,29.5005,106.5555,29.5255"
    boxed = _identify(client, geometry=box, geometryType="esriGeometryEnvelope", f="json")
    assert len(boxed["results"]) == _own_count(client, f"bbox={box}")
    # Layer 0 of the MapServer is the FeatureServer's layer, with its query.
    assert _json(client, f"{BASE}/parcels/MapServer/0?f=json")["objectIdField"] == "OBJECTID"
    counted = _json(
        client, f"{BASE}/parcels/MapServer/0/query?where=1%3D1&returnCountOnly=true&f=json"
    )
    assert counted == {"count": 56}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sr": 4490}, "geometry is required"),
        ({"geometry": "{nope"}, "geometry"),
        ({"geometry": "106.5,29.5", "geometryType": "esriGeometryPolygon"}, "geometryType"),
        ({"geometry": "106.5,29.5", "layers": "some"}, "layers"),
        ({"geometry": "106.5,29.5", "layers": "all:x"}, "numbers"),
        ({"geometry": "106.5,29.5", "tolerance": 3}, "mapExtent"),
        (
            {
                "geometry": "106.5,29.5",
                "tolerance": 3,
                "mapExtent": "1,2,3",
                "imageDisplay": "400,400,96",
            },
            "mapExtent",
        ),
        (
            {
                "geometry": "106.5,29.5",
                "tolerance": 3,
                "mapExtent": "106.5,29.5,106.6,29.6",
                "imageDisplay": "0,400",
            },
            "imageDisplay",
        ),
        ({"geometry": "106.5,29.5", "tolerance": 1000}, "at most"),
        ({"geometry": "106.5,29.5", "tolerance": "-1"}, "tolerance"),
        ({"geometry": "106.5,29.5", "sr": 2000}, "not offered"),
        ({"geometry": "106.5,29.5", "f": "geojson"}, "f=json"),
    ],
)
def test_bad_identify_answers_arcgis_error_json(client, data, params, words):
    body = _identify(client, status=400, **params)
    assert set(body) == {"error"} and body["error"]["code"] == 400
    assert words in body["error"]["message"], body
    assert body["error"]["details"]


def test_identify_on_a_restricted_layer_asks_for_a_token(ctx, client, tmp_path, admin_token):
    import_geojson(ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5],
                   restricted=True)  # fmt: skip
    body = _identify(client, layer="secret", status=401, geometry="106.503,29.503", f="json")
    assert body["error"]["code"] == 499
    response = client.get(
        f"{BASE}/secret/MapServer/identify?geometry=106.503,29.503&f=json",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200 and len(json.loads(response.data)["results"]) == 1


def test_envelope_intersects_compares_envelopes_as_arcgis_does(client, data):
    """esriSpatialRelEnvelopeIntersects (and IndexIntersects) keep a feature whose envelope
    meets the query envelope even where its shape does not: a small box in the corner of a
    slanted road's envelope, off the road itself."""
    roads = stored(data, "roads")

    def corner_of(road):
        x0, y0, x1, y1 = road.bounds
        return shapely.box(x0, y0, x0 + (x1 - x0) * 0.02, y0 + (y1 - y0) * 0.02)

    slanted = [
        (fid, corner_of(road))
        for fid, road in sorted(roads.items())
        if road.bounds[2] > road.bounds[0] and road.bounds[3] > road.bounds[1]
        and not corner_of(road).intersects(road)
    ]  # fmt: skip
    assert slanted, "the test roads include a slanted one"
    fid, corner = slanted[0]
    envelope = ",".join(str(v) for v in corner.bounds)
    spatial = {"geometry": envelope, "geometryType": "esriGeometryEnvelope", "inSR": 4490}
    want = sorted(f for f, g in roads.items() if corner.intersects(shapely.envelope(g)))
    assert fid in want
    for relation in ("esriSpatialRelEnvelopeIntersects", "esriSpatialRelIndexIntersects"):
        got = _ids(client, layer="roads", spatialRel=relation, **spatial)
        assert got == want, relation
        counted = _query(client, layer="roads", spatialRel=relation, returnCountOnly="true",
                         f="json", **spatial)  # fmt: skip
        assert counted["count"] == len(want)
    # The same box with the exact relation misses the road; with its id, still found by
    # its envelope.
    assert fid not in _ids(client, layer="roads", **spatial)
    by_id = _ids(client, layer="roads", objectIds=str(fid),
                 spatialRel="esriSpatialRelEnvelopeIntersects", **spatial)  # fmt: skip
    assert by_id == [fid]
