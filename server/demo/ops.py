"""Vectorised geometry operations of the generator (working CRS, metres).

Each works on numpy arrays of shapely geometries in a handful of GEOS calls, so generating a
million features takes minutes, not hours: clip to a mask (only the features that cross the
mask's boundary are intersected), subtract reserved zones, explode multi-part results, union
groups of tessellation cells, sample points by a density.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

POLYGON = 3
LINESTRING = 1


def _chunks(geoms: np.ndarray, vertices: int = 32) -> np.ndarray:
    """Boundaries cut into short linestrings (a boundary STRtree of these is selective)."""
    out = []
    for ring in shapely.get_parts(shapely.boundary(geoms)):
        for line in shapely.get_parts(ring):
            coords = shapely.get_coordinates(line)
            for i in range(0, len(coords) - 1, vertices):
                out.append(shapely.linestrings(coords[i : i + vertices + 1]))
    return np.array(out, dtype=object)


@dataclass
class Mask:
    """Polygons features are clipped to (districts, a region), with their indexes."""

    parts: np.ndarray
    tree: shapely.STRtree
    boundary_tree: shapely.STRtree

    @classmethod
    def of(cls, geoms) -> Mask:
        parts = np.asarray(geoms, dtype=object)
        for g in parts:
            shapely.prepare(g)
        return cls(parts, shapely.STRtree(parts), shapely.STRtree(_chunks(parts)))

    def hits(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(input index, part index) of the parts each geometry intersects. The tree gives
        bounding-box candidates; the predicate runs on the prepared parts (STRtree's own
        predicate would prepare the small input side and scan the big parts' vertices)."""
        g_idx, p_idx = self.tree.query(geoms)
        ok = shapely.intersects(self.parts[p_idx], geoms[g_idx])
        return g_idx[ok], p_idx[ok]

    def clip(
        self, geoms: np.ndarray, min_size: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip `geoms` to the mask parts: (pieces, source index, mask part index).

        A feature that crosses no part boundary is kept whole (or dropped when outside);
        one that does is intersected with each part it touches. Results are exploded into
        single polygons or lines; pieces under `min_size` (m² or m) are dropped.
        """
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        if n == 0:
            empty = np.array([], dtype=object)
            return empty, np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        crossing = np.zeros(n, dtype=bool)
        hit, _ = self.boundary_tree.query(geoms, predicate="intersects")
        crossing[hit] = True
        whole = np.flatnonzero(~crossing)
        rep = shapely.point_on_surface(geoms[whole])
        p_idx, part_idx = self.hits(rep)
        order = np.unique(p_idx, return_index=True)[1]
        kept_src = whole[p_idx[order]]
        kept_part = part_idx[order]
        cross = np.flatnonzero(crossing)
        c_idx, c_part = self.hits(geoms[cross])
        pieces = shapely.intersection(geoms[cross[c_idx]], self.parts[c_part])
        all_geoms = np.concatenate([geoms[kept_src], pieces])
        all_src = np.concatenate([kept_src, cross[c_idx]])
        all_part = np.concatenate([kept_part, c_part])
        out, idx = explode(all_geoms, min_size)
        result_src, result_part = all_src[idx], all_part[idx]
        order = np.lexsort((result_part, result_src))
        return out[order], result_src[order], result_part[order]


def explode(geoms: np.ndarray, min_size: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Single polygons (or lines, whichever `geoms` mostly are) out of (multi) results and
    collections: (parts, index of the source geometry). Drops parts under `min_size`."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms, np.array([], dtype=np.int64)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6)).sum() >= np.isin(types, (1, 5)).sum()
    want = POLYGON if polygonal else LINESTRING
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # Collections may hold multi-geometries: one more level.
    nested = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
    if nested.any():
        inner, inner_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        idx = np.concatenate([idx[~nested], idx[nested][inner_idx]])
    keep = shapely.get_type_id(parts) == want
    parts, idx = parts[keep], idx[keep]
    size = shapely.area(parts) if want == POLYGON else shapely.length(parts)
    keep = size > min_size
    parts, idx = parts[keep], idx[keep]
    order = np.argsort(idx, kind="stable")
    return parts[order], idx[order]


def subtract(
    geoms: np.ndarray, holes: list[BaseGeometry], min_size: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """`geoms` minus the `holes` (reserved zones, rivers): (parts, source index)."""
    geoms = np.asarray(geoms, dtype=object)
    if not holes or len(geoms) == 0:
        return explode(geoms, min_size)
    holes_arr = np.asarray(holes, dtype=object)
    tree = shapely.STRtree(holes_arr)
    g_idx, h_idx = tree.query(geoms, predicate="intersects")
    out = geoms.copy()
    if len(g_idx):
        touched = np.unique(g_idx)
        # Union of the holes each touched geometry meets (usually one).
        merged = {}
        for g, h in zip(g_idx.tolist(), h_idx.tolist(), strict=True):
            merged.setdefault(g, []).append(h)
        cutters = np.array(
            [
                holes_arr[merged[g][0]]
                if len(merged[g]) == 1
                else shapely.union_all(holes_arr[merged[g]])
                for g in touched.tolist()
            ],
            dtype=object,
        )
        out[touched] = shapely.difference(geoms[touched], cutters)
    return explode(out, min_size)


def union_groups(cells: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union tessellation cells by group label (shared edges dissolve exactly):
    (one geometry per group, the group labels in ascending order)."""
    n = len(cells)
    order = np.argsort(group, kind="stable")
    sorted_groups = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    table = np.full((len(starts), int(counts.max())), None, dtype=object)
    table[np.repeat(np.arange(len(starts)), counts), rank] = cells[order]
    merged = shapely.coverage_union_all(table, axis=1)
    # coverage union assumes a clean coverage; fall back where it did not give a valid result
    bad = ~shapely.is_valid(merged)
    if bad.any():
        merged[bad] = shapely.union_all(table[bad], axis=1)
    return merged, sorted_groups[starts]


def sample_points(
    rng: np.random.Generator,
    n: int,
    area: BaseGeometry,
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    avoid: BaseGeometry | None = None,
) -> np.ndarray:
    """`n` points inside `area` (prepared polygon), with density ∝ `weight(x, y)` ∈ [0, 1]
    (rejection sampling), none inside `avoid`. Returns an (n, 2) array."""
    if n <= 0:
        return np.zeros((0, 2))
    shapely.prepare(area)
    if avoid is not None:
        shapely.prepare(avoid)
    x0, y0, x1, y1 = area.bounds
    fill = max(area.area / ((x1 - x0) * (y1 - y0)), 1e-3)
    out: list[np.ndarray] = []
    got = 0
    batch = int(n / fill * 1.3) + 64
    while got < n:
        x = rng.uniform(x0, x1, batch)
        y = rng.uniform(y0, y1, batch)
        keep = shapely.contains_xy(area, x, y)
        if avoid is not None:
            keep &= ~shapely.contains_xy(avoid, x, y)
        if weight is not None:
            keep &= rng.uniform(0.0, 1.0, batch) < weight(x, y)
        pts = np.c_[x[keep], y[keep]]
        out.append(pts)
        got += len(pts)
        rate = max(len(pts) / batch, 1e-3)
        batch = int(min((n - got) / rate * 1.2 + 64, 5_000_000))
    return np.vstack(out)[:n]


def sample_clustered(
    rng: np.random.Generator,
    n: int,
    area: BaseGeometry,
    centres: np.ndarray,
    radii_m: np.ndarray,
    urban_weight: float,
    avoid: BaseGeometry | None = None,
) -> np.ndarray:
    """`n` points inside `area` with density ∝ 1 + `urban_weight` · Σ_c exp(−d²/2R_c²):
    a uniform background plus a Gaussian cluster around each centre, drawn directly as a
    mixture (no rejection against the density, so a million points take seconds)."""
    shapely.prepare(area)
    if avoid is not None:
        shapely.prepare(avoid)
    x0, y0, x1, y1 = area.bounds
    # Mixture masses: each bump 2πR² (its integral); the background is drawn over the
    # bounding box and cut to the area, so its mass is the box's area.
    box_area = (x1 - x0) * (y1 - y0)
    masses = np.r_[box_area, urban_weight * 2 * np.pi * np.asarray(radii_m) ** 2]
    p = masses / masses.sum()
    out: list[np.ndarray] = []
    got = 0
    fill = max(area.area / box_area, 1e-3)
    while got < n:
        batch = int((n - got) / fill * 1.1) + 64
        component = rng.choice(len(p), size=batch, p=p)
        background = component == 0
        x = np.empty(batch)
        y = np.empty(batch)
        nb = int(background.sum())
        x[background] = rng.uniform(x0, x1, nb)
        y[background] = rng.uniform(y0, y1, nb)
        c = component[~background] - 1
        x[~background] = centres[c, 0] + rng.normal(0.0, 1.0, len(c)) * radii_m[c]
        y[~background] = centres[c, 1] + rng.normal(0.0, 1.0, len(c)) * radii_m[c]
        keep = shapely.contains_xy(area, x, y)
        if avoid is not None:
            keep &= ~shapely.contains_xy(avoid, x, y)
        pts = np.c_[x[keep], y[keep]]
        out.append(pts)
        got += len(pts)
    return np.vstack(out)[:n]


def voronoi_cells(points: np.ndarray, envelope: BaseGeometry) -> np.ndarray:
    """Voronoi cells of `points` (n×2), cell i for point i, clipped to `envelope`'s box."""
    if len(points) == 0:
        return np.array([], dtype=object)
    if len(points) == 1:
        return np.array([shapely.box(*envelope.bounds)], dtype=object)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=envelope, ordered=True)
    )
    frame = shapely.box(*envelope.bounds)
    shapely.prepare(frame)
    outer = np.flatnonzero(~shapely.contains_properly(frame, cells))
    cells[outer] = shapely.intersection(cells[outer], frame)
    return cells


def nearest(targets: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the nearest target point for each point (both n×2)."""
    tree = shapely.STRtree(shapely.points(targets))
    p_idx, t_idx = tree.query_nearest(shapely.points(points), all_matches=False)
    out = np.empty(len(points), dtype=np.int64)
    out[p_idx] = t_idx
    return out
