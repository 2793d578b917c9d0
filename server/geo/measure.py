"""Areas and distances in metres.

* The reference is geodesic: areas on the CGCS2000 ellipsoid (:func:`geodesic_area_m2`),
  computed with Karney's algorithm (pyproj.Geod). CGCS2000 uses the GRS80 semi-major axis
  and flattening (a = 6378137 m, 1/f = 298.257222101; only GM and ω differ), so
  ``Geod(ellps="GRS80")`` is the CGCS2000 ellipsoid.
* Bulk work happens in the working CRS, an Albers equal-area projection
  (:class:`WorkProjection`): planar areas there equal ellipsoidal areas up to the
  straight-segment approximation (< 0.01 % for real features in Chongqing, tested on the 38
  district boundaries), and planar distances are within 0.1 % of geodesic ones inside
  Chongqing (the projection's linear scale error; measured in the tests).
* :func:`gk_planar_area_m2` exists to show why the zone matters: a planar area in the right
  3-degree Gauss–Krüger zone is within 0.05 % of the geodesic one, in a zone whose central
  meridian is ~3° away it errs by 0.2 % or more (scale error grows with the square of the
  distance from the central meridian).
"""

from __future__ import annotations

import functools

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from planfuse.geo import crs as crs_mod

GEOD_CGCS2000 = Geod(ellps="GRS80")


def _ring_area_m2(ring) -> float:
    coords = shapely.get_coordinates(ring)
    if len(coords) < 3:
        return 0.0
    area, _ = GEOD_CGCS2000.polygon_area_perimeter(coords[:, 0], coords[:, 1])
    return abs(float(area))


def geodesic_area_m2(geom_4490: BaseGeometry) -> float:
    """Area in m² of a (Multi)Polygon in EPSG:4490 lon/lat degrees, on the CGCS2000
    ellipsoid. Each ring's area is taken unsigned (ring orientation does not matter);
    holes are subtracted. Non-polygonal and empty geometries have area 0.

    One pyproj call per ring: use it as the reference, and :class:`WorkProjection` for bulk.
    """
    if geom_4490 is None or geom_4490.is_empty:
        return 0.0
    gtype = geom_4490.geom_type
    if gtype == "Polygon":
        polygons = [geom_4490]
    elif gtype in ("MultiPolygon", "GeometryCollection"):
        polygons = [g for g in shapely.get_parts(geom_4490) if g.geom_type == "Polygon"]
        polygons += [
            p
            for g in shapely.get_parts(geom_4490)
            if g.geom_type == "MultiPolygon"
            for p in shapely.get_parts(g)
        ]
    else:
        return 0.0
    total = 0.0
    for polygon in polygons:
        total += _ring_area_m2(polygon.exterior)
        for hole in polygon.interiors:
            total -= _ring_area_m2(hole)
    return total


def geodesic_areas_m2(geoms_4490) -> np.ndarray:
    """Vectorised :func:`geodesic_area_m2` over an array of geometries (m², float64)."""
    geoms = np.asarray(geoms_4490, dtype=object).ravel()
    return np.fromiter((geodesic_area_m2(g) for g in geoms), dtype=np.float64, count=len(geoms))


def geodesic_distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between lon/lat points (degrees) on CGCS2000."""
    _, _, dist = GEOD_CGCS2000.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist, dtype=np.float64)


class WorkProjection:
    """The working CRS for areas and distances in metres (default: Albers equal-area on
    CGCS2000 centred on Chongqing, :data:`planfuse.geo.crs.AREA_CRS_DEFAULT`).

    Methods accept one shapely geometry or a numpy array of them and are vectorised over
    the whole array (one pyproj call for all coordinates).
    """

    def __init__(self, area_crs_proj: str = crs_mod.AREA_CRS_DEFAULT) -> None:
        self.area_crs_proj = area_crs_proj
        self._t = crs_mod.work_transformer(area_crs_proj)

    def _apply(self, geoms, transformer, decimals: int | None = None):
        def fn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            x, y = transformer.transform(x, y)
            if decimals is None:
                return x, y
            return np.round(x, decimals), np.round(y, decimals)

        return shapely.transform(geoms, fn, include_z=False, interleaved=False)

    def to_work(self, geoms_4490):
        """EPSG:4490 lon/lat degrees → working CRS metres (geometry or array)."""
        return self._apply(geoms_4490, self._t.forward)

    def to_storage(self, geoms_work, decimals: int | None = None):
        """Working CRS metres → EPSG:4490 lon/lat degrees (geometry or array), rounded to
        `decimals` when given (in the same pass: rewriting coordinates is the costly part)."""
        return self._apply(geoms_work, self._t.inverse, decimals)

    def points_to_work(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat degree arrays (EPSG:4490) → working-CRS (x, y) metre arrays."""
        return self._t.forward.transform(lon, lat)

    @staticmethod
    def area_m2(geoms_work):
        """Planar area in m² of working-CRS geometries (equal-area: ellipsoidal area)."""
        return shapely.area(geoms_work)

    def areas_from_storage_m2(self, geoms_4490) -> np.ndarray:
        """Areas in m² of EPSG:4490 geometries, via the working CRS (fast, vectorised)."""
        return np.asarray(shapely.area(self.to_work(geoms_4490)), dtype=np.float64)


@functools.lru_cache(maxsize=8)
def work_projection(area_crs_proj: str = crs_mod.AREA_CRS_DEFAULT) -> WorkProjection:
    """The shared :class:`WorkProjection` for a working-CRS PROJ string (cached)."""
    return WorkProjection(area_crs_proj)


def gk_planar_area_m2(geom_4490: BaseGeometry, zone_epsg: int) -> float:
    """Planar area in m² of an EPSG:4490 geometry projected into the CGCS2000 3-degree
    Gauss–Krüger CRS EPSG:``zone_epsg`` (4513–4554). Not equal-area: see module docstring."""
    info = crs_mod.resolve_crs(f"EPSG:{int(zone_epsg)}")
    if not info.is_gauss_kruger:
        raise ValueError(f"EPSG:{zone_epsg} is not a Gauss–Krüger CRS")
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    return float(shapely.area(crs_mod.transform_geometry(geom_4490, storage, info)))


def distance_m(a_work, b_work):
    """Planar distance in metres between working-CRS geometries (vectorised, broadcasts).

    Inside Chongqing the Albers working CRS's linear scale error is below 0.1 % (its
    standard parallels are 28.5°N and 31.5°N; the territory spans 28.2–32.2°N), which the
    tests measure against geodesic distances.
    """
    return shapely.distance(a_work, b_work)


def thinness_m(geom_work):
    """2·area/perimeter in metres of working-CRS polygons (vectorised): the width of a
    sliver — a long strip of width w has thinness ≈ w. 0 for empty or zero-length input."""
    area = np.asarray(shapely.area(geom_work), dtype=np.float64)
    perimeter = np.asarray(shapely.length(geom_work), dtype=np.float64)
    out = np.divide(
        2.0 * area, perimeter, out=np.zeros_like(area, dtype=np.float64), where=perimeter > 0
    )
    return float(out) if out.ndim == 0 else out
