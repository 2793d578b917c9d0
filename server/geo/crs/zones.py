"""Gauss–Krüger zone and area-of-use checks: which zone a longitude is in, eastings that
carry the wrong zone, coordinates outside a CRS's area, and messages that say what to use.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from pyproj import Transformer

from planfuse.geo.crs.info import CGCS2000, CHINA_BOUNDS_DEG, CRSInfo
from planfuse.geo.crs.registry import DATUM_LABEL, gk_epsg, is_supported_epsg, pyproj_crs
from planfuse.geo.errors import CoordinateRangeError

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
        return f"zone {zone} has no {DATUM_LABEL[crs.datum]} 3-degree CRS"
    if not is_supported_epsg(code):
        return (
            f"the data is in {DATUM_LABEL[crs.datum]} zone {zone} (EPSG:{code}), which is "
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
    crs = pyproj_crs(key)
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
