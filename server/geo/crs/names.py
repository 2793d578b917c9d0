"""Strict parsing of CRS names and .prj files from untrusted input onto the supported set.

Untrusted CRS strings are matched against strict regular expressions and never passed to
pyproj; only the canonical keys of the supported set reach PROJ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from planfuse.geo.crs.datum import missing_shift, normalize_datum_shifts
from planfuse.geo.crs.info import (
    BD09_KEY,
    BEIJING1954,
    CGCS2000,
    CRS84_KEY,
    GCJ02_KEY,
    GRS80_A_M,
    GRS80_INV_F,
    MAX_CRS_NAME_LENGTH,
    MAX_PRJ_LENGTH,
    SHIFTED_DATUMS,
    XIAN1980,
    CRSInfo,
)
from planfuse.geo.crs.registry import SUPPORTED_FAMILIES, gk_epsg, info_for_key, is_supported_epsg
from planfuse.geo.crs.zones import GK_FALSE_EASTING_M
from planfuse.geo.errors import UnknownCRSError, shown

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


def _unknown(name: str) -> UnknownCRSError:
    return UnknownCRSError(
        f"CRS '{shown(name)}' is unknown; use EPSG:NNNN, an OGC URI such as "
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
            info = info_for_key(f"EPSG:{code}")
            break
    else:
        if _CRS84_PATTERN.fullmatch(text):
            info = info_for_key(CRS84_KEY)
        elif _GCJ_PATTERN.fullmatch(text):
            info = info_for_key(GCJ02_KEY)
        elif _BD_PATTERN.fullmatch(text):
            info = info_for_key(BD09_KEY)
    if info is None:
        raise _unknown(name)
    if datum_shifts is not None:
        shifts = normalize_datum_shifts(datum_shifts)
        if info.datum in SHIFTED_DATUMS and info.datum not in shifts:
            raise missing_shift(info.datum)
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
            f"the .prj file is not a readable WKT CRS ({shown(str(exc), 120)}); "
            "declare the CRS instead, e.g. EPSG:4523"
        ) from exc
    code = crs.to_epsg(min_confidence=70)
    if code is None or not is_supported_epsg(code):
        structural = _epsg_from_prj_structure(crs)
        if structural is not None and is_supported_epsg(structural):
            code = structural
    if code is not None and is_supported_epsg(code):
        return info_for_key(f"EPSG:{code}")
    said = shown(crs.name or "unnamed", 100)
    found = f" (EPSG:{code})" if code is not None else ""
    raise UnknownCRSError(
        f"the .prj file describes '{said}'{found}, which is not supported; "
        "reproject the data or declare one of: " + "; ".join(SUPPORTED_FAMILIES)
    )
