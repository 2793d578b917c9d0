"""The supported set: geographic CRSs, web Mercator, the 3-degree Gauss–Krüger zones of
CGCS2000, Xian 1980 and Beijing 1954 (by EPSG code), and the GCJ-02 / BD-09 offsets.
"""

from __future__ import annotations

import functools

from pyproj import CRS

from planfuse.geo.crs.info import (
    BD09_KEY,
    BEIJING1954,
    CGCS2000,
    CHINA_BOUNDS_DEG,
    CRS84_KEY,
    GCJ02_KEY,
    WGS84,
    XIAN1980,
    CRSInfo,
)

# --- the supported set -----------------------------------------------------------------

_GEOGRAPHIC_EPSG = {4490: CGCS2000, 4326: WGS84, 4610: XIAN1980, 4214: BEIJING1954}
DATUM_LABEL = {
    CGCS2000: "CGCS2000",
    WGS84: "WGS 84",
    XIAN1980: "Xian 1980",
    BEIJING1954: "Beijing 1954",
}

# EPSG code ranges of the 3-degree Gauss–Krüger CRSs: (first code, first zone, last zone,
# zone prefixed, datum). The codes follow EPSG's numbering (checked against pyproj in the
# unit tests): CGCS2000 4513–4533 are zones 25–45 with the zone number in front of the
# easting, 4534–4554 the same zones by central meridian (75°E–135°E) without it; Xian 1980
# 2349–2369 / 2370–2390 and Beijing 1954 2401–2421 / 2422–2442 likewise, of which only the
# three zones covering Chongqing (35–37, CM 105°E/108°E/111°E) are supported.
_GK_RANGES = (
    (4513, 25, 45, True, CGCS2000),
    (4534, 25, 45, False, CGCS2000),
    (2349, 25, 45, True, XIAN1980),
    (2370, 25, 45, False, XIAN1980),
    (2401, 25, 45, True, BEIJING1954),
    (2422, 25, 45, False, BEIJING1954),
)
# The zones supported per datum.
_SUPPORTED_ZONES = {CGCS2000: range(25, 46), XIAN1980: range(35, 38), BEIJING1954: range(35, 38)}

SUPPORTED_FAMILIES = (
    "EPSG:4490 (CGCS2000)",
    "EPSG:4326 or OGC:CRS84 (WGS 84)",
    "EPSG:3857 (web Mercator)",
    "EPSG:4513–4533 (CGCS2000 3-degree Gauss–Krüger zones 25–45, zone-prefixed eastings)",
    "EPSG:4534–4554 (CGCS2000 3-degree Gauss–Krüger CM 75°E–135°E, no prefix)",
    "EPSG:4610, 2359–2361, 2380–2382 (Xian 1980 geographic and GK zones 35–37 / CM 105°E–111°E)",
    "EPSG:4214, 2411–2413, 2432–2434 (Beijing 1954 geographic and GK zones 35–37 / CM 105°E–111°E)",
    "GCJ-02 (AMap, Tencent)",
    "BD-09 (Baidu)",
)


def gk_epsg(datum: str, zone: int, prefixed: bool) -> int | None:
    """EPSG code of the 3-degree GK CRS of ``datum`` for ``zone`` (25–45), or None."""
    for first, z0, z1, pref, d in _GK_RANGES:
        if d == datum and pref == prefixed and z0 <= zone <= z1:
            return first + zone - z0
    return None


def _gk_spec(code: int) -> tuple[str, int, bool] | None:
    """(datum, zone, prefixed) of a supported GK EPSG code, else None."""
    for first, z0, z1, prefixed, datum in _GK_RANGES:
        if first <= code <= first + (z1 - z0):
            zone = z0 + code - first
            if zone in _SUPPORTED_ZONES[datum]:
                return datum, zone, prefixed
            return None
    return None


def is_supported_epsg(code: int) -> bool:
    """True if EPSG:``code`` is in the supported set."""
    return code in _GEOGRAPHIC_EPSG or code == 3857 or _gk_spec(code) is not None


def pyproj_crs(key: str) -> CRS:
    """The pyproj CRS of a canonical key (never called with user text)."""
    if key == CRS84_KEY:
        return CRS.from_string("OGC:CRS84")
    return CRS.from_epsg(int(key.split(":", 1)[1]))


@functools.cache
def info_for_key(key: str) -> CRSInfo:
    """The CRSInfo of a canonical key of the supported set (cached)."""
    if key in (GCJ02_KEY, BD09_KEY):
        return _offset_info(key)
    crs = pyproj_crs(key)
    aou = crs.area_of_use
    area = tuple(float(v) for v in aou.bounds) if aou else (-180.0, -90.0, 180.0, 90.0)
    first_north = crs.axis_info[0].direction == "north"
    if key == CRS84_KEY:
        uri = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        return _info(key, crs.name, "geographic", uri, area, WGS84)
    code = int(key[5:])
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    if code in _GEOGRAPHIC_EPSG:
        # EPSG's geographic CRSs list latitude first; OGC API output must then swap.
        datum = _GEOGRAPHIC_EPSG[code]
        return _info(key, crs.name, "geographic", uri, area, datum, first_north, first_north)
    if code == 3857:
        return _info(key, crs.name, "projected", uri, area, WGS84, False, first_north)
    spec = _gk_spec(code)
    assert spec is not None, key
    datum, zone, prefixed = spec
    return CRSInfo(
        key=key,
        name=crs.name,
        kind="projected",
        uri=uri,
        gk_zone=zone,
        central_meridian=3.0 * zone,
        zone_prefixed=prefixed,
        area_of_use=area,
        latlon_axis_order=False,
        datum=datum,
        first_axis_north=first_north,
    )


def _offset_info(key: str) -> CRSInfo:
    """GCJ-02 or BD-09: web-map offsets of WGS 84 over China, longitude first."""
    if key == GCJ02_KEY:
        name = "GCJ-02 (AMap/Tencent web-map offset of WGS 84)"
    else:
        name = "BD-09 (Baidu web-map offset of GCJ-02)"
    uri = f"urn:planfuse:crs:{key}"
    return _info(key, name, "offset", uri, CHINA_BOUNDS_DEG, WGS84)


def _info(
    key: str,
    name: str,
    kind: str,
    uri: str,
    area: tuple[float, float, float, float],
    datum: str,
    latlon_axis_order: bool = False,
    first_axis_north: bool = False,
) -> CRSInfo:
    """A CRS that is not a Gauss–Krüger zone."""
    return CRSInfo(
        key=key,
        name=name,
        kind=kind,
        uri=uri,
        gk_zone=None,
        central_meridian=None,
        zone_prefixed=False,
        area_of_use=area,
        latlon_axis_order=latlon_axis_order,
        datum=datum,
        first_axis_north=first_axis_north,
    )


def supported_crs() -> list[CRSInfo]:
    """Every supported CRS, geographic first (for catalogues and OGC API ``crs`` lists)."""
    keys = ["EPSG:4490", "EPSG:4326", CRS84_KEY, "EPSG:3857"]
    keys += [f"EPSG:{c}" for c in range(4513, 4555)]
    keys += ["EPSG:4610", "EPSG:2359", "EPSG:2360", "EPSG:2361", "EPSG:2380", "EPSG:2381"]
    keys += ["EPSG:2382", "EPSG:4214", "EPSG:2411", "EPSG:2412", "EPSG:2413", "EPSG:2432"]
    keys += ["EPSG:2433", "EPSG:2434", GCJ02_KEY, BD09_KEY]
    return [info_for_key(k) for k in keys]
