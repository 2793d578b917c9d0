"""CRS registry, strict parsing, .prj identification, zone and area-of-use checks."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

from planfuse.geo import crs as crs_mod
from planfuse.geo.crs import (
    check_area_of_use,
    check_gk_eastings,
    crs_from_prj,
    describe_easting,
    describe_out_of_area,
    gk_zone_for_lon,
    parse_datum_shifts,
    resolve_crs,
    supported_crs,
)
from planfuse.geo.errors import CoordinateRangeError, DatumTransformError, UnknownCRSError

ACCEPTED = {
    "EPSG:4523": "EPSG:4523",
    "epsg:4523": "EPSG:4523",
    "EPSG::4523": "EPSG:4523",
    "  EPSG:4490 ": "EPSG:4490",
    "EPSG:4490\n": "EPSG:4490",
    "urn:ogc:def:crs:EPSG::4523": "EPSG:4523",
    "urn:ogc:def:crs:EPSG:6.3:4326": "EPSG:4326",
    "http://www.opengis.net/def/crs/EPSG/0/4523": "EPSG:4523",
    "https://www.opengis.net/def/crs/EPSG/0/4490": "EPSG:4490",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84": "OGC:CRS84",
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84": "OGC:CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84": "OGC:CRS84",
    "urn:ogc:def:crs:OGC::CRS84": "OGC:CRS84",
    "CRS84": "OGC:CRS84",
    "OGC:CRS84": "OGC:CRS84",
    "crs:84": "OGC:CRS84",
    "GCJ-02": "GCJ-02",
    "GCJ02": "GCJ-02",
    "gcj-02": "GCJ-02",
    "urn:planfuse:crs:GCJ-02": "GCJ-02",
    "BD-09": "BD-09",
    "BD09": "BD-09",
    "bd-09": "BD-09",
    "urn:planfuse:crs:BD-09": "BD-09",
    "EPSG:3857": "EPSG:3857",
    "EPSG:4513": "EPSG:4513",
    "EPSG:4554": "EPSG:4554",
    "EPSG:4610": "EPSG:4610",
    "EPSG:2359": "EPSG:2359",
    "EPSG:2382": "EPSG:2382",
    "EPSG:4214": "EPSG:4214",
    "EPSG:2411": "EPSG:2411",
    "EPSG:2434": "EPSG:2434",
}


@pytest.mark.parametrize(("text", "key"), sorted(ACCEPTED.items()))
def test_resolve_accepts_every_spelling(text, key):
    assert resolve_crs(text).key == key


UNKNOWN = [
    "",
    "   ",
    "EPSG:",
    "EPSG:abc",
    "EPSG:4490;DROP TABLE layers",
    "EPSG:4490 EPSG:4523",
    "4490",
    "+proj=longlat +datum=WGS84",
    'GEOGCS["WGS 84"]',
    "http://www.opengis.net/def/crs/EPSG/0/",
    "http://evil.example/def/crs/EPSG/0/4490",
    "urn:ogc:def:crs:EPSG::4490:extra",
    "GCJ-03",
    "WGS84",
    "EPSG:99999",
    "EPSG:1234567",
    "x" * 5000,
]


@pytest.mark.parametrize("text", UNKNOWN)
def test_resolve_refuses_malformed_and_unknown(text):
    with pytest.raises(UnknownCRSError) as info:
        resolve_crs(text)
    message = info.value.message
    assert "is unknown; use EPSG:NNNN" in message
    assert "http://www.opengis.net/def/crs/EPSG/0/4490" in message
    assert len(message) < 1500  # untrusted text is quoted only in part


UNSUPPORTED = {
    "EPSG:32648": "UTM zone 48N",
    "EPSG:4491": "6-degree",  # CGCS2000 6-degree GK zone 13
    "EPSG:2350": "Xian 1980 / 3-degree Gauss-Kruger zone 26",
    "EPSG:2362": "Xian 1980 / 3-degree Gauss-Kruger zone 38",
    "EPSG:2414": "Beijing 1954 / 3-degree Gauss-Kruger zone 38",
    "EPSG:4547": None,  # CGCS2000 CM 114E is supported: control case
    "EPSG:27700": "British National Grid",
}


@pytest.mark.parametrize(("text", "name"), sorted(UNSUPPORTED.items()))
def test_resolve_refuses_real_but_unsupported_codes_naming_them(text, name):
    if name is None:
        assert resolve_crs(text).key == text
        return
    with pytest.raises(UnknownCRSError) as info:
        resolve_crs(text)
    assert "is not supported; supported are" in info.value.message
    assert "EPSG:4513–4533" in info.value.message
    assert "GCJ-02" in info.value.message


def test_resolve_refuses_non_strings():
    with pytest.raises(UnknownCRSError):
        resolve_crs(4490)  # type: ignore[arg-type]


def test_unknown_message_quotes_input_safely():
    with pytest.raises(UnknownCRSError) as info:
        resolve_crs("EPSG:99999")
    assert info.value.message.startswith("CRS 'EPSG:99999' is unknown; use EPSG:NNNN")
    with pytest.raises(UnknownCRSError) as info:
        resolve_crs("<script>\x00" + "a" * 300)
    assert "\x00" not in info.value.message
    assert "a" * 61 not in info.value.message


def test_supported_gk_codes_match_pyproj_definitions():
    """Our zone/prefix table against the EPSG definitions PROJ ships."""
    infos = [i for i in supported_crs() if i.is_gauss_kruger]
    assert len(infos) == 42 + 6 + 6
    for info in infos:
        crs = CRS.from_epsg(info.epsg)
        params = {p.name: p.value for p in crs.coordinate_operation.params}
        assert params["Longitude of natural origin"] == info.central_meridian
        assert params["Scale factor at natural origin"] == 1.0
        expected_fe = 500_000 + (info.gk_zone * 1_000_000 if info.zone_prefixed else 0)
        assert params["False easting"] == expected_fe, info.key
        label = {"CGCS2000": "CGCS2000", "Xian1980": "Xian 1980", "Beijing1954": "Beijing 1954"}
        assert crs.name.startswith(label[info.datum]), info.key
        if info.zone_prefixed:
            assert f"zone {info.gk_zone}" in crs.name
        else:
            assert f"CM {info.central_meridian:.0f}E" in crs.name


def test_chongqing_codes_from_domain():
    for code, zone, prefixed in [
        (4523, 35, True),
        (4524, 36, True),
        (4525, 37, True),
        (4544, 35, False),
        (4545, 36, False),
        (4546, 37, False),
        (2359, 35, True),
        (2361, 37, True),
        (2380, 35, False),
        (2382, 37, False),
        (2411, 35, True),
        (2413, 37, True),
        (2432, 35, False),
        (2434, 37, False),
    ]:
        info = resolve_crs(f"EPSG:{code}")
        assert (info.gk_zone, info.zone_prefixed) == (zone, prefixed)
        assert info.central_meridian == 3 * zone


def test_crsinfo_fields():
    geo = resolve_crs("EPSG:4490")
    assert geo.kind == "geographic"
    assert geo.uri == "http://www.opengis.net/def/crs/EPSG/0/4490"
    assert geo.latlon_axis_order is True
    assert geo.datum == "CGCS2000"
    assert geo.area_of_use == (73.62, 16.7, 134.77, 53.56)
    assert geo.epsg == 4490
    crs84 = resolve_crs("CRS84")
    assert crs84.latlon_axis_order is False
    assert crs84.uri == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert crs84.epsg is None
    for code in (4326, 4610, 4214):
        assert resolve_crs(f"EPSG:{code}").latlon_axis_order is True
    gk = resolve_crs("EPSG:4523")
    assert gk.kind == "projected"
    assert gk.latlon_axis_order is False
    assert gk.first_axis_north is True  # EPSG lists X (northing) first
    assert gk.name == "CGCS2000 / 3-degree Gauss-Kruger zone 35"
    assert resolve_crs("EPSG:3857").first_axis_north is False
    gcj = resolve_crs("GCJ-02")
    assert gcj.kind == "offset"
    assert gcj.uri == "urn:planfuse:crs:GCJ-02"
    assert gcj.degrees
    assert resolve_crs("BD-09").uri == "urn:planfuse:crs:BD-09"
    assert resolve_crs("EPSG:2360").datum == "Xian1980"
    assert resolve_crs("EPSG:2433").datum == "Beijing1954"


def test_resolve_with_datum_shifts_refuses_unconfigured_old_datums_early():
    assert resolve_crs("EPSG:2359").key == "EPSG:2359"  # plain lookup is fine
    with pytest.raises(DatumTransformError) as info:
        resolve_crs("EPSG:2359", datum_shifts={})
    assert "Xian 1980 → CGCS2000 needs a configured 7-parameter (Helmert)" in info.value.message
    assert "PLANFUSE_DATUM_SHIFTS" in info.value.message
    with pytest.raises(DatumTransformError) as info:
        resolve_crs("EPSG:4214", datum_shifts={"Xian1980": [0, 0, 0, 0, 0, 0, 0]})
    assert "Beijing 1954" in info.value.message
    assert resolve_crs("EPSG:4214", datum_shifts={"Beijing1954": [1, 2, 3, 0, 0, 0, 0]})
    assert resolve_crs("EPSG:4523", datum_shifts={}).key == "EPSG:4523"


# --- .prj --------------------------------------------------------------------------------

ESRI_GCS2000 = (
    'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
    'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]]'
)


def esri_gk(name, gcs, datum, spheroid, a, inv_f, fe, cm):
    return (
        f'PROJCS["{name}",GEOGCS["{gcs}",DATUM["{datum}",SPHEROID["{spheroid}",{a},{inv_f}]],'
        'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
        f'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{fe}],'
        f'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",{cm}],'
        'PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


CGCS = ("GCS_China_Geodetic_Coordinate_System_2000", "D_China_2000", "CGCS2000", 6378137.0)


@pytest.mark.parametrize(
    ("wkt", "key"),
    [
        (ESRI_GCS2000, "EPSG:4490"),
        (
            esri_gk("CGCS2000_3_Degree_GK_Zone_35", *CGCS, 298.257222101, 35500000.0, 105.0),
            "EPSG:4523",
        ),
        (
            esri_gk("CGCS2000_3_Degree_GK_CM_108E", *CGCS, 298.257222101, 500000.0, 108.0),
            "EPSG:4545",
        ),
        (
            esri_gk(
                "Xian_1980_3_Degree_GK_Zone_36",
                "GCS_Xian_1980",
                "D_Xian_1980",
                "Xian_1980",
                6378140.0,
                298.257,
                36500000.0,
                108.0,
            ),
            "EPSG:2360",
        ),
        (
            esri_gk(
                "Beijing_1954_3_Degree_GK_CM_111E",
                "GCS_Beijing_1954",
                "D_Beijing_1954",
                "Krasovsky_1940",
                6378245.0,
                298.3,
                500000.0,
                111.0,
            ),
            "EPSG:2434",
        ),
        (
            'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
            '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]',
            "EPSG:4326",
        ),
        # ArcGIS's "unspecified datum" custom GK: recognised from its parameters.
        (
            esri_gk(
                "custom",
                "GCS_custom",
                "Not_specified_based_on_GRS_1980_ellipsoid",
                "GRS_1980",
                6378137.0,
                298.257222101,
                36500000.0,
                108.0,
            ),
            "EPSG:4524",
        ),
    ],
)
def test_crs_from_prj_identifies_supported_crs(wkt, key):
    assert crs_from_prj(wkt).key == key


def test_crs_from_prj_refuses_unsupported_naming_it():
    utm = (
        'PROJCS["WGS_1984_UTM_Zone_48N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
        'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
        'PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",0.9996],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )
    with pytest.raises(UnknownCRSError) as info:
        crs_from_prj(utm)
    assert "WGS 84 / UTM zone 48N" in info.value.message
    assert "EPSG:32648" in info.value.message


def test_crs_from_prj_refuses_a_named_local_datum():
    local = esri_gk(
        "城市独立坐标系",
        "GCS_Local",
        "D_Chongqing_Local",
        "GRS_1980",
        6378137.0,
        298.257222101,
        36500000.0,
        108.0,
    )
    # pyproj matches it only at low confidence; a named local datum is not CGCS2000.
    with pytest.raises(UnknownCRSError) as info:
        crs_from_prj(local)
    assert "城市独立坐标系" in info.value.message


@pytest.mark.parametrize("text", ["", "   ", "not a wkt", 'PROJCS["x"', "x" * 30_000])
def test_crs_from_prj_refuses_garbage(text):
    with pytest.raises(UnknownCRSError):
        crs_from_prj(text)


# --- zones and area of use -------------------------------------------------------------


def test_gk_zone_for_lon():
    assert gk_zone_for_lon(105.0) == (4523, 4544)
    assert gk_zone_for_lon(106.49) == (4523, 4544)
    assert gk_zone_for_lon(106.5) == (4524, 4545)  # on the edge: the eastern zone
    assert gk_zone_for_lon(108.0) == (4524, 4545)
    assert gk_zone_for_lon(110.2) == (4525, 4546)
    assert gk_zone_for_lon(73.5) == (4513, 4534)
    assert gk_zone_for_lon(136.49) == (4533, 4554)
    for bad in (73.4, 136.5, float("nan"), -106.5):
        with pytest.raises(CoordinateRangeError):
            gk_zone_for_lon(bad)


def test_easting_with_wrong_zone_prefix():
    info = resolve_crs("EPSG:4523")
    x = np.array([35_512_345.6, 36_512_345.6, 35_400_000.0])
    assert check_gk_eastings(x, info) == [1]
    assert describe_easting(36_512_345.6, info) == (
        "easting 36512345.6 has zone prefix 36 but EPSG:4523 is zone 35; use EPSG:4524"
    )
    assert describe_easting(35_512_345.6, info) is None


def test_unprefixed_easting_under_prefixed_crs():
    info = resolve_crs("EPSG:4523")
    assert check_gk_eastings(np.array([512_345.6]), info) == [0]
    message = describe_easting(512_345.6, info)
    assert message.startswith("easting 512345.6 has no zone prefix but EPSG:4523 (zone 35)")
    assert "35512345" in message
    assert "use EPSG:4544" in message


def test_prefixed_easting_under_unprefixed_crs():
    info = resolve_crs("EPSG:4544")
    assert check_gk_eastings(np.array([512_345.6, 36_512_345.6]), info) == [1]
    assert describe_easting(36_512_345.6, info) == (
        "easting 36512345.6 looks zone-prefixed (zone 36) but EPSG:4544 has no zone prefix; "
        "use EPSG:4524"
    )


def test_northing_given_as_easting_suggests_swapped_axes():
    for code in (4544, 4523):
        info = resolve_crs(f"EPSG:{code}")
        assert check_gk_eastings(np.array([3_300_000.0]), info) == [0]
        assert "swapped" in describe_easting(3_300_000.0, info)
    assert "swapped" in describe_easting(-5.0, resolve_crs("EPSG:4544"))


def test_easting_advice_for_old_datums_stays_in_the_datum():
    xian = resolve_crs("EPSG:2359")  # Xian 1980 zone 35
    assert describe_easting(36_512_345.6, xian).endswith("use EPSG:2360")
    assert "EPSG:2362" in describe_easting(38_512_345.6, xian)  # zone 38: not supported
    assert "not supported" in describe_easting(38_512_345.6, xian)
    beijing = resolve_crs("EPSG:2432")
    assert describe_easting(37_512_345.6, beijing).endswith("use EPSG:2413")


def test_non_gk_crs_has_no_easting_checks():
    assert check_gk_eastings(np.array([1e9]), resolve_crs("EPSG:3857")) == []
    assert describe_easting(1e9, resolve_crs("EPSG:4490")) is None


def test_area_of_use_gk_zone_band():
    info = resolve_crs("EPSG:4523")  # zone 35, CM 105°E
    west, _south, east, _north = crs_mod.area_of_use_bounds(info)
    assert (west, east) == (
        105 - 1.5 - crs_mod.GK_ZONE_MARGIN_DEG,
        105 + 1.5 + crs_mod.GK_ZONE_MARGIN_DEG,
    )
    lon = np.array([105.0, 106.9, west + 0.01, east + 0.5, 105.0])
    lat = np.array([29.5, 29.5, 29.5, 29.5, 60.0])
    x, y = crs_mod.transform_coords(lon, lat, "EPSG:4490", info)
    assert check_area_of_use(x, y, info) == [3, 4]
    message = describe_out_of_area(x[3], y[3], info)
    assert "outside the area of use of EPSG:4523" in message
    assert "use EPSG:4525" in message  # where that vertex really is


def test_area_of_use_geographic_and_hints():
    info = resolve_crs("EPSG:4490")
    x = np.array([106.5, 29.5, 35_512_345.6, 2.35, np.nan])
    y = np.array([29.5, 106.5, 3_300_000.0, 48.85, 29.5])
    assert check_area_of_use(x, y, info) == [1, 2, 3, 4]
    assert "swapped" in describe_out_of_area(29.5, 106.5, info)
    assert "EPSG:4523" in describe_out_of_area(35_512_345.6, 3_300_000.0, info)
    assert "EPSG:4523" in describe_out_of_area(3_300_000.0, 35_512_345.6, info)
    # A global CRS is still checked against China: storage serves China.
    assert check_area_of_use(np.array([2.35]), np.array([48.85]), resolve_crs("EPSG:4326")) == [0]


def test_degrees_under_a_projected_crs():
    info = resolve_crs("EPSG:4544")
    assert check_area_of_use(np.array([106.5]), np.array([29.5]), info) == [0]
    assert "look like degrees" in describe_out_of_area(106.5, 29.5, info)


# --- datum shift configuration ---------------------------------------------------------


def test_parse_datum_shifts_forms():
    params = [-24.1, 109.0, 57.3, 1.2, -0.8, 2.1, 3.5]
    as_json = parse_datum_shifts('{"Xian1980": [-24.1, 109.0, 57.3, 1.2, -0.8, 2.1, 3.5]}')
    assert as_json == {"Xian1980": tuple(params)}
    short = parse_datum_shifts(
        "Xian1980=-24.1,109,57.3,1.2,-0.8,2.1,3.5; Beijing1954=1,2,3,0,0,0,0"
    )
    assert short["Xian1980"] == tuple(params)
    assert short["Beijing1954"] == (1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0)
    assert parse_datum_shifts(None) == {}
    assert parse_datum_shifts("  ") == {}


@pytest.mark.parametrize(
    "text",
    [
        '{"Xian80": [1,2,3,0,0,0,0]}',
        '{"Xian1980": [1,2,3]}',
        '{"Xian1980": [1,2,3,0,0,0,"x"]}',
        '{"Xian1980": [1,2,3,0,0,0,NaN]}',
        '{"Xian1980": [1e6,2,3,0,0,0,0]}',
        "[1,2,3]",
        "{not json",
        "Xian1980",
    ],
)
def test_parse_datum_shifts_refuses_bad_config(text):
    with pytest.raises(DatumTransformError):
        parse_datum_shifts(text)


def test_work_transformer_requires_grs80_and_projection():
    wt = crs_mod.work_transformer()
    x, y = wt.forward.transform(107.5, 30.0)
    assert (x, y) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert "ballpark" not in wt.forward.description.lower()
    with pytest.raises(ValueError, match="GRS80"):
        crs_mod.work_transformer("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=krass")
    with pytest.raises(ValueError, match="projected"):
        crs_mod.work_transformer("+proj=longlat +ellps=GRS80")
