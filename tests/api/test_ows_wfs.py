"""WFS 2.0 at /ows, read by real clients (OWSLib and GDAL's WFS driver) and checked against
the stored geometry and OGC API – Features' own counts, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import shapely
from pyproj import Transformer

from tests.api.ogc_fixtures import import_all, import_geojson, parcel_features, stored
from tests.api.ows_support import exception_of, gdal, requires_gdal, serving

WFS = "{http://www.opengis.net/wfs/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
PF = "{urn:planfuse:layers}"
COUNTS = {"districts": 2, "parcels": 56, "roads": 3, "facilities": 3}


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


@pytest.fixture
def url(data, app):
    with serving(app) as base:
        yield base


def _wfs(client, query: str):
    return client.get(f"/ows?service=WFS&version=2.0.0&{query}")


def _members(body: bytes) -> list[ET.Element]:
    root = ET.fromstring(body)
    assert root.tag == f"{WFS}FeatureCollection"
    return [m[0] for m in root.findall(f"{WFS}member")]


def _pos(feature: ET.Element) -> list[float]:
    text = feature.find(f".//{GML}pos")
    if text is None:
        text = feature.find(f".//{GML}posList")
    return [float(v) for v in text.text.split()]


# --- real clients --------------------------------------------------------------------------


def test_owslib_reads_capabilities_and_features(url, data):
    from owslib.wfs import WebFeatureService

    wfs = WebFeatureService(f"{url}/ows", version="2.0.0")
    assert sorted(wfs.contents) == sorted(f"pf:{name}" for name in COUNTS)
    parcels = wfs.contents["pf:parcels"]
    assert parcels.title == "用地规划"
    assert parcels.boundingBoxWGS84 == pytest.approx((106.50, 29.50, 106.68, 29.65))
    crs = [str(c) for c in parcels.crsOptions]
    assert "urn:ogc:def:crs:EPSG::4490" in crs and "urn:ogc:def:crs:EPSG::4523" in crs
    assert {op.name for op in wfs.operations} >= {
        "GetCapabilities",
        "DescribeFeatureType",
        "GetFeature",
    }

    # OWSLib takes the bbox as x,y and writes it in the CRS's axis order (lat,lon for 4490).
    box = (106.50, 29.50, 106.52, 29.52)
    body = wfs.getfeature(
        typename="pf:parcels", bbox=box, srsname="urn:ogc:def:crs:EPSG::4490"
    ).read()
    members = _members(body)
    expected = {
        fid for fid, geom in stored(data, "parcels").items() if geom.intersects(shapely.box(*box))
    }
    assert {int(m.get(f"{GML}id").split(".")[1]) for m in members} == expected
    assert len(expected) == 11
    # Latitude first in urn:ogc:def:crs:EPSG::4490.
    first = next(m for m in members if m.get(f"{GML}id") == "parcels.1")
    assert _pos(first)[:2] == [29.5, 106.506]

    geojson = json.loads(
        wfs.getfeature(featureid=["facilities.2"], outputFormat="application/json").read()
    )
    assert [f["id"] for f in geojson["features"]] == ["facilities.2"]
    assert geojson["features"][0]["geometry"]["coordinates"] == [106.5217, 29.5216]
    assert geojson["features"][0]["properties"]["name"] == "二院"


@requires_gdal
def test_gdal_wfs_driver_reads_every_layer(url, data):
    source = f"WFS:{url}/ows?service=WFS&version=2.0.0"
    for name, count in COUNTS.items():
        info = gdal("ogrinfo", "-ro", "-so", source, f"pf:{name}")
        assert f"Feature Count: {count}" in info, info
    info = gdal("ogrinfo", "-ro", "-so", source, "pf:parcels")
    assert "Extent: (106.500000, 29.500000) - (106.680000, 29.650000)" in info
    assert "China Geodetic Coordinate System 2000" in info


@requires_gdal
def test_gdal_copies_a_layer_with_bbox_and_attribute_filters(url, data, client, tmp_path):
    source = f"WFS:{url}/ows?service=WFS&version=2.0.0"
    out = tmp_path / "facilities.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), source, "pf:facilities")
    copied = json.loads(out.read_text(encoding="utf-8"))
    points = sorted(tuple(f["geometry"]["coordinates"]) for f in copied["features"])
    assert points == sorted((g.x, g.y) for g in stored(data, "facilities").values())

    bbox = "106.5,29.5,106.56,29.53"
    own = _get_json(client, f"/ogc/collections/parcels/items?bbox={bbox}&limit=1")
    boxed = tmp_path / "boxed.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", "-spat", *bbox.split(","), str(boxed), source, "pf:parcels")
    assert len(json.loads(boxed.read_text())["features"]) == own["numberMatched"] == 34

    own = _get_json(client, "/ogc/collections/parcels/items?code=0701&limit=1")
    coded = tmp_path / "coded.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", "-where", "code = '0701'", str(coded), source, "pf:parcels")
    assert len(json.loads(coded.read_text())["features"]) == own["numberMatched"] == 9


def _get_json(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- the server's answers ------------------------------------------------------------------


def test_srs_name_sets_the_axis_order(client, data):
    point = stored(data, "facilities")[3]  # (106.5915, 29.5515)

    def first_pos(srs: str) -> list[float]:
        response = _wfs(
            client,
            f"request=GetFeature&typeNames=pf:facilities&resourceId=facilities.3&srsName={srs}",
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return _pos(_members(response.data)[0])

    assert first_pos("urn:ogc:def:crs:EPSG::4490") == [29.5515, 106.5915]
    assert first_pos("http://www.opengis.net/def/crs/EPSG/0/4490") == [29.5515, 106.5915]
    assert first_pos("EPSG:4490") == [106.5915, 29.5515]  # the traditional short form: x,y
    assert first_pos("urn:ogc:def:crs:OGC:1.3:CRS84") == [106.5915, 29.5515]
    # Gauss–Krüger zone 35 (zone number prefixed): northing X first, then easting Y.
    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4523", always_xy=True)
    easting, northing = to_gk.transform(point.x, point.y)
    x, y = first_pos("urn:ogc:def:crs:EPSG::4523")
    assert (x, y) == pytest.approx((northing, easting), abs=1e-3)
    assert 35_000_000 < y < 36_000_000
    to_web = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)
    assert first_pos("urn:ogc:def:crs:EPSG::3857") == pytest.approx(
        to_web.transform(point.x, point.y), abs=1e-3
    )


def test_bbox_in_a_gauss_kruger_zone(client, data):
    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4545", always_xy=True)
    e0, n0 = to_gk.transform(106.5, 29.5)
    e1, n1 = to_gk.transform(106.53, 29.53)
    bbox = f"{min(n0, n1)},{min(e0, e1)},{max(n0, n1)},{max(e0, e1)},urn:ogc:def:crs:EPSG::4545"
    response = _wfs(
        client, f"request=GetFeature&typeNames=pf:facilities&bbox={bbox}&resultType=hits"
    )
    root = ET.fromstring(response.data)
    assert root.get("numberMatched") == "2" and root.get("numberReturned") == "0"


def test_paging_visits_every_feature_once(client, data):
    seen = []
    for start in range(0, 60, 10):
        response = _wfs(
            client, f"request=GetFeature&typeNames=pf:parcels&count=10&startIndex={start}"
        )
        root = ET.fromstring(response.data)
        assert root.get("numberMatched") == "56"
        seen += [int(m.get(f"{GML}id").split(".")[1]) for m in _members(response.data)]
    assert seen == list(range(1, 57))
    # A count above the maximum is capped, not refused.
    response = _wfs(client, "request=GetFeature&typeNames=pf:parcels&count=1000000000")
    assert response.status_code == 200
    assert len(_members(response.data)) == 56


def test_describe_feature_type_lists_the_properties(client, data):
    response = _wfs(client, "request=DescribeFeatureType&typeNames=pf:parcels")
    root = ET.fromstring(response.data)
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    names = [e.get("name") for e in root.iter(f"{xsd}element")]
    assert names[:1] == ["geometry"] and {"code", "name", "rank", "district", "parcels"} <= set(
        names
    )
    geometry = next(e for e in root.iter(f"{xsd}element") if e.get("name") == "geometry")
    assert geometry.get("type") == "gml:MultiSurfacePropertyType"


def test_fes_filter_with_bbox_and_equality(client, data):
    fes = (
        '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" '
        'xmlns:gml="http://www.opengis.net/gml/3.2"><fes:And>'
        "<fes:BBOX><fes:ValueReference>geometry</fes:ValueReference>"
        '<gml:Envelope srsName="urn:ogc:def:crs:EPSG::4490"><gml:lowerCorner>29.5 106.5'
        "</gml:lowerCorner><gml:upperCorner>29.56 106.58</gml:upperCorner></gml:Envelope>"
        "</fes:BBOX><fes:PropertyIsEqualTo><fes:ValueReference>code</fes:ValueReference>"
        "<fes:Literal>0701</fes:Literal></fes:PropertyIsEqualTo></fes:And></fes:Filter>"
    )
    response = client.get(
        "/ows", query_string={"service": "WFS", "request": "GetFeature",
                              "typeNames": "pf:parcels", "filter": fes, "resultType": "hits"}
    )  # fmt: skip
    own = _get_json(
        client, "/ogc/collections/parcels/items?bbox=106.5,29.5,106.58,29.56&code=0701&limit=1"
    )
    assert ET.fromstring(response.data).get("numberMatched") == str(own["numberMatched"])


def test_restricted_layer_needs_credentials(ctx, client, tmp_path, admin_token):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    response = _wfs(client, "request=GetFeature&typeNames=pf:secret")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    code, _, text = exception_of(response)
    assert code == "NoApplicableCode" and "restricted" in text
    response = (
        _wfs(
            client,
            "request=GetFeature&typeNames=pf:secret",
        )
        if False
        else client.get(
            "/ows?service=WFS&request=GetFeature&typeNames=pf:secret",
            headers={"Authorization": f"Bearer {admin_token}"},
        )
    )
    assert response.status_code == 200 and len(_members(response.data)) == 5
    # Listed in the capabilities (its data is what is guarded).
    assert b"pf:secret" in _wfs(client, "request=GetCapabilities").data


ROADS = "service=WFS&request=GetFeature&typeNames=pf:roads&"


@pytest.mark.parametrize(
    ("query", "code", "locator"),
    [
        ("service=WFS", "MissingParameterValue", "REQUEST"),
        ("service=WCS&request=GetCapabilities", "InvalidParameterValue", "service"),
        ("request=GetCapabilities", "MissingParameterValue", "service"),
        ("service=WFS&version=1.0.0&request=GetCapabilities", "InvalidParameterValue",
         "version"),
        ("service=WFS&acceptVersions=0.9&request=GetCapabilities", "VersionNegotiationFailed",
         "AcceptVersions"),
        ("service=WFS&request=Transaction", "OperationNotSupported", "request"),
        ("service=WFS&request=GetFeature", "MissingParameterValue", "TYPENAMES"),
        ("service=WFS&request=GetFeature&typeNames=pf:nope", "InvalidParameterValue", "TYPENAMES"),
        (ROADS + "srsName=EPSG:2000", "InvalidParameterValue", "srsName"),
        # A lon,lat box in the lat,lon CRS: outside the world, said so.
        (ROADS + "bbox=106.5,29.5,106.6,29.6", "InvalidParameterValue", "BBOX"),
        (ROADS + "bbox=1,2,3", "InvalidParameterValue", "BBOX"),
        (ROADS + "count=-1", "InvalidParameterValue", "COUNT"),
        (ROADS + "filter=<fes:Filter", "InvalidParameterValue", "FILTER"),
        (ROADS + "filter=<!DOCTYPE x [<!ENTITY a 'b'>]><x/>", "InvalidParameterValue",
         "FILTER"),
        (ROADS + "outputFormat=shape-zip", "InvalidParameterValue",
         "outputFormat"),
        ("service=WFS&request=GetFeature&resourceId=roads.x", "InvalidParameterValue",
         "RESOURCEID"),
        (ROADS + "sortBy=name", "OperationNotSupported", "SORTBY"),
    ],
)  # fmt: skip
def test_bad_requests_answer_an_exception_report(client, data, query, code, locator):
    response = client.get(f"/ows?{query}")
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    got_code, got_locator, text = exception_of(response)
    assert (got_code, got_locator) == (code, locator), text
    assert text
