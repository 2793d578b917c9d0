"""Matching the patches of a re-detection with the stored ones, so a patch that still
exists keeps its id, coordination status and history.

Rule: an old patch and a new piece match when they are of the same analysis and type and

    IoU = area(old ∩ new) / area(old ∪ new) ≥ `conflict_match_iou` (default 0.9), or
    area(old △ new) < `conflict_sliver_area_m2` (default 200 m²)

— the second clause keeps small patches whose boundary moved by sliver-sized noise. Among
several candidates the pairs are taken greedily by IoU (highest first, then smallest
symmetric difference, then lowest ids), each old patch and each new piece at most once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class Match:
    old: int
    new: int
    iou: float
    symdiff_m2: float


def match_patches(
    old_geoms: np.ndarray,
    old_types: np.ndarray,
    new_geoms: np.ndarray,
    new_types: np.ndarray,
    *,
    min_iou: float,
    max_symdiff_m2: float,
) -> list[Match]:
    """One-to-one matches between old patches and new pieces (positions into the arrays;
    geometries in the working CRS, types as strings including the analysis)."""
    old_geoms = np.asarray(old_geoms, dtype=object)
    new_geoms = np.asarray(new_geoms, dtype=object)
    if len(old_geoms) == 0 or len(new_geoms) == 0:
        return []
    tree = shapely.STRtree(old_geoms)
    qn, qo = tree.query(new_geoms, predicate="intersects")
    same = np.asarray(old_types, dtype=object)[qo] == np.asarray(new_types, dtype=object)[qn]
    qn, qo = qn[same], qo[same]
    if qn.size == 0:
        return []
    a_new = shapely.area(new_geoms[qn])
    a_old = shapely.area(old_geoms[qo])
    inter = _intersection_areas(new_geoms, old_geoms, qn, qo, a_new, a_old)
    union = a_new + a_old - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    symdiff = np.maximum(union - inter, 0.0)
    ok = (inter > 0) & ((iou >= min_iou) | (symdiff < max_symdiff_m2))
    qn, qo, iou, symdiff = qn[ok], qo[ok], iou[ok], symdiff[ok]
    order = np.lexsort((qn, qo, symdiff, -iou))
    used_old: set[int] = set()
    used_new: set[int] = set()
    matches: list[Match] = []
    for k in order.tolist():
        o, n = int(qo[k]), int(qn[k])
        if o in used_old or n in used_new:
            continue
        used_old.add(o)
        used_new.add(n)
        matches.append(Match(o, n, float(iou[k]), float(symdiff[k])))
    return matches


#: Coordinates (m) within which a stored patch is the same piece as a new one: storing
#: goes through EPSG:4490 and back, which moves vertices by far less than this.
SAME_PIECE_TOLERANCE_M = 1e-6


def _intersection_areas(new_geoms, old_geoms, qn, qo, a_new, a_old) -> np.ndarray:
    """area(new ∩ old) per candidate pair (m²).

    A re-detection over unchanged layers finds its stored patches again vertex for vertex:
    those pairs need no intersection (the area is the piece's own), and every other pair
    of such a piece or patch cannot outrank that match, so it is not intersected either
    (its area is left 0: no match). 44,608 unchanged patches: 9.6 s of intersections
    saved.
    """
    inter = np.zeros(len(qn), dtype=np.float64)
    close = np.abs(shapely.bounds(new_geoms[qn]) - shapely.bounds(old_geoms[qo])).max(axis=1)
    near = np.flatnonzero(close <= SAME_PIECE_TOLERANCE_M)
    same = near[
        shapely.equals_exact(new_geoms[qn[near]], old_geoms[qo[near]], SAME_PIECE_TOLERANCE_M)
    ]
    inter[same] = np.minimum(a_new[same], a_old[same])
    settled_new = np.zeros(len(new_geoms), dtype=bool)
    settled_old = np.zeros(len(old_geoms), dtype=bool)
    settled_new[qn[same]] = True
    settled_old[qo[same]] = True
    rest = np.flatnonzero(~(settled_new[qn] | settled_old[qo]))
    if rest.size:
        inter[rest] = shapely.area(shapely.intersection(new_geoms[qn[rest]], old_geoms[qo[rest]]))
    return inter
