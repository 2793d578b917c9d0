"""Geometries simplified for display at a web-map zoom level.

OGC API – Features Part 7 (draft, "Geometry Simplification") lets a client ask for the
geometries of a map at `zoom-level` instead of at full survey detail: a map of Chongqing's
38 districts needs a few thousand vertices, not the hundreds of thousands the boundary
survey holds. The tolerance is half a WebMercatorQuad pixel at that zoom, in ground metres
at the geometry's latitude, so the simplified outline stays within half a pixel of the
surveyed one when drawn at that zoom or any coarser one.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from planfuse.geo.measure import WorkProjection

#: Ground metres per pixel of WebMercatorQuad at zoom 0 on the equator (256-pixel tiles).
WEB_MERCATOR_PIXEL_M = 2 * math.pi * 6378137.0 / 256


def zoom_tolerance_m(zoom_level: int, latitude_deg: np.ndarray | float) -> np.ndarray:
    """Half a WebMercatorQuad pixel at `zoom_level`, in ground metres at `latitude_deg`."""
    scale = np.cos(np.radians(np.asarray(latitude_deg, dtype=np.float64)))
    return WEB_MERCATOR_PIXEL_M / 2**zoom_level * scale / 2


def simplify_for_zoom(geoms_4490: np.ndarray, zoom_level: int, work: WorkProjection) -> np.ndarray:
    """Storage geometries (EPSG:4490) simplified for `zoom_level`, still in EPSG:4490.

    Simplified in the working CRS (metres, so the tolerance means the same east–west as
    north–south) with topology preserved: a ring never collapses or crosses itself, and
    points come back unchanged."""
    geoms = np.asarray(geoms_4490, dtype=object)
    if geoms.size == 0:
        return geoms
    bounds = shapely.bounds(geoms)
    latitude = np.nan_to_num((bounds[:, 1] + bounds[:, 3]) / 2)
    tolerance = zoom_tolerance_m(zoom_level, latitude)
    simplified = shapely.simplify(work.to_work(geoms), tolerance, preserve_topology=True)
    return work.to_storage(simplified)
