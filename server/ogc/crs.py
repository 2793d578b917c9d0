"""CRS parameters of OGC API – Features as HTTP problems.

The CRSs on offer, output in each CRS's axis order and bbox reprojection are shared with
the other data services and live in `planfuse.services.features.crs`; this module turns a
CRS or bbox the client got wrong into the 400 problem naming the parameter.
"""

from __future__ import annotations

import shapely

from planfuse.errors import InvalidInput
from planfuse.geo.crs import GCJ02_KEY, CRSInfo, resolve_crs
from planfuse.geo.errors import GeoError
from planfuse.http.problems import ProblemError
from planfuse.services.features import crs as _crs
from planfuse.services.features.crs import (
    COLLECTION_CRS_KEYS,
    CRS84_URI,
    STORAGE_CRS_URI,
    collection_crs,
    decimals,
    output_transform,
    to_output,
)

# Web maps on AMap or Tencent basemaps draw in GCJ-02 (火星坐标): OGC API – Features offers
# it beside the standard CRSs so such a map reads features (and sends its bbox) without
# converting. WMS, WFS and ArcGIS REST do not: their clients expect EPSG codes only.
WEB_MAP_CRS_KEYS = (GCJ02_KEY,)


def collection_crs_uris() -> list[str]:
    """What every OGC API collection lists in `crs`: the data services' CRSs, then GCJ-02."""
    return _crs.collection_crs_uris() + [resolve_crs(key).uri for key in WEB_MAP_CRS_KEYS]


def _find(value: str) -> CRSInfo | None:
    info = _crs.find_offered_crs(value)
    if info is not None:
        return info
    text = value.strip().removeprefix("[").removesuffix("]")
    try:
        info = resolve_crs(text)
    except GeoError:
        return None
    return info if info.key in WEB_MAP_CRS_KEYS else None


def offered_crs(value: str, parameter: str) -> CRSInfo:
    """The CRS named by a `crs` or `bbox-crs` parameter, if collections offer it; else 400.

    Accepts the OGC URIs (http://www.opengis.net/def/crs/EPSG/0/4523, …/OGC/1.3/CRS84), their
    URN and safe-CURIE spellings ([EPSG:4523]), plain EPSG:NNNN, and GCJ-02 (as `GCJ-02` or
    its URI `urn:planfuse:crs:GCJ-02`).
    """
    info = _find(value)
    if info is None:
        offered = ", ".join(collection_crs_uris())
        raise ProblemError(
            400,
            "unsupported_crs",
            f"{parameter} {_shown(value)!r} is not offered by this collection; use one of "
            f"{offered}",
            title="Unsupported coordinate reference system",
            errors=[{"field": parameter, "message": "not in the collection's crs list"}],
        )
    return info


def _shown(text: str, limit: int = 80) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"


def storage_box(
    bbox: tuple[float, float, float, float], info: CRSInfo
) -> tuple[shapely.Geometry, tuple[float, float, float, float] | None]:
    """`planfuse.services.features.crs.storage_box`, a bbox outside the CRS's domain a 400."""
    try:
        return _crs.storage_box(bbox, info)
    except InvalidInput as exc:
        raise ProblemError(
            400,
            "invalid_bbox",
            str(exc),
            title="Invalid request",
            errors=[{"field": "bbox", "message": "outside the domain of bbox-crs"}],
        ) from exc


__all__ = [
    "COLLECTION_CRS_KEYS",
    "CRS84_URI",
    "STORAGE_CRS_URI",
    "collection_crs",
    "collection_crs_uris",
    "decimals",
    "offered_crs",
    "output_transform",
    "storage_box",
    "to_output",
]
