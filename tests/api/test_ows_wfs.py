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
        (ROADS + "sortBy=nope", "InvalidParameterValue", "SORTBY"),
        (ROADS + "sortBy=name%20SIDEWAYS", "InvalidParameterValue", "SORTBY"),
        (ROADS + "sortBy=a,b,c,d,e,f", "InvalidParameterValue", "SORTBY"),
    ],
)  # fmt: skip
def test_bad_requests_answer_an_exception_report(client, data, query, code, locator):
    response = client.get(f"/ows?{query}")
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    got_code, got_locator, text = exception_of(response)
    assert (got_code, got_locator) == (code, locator), text
    assert text


# --- FES 2.0 beyond the fast path, and SORTBY -----------------------------------------------

FES_NS = 'xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"'


def _ref(name):
    return f"<fes:ValueReference>{name}</fes:ValueReference>"


def _lit(value):
    return f"<fes:Literal>{value}</fes:Literal>"


def _cmp(op, name, value, extra=""):
    return f"<fes:{op}{extra}>{_ref(name)}{_lit(value)}</fes:{op}>"


def _polygon(srs, pairs):
    coords = " ".join(f"{a} {b}" for a, b in pairs)
    return (
        f'<gml:Polygon gml:id="q" srsName="{srs}"><gml:exterior><gml:LinearRing>'
        f"<gml:posList>{coords}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    )


URN = "urn:ogc:def:crs:EPSG::4490"


def _point(lon, lat):
    return f'<gml:Point srsName="EPSG:4490"><gml:pos>{lon} {lat}</gml:pos></gml:Point>'


TRIANGLE = [(106.5, 29.5), (106.56, 29.5), (106.5, 29.56), (106.5, 29.5)]
TRIANGLE_WKT = "POLYGON((" + ",".join(f"{x} {y}" for x, y in TRIANGLE) + "))"

#: (FES condition, the same condition in CQL2 text).
CONDITIONS = [
    (_cmp("PropertyIsNotEqualTo", "pf:code", "0701"), "code <> '0701'"),
    (_cmp("PropertyIsLessThan", "rank", "1"), "rank < 1"),
    (_cmp("PropertyIsGreaterThan", "rank", "1"), "rank > 1"),
    (_cmp("PropertyIsLessThanOrEqualTo", "rank", "1"), "rank <= 1"),
    (_cmp("PropertyIsGreaterThanOrEqualTo", "rank", "1"), "rank >= 1"),
    (_cmp("PropertyIsLike", "name", "地块1*", ' wildCard="*" singleChar="?" escapeChar="!"'),
     "name LIKE '地块1%'"),
    (_cmp("PropertyIsLike", "name", "地块?", ' wildCard="*" singleChar="?" escapeChar="!"'),
     "name LIKE '地块_'"),
    (_cmp("PropertyIsLike", "code", "07%", ' wildCard="*" singleChar="?" escapeChar="!"'),
     "code LIKE '07\\%'"),
    (f"<fes:PropertyIsNull>{_ref('name')}</fes:PropertyIsNull>", "name IS NULL"),
    (f"<fes:PropertyIsNil>{_ref('name')}</fes:PropertyIsNil>", "name IS NULL"),
    (f"<fes:PropertyIsBetween>{_ref('rank')}<fes:LowerBoundary>{_lit(1)}</fes:LowerBoundary>"
     f"<fes:UpperBoundary>{_lit(2)}</fes:UpperBoundary></fes:PropertyIsBetween>",
     "rank BETWEEN 1 AND 2"),
    (f"<fes:Or>{_cmp('PropertyIsEqualTo', 'code', '0701')}"
     f"{_cmp('PropertyIsEqualTo', 'code', '1401')}</fes:Or>", "code = '0701' OR code = '1401'"),
    (f"<fes:Not>{_cmp('PropertyIsEqualTo', 'code', '0701')}</fes:Not>", "NOT code = '0701'"),
    (_cmp("PropertyIsEqualTo", "code", "0701", ' matchCase="false"'),
     "CASEI(code) = CASEI('0701')"),
    # Latitude first in the URN spelling; the same triangle in CQL2's lon/lat.
    (f"<fes:Intersects>{_ref('geometry')}"
     f"{_polygon(URN, [(y, x) for x, y in TRIANGLE])}</fes:Intersects>",
     f"S_INTERSECTS(geometry, {TRIANGLE_WKT})"),
    (f"<fes:Within>{_ref('geometry')}<gml:Envelope srsName=\"EPSG:4490\"><gml:lowerCorner>"
     "106.5 29.5</gml:lowerCorner><gml:upperCorner>106.56 29.53</gml:upperCorner>"
     "</gml:Envelope></fes:Within>",
     "S_WITHIN(geometry, BBOX(106.5, 29.5, 106.56, 29.53))"),
    (f"<fes:Contains>{_ref('geometry')}<gml:Point srsName=\"{URN}\"><gml:pos>29.503 106.503"
     "</gml:pos></gml:Point></fes:Contains>", "S_CONTAINS(geometry, POINT(106.503 29.503))"),
    (f"<fes:Disjoint>{_ref('geometry')}{_polygon('EPSG:4490', TRIANGLE)}</fes:Disjoint>",
     f"S_DISJOINT(geometry, {TRIANGLE_WKT})"),
    (f"<fes:And><fes:Or>{_cmp('PropertyIsLessThan', 'rank', '1')}"
     f"{_cmp('PropertyIsEqualTo', 'code', '1401')}</fes:Or><fes:BBOX>{_ref('geometry')}"
     f"<gml:Envelope srsName=\"{URN}\"><gml:lowerCorner>29.5 106.5</gml:lowerCorner>"
     "<gml:upperCorner>29.6 106.6</gml:upperCorner></gml:Envelope></fes:BBOX></fes:And>",
     "(rank < 1 OR code = '1401') AND S_INTERSECTS(geometry, BBOX(106.5, 29.5, 106.6, 29.6))"),
]  # fmt: skip


def _hits(client, condition, layer="parcels"):
    response = client.get("/ows", query_string={
        "service": "WFS", "version": "2.0.0", "request": "GetFeature",
        "typeNames": f"pf:{layer}", "resultType": "hits",
        "filter": f"<fes:Filter {FES_NS}>{condition}</fes:Filter>"})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(ET.fromstring(response.data).get("numberMatched"))


@pytest.mark.parametrize(("condition", "cql"), CONDITIONS, ids=[c[1][:40] for c in CONDITIONS])
def test_fes_operators_count_as_ogc_api_cql2(client, data, condition, cql):
    own = client.get("/ogc/collections/parcels/items", query_string={"filter": cql, "limit": 1})
    assert own.status_code == 200, own.get_data(as_text=True)
    expected = own.get_json()["numberMatched"]
    assert 0 < expected < 56 or cql.startswith("code LIKE"), expected
    assert _hits(client, condition) == expected


def test_fes_like_escape_and_geometry_answers(client, data):
    # Parcel 1 is the only one containing the point; 地块1, 地块5, 地块9 are the one-digit names.
    fes = {cql: condition for condition, cql in CONDITIONS}
    assert _hits(client, fes["S_CONTAINS(geometry, POINT(106.503 29.503))"]) == 1
    assert _hits(client, fes["name LIKE '地块_'"]) == 3
    escaped = _cmp("PropertyIsLike", "code", "07!*", ' wildCard="*" singleChar="?" escapeChar="!"')
    assert _hits(client, escaped) == 0  # "07*" literally


@pytest.mark.parametrize(
    ("condition", "code", "words"),
    [
        ("<fes:PropertyIsNil><fes:Literal>x</fes:Literal></fes:PropertyIsNil>",
         "InvalidParameterValue", "fes:PropertyIsNil"),
        (f"<fes:DWithin>{_ref('geometry')}</fes:DWithin>", "InvalidParameterValue",
         "fes:Distance"),
        (f"<fes:DWithin>{_ref('geometry')}{_point(106.503, 29.503)}"
         '<fes:Distance uom="deg">0.01</fes:Distance></fes:DWithin>', "InvalidParameterValue",
         "degrees"),
        (f"<fes:Beyond>{_ref('geometry')}{_point(106.503, 29.503)}"
         '<fes:Distance uom="m">-5</fes:Distance></fes:Beyond>', "InvalidParameterValue",
         "from 0"),
        (f"<fes:PropertyIsTemporal>{_ref('name')}</fes:PropertyIsTemporal>",
         "OperationNotSupported", "DWithin, fes:Beyond"),
        (f"<fes:PropertyIsNull>{_lit('x')}</fes:PropertyIsNull>", "InvalidParameterValue",
         "fes:ValueReference"),
        (_cmp("PropertyIsLessThan", "secret", "1"), "InvalidParameterValue", "secret"),
        (_cmp("PropertyIsLike", "code", "07*"), "InvalidParameterValue", "wildCard"),
        (f"<fes:Or>{_cmp('PropertyIsEqualTo', 'code', '1')}</fes:Or>", "InvalidParameterValue",
         "fes:Or"),
        (f"<fes:Intersects>{_ref('geometry')}<gml:Curve/></fes:Intersects>",
         "OperationNotSupported", "gml:Curve"),
        (f"<fes:Intersects>{_ref('geometry')}<gml:Point><gml:pos>106.5 29.5</gml:pos>"
         "</gml:Point></fes:Intersects>", "InvalidParameterValue", "outside the world"),
        (f"<fes:Intersects>{_ref('geometry')}<gml:Point srsName=\"EPSG:2000\"><gml:pos>1 2"
         "</gml:pos></gml:Point></fes:Intersects>", "InvalidParameterValue", "not offered"),
        (f"<fes:Within>{_ref('code')}{_polygon('EPSG:4490', TRIANGLE)}</fes:Within>",
         "InvalidParameterValue", "geometry"),
    ],
)  # fmt: skip
def test_bad_fes_conditions_name_the_operator(client, data, condition, code, words):
    response = client.get("/ows", query_string={
        "service": "WFS", "request": "GetFeature", "typeNames": "pf:parcels",
        "filter": f"<fes:Filter {FES_NS}>{condition}</fes:Filter>"})  # fmt: skip
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    got_code, locator, text = exception_of(response)
    assert (got_code, locator) == (code, "FILTER") and words in text, text


def test_sort_by_a_property_both_ways(client, data):
    def codes(sortby, **extra):
        response = client.get("/ows", query_string={
            "service": "WFS", "request": "GetFeature", "typeNames": "pf:parcels",
            "outputFormat": "application/json", "sortBy": sortby, **extra})  # fmt: skip
        assert response.status_code == 200, response.get_data(as_text=True)
        features = response.get_json()["features"]
        return [(f["properties"].get("code"), int(f["id"].rsplit(".", 1)[1])) for f in features]

    stored_codes = {i + 1: f["properties"]["code"] for i, f in enumerate(parcel_features())}
    ascending = sorted(stored_codes.items(), key=lambda item: (item[1], item[0]))
    assert codes("code ASC") == [(c, fid) for fid, c in ascending]
    descending = sorted(stored_codes.items(), key=lambda item: (item[1], -item[0]), reverse=True)
    assert codes("pf:code DESC") == [(c, fid) for fid, c in descending]
    # Paging walks the sorted order; a filter and a sort together.
    assert codes("code DESC", count=5, startIndex=5) == [(c, f) for f, c in descending][5:10]
    both = codes("code D", filter=f"<fes:Filter {FES_NS}>"
                 f"{_cmp('PropertyIsLessThan', 'rank', '1')}</fes:Filter>")  # fmt: skip
    ranked = [i + 1 for i, f in enumerate(parcel_features()) if f["properties"].get("rank") == 0]
    assert sorted(fid for _, fid in both) == ranked
    assert [c for c, _ in both] == sorted((c for c, _ in both), reverse=True)
    capabilities = _wfs(client, "request=GetCapabilities").data.decode()
    assert '<fes:Constraint name="ImplementsSorting"><ows:NoValues/><ows:DefaultValue>TRUE' in (
        capabilities
    )
    assert '<fes:ComparisonOperator name="PropertyIsLike"/>' in capabilities
    assert '<fes:SpatialOperator name="Within"/>' in capabilities


def test_owslib_sends_like_and_or_filters(url, data, client):
    from owslib.etree import etree
    from owslib.fes2 import Filter, Or, PropertyIsEqualTo, PropertyIsLike
    from owslib.wfs import WebFeatureService

    wfs = WebFeatureService(f"{url}/ows", version="2.0.0")
    like = Filter(PropertyIsLike("name", "地块1%", wildCard="%", singleChar="_", escapeChar="\\"))
    text = etree.tostring(like.toXML()).decode()
    body = wfs.getfeature(typename=["pf:parcels"], filter=text, outputFormat="application/json")
    names = sorted(f["properties"]["name"] for f in json.loads(body.read())["features"])
    expected = sorted(f["properties"]["name"] for f in parcel_features()
                      if f["properties"].get("name", "").startswith("地块1"))  # fmt: skip
    assert names == expected and len(names) == 3
    either = Filter(Or([PropertyIsEqualTo("code", "0701"), PropertyIsEqualTo("code", "1401")]))
    text = etree.tostring(either.toXML()).decode()
    body = wfs.getfeature(typename=["pf:parcels"], filter=text, outputFormat="application/json")
    codes = [f["properties"]["code"] for f in json.loads(body.read())["features"]]
    own = _get_json(client, "/ogc/collections/parcels/items?filter=code IN ('0701','1401')&limit=1")
    assert set(codes) == {"0701", "1401"} and len(codes) == own["numberMatched"]


@requires_gdal
def test_gdal_where_with_or_and_ordering(url, data, client):
    source = f"WFS:{url}/ows?service=WFS&version=2.0.0"
    # GDAL turns -where into a FES filter; the same text is CQL2 for the OGC API.
    # Every property is a string in DescribeFeatureType: GDAL compares with text literals.
    for where in ("code = '0701' OR code = '1401'", "rank > '0'", "name LIKE '地块1%'"):
        info = gdal("ogrinfo", "-ro", "-so", "-where", where, source, "pf:parcels")
        own = client.get("/ogc/collections/parcels/items", query_string={"filter": where})
        assert f"Feature Count: {own.get_json()['numberMatched']}" in info, (where, info)


# --- WFS 1.1.0 -----------------------------------------------------------------------------

GML31 = "{http://www.opengis.net/gml}"


def test_owslib_reads_wfs_110(url, data):
    from owslib.wfs import WebFeatureService

    wfs = WebFeatureService(f"{url}/ows", version="1.1.0")
    assert wfs.version == "1.1.0"
    assert sorted(wfs.contents) == sorted(f"pf:{name}" for name in COUNTS)
    parcels = wfs.contents["pf:parcels"]
    assert parcels.title == "用地规划"
    assert parcels.boundingBoxWGS84 == pytest.approx((106.5, 29.5, 106.68, 29.65))
    body = wfs.getfeature(typename=["pf:facilities"], maxfeatures=2).read()
    root = ET.fromstring(body)
    assert root.tag == "{http://www.opengis.net/wfs}FeatureCollection"
    members = [m[0] for m in root.findall(f"{GML31}featureMember")]
    assert len(members) == 2 == int(root.get("numberOfFeatures"))
    # The DefaultSRS URN is latitude first; the short EPSG:4490 longitude first.
    point = stored(data, "facilities")[1]
    assert _pos31(members[0]) == pytest.approx([point.y, point.x])
    for srs, order in (("EPSG:4490", [point.x, point.y]),
                       ("urn:x-ogc:def:crs:EPSG:4490", [point.y, point.x])):  # fmt: skip
        body = wfs.getfeature(typename=["pf:facilities"], maxfeatures=1, srsname=srs).read()
        (member,) = [m[0] for m in ET.fromstring(body).findall(f"{GML31}featureMember")]
        assert _pos31(member) == pytest.approx(order), srs


def _pos31(feature: ET.Element) -> list[float]:
    return [float(v) for v in feature.find(f".//{GML31}pos").text.split()]


def test_wfs_110_describes_types_and_counts_hits(client, data):
    schema = client.get(
        "/ows?service=WFS&version=1.1.0&request=DescribeFeatureType&typeName=pf:parcels"
    ).data.decode()
    assert 'namespace="http://www.opengis.net/gml"' in schema and "gml:_Feature" in schema
    hits = client.get(
        "/ows?service=WFS&version=1.1.0&request=GetFeature&typeName=pf:parcels&resultType=hits"
    )
    root = ET.fromstring(hits.data)
    assert root.get("numberOfFeatures") == "56" and not root.findall(f"{GML31}featureMember")
    # A Filter Encoding 1.1 filter: PropertyName, ogc: names, a GML 3.1 envelope (lat,lon).
    ogc = (
        '<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml">'
        "<ogc:And><ogc:BBOX><ogc:PropertyName>geometry</ogc:PropertyName>"
        '<gml:Envelope srsName="urn:ogc:def:crs:EPSG::4490"><gml:lowerCorner>29.5 106.5'
        "</gml:lowerCorner><gml:upperCorner>29.56 106.58</gml:upperCorner></gml:Envelope>"
        '</ogc:BBOX><ogc:PropertyIsLike wildCard="*" singleChar="." escape="!">'
        "<ogc:PropertyName>code</ogc:PropertyName><ogc:Literal>07*</ogc:Literal>"
        "</ogc:PropertyIsLike></ogc:And></ogc:Filter>"
    )
    response = client.get("/ows", query_string={
        "service": "WFS", "version": "1.1.0", "request": "GetFeature", "typeName": "pf:parcels",
        "filter": ogc, "resultType": "hits"})  # fmt: skip
    own = _get_json(client, "/ogc/collections/parcels/items?bbox=106.5,29.5,106.58,29.56"
                    "&filter=code LIKE '07%'&limit=1")  # fmt: skip
    assert ET.fromstring(response.data).get("numberOfFeatures") == str(own["numberMatched"])


def test_wfs_110_refusals_are_ows_10_exception_reports(client, data):
    response = client.get("/ows?service=WFS&version=1.1.0&request=GetFeature&typeName=pf:nope")
    assert response.status_code == 400
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.opengis.net/ows}ExceptionReport"
    assert root.get("version") == "1.1.0"
    (exception,) = root
    assert exception.get("exceptionCode") == "InvalidParameterValue"
    assert exception.get("locator") == "TYPENAMES"


@requires_gdal
def test_gdal_reads_wfs_110(url, data, client):
    source = f"WFS:{url}/ows?service=WFS&version=1.1.0"
    for name, count in COUNTS.items():
        info = gdal("ogrinfo", "-ro", "-so", source, f"pf:{name}")
        assert f"Feature Count: {count}" in info, info
    info = gdal("ogrinfo", "-ro", "-so", source, "pf:parcels")
    assert "Extent: (106.500000, 29.500000) - (106.680000, 29.650000)" in info, info
    info = gdal("ogrinfo", "-ro", "-so", "-where", "code = '0701'", source, "pf:parcels")
    assert "Feature Count: 9" in info, info
    # GDAL writes the extent as a GML 2 gml:Box, latitude first as the DefaultSRS URN says.
    info = gdal("ogrinfo", "-ro", "-so", "-spat", "106.5", "29.5", "106.56", "29.53", source,
                "pf:parcels")  # fmt: skip
    assert "Feature Count: 34" in info, info


@pytest.mark.parametrize(("metres", "uom"), [(350, "m"), (0.9, "km"), (2550, "m")])
def test_dwithin_and_beyond_measure_metres(client, data, metres, uom):
    """DWithin/Beyond a point, in metres: the features whose distance measured in the
    CGCS2000 Gauss–Krüger zone of 105° E (EPSG:4544) is within the distance, and the rest."""
    from pyproj import Transformer

    from tests.api.ogc_fixtures import stored

    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4544", always_xy=True)

    def gk(geom):
        return shapely.transform(geom, lambda x, y: to_gk.transform(x, y), interleaved=False)

    centre = shapely.Point(106.52, 29.52)
    reach = metres * (1000 if uom == "km" else 1)
    shapes = stored(data, "parcels")
    distances = {fid: gk(g).distance(gk(centre)) for fid, g in shapes.items()}
    # No parcel within 1 % of the distance, so the two ways of measuring cannot disagree.
    assert all(abs(d - reach) > reach * 0.01 for d in distances.values())
    within = sum(1 for d in distances.values() if d <= reach)
    distance = f'<fes:Distance uom="{uom}">{metres}</fes:Distance>'
    near = f"<fes:DWithin>{_ref('geometry')}{_point(106.52, 29.52)}{distance}</fes:DWithin>"
    far = f"<fes:Beyond>{_ref('geometry')}{_point(106.52, 29.52)}{distance}</fes:Beyond>"
    assert 0 < within < len(shapes)
    assert _hits(client, near) == within
    assert _hits(client, far) == len(shapes) - within
    # Combined with an attribute test, still the same features.
    both = f"<fes:And>{near}{_cmp('PropertyIsEqualTo', 'code', '0701')}</fes:And>"
    code = {fid for fid, r in _codes(client).items() if r == "0701"}
    assert _hits(client, both) == sum(
        1 for fid, d in distances.items() if d <= reach and fid in code
    )


def _codes(client) -> dict[int, str]:
    response = client.get("/ogc/collections/parcels/items", query_string={"limit": 1000})
    return {f["id"]: f["properties"].get("code") for f in response.get_json()["features"]}
