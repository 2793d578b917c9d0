"""Query-parameter parsing of OGC API – Features, without a database or a web server."""

from __future__ import annotations

import pytest

from planfuse.geo.crs import resolve_crs
from planfuse.http.problems import ProblemError
from planfuse.ogc.crs import collection_crs_uris, offered_crs, storage_box
from planfuse.ogc.params import parse_bbox, parse_items_query

FIELDS = ("code", "name")


def parse(*pairs: tuple[str, str]):
    return parse_items_query(list(pairs), fields=FIELDS, limit_default=10, limit_max=100)


def problem(*pairs: tuple[str, str]) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        parse(*pairs)
    assert info.value.status == 400
    return info.value


def test_defaults():
    q = parse()
    assert (q.limit, q.offset, q.bbox, q.crs, q.filters) == (10, 0, None, None, {})
    assert q.media_type == "application/geo+json"


def test_limit_and_offset_ranges():
    assert parse(("limit", "100"), ("offset", "0")).limit == 100
    assert parse(("offset", "2147483647")).offset == 2147483647
    assert parse(("limit", "101")).limit == 100  # capped, not refused
    assert parse(("limit", "99999999999999999999999")).limit == 100
    for bad in ("0", "-1", "1.0", "", " ", "1e2", "٣"):
        err = problem(("limit", bad))
        assert err.errors[0]["field"] == "limit"
        assert "1 to 100" in err.detail
    for bad in ("-1", "x", "2147483648"):
        assert problem(("offset", bad)).errors[0]["field"] == "offset"


def test_repeated_control_parameters_are_refused():
    problem(("limit", "5"), ("limit", "6"))
    problem(("bbox", "0,0,1,1"), ("bbox", "0,0,2,2"))


def test_bbox_in_crs84_and_in_latlon_crs():
    crs84 = resolve_crs("OGC:CRS84")
    assert parse_bbox("106,29,107,30", crs84) == (106, 29, 107, 30)
    assert parse_bbox("106,29,0,107,30,10", crs84) == (106, 29, 107, 30)
    epsg4490 = resolve_crs("EPSG:4490")
    # lat,lon: latitude 29–30 and longitude 106–107 are on the globe...
    assert parse_bbox("29,106,30,107", epsg4490) == (29, 106, 30, 107)
    # ...but read as lon,lat the same numbers are not.
    with pytest.raises(ProblemError):
        parse_bbox("106,29,107,30", epsg4490)


@pytest.mark.parametrize(
    "raw",
    ["1,2,0,3", "0,3,1,2", "-181,0,0,1", "0,-91,1,1", "0,0,1,91", "1,2,3", "1,2,3,4,5", "a,b,c,d"],
)
def test_bad_bboxes(raw):
    with pytest.raises(ProblemError) as info:
        parse_bbox(raw, resolve_crs("OGC:CRS84"))
    assert info.value.status == 400


def test_projected_bbox_has_no_world_check_but_must_be_ordered():
    gk = resolve_crs("EPSG:4523")
    assert parse_bbox("3265000,35600000,3266000,35601000", gk)
    with pytest.raises(ProblemError):
        parse_bbox("3266000,35600000,3265000,35601000", gk)


def test_bbox_crs_needs_bbox_and_must_be_offered():
    assert "bbox-crs" in problem(("bbox-crs", "EPSG:4490")).detail
    err = problem(("bbox", "0,0,1,1"), ("bbox-crs", "EPSG:32648"))
    assert err.code == "unsupported_crs"
    q = parse(("bbox", "29,106,30,107"), ("bbox-crs", "[EPSG:4490]"))
    assert q.bbox_crs.key == "EPSG:4490"


def test_crs_parameter_spellings():
    for spelling in (
        "http://www.opengis.net/def/crs/EPSG/0/4523",
        "https://www.opengis.net/def/crs/EPSG/0/4523",
        "urn:ogc:def:crs:EPSG::4523",
        "EPSG:4523",
        "[EPSG:4523]",
    ):
        assert parse(("crs", spelling)).crs.key == "EPSG:4523"
    assert parse(("crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")).crs.key == "OGC:CRS84"
    # GCJ-02, for web maps on AMap / Tencent basemaps, by name or by its URI.
    for spelling in ("GCJ-02", "GCJ02", "urn:planfuse:crs:GCJ-02", "[urn:planfuse:crs:GCJ-02]"):
        assert parse(("crs", spelling)).crs.key == "GCJ-02"
    for bad in ("EPSG:4513", "BD-09", "EPSG:2000", "EPSG:99999999", "<script>", "x" * 500):
        err = problem(("crs", bad))
        assert err.code == "unsupported_crs"
        assert "http://www.opengis.net/def/crs/EPSG/0/4490" in err.detail


def test_every_offered_crs_resolves():
    uris = collection_crs_uris()
    assert uris[0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    for uri in uris:
        assert offered_crs(uri, "crs").uri == uri


def test_property_filters():
    q = parse(("code", "0701"), ("code", "0801"), ("code", "0701"), ("district", "500106"))
    assert q.filters == {"code": ("0701", "0801"), "district": ("500106",)}
    err = problem(("colour", "red"))
    assert err.code == "unknown_property"
    assert "code" in err.detail and "name" in err.detail
    problem(("code", "x" * 201))
    problem(("datetime", "2024-01-01T00:00:00Z"))
    problem(("f", "html"))
    assert parse(("f", "json")).media_type == "application/json"


def test_storage_box_from_a_gauss_kruger_bbox_follows_the_grid():
    gk = resolve_crs("EPSG:4545")
    polygon, inner = storage_box((3265000, 354000, 3270000, 359000), gk)
    assert polygon.geom_type == "Polygon"
    west, south, east, north = polygon.bounds
    assert west < inner[0] < inner[2] < east
    assert 106.49 < west < east < 106.56 and 29.49 < south < north < 29.55
    # The GK grid is rotated against the meridians: the polygon is not its bbox.
    assert polygon.area < (east - west) * (north - south)


def test_storage_box_of_a_degenerate_bbox_is_a_line_or_point():
    crs84 = resolve_crs("OGC:CRS84")
    assert storage_box((106, 29, 106, 30), crs84)[0].geom_type == "LineString"
    assert storage_box((106, 29, 106, 29), crs84)[0].geom_type == "Point"
