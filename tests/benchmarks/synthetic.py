"""Synthetic planning-like polygons for benchmarks: a Voronoi tessellation (shared edges,
irregular cells) around central Chongqing, in the working CRS (metres)."""

from __future__ import annotations

import numpy as np
import shapely

from planfuse.geo.measure import work_projection

CENTRE_LONLAT = (106.55, 29.57)


def tessellation(n: int, *, cell_m2: float = 10_000.0, seed: int = 7) -> np.ndarray:
    """About `n` Voronoi cells averaging `cell_m2`, working-CRS polygons."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * cell_m2))
    cx, cy = work_projection().points_to_work([CENTRE_LONLAT[0]], [CENTRE_LONLAT[1]])
    x0, y0 = cx[0] - side / 2, cy[0] - side / 2
    cells = []
    # Tiles of ~50,000 seeds keep voronoi_polygons fast and memory flat.
    tiles = max(1, int(np.ceil(np.sqrt(n / 50_000))))
    step = side / tiles
    per_tile = int(np.ceil(n / tiles**2))
    for i in range(tiles):
        for j in range(tiles):
            bx, by = x0 + i * step, y0 + j * step
            pts = rng.uniform((bx, by), (bx + step, by + step), size=(per_tile, 2))
            box = shapely.box(bx, by, bx + step, by + step)
            vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box)
            parts = shapely.get_parts(vor)
            cells.append(shapely.intersection(parts, box))
    out = np.concatenate(cells)[:n]
    return out[shapely.get_type_id(out) == 3]


def random_projects(count: int, *, extent, seed: int = 11) -> np.ndarray:
    """`count` irregular project polygons of 1–5 km² inside `extent` (working CRS)."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = extent
    projects = []
    for _ in range(count):
        area = rng.uniform(1e6, 5e6)
        aspect = rng.uniform(0.5, 2.0)
        w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
        cx = rng.uniform(minx + w, maxx - w)
        cy = rng.uniform(miny + h, maxy - h)
        # A rotated, slightly irregular octagon: a realistic red line, not a box.
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radius = rng.uniform(0.8, 1.0, 9)
        ring = np.column_stack(
            (np.cos(angles) * radius * w / 1.6, np.sin(angles) * radius * h / 1.6)
        )
        poly = shapely.Polygon(ring + np.array([cx, cy]))
        scale = np.sqrt(area / poly.area)
        from shapely import affinity

        projects.append(affinity.scale(poly, scale, scale))
    return np.array(projects, dtype=object)
