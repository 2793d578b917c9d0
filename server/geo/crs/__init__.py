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

The package's modules, by job (import from here; the names below are its public surface):

* :mod:`~planfuse.geo.crs.info` — CRSInfo, the storage CRS, datum names;
* :mod:`~planfuse.geo.crs.registry` — the supported set (EPSG codes, Gauss–Krüger zones);
* :mod:`~planfuse.geo.crs.names` — strict parsing of CRS names and .prj files;
* :mod:`~planfuse.geo.crs.datum` — Helmert datum shifts (Xian 1980, Beijing 1954);
* :mod:`~planfuse.geo.crs.transform` — cached transformations, never a ballpark;
* :mod:`~planfuse.geo.crs.zones` — zone and area-of-use checks with messages that say
  which CRS to use instead;
* :mod:`~planfuse.geo.crs.work` — the working CRS for metres.
"""

from __future__ import annotations

from planfuse.geo.crs.datum import DatumShifts, normalize_datum_shifts, parse_datum_shifts
from planfuse.geo.crs.info import (
    BD09_KEY,
    BEIJING1954,
    CGCS2000,
    CHINA_BOUNDS_DEG,
    CRS84_KEY,
    GCJ02_KEY,
    GRS80_A_M,
    GRS80_INV_F,
    MAX_CRS_NAME_LENGTH,
    MAX_PRJ_LENGTH,
    SHIFTED_DATUMS,
    STORAGE_CRS_KEY,
    WGS84,
    XIAN1980,
    CRSInfo,
)
from planfuse.geo.crs.names import crs_from_prj, resolve_crs
from planfuse.geo.crs.registry import SUPPORTED_FAMILIES, gk_epsg, is_supported_epsg, supported_crs
from planfuse.geo.crs.transform import (
    CoordTransform,
    get_transformer,
    transform_coords,
    transform_geometry,
)
from planfuse.geo.crs.work import AREA_CRS_DEFAULT, WorkTransformer, work_transformer
from planfuse.geo.crs.zones import (
    EASTING_MAX_M,
    EASTING_MIN_M,
    GK_FALSE_EASTING_M,
    GK_HALF_ZONE_DEG,
    GK_ZONE_MARGIN_DEG,
    area_of_use_bounds,
    check_area_of_use,
    check_gk_eastings,
    describe_easting,
    describe_out_of_area,
    gk_zone_for_lon,
    to_lonlat,
)

__all__ = [
    "AREA_CRS_DEFAULT",
    "BD09_KEY",
    "BEIJING1954",
    "CGCS2000",
    "CHINA_BOUNDS_DEG",
    "CRS84_KEY",
    "EASTING_MAX_M",
    "EASTING_MIN_M",
    "GCJ02_KEY",
    "GK_FALSE_EASTING_M",
    "GK_HALF_ZONE_DEG",
    "GK_ZONE_MARGIN_DEG",
    "GRS80_A_M",
    "GRS80_INV_F",
    "MAX_CRS_NAME_LENGTH",
    "MAX_PRJ_LENGTH",
    "SHIFTED_DATUMS",
    "STORAGE_CRS_KEY",
    "SUPPORTED_FAMILIES",
    "WGS84",
    "XIAN1980",
    "CRSInfo",
    "CoordTransform",
    "DatumShifts",
    "WorkTransformer",
    "area_of_use_bounds",
    "check_area_of_use",
    "check_gk_eastings",
    "crs_from_prj",
    "describe_easting",
    "describe_out_of_area",
    "get_transformer",
    "gk_epsg",
    "gk_zone_for_lon",
    "is_supported_epsg",
    "normalize_datum_shifts",
    "parse_datum_shifts",
    "resolve_crs",
    "supported_crs",
    "to_lonlat",
    "transform_coords",
    "transform_geometry",
    "work_transformer",
]
