"""Coordinate reference systems: the supported set, strict parsing, and transformations.

Storage is CGCS2000 geographic (EPSG:4490). Areas and distances are computed in metres in a
projected working CRS (an Albers equal-area projection on the CGCS2000 ellipsoid centred on
Chongqing, see :data:`AREA_CRS_DEFAULT`).

Three things PROJ alone would get wrong here, and what this module does instead:

* **Ballpark transformations.** PROJ knows no real transformation from Xian 1980 or Beijing
  1954 to CGCS2000 (nor between CGCS2000 and WGS 84): it falls back to a "ballpark"
  null transformation that silently moves nothing, while the real shifts are tens of
  metres. Every transformer here is built with ``allow_ballpark=False`` and its description
  is inspected; Xian 1980 / Beijing 1954 need configured 7-parameter Helmert shifts
  (``datum_shifts``) or :class:`DatumTransformError` is raised.
* **CGCS2000 vs WGS 84.** The two frames agree to a few centimetres in China (both are ITRF
  realisations; CGCS2000 is ITRF97 at epoch 2000.0, WGS 84 (G1150+) is aligned with ITRF2000+
  at the centimetre level). EPSG offers only a ballpark operation with *unknown* accuracy
  between them; we treat them as identical on purpose, with an explicit null Helmert
  (``+towgs84=0,0,0``) so PROJ does not pick, and report, a ballpark.
* **GCJ-02 / BD-09.** Unknown to PROJ; they are offsets of WGS 84 (see
  :mod:`planfuse.geo.offsets`) and are chained with PROJ steps here.

Untrusted CRS strings are matched against strict regular expressions and never passed to
pyproj; only the canonical keys of the supported set reach PROJ.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import BoundCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import ToWGS84Transformation
from pyproj.exceptions import CRSError, ProjError

from planfuse.geo import offsets
from planfuse.geo.errors import CoordinateRangeError, DatumTransformError, UnknownCRSError

STORAGE_CRS_KEY = "EPSG:4490"

# Datum names used in CRSInfo.datum and as keys of the datum-shift configuration.
CGCS2000 = "CGCS2000"
WGS84 = "WGS84"
XIAN1980 = "Xian1980"
BEIJING1954 = "Beijing1954"
# Datums that need configured Helmert parameters to reach CGCS2000.
SHIFTED_DATUMS = (XIAN1980, BEIJING1954)
# CGCS2000 and WGS 84 are treated as the same frame (see the module docstring).
_HUB_DATUMS = frozenset({CGCS2000, WGS84})

GCJ02_KEY = "GCJ-02"
BD09_KEY = "BD-09"
CRS84_KEY = "OGC:CRS84"

# Longest CRS string accepted; the longest real spelling (an http URI) is ~50 characters.
MAX_CRS_NAME_LENGTH = 200
# Longest .prj text accepted (real ones are under 1 KB).
MAX_PRJ_LENGTH = 20_000

# China as the GCJ-02 algorithm bounds it (degrees: west, south, east, north). Used as the
# area of use of the offset CRSs and as the latitude range of the Gauss–Krüger zone checks;
# it contains all Chinese territory including the South China Sea islands.
CHINA_BOUNDS_DEG = offsets.CHINA_BOX
# Half-width of a 3-degree zone, and the margin accepted beyond it (degrees of longitude).
# Why the margin: a department usually publishes a whole city in ONE zone (Chongqing spans
# 105.3–110.2°E, i.e. zones 35–37, yet a citywide layer in zone 35 is normal practice), and
# Gauss–Krüger stays a valid conformal projection far beyond its 3-degree band. What the
# check catches is garbage: swapped axes, degrees in a projected CRS, the wrong zone.
GK_HALF_ZONE_DEG = 1.5
GK_ZONE_MARGIN_DEG = 4.0
# Plausible eastings relative to the zone's false origin (m): up to ±500 km from the
# central meridian — the most a zone prefix allows before the easting would carry the next
# zone's number (about ±5.2° of longitude at 30°N).
EASTING_MIN_M = 0.0
EASTING_MAX_M = 999_999.999
GK_FALSE_EASTING_M = 500_000.0

# Default working CRS for areas and distances: Albers equal-area conic on the CGCS2000
# (GRS80) ellipsoid with standard parallels 28.5°N and 31.5°N and central meridian 107.5°E,
# i.e. centred on Chongqing (28.2–32.2°N, 105.3–110.2°E). Equal-area, so planar areas are
# ellipsoidal areas; the linear scale error inside Chongqing stays below 0.1 % (measured in
# tests/unit/geo/test_measure.py). lat_0=30 keeps coordinates small (±300 km), which keeps
# the shoelace area sums precise.
AREA_CRS_DEFAULT = (
    "+proj=aea +lat_0=30 +lat_1=28.5 +lat_2=31.5 +lon_0=107.5 +x_0=0 +y_0=0 "
    "+ellps=GRS80 +units=m +no_defs"
)

# GRS80 / CGCS2000 ellipsoid (CGCS2000 uses GRS80's a and 1/f; only GM and ω differ).
GRS80_A_M = 6378137.0
GRS80_INV_F = 298.257222101


@dataclass(frozen=True)
class CRSInfo:
    """A supported coordinate reference system.

    ``key`` is canonical ("EPSG:4523", "OGC:CRS84", "GCJ-02", "BD-09"). ``kind`` is
    "geographic" (degrees), "projected" (metres) or "offset" (GCJ-02/BD-09 degrees).
    ``area_of_use`` is (west, south, east, north) in degrees as EPSG gives it.
    ``latlon_axis_order`` is True for geographic CRSs whose EPSG definition lists latitude
    first (EPSG:4490, 4326, 4610, 4214) — OGC API output must then swap; False for
    OGC:CRS84 and the web offsets. ``first_axis_north`` generalises this to projected CRSs
    (the EPSG Gauss–Krüger CRSs list northing X first, as Chinese surveying does).
    Internally every coordinate is (x=easting/longitude, y=northing/latitude).
    """

    key: str
    name: str
    kind: str
    uri: str
    gk_zone: int | None
    central_meridian: float | None
    zone_prefixed: bool
    area_of_use: tuple[float, float, float, float]
    latlon_axis_order: bool
    datum: str
    first_axis_north: bool = False

    @property
    def epsg(self) -> int | None:
        """The EPSG code, or None for OGC:CRS84, GCJ-02 and BD-09."""
        if self.key.startswith("EPSG:"):
            return int(self.key[5:])
        return None

    @property
    def is_geographic(self) -> bool:
        return self.kind == "geographic"

    @property
    def is_projected(self) -> bool:
        return self.kind == "projected"

    @property
    def is_offset(self) -> bool:
        return self.kind == "offset"

    @property
    def is_gauss_kruger(self) -> bool:
        return self.gk_zone is not None

    @property
    def degrees(self) -> bool:
        """True when coordinates are longitude/latitude degrees (geographic or offset)."""
        return self.kind != "projected"

    def __str__(self) -> str:
        return f"{self.key} ({self.name})"


# --- the supported set -----------------------------------------------------------------

_GEOGRAPHIC_EPSG = {4490: CGCS2000, 4326: WGS84, 4610: XIAN1980, 4214: BEIJING1954}
_DATUM_LABEL = {
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


def _pyproj_crs(key: str) -> CRS:
    """The pyproj CRS of a canonical key (never called with user text)."""
    if key == CRS84_KEY:
        return CRS.from_string("OGC:CRS84")
    return CRS.from_epsg(int(key.split(":", 1)[1]))


@functools.cache
def _info_for_key(key: str) -> CRSInfo:
    if key == GCJ02_KEY:
        return CRSInfo(
            key=GCJ02_KEY,
            name="GCJ-02 (AMap/Tencent web-map offset of WGS 84)",
            kind="offset",
            uri="urn:planfuse:crs:GCJ-02",
            gk_zone=None,
            central_meridian=None,
            zone_prefixed=False,
            area_of_use=CHINA_BOUNDS_DEG,
            latlon_axis_order=False,
            datum=WGS84,
        )
    if key == BD09_KEY:
        return CRSInfo(
            key=BD09_KEY,
            name="BD-09 (Baidu web-map offset of GCJ-02)",
            kind="offset",
            uri="urn:planfuse:crs:BD-09",
            gk_zone=None,
            central_meridian=None,
            zone_prefixed=False,
            area_of_use=CHINA_BOUNDS_DEG,
            latlon_axis_order=False,
            datum=WGS84,
        )
    crs = _pyproj_crs(key)
    aou = crs.area_of_use
    area = tuple(float(v) for v in aou.bounds) if aou else (-180.0, -90.0, 180.0, 90.0)
    first_north = crs.axis_info[0].direction == "north"
    if key == CRS84_KEY:
        return CRSInfo(
            key=CRS84_KEY,
            name=crs.name,
            kind="geographic",
            uri="http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            gk_zone=None,
            central_meridian=None,
            zone_prefixed=False,
            area_of_use=area,
            latlon_axis_order=False,
            datum=WGS84,
            first_axis_north=False,
        )
    code = int(key[5:])
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    if code in _GEOGRAPHIC_EPSG:
        return CRSInfo(
            key=key,
            name=crs.name,
            kind="geographic",
            uri=uri,
            gk_zone=None,
            central_meridian=None,
            zone_prefixed=False,
            area_of_use=area,
            latlon_axis_order=first_north,
            datum=_GEOGRAPHIC_EPSG[code],
            first_axis_north=first_north,
        )
    if code == 3857:
        return CRSInfo(
            key=key,
            name=crs.name,
            kind="projected",
            uri=uri,
            gk_zone=None,
            central_meridian=None,
            zone_prefixed=False,
            area_of_use=area,
            latlon_axis_order=False,
            datum=WGS84,
            first_axis_north=first_north,
        )
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


def supported_crs() -> list[CRSInfo]:
    """Every supported CRS, geographic first (for catalogues and OGC API ``crs`` lists)."""
    keys = ["EPSG:4490", "EPSG:4326", CRS84_KEY, "EPSG:3857"]
    keys += [f"EPSG:{c}" for c in range(4513, 4555)]
    keys += ["EPSG:4610", "EPSG:2359", "EPSG:2360", "EPSG:2361", "EPSG:2380", "EPSG:2381"]
    keys += ["EPSG:2382", "EPSG:4214", "EPSG:2411", "EPSG:2412", "EPSG:2413", "EPSG:2432"]
    keys += ["EPSG:2433", "EPSG:2434", GCJ02_KEY, BD09_KEY]
    return [_info_for_key(k) for k in keys]


# --- strict parsing of CRS names ---------------------------------------------------------

_FLAGS = re.IGNORECASE | re.ASCII
_EPSG_PATTERNS = (
    re.compile(r"EPSG:{1,2}(\d{1,6})", _FLAGS),
    re.compile(r"urn:ogc:def:crs:EPSG:(?:\d{1,3}(?:\.\d{1,3}){0,2})?:(\d{1,6})", _FLAGS),
    re.compile(r"https?://www\.opengis\.net/def/crs/EPSG/0/(\d{1,6})", _FLAGS),
)
_CRS84_PATTERN = re.compile(
    r"(?:OGC:)?CRS:?84"
    r"|urn:ogc:def:crs:OGC:(?:1\.3)?:CRS84"
    r"|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84",
    _FLAGS,
)
_GCJ_PATTERN = re.compile(r"GCJ[-_]?02|urn:planfuse:crs:GCJ-02", _FLAGS)
_BD_PATTERN = re.compile(r"BD[-_]?09|urn:planfuse:crs:BD-09", _FLAGS)


def _shown(text: str, limit: int = 60) -> str:
    """Untrusted text made safe to quote in a message: printable and bounded."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def _unknown(name: str) -> UnknownCRSError:
    return UnknownCRSError(
        f"CRS '{_shown(name)}' is unknown; use EPSG:NNNN, an OGC URI such as "
        "http://www.opengis.net/def/crs/EPSG/0/4490, GCJ-02 or BD-09. Supported: "
        + "; ".join(SUPPORTED_FAMILIES)
    )


def _unsupported_epsg(code: int) -> UnknownCRSError:
    # The code is a validated integer here, so asking pyproj about it is safe.
    try:
        name = CRS.from_epsg(code).name
    except CRSError:
        return _unknown(f"EPSG:{code}")
    return UnknownCRSError(
        f"CRS EPSG:{code} ({name}) is not supported; supported are " + "; ".join(SUPPORTED_FAMILIES)
    )


def resolve_crs(name: str, datum_shifts: Mapping[str, Sequence[float]] | None = None) -> CRSInfo:
    """Resolve a CRS name from untrusted input onto the supported set.

    Accepts "EPSG:4523" (any case, also "EPSG::4523"), "urn:ogc:def:crs:EPSG::4523",
    "http(s)://www.opengis.net/def/crs/EPSG/0/4523", OGC CRS84 spellings ("CRS84",
    "OGC:CRS84", its URN and http URI), "GCJ-02"/"GCJ02" and "BD-09"/"BD09".

    If ``datum_shifts`` is given (the configured Helmert parameters, see
    :func:`parse_datum_shifts`), the caller intends to transform to storage: the shifts are
    validated, and a Xian 1980 / Beijing 1954 CRS without configured parameters is refused
    here with :class:`DatumTransformError` rather than at transformation time.

    Raises :class:`UnknownCRSError` for anything else, naming the supported families.
    """
    if not isinstance(name, str):
        raise UnknownCRSError("CRS must be a string such as EPSG:4490")
    text = name.strip()
    if not text or len(text) > MAX_CRS_NAME_LENGTH:
        raise _unknown(name)
    info: CRSInfo | None = None
    for pattern in _EPSG_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            code = int(m.group(1))
            if not is_supported_epsg(code):
                raise _unsupported_epsg(code)
            info = _info_for_key(f"EPSG:{code}")
            break
    else:
        if _CRS84_PATTERN.fullmatch(text):
            info = _info_for_key(CRS84_KEY)
        elif _GCJ_PATTERN.fullmatch(text):
            info = _info_for_key(GCJ02_KEY)
        elif _BD_PATTERN.fullmatch(text):
            info = _info_for_key(BD09_KEY)
    if info is None:
        raise _unknown(name)
    if datum_shifts is not None:
        shifts = normalize_datum_shifts(datum_shifts)
        if info.datum in SHIFTED_DATUMS and info.datum not in shifts:
            raise _missing_shift(info.datum)
    return info


# Datum names under which an ellipsoid match is trusted: ours, or explicitly unspecified
# (ArcGIS writes "Not_specified_based_on_GRS_1980_ellipsoid"). A named local datum
# (城市独立坐标系) on the same ellipsoid is something else and stays refused.
_PRJ_DATUM_NAMES = re.compile(r"2000|china|cgcs|xian|xi'an|beijing|1980|1954|not.specified|unknown")


def _epsg_from_prj_structure(crs: CRS) -> int | None:
    """Identify a supported CRS from a .prj's parameters when EPSG lookup fails.

    Shapefiles written by older tools often carry unnamed CRSs; a transverse Mercator with
    scale 1, origin latitude 0, no false northing, a central meridian on a multiple of 3°
    and a false easting of 500 km (optionally zone-prefixed) on one of the three Chinese
    ellipsoids is the 3-degree Gauss–Krüger CRS of that datum.
    """

    def datum_of(ellipsoid) -> str | None:
        a = ellipsoid.semi_major_metre
        inv_f = ellipsoid.inverse_flattening
        if abs(a - GRS80_A_M) < 1e-3 and abs(inv_f - GRS80_INV_F) < 1e-6:
            return CGCS2000
        if abs(a - 6378140.0) < 1e-3 and abs(inv_f - 298.257) < 1e-6:
            return XIAN1980
        if abs(a - 6378245.0) < 1e-3 and abs(inv_f - 298.3) < 1e-6:
            return BEIJING1954
        return None

    if crs.is_bound:
        return None  # a custom +towgs84 shift: a local datum, not one of ours
    datum = datum_of(crs.ellipsoid)
    datum_name = (crs.datum.name if crs.datum else "").lower()
    if datum is None or not _PRJ_DATUM_NAMES.search(datum_name):
        return None
    if crs.is_geographic:
        return {CGCS2000: 4490, XIAN1980: 4610, BEIJING1954: 4214}[datum]
    op = crs.coordinate_operation
    if not crs.is_projected or op is None or "mercator" not in op.method_name.lower():
        return None
    params = {p.name.lower(): p.value for p in op.params}
    cm = params.get("longitude of natural origin")
    fe = params.get("false easting")
    if (
        cm is None
        or fe is None
        or params.get("scale factor at natural origin") != 1.0
        or params.get("latitude of natural origin", 0.0) != 0.0
        or params.get("false northing", 0.0) != 0.0
        or cm % 3.0 != 0.0
        or crs.axis_info[0].unit_name not in ("metre", "meter")
    ):
        return None
    zone = int(cm // 3)
    if fe == GK_FALSE_EASTING_M:
        return gk_epsg(datum, zone, prefixed=False)
    if fe == zone * 1_000_000 + GK_FALSE_EASTING_M:
        return gk_epsg(datum, zone, prefixed=True)
    return None


def crs_from_prj(wkt: str) -> CRSInfo:
    """Identify the CRS of a shapefile ``.prj`` (ESRI or OGC WKT) within the supported set.

    pyproj matches the WKT against the EPSG database; unnamed Gauss–Krüger definitions are
    recognised from their parameters. Raises :class:`UnknownCRSError` naming what the .prj
    says when it is unreadable or not in the supported set.
    """
    if not isinstance(wkt, str) or not wkt.strip():
        raise UnknownCRSError("the .prj file is empty; declare the CRS, e.g. EPSG:4490")
    if len(wkt) > MAX_PRJ_LENGTH:
        raise UnknownCRSError("the .prj file is too long to be a CRS definition")
    try:
        crs = CRS.from_wkt(wkt.strip())
    except (CRSError, ProjError) as exc:
        raise UnknownCRSError(
            f"the .prj file is not a readable WKT CRS ({_shown(str(exc), 120)}); "
            "declare the CRS instead, e.g. EPSG:4523"
        ) from exc
    code = crs.to_epsg(min_confidence=70)
    if code is None or not is_supported_epsg(code):
        structural = _epsg_from_prj_structure(crs)
        if structural is not None and is_supported_epsg(structural):
            code = structural
    if code is not None and is_supported_epsg(code):
        return _info_for_key(f"EPSG:{code}")
    said = _shown(crs.name or "unnamed", 100)
    found = f" (EPSG:{code})" if code is not None else ""
    raise UnknownCRSError(
        f"the .prj file describes '{said}'{found}, which is not supported; "
        "reproject the data or declare one of: " + "; ".join(SUPPORTED_FAMILIES)
    )


# --- datum shifts ------------------------------------------------------------------------

# Loose sanity bounds on Helmert parameters (translations m, rotations ″, scale ppm). Real
# regional Xian 1980/Beijing 1954 → CGCS2000 sets have translations of up to a few hundred
# metres and rotations of a few arc-seconds; these bounds only catch unit mistakes.
_MAX_TRANSLATION_M = 10_000.0
_MAX_ROTATION_ARCSEC = 1_000.0
_MAX_SCALE_PPM = 10_000.0

DatumShifts = tuple[tuple[str, tuple[float, ...]], ...]


def _missing_shift(datum: str) -> DatumTransformError:
    label = _DATUM_LABEL[datum]
    return DatumTransformError(
        f"{label} → CGCS2000 needs a configured 7-parameter (Helmert) transformation; "
        f"PROJ only knows a 'ballpark' one that silently moves nothing while the real shift "
        f"is tens of metres. Set PLANFUSE_DATUM_SHIFTS, e.g. "
        f'{{"{datum}": [dx, dy, dz, rx, ry, rz, ds]}} with translations in metres, '
        f"rotations in arc-seconds (position-vector convention) and scale in ppm, or convert "
        f"the data to CGCS2000 (EPSG:4490 or a CGCS2000 Gauss–Krüger zone) first."
    )


def normalize_datum_shifts(datum_shifts: Mapping[str, Sequence[float]] | None) -> dict:
    """Validate datum-shift configuration: ``{"Xian1980"|"Beijing1954": [7 numbers]}``.

    Parameters are [dx, dy, dz] in metres, [rx, ry, rz] in arc-seconds and ds in ppm, in
    the position-vector convention (EPSG method 9606, PROJ ``+towgs84``), transforming the
    old datum to CGCS2000. Parameters published in the coordinate-frame convention (EPSG
    9607, often labelled "Coordinate Frame" in ArcGIS) have the rotations' signs reversed.
    Returns a dict of datum → tuple of 7 floats; raises :class:`DatumTransformError`.
    """
    if not datum_shifts:
        return {}
    out: dict[str, tuple[float, ...]] = {}
    for datum, params in datum_shifts.items():
        if datum not in SHIFTED_DATUMS:
            raise DatumTransformError(
                f"datum shift for '{_shown(str(datum))}' is not understood; "
                f"the keys are {' and '.join(SHIFTED_DATUMS)}"
            )
        try:
            values = tuple(float(v) for v in params)
        except (TypeError, ValueError) as exc:
            raise DatumTransformError(
                f"datum shift for {datum} must be 7 numbers [dx, dy, dz, rx, ry, rz, ds]"
            ) from exc
        if len(values) != 7 or not all(math.isfinite(v) for v in values):
            raise DatumTransformError(
                f"datum shift for {datum} must be 7 finite numbers "
                "[dx, dy, dz (m), rx, ry, rz (arc-seconds), ds (ppm)]"
            )
        if (
            max(abs(v) for v in values[:3]) > _MAX_TRANSLATION_M
            or max(abs(v) for v in values[3:6]) > _MAX_ROTATION_ARCSEC
            or abs(values[6]) > _MAX_SCALE_PPM
        ):
            raise DatumTransformError(
                f"datum shift for {datum} is implausibly large; check the units: "
                "translations in metres, rotations in arc-seconds, scale in ppm"
            )
        out[datum] = values
    return out


def parse_datum_shifts(text: str | None) -> dict:
    """Parse the ``PLANFUSE_DATUM_SHIFTS`` setting.

    Accepts JSON (``{"Xian1980": [dx, dy, dz, rx, ry, rz, ds]}``) or the short form
    ``Xian1980=dx,dy,dz,rx,ry,rz,ds;Beijing1954=...``. Returns the validated dict (see
    :func:`normalize_datum_shifts`); empty text gives {}.
    """
    if text is None or not text.strip():
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise DatumTransformError(f"PLANFUSE_DATUM_SHIFTS is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise DatumTransformError("PLANFUSE_DATUM_SHIFTS must be a JSON object")
        return normalize_datum_shifts(raw)
    raw = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, values = item.partition("=")
        if not sep:
            raise DatumTransformError(
                "PLANFUSE_DATUM_SHIFTS items look like Xian1980=dx,dy,dz,rx,ry,rz,ds"
            )
        raw[key.strip()] = [v for v in values.split(",")]
    return normalize_datum_shifts(raw)


# --- transformations ---------------------------------------------------------------------

_Step = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class CoordTransform:
    """A chain of steps from one supported CRS to another, on (x, y) numpy arrays.

    Steps are pyproj transformers (always_xy, never ballpark) and the GCJ-02/BD-09 offset
    functions. Instances are immutable and thread-safe (pyproj ≥ 3.1 transformers are).
    """

    def __init__(self, src_key: str, dst_key: str, steps: Sequence[_Step], description: str):
        self.src_key = src_key
        self.dst_key = dst_key
        self._steps = tuple(steps)
        self.description = description

    @property
    def is_identity(self) -> bool:
        return not self._steps

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transform coordinate arrays; returns new float64 arrays (x, y)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        for step in self._steps:
            x, y = step(x, y)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def __repr__(self) -> str:
        return f"<CoordTransform {self.src_key} → {self.dst_key}: {self.description}>"


def _assert_not_ballpark(t: Transformer, src: CRSInfo, dst: CRSInfo) -> None:
    names = [t.description or ""]
    names += [op.name or "" for op in (t.operations or ())]
    if any("ballpark" in n.lower() for n in names):
        raise DatumTransformError(
            f"PROJ offers only a ballpark transformation from {src.key} to {dst.key}; "
            "refused because it would silently ignore the datum shift"
        )


def _bound(info: CRSInfo, params: Sequence[float]) -> BoundCRS:
    crs = _pyproj_crs(info.key)
    return BoundCRS(
        source_crs=crs,
        target_crs=CRS.from_epsg(4326),
        transformation=ToWGS84Transformation(crs.geodetic_crs, *params),
    )


def _pyproj_step(src: CRSInfo, dst: CRSInfo, shifts: Mapping[str, tuple]) -> Transformer:
    """A pyproj transformer between two PROJ-known supported CRSs, never a ballpark."""
    if src.datum == dst.datum:
        a, b = _pyproj_crs(src.key), _pyproj_crs(dst.key)
    else:
        # Different datums: both sides become bound CRSs on the CGCS2000≡WGS 84 hub, with
        # the configured Helmert parameters for Xian 1980/Beijing 1954 and an explicit
        # null shift for CGCS2000/WGS 84, so PROJ composes Helmert steps, not a ballpark.
        params = {}
        for info in (src, dst):
            if info.datum in _HUB_DATUMS:
                params[info.datum] = (0.0,) * 7
            elif info.datum in shifts:
                params[info.datum] = shifts[info.datum]
            else:
                raise _missing_shift(info.datum)
        a, b = _bound(src, params[src.datum]), _bound(dst, params[dst.datum])
    try:
        t = Transformer.from_crs(a, b, always_xy=True, allow_ballpark=False)
    except ProjError as exc:
        raise DatumTransformError(
            f"no transformation without a ballpark step from {src.key} to {dst.key}"
        ) from exc
    _assert_not_ballpark(t, src, dst)
    return t


def _pyproj_callable(t: Transformer) -> _Step:
    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return t.transform(x, y)

    return step


def _shift_key(datum_shifts, src_key: str, dst_key: str) -> DatumShifts:
    """Hashable, minimal cache key: only the shifts of datums this pair involves."""
    shifts = normalize_datum_shifts(datum_shifts)
    involved = {_info_for_key(src_key).datum, _info_for_key(dst_key).datum}
    return tuple(sorted((d, v) for d, v in shifts.items() if d in involved))


def get_transformer(
    src_key: str, dst_key: str, datum_shifts: Mapping[str, Sequence[float]] | None = None
) -> CoordTransform:
    """The cached transformation between two supported CRSs (canonical keys or any
    spelling :func:`resolve_crs` accepts).

    Raises :class:`DatumTransformError` when only a ballpark transformation exists (Xian
    1980 / Beijing 1954 without configured shifts).
    """
    src = resolve_crs(src_key)
    dst = resolve_crs(dst_key)
    return _cached_transformer(src.key, dst.key, _shift_key(datum_shifts, src.key, dst.key))


@functools.lru_cache(maxsize=256)
def _cached_transformer(src_key: str, dst_key: str, shift_key: DatumShifts) -> CoordTransform:
    src = _info_for_key(src_key)
    dst = _info_for_key(dst_key)
    shifts = dict(shift_key)
    if src.key == dst.key:
        return CoordTransform(src.key, dst.key, (), "identity")
    pair = (src.key, dst.key)
    if pair == (GCJ02_KEY, BD09_KEY):
        return CoordTransform(*pair, (offsets.gcj02_to_bd09,), "GCJ-02 → BD-09 offset")
    if pair == (BD09_KEY, GCJ02_KEY):
        return CoordTransform(*pair, (offsets.bd09_to_gcj02,), "BD-09 → GCJ-02 offset")
    steps: list[_Step] = []
    labels: list[str] = []
    storage = _info_for_key(STORAGE_CRS_KEY)
    mid_src, mid_dst = src, dst
    if src.is_offset:
        steps.append(offsets.gcj02_to_wgs84 if src.key == GCJ02_KEY else offsets.bd09_to_wgs84)
        labels.append(f"{src.key} → WGS 84≡CGCS2000 (iterated inverse offset)")
        mid_src = storage
    if dst.is_offset:
        mid_dst = storage
    if mid_src.key != mid_dst.key:
        t = _pyproj_step(mid_src, mid_dst, shifts)
        steps.append(_pyproj_callable(t))
        labels.append(t.description)
    if dst.is_offset:
        steps.append(offsets.wgs84_to_gcj02 if dst.key == GCJ02_KEY else offsets.wgs84_to_bd09)
        labels.append(f"WGS 84≡CGCS2000 → {dst.key} (offset)")
    return CoordTransform(src.key, dst.key, steps, " + ".join(labels))


def _as_info(crs: CRSInfo | str) -> CRSInfo:
    return crs if isinstance(crs, CRSInfo) else resolve_crs(crs)


def transform_coords(
    x: np.ndarray,
    y: np.ndarray,
    src: CRSInfo | str,
    dst: CRSInfo | str,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (x=easting/longitude, y=northing/latitude) from ``src``
    to ``dst``; units are those of each CRS (degrees or metres).

    Raises :class:`CoordinateRangeError` if finite input gives non-finite output (a point
    outside the projection's domain) and :class:`DatumTransformError` for refused datum
    changes.
    """
    src, dst = _as_info(src), _as_info(dst)
    t = get_transformer(src.key, dst.key, datum_shifts)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ox, oy = t(x, y)
    _check_finite_output(x, y, ox, oy, src, dst)
    return ox, oy


def _check_finite_output(x, y, ox, oy, src: CRSInfo, dst: CRSInfo) -> None:
    bad = np.isfinite(x) & np.isfinite(y) & ~(np.isfinite(ox) & np.isfinite(oy))
    if bad.any():
        idx = np.flatnonzero(bad.ravel())
        raise CoordinateRangeError(
            f"{idx.size} coordinate(s) cannot be transformed from {src.key} to {dst.key} "
            f"(outside the projection's domain), first at vertex {int(idx[0])}"
        )


def transform_geometry(
    geometry,
    src: CRSInfo | str,
    dst: CRSInfo | str,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
):
    """Reproject a shapely geometry or a numpy array of them (vectorised: one pass over all
    coordinates of the array). Z is dropped; the result is 2D. Returns the same shape of
    input (geometry → geometry, array → new array); identity transforms return the input.
    """
    src, dst = _as_info(src), _as_info(dst)
    t = get_transformer(src.key, dst.key, datum_shifts)
    if t.is_identity:
        return geometry

    def apply(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ox, oy = t(x, y)
        _check_finite_output(x, y, ox, oy, src, dst)
        return ox, oy

    return shapely.transform(geometry, apply, include_z=False, interleaved=False)


# --- zone and area-of-use checks ---------------------------------------------------------


def gk_zone_for_lon(lon: float) -> tuple[int, int]:
    """The CGCS2000 3-degree GK CRSs whose central meridian is nearest ``lon`` (degrees):
    (zone-prefixed EPSG code 4513–4533, unprefixed EPSG code 4534–4554).

    On a zone edge (x.5 × 3°, e.g. 106.5°E) the eastern zone is chosen. Raises
    :class:`CoordinateRangeError` outside zones 25–45 (73.5°E–136.5°E).
    """
    lon = float(lon)
    if not math.isfinite(lon):
        raise CoordinateRangeError(f"longitude {lon} is not a finite number")
    zone = math.floor(lon / 3.0 + 0.5)
    if not 25 <= zone <= 45:
        raise CoordinateRangeError(
            f"longitude {lon:.6f} is outside the CGCS2000 3-degree zones 25–45 (73.5°E–136.5°E)"
        )
    return 4513 + zone - 25, 4534 + zone - 25


def _gk_suggestion(crs: CRSInfo, zone: int, prefixed: bool) -> str:
    code = gk_epsg(crs.datum, zone, prefixed)
    if code is None:
        return f"zone {zone} has no {_DATUM_LABEL[crs.datum]} 3-degree CRS"
    if not is_supported_epsg(code):
        return (
            f"the data is in {_DATUM_LABEL[crs.datum]} zone {zone} (EPSG:{code}), which is "
            "not supported; convert it to CGCS2000 first"
        )
    return f"use EPSG:{code}"


def _fmt_m(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1e12 else f"{value:.6g}"


def describe_easting(easting: float, crs: CRSInfo) -> str | None:
    """Why ``easting`` (m) cannot be an easting of the GK ``crs``, with the CRS to use
    instead; None if it is plausible (or ``crs`` is not Gauss–Krüger)."""
    if not crs.is_gauss_kruger:
        return None
    e = float(easting)
    shown = _fmt_m(e)
    if not math.isfinite(e):
        return f"easting {e} is not a finite number"
    zone = crs.gk_zone
    assert zone is not None
    prefix = int(e // 1_000_000) if e >= 1_000_000 else 0
    inner = e - prefix * 1_000_000
    plausible_inner = EASTING_MIN_M <= inner <= EASTING_MAX_M
    range_text = f"{EASTING_MIN_M:.0f}–{EASTING_MAX_M:.0f} m"
    if crs.zone_prefixed:
        if prefix == zone and plausible_inner:
            return None
        if prefix == 0 and plausible_inner:
            return (
                f"easting {shown} has no zone prefix but {crs.key} (zone {zone}) expects "
                f"the zone number in front, like {zone}{int(inner):06d}; "
                + _gk_suggestion(crs, zone, prefixed=False)
                + " for eastings without a prefix"
            )
        if 13 <= prefix <= 60 and plausible_inner:
            return (
                f"easting {shown} has zone prefix {prefix} but {crs.key} is zone {zone}; "
                + _gk_suggestion(crs, prefix, prefixed=True)
            )
        if prefix == zone:
            return (
                f"easting {shown} is {_fmt_m(inner)} m from the zone origin; a 3-degree zone "
                f"spans about {range_text} (check the CRS, or whether X and Y are swapped)"
            )
        return (
            f"easting {shown} is not a zone-{zone} easting of {crs.key} (expected "
            f"{zone}{int(EASTING_MIN_M):06d}–{zone}{int(EASTING_MAX_M):06d} m); check the "
            "CRS, or whether X (northing) and Y (easting) are swapped"
        )
    if prefix == 0 and plausible_inner:
        return None
    if 13 <= prefix <= 60 and plausible_inner:
        return (
            f"easting {shown} looks zone-prefixed (zone {prefix}) but {crs.key} has no "
            f"zone prefix; " + _gk_suggestion(crs, prefix, prefixed=True)
        )
    return (
        f"easting {shown} is outside the plausible range {range_text} of {crs.key} "
        f"(3-degree zone, CM {crs.central_meridian:g}°E); check the CRS, or whether X "
        "(northing) and Y (easting) are swapped"
    )


def check_gk_eastings(x: np.ndarray, crs: CRSInfo) -> list[int]:
    """Indices of eastings (m) that cannot belong to the Gauss–Krüger ``crs``: a wrong or
    missing zone prefix, or more than 500 km from the zone's central meridian. Use
    :func:`describe_easting` for the message. Empty for non-GK CRSs."""
    if not crs.is_gauss_kruger:
        return []
    x = np.asarray(x, dtype=np.float64).ravel()
    offset = crs.gk_zone * 1_000_000.0 if crs.zone_prefixed else 0.0
    ok = (x >= offset + EASTING_MIN_M) & (x <= offset + EASTING_MAX_M)
    return np.flatnonzero(~ok).tolist()


def area_of_use_bounds(crs: CRSInfo) -> tuple[float, float, float, float]:
    """The lon/lat box (degrees) vertices of ``crs`` are checked against.

    Gauss–Krüger zones: the zone's band ±1.5° plus a 4° margin, within China's latitudes.
    Everything else: China (the storage CRS EPSG:4490 serves China; a WGS 84 or web
    Mercator coordinate elsewhere is a mistake here even though the CRS is global).
    """
    west, south, east, north = CHINA_BOUNDS_DEG
    if crs.is_gauss_kruger:
        half = GK_HALF_ZONE_DEG + GK_ZONE_MARGIN_DEG
        return crs.central_meridian - half, south, crs.central_meridian + half, north
    return west, south, east, north


@functools.lru_cache(maxsize=64)
def _to_own_geographic(key: str) -> Transformer:
    crs = _pyproj_crs(key)
    t = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True, allow_ballpark=False)
    return t


def to_lonlat(x: np.ndarray, y: np.ndarray, crs: CRSInfo) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in degrees on the CRS's own datum (no datum shift; offsets kept),
    for range checks. Points outside a projection's domain give NaN/inf."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if crs.degrees:
        return x, y
    return _to_own_geographic(crs.key).transform(x, y, errcheck=False)


def check_area_of_use(x: np.ndarray, y: np.ndarray, crs: CRSInfo) -> list[int]:
    """Indices of vertices outside the CRS's area of use (see :func:`area_of_use_bounds`).

    ``x``/``y`` are in the CRS's units; projected coordinates are back-projected to
    longitude/latitude first. Non-finite coordinates count as outside.
    """
    lon, lat = to_lonlat(x, y, crs)
    west, south, east, north = area_of_use_bounds(crs)
    lon = np.asarray(lon).ravel()
    lat = np.asarray(lat).ravel()
    ok = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return np.flatnonzero(~ok).tolist()


def describe_out_of_area(x: float, y: float, crs: CRSInfo) -> str:
    """Message for a vertex outside the area of use, with the likeliest fix."""
    west, south, east, north = area_of_use_bounds(crs)
    where = f"({_fmt_coord(x, crs)}, {_fmt_coord(y, crs)})"
    text = (
        f"vertex {where} is outside the area of use of {crs.key} "
        f"(longitude {west:g}–{east:g}°E, latitude {south:g}–{north:g}°N)"
    )
    if crs.degrees:
        if south <= x <= north and west <= y <= east:
            return text + "; longitude and latitude look swapped (x must be the longitude)"
        if abs(x) > 360 or abs(y) > 360:
            hint = _guess_projected(x, y)
            return text + f"; the values look like projected metres — {hint}"
        return text
    if abs(x) <= 360 and abs(y) <= 360:
        return text + "; the values look like degrees — use EPSG:4490 for longitude/latitude"
    if crs.is_gauss_kruger:
        lon, _ = to_lonlat(np.array([x]), np.array([y]), crs)
        lon0 = float(lon[0])
        if math.isfinite(lon0) and 73.5 <= lon0 < 136.5:
            prefixed, plain = gk_zone_for_lon(lon0)
            code = prefixed if crs.zone_prefixed else plain
            if crs.datum == CGCS2000:
                return text + f"; it lies at {lon0:.3f}°E, use EPSG:{code}"
            return text + f"; it lies at {lon0:.3f}°E, outside this zone"
    return text


def _fmt_coord(v: float, crs: CRSInfo) -> str:
    return f"{v:.8g}" if crs.degrees else _fmt_m(v)


def _guess_projected(x: float, y: float) -> str:
    for e, n in ((x, y), (y, x)):
        if e >= 1_000_000 and 25 <= e // 1_000_000 <= 45 and 0 < n < 7_000_000:
            zone = int(e // 1_000_000)
            swapped = " with x and y swapped" if (e, n) != (x, y) else ""
            return (
                f"zone-prefixed Gauss–Krüger eastings of zone {zone}{swapped}, "
                f"e.g. EPSG:{4513 + zone - 25}"
            )
    return "declare the projected CRS they are in (e.g. a CGCS2000 Gauss–Krüger zone)"


# --- the working CRS (areas and distances in metres) ------------------------------------


@dataclass(frozen=True)
class WorkTransformer:
    """Storage (EPSG:4490 lon/lat degrees) ↔ working CRS (metres) transformers."""

    proj: str
    forward: Transformer
    inverse: Transformer


@functools.lru_cache(maxsize=8)
def work_transformer(area_crs_proj: str = AREA_CRS_DEFAULT) -> WorkTransformer:
    """The cached transformers between storage and the working CRS ``area_crs_proj``
    (a PROJ string from configuration, not from users; default :data:`AREA_CRS_DEFAULT`).

    The projection is bound to the CGCS2000 datum itself (not to "unknown datum based on
    GRS80", for which PROJ would insert a ballpark step); its ellipsoid must be GRS80.
    """
    try:
        parsed = CRS.from_user_input(area_crs_proj)
    except CRSError as exc:
        raise ValueError(f"working CRS '{_shown(area_crs_proj, 200)}' is invalid") from exc
    if not parsed.is_projected:
        raise ValueError("the working CRS must be projected (metres)")
    ell = parsed.ellipsoid
    if (
        abs(ell.semi_major_metre - GRS80_A_M) > 1e-3
        or abs(ell.inverse_flattening - GRS80_INV_F) > 1e-6
    ):
        raise ValueError("the working CRS must use the GRS80 (CGCS2000) ellipsoid")
    storage = CRS.from_epsg(4490)
    work = ProjectedCRS(
        conversion=parsed.coordinate_operation,
        geodetic_crs=storage,
        name="PlanFuse working CRS",
    )
    fwd = Transformer.from_crs(storage, work, always_xy=True, allow_ballpark=False)
    inv = Transformer.from_crs(work, storage, always_xy=True, allow_ballpark=False)
    for t in (fwd, inv):
        if "ballpark" in (t.description or "").lower():
            raise ValueError("the working CRS needs a ballpark transformation")
    return WorkTransformer(area_crs_proj, fwd, inv)
