"""Parsed features against their CRS (zone prefixes, area of use) and reprojected to storage
(EPSG:4490), validity checked again after the transformation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.geo import crs as crs_mod
from planfuse.geo.crs import CRSInfo
from planfuse.geo.errors import (
    CoordinateRangeError,
    ProblemCollector,
)
from planfuse.geo.parse.build import repair_geometry
from planfuse.geo.parse.shapes import POLYGONAL_TYPES, REPAIR_HINT, ParsedFeature

# --- CRS checks and storage --------------------------------------------------------------


def locate_vertex(geom: BaseGeometry, flat_index: int) -> tuple[int | None, int | None, int]:
    """(part, ring, vertex) of the ``flat_index``-th coordinate of ``geom`` in the order of
    shapely.get_coordinates; part is None for single geometries, ring None for non-polygons."""
    gtype = geom.geom_type
    multi = gtype.startswith("Multi")
    parts = shapely.get_parts(geom) if multi else [geom]
    offset = 0
    for p, part in enumerate(parts):
        rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
        for r, ring in enumerate(rings):
            n = shapely.get_num_coordinates(ring)
            if flat_index < offset + n:
                return (
                    p if multi else None,
                    r if part.geom_type == "Polygon" else None,
                    flat_index - offset,
                )
            offset += n
    return None, None, flat_index


def validate_in_crs(features: Sequence[ParsedFeature], crs: CRSInfo) -> None:
    """Check the features' coordinates against ``crs``: Gauss–Krüger eastings must carry the
    declared zone (or no prefix, for the unprefixed CRSs) and every vertex must lie in the
    CRS's area of use (see :func:`planfuse.geo.crs.area_of_use_bounds`).

    Raises :class:`CoordinateRangeError` with one problem per feature and kind of mistake,
    naming its first bad vertex, the count of others, and the CRS to use instead.
    """
    if not features:
        return
    geoms = np.array([f.geometry for f in features], dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return
    starts = np.searchsorted(owner, np.arange(len(features)))
    problems = ProblemCollector()
    x, y = coords[:, 0], coords[:, 1]
    bad_easting = np.asarray(crs_mod.check_gk_eastings(x, crs), dtype=np.int64)
    bad_area = np.asarray(crs_mod.check_area_of_use(x, y, crs), dtype=np.int64)
    # An easting with the wrong zone is also outside the area; report the easting only.
    if bad_easting.size:
        bad_area = np.setdiff1d(bad_area, bad_easting, assume_unique=True)
    for bad, describe in (
        (bad_easting, lambda i: crs_mod.describe_easting(x[i], crs)),
        (bad_area, lambda i: crs_mod.describe_out_of_area(x[i], y[i], crs)),
    ):
        if not bad.size:
            continue
        feats, first = np.unique(owner[bad], return_index=True)
        counts = np.bincount(owner[bad], minlength=len(features))
        for f, k in zip(feats.tolist(), first.tolist(), strict=True):
            i = int(bad[k])
            part, ring, vertex = locate_vertex(features[f].geometry, i - int(starts[f]))
            message = describe(i) or "the coordinate is out of range"
            others = int(counts[f]) - 1
            if others:
                message += f" (and {others} more vertices of this feature)"
            problems.add(message, feature=features[f].index, part=part, ring=ring, vertex=vertex)
    problems.raise_if_any(CoordinateRangeError)


def to_storage(
    features: Sequence[ParsedFeature],
    crs: CRSInfo,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
    *,
    validate: bool = True,
) -> list[BaseGeometry]:
    """Reproject the features' geometries from ``crs`` to storage (EPSG:4490 lon/lat
    degrees), after :func:`validate_in_crs` (unless ``validate=False``).

    Validity is checked again after the transformation (reprojection can make nearly
    touching rings cross); features that were repaired on input are repaired again, others
    are refused with :class:`GeometryInputError`.
    """
    if not features:
        return []
    if validate:
        validate_in_crs(features, crs)
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    geoms = np.array([f.geometry for f in features], dtype=object)
    out = crs_mod.transform_geometry(geoms, crs, storage, datum_shifts)
    if out is geoms:
        out = geoms.copy()
    valid = shapely.is_valid(out)
    problems = ProblemCollector()
    for i in np.flatnonzero(~valid).tolist():
        feature = features[i]
        polygonal = feature.geometry.geom_type in POLYGONAL_TYPES
        fixed = repair_geometry(out[i], polygonal) if feature.repaired else None
        if fixed is not None:
            out[i] = fixed
            continue
        problems.add(
            f"the geometry becomes invalid when reprojected to {storage.key}: "
            f"{shapely.is_valid_reason(out[i])}; {REPAIR_HINT}",
            feature=feature.index,
        )
    problems.raise_if_any()
    return list(out)
