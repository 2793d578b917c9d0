"""The working CRS in which areas (m²) and distances (m) are computed: an equal-area
projection on the CGCS2000 ellipsoid centred on Chongqing by default.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.exceptions import CRSError

from planfuse.geo.crs.info import GRS80_A_M, GRS80_INV_F
from planfuse.geo.errors import shown

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
        raise ValueError(f"working CRS '{shown(area_crs_proj, 200)}' is invalid") from exc
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
