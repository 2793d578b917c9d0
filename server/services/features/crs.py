"""The coordinate systems the data services offer, and coordinate order on output.

OGC API – Features Part 2, WFS and WMS alike: every collection lists the CRSs it can
deliver (`crs`), its storage CRS (`storageCrs`), and coordinates are written in the axis
order the CRS defines.
EPSG:4490 and EPSG:4326 define latitude first; the EPSG CGCS2000 Gauss–Krüger CRSs define
northing (X) first, as Chinese surveying does; OGC CRS84 and EPSG:3857 are easting first.
Internally (storage, shapely) every coordinate is (x=easting/longitude, y=northing/latitude),
so output in a "north first" CRS swaps the two, and so does reading a `bbox` given in one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import shapely

from planfuse.errors import InvalidInput
from planfuse.geo.crs import CRSInfo, get_transformer, resolve_crs
from planfuse.geo.errors import GeoError

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/4490"

# What every collection offers, in this order. The Gauss–Krüger zones are Chongqing's:
# zones 35–37 with the zone number prefixed to the easting (4523–4525) and the same zones
# by central meridian 105°E/108°E/111°E without it (4544–4546).
COLLECTION_CRS_KEYS = (
    "OGC:CRS84",
    "EPSG:4490",
    "EPSG:4326",
    "EPSG:4523",
    "EPSG:4524",
    "EPSG:4525",
    "EPSG:4544",
    "EPSG:4545",
    "EPSG:4546",
    "EPSG:3857",
)

# Output precision: 1e-9 degree is ~0.1 mm, 1e-4 m is 0.1 mm: below any survey's accuracy,
# and it keeps responses free of 17-digit noise.
DEGREE_DECIMALS = 9
METRE_DECIMALS = 4


@functools.cache
def collection_crs() -> tuple[CRSInfo, ...]:
    """The CRSs every collection lists, CRS84 first (the default)."""
    return tuple(resolve_crs(key) for key in COLLECTION_CRS_KEYS)


def collection_crs_uris() -> list[str]:
    return [info.uri for info in collection_crs()]


def find_offered_crs(value: str) -> CRSInfo | None:
    """The CRS named by `value` if the data services offer it, else None.

    Accepts the OGC URIs (http://www.opengis.net/def/crs/EPSG/0/4523, …/OGC/1.3/CRS84), the
    URNs (urn:ogc:def:crs:EPSG::4523), safe CURIEs ([EPSG:4523]) and plain EPSG:NNNN.
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):  # safe CURIE, e.g. [EPSG:4490]
        text = text[1:-1]
    try:
        info = resolve_crs(text)
    except GeoError:
        return None
    return info if info.key in COLLECTION_CRS_KEYS else None


def decimals(info: CRSInfo) -> int:
    return DEGREE_DECIMALS if info.degrees else METRE_DECIMALS


def output_transform(info: CRSInfo) -> Callable[[np.ndarray], np.ndarray]:
    """A function for `shapely.transform` (coords array (N, 2) → (N, 2)) taking storage
    coordinates (EPSG:4490 lon/lat) to `info`, in the CRS's own axis order, rounded."""
    transformer = get_transformer("EPSG:4490", info.key)
    places = decimals(info)
    swap = info.first_axis_north

    def apply(coords: np.ndarray) -> np.ndarray:
        if transformer.is_identity:
            x, y = coords[:, 0], coords[:, 1]
        else:
            x, y = transformer(coords[:, 0], coords[:, 1])
        first, second = (y, x) if swap else (x, y)
        return np.round(np.column_stack([first, second]), places)

    return apply


def to_output(geoms: np.ndarray, info: CRSInfo) -> np.ndarray:
    """Storage geometries (EPSG:4490) in CRS `info`, axis order as the CRS defines, rounded."""
    return shapely.transform(geoms, output_transform(info))


def _rectangle(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    """The box as a polygon, or as a line or point when it has no width or height (a
    zero-area polygon is invalid and would intersect nothing)."""
    if x1 > x0 and y1 > y0:
        return shapely.box(x0, y0, x1, y1)
    if x1 > x0 or y1 > y0:
        return shapely.LineString([(x0, y0), (x1, y1)])
    return shapely.Point(x0, y0)


def storage_box(
    bbox: tuple[float, float, float, float], info: CRSInfo
) -> tuple[shapely.Geometry, tuple[float, float, float, float] | None]:
    """A `bbox` given in CRS `info` (its axis order) as a query geometry in storage
    coordinates (EPSG:4490, lon/lat), and an axis-aligned rectangle inside it (or None).

    A lon/lat bbox is its own rectangle. A projected one is densified before reprojection
    (its edges are straight in `info`, not in longitude/latitude), so the polygon follows
    them to well under a metre; the inner rectangle runs from the easternmost point of its
    western edge to the westernmost of its eastern edge, and likewise north–south.
    """
    a0, a1, b0, b1 = bbox[0], bbox[1], bbox[2], bbox[3]
    x0, y0, x1, y1 = (a1, a0, b1, b0) if info.first_axis_north else (a0, a1, b0, b1)
    rect = _rectangle(x0, y0, x1, y1)
    if info.key in {"OGC:CRS84", "EPSG:4490", "EPSG:4326"}:
        # CGCS2000 and WGS 84 coincide here (see planfuse.geo.crs): no reprojection.
        return rect, (x0, y0, x1, y1)
    transformer = get_transformer(info.key, "EPSG:4490")
    steps = 64

    def edge(xa: float, ya: float, xb: float, yb: float) -> np.ndarray:
        t = np.linspace(0.0, 1.0, steps + 1)
        lon, lat = transformer(xa + (xb - xa) * t, ya + (yb - ya) * t)
        return np.column_stack([lon, lat])

    south = edge(x0, y0, x1, y0)
    east = edge(x1, y0, x1, y1)
    north = edge(x1, y1, x0, y1)
    west = edge(x0, y1, x0, y0)
    ring = np.concatenate([south, east[1:], north[1:], west[1:]])
    if not np.isfinite(ring).all():
        raise InvalidInput(
            f"bbox {list(bbox)} cannot be transformed from {info.key} (outside the "
            "projection's domain)",
            field="bbox",
            code="invalid_bbox",
        )
    if not isinstance(rect, shapely.Polygon):
        line = shapely.LineString(ring[: steps + 1] if x1 > x0 else east)
        return (line if line.length > 0 else shapely.Point(ring[0])), None
    polygon = shapely.Polygon(ring)
    inner = (
        float(west[:, 0].max()),
        float(south[:, 1].max()),
        float(east[:, 0].min()),
        float(north[:, 1].min()),
    )
    if inner[0] >= inner[2] or inner[1] >= inner[3] or not polygon.contains(shapely.box(*inner)):
        return polygon, None
    return polygon, inner
