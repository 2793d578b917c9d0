"""The synthetic planning layers, generated inside the real districts.

A believable city from a seed: towns scattered between the real district seats, an urban
development boundary around them, a land-use plan tessellating the whole territory (merged
Voronoi cells: concave parcels with shared edges, some with holes; classes by distance
from the centres and by terrain), basic farmland and ecological red line carved out of it
away from the centres, two legacy plans drawn on their own parcels that mostly agree with
it and disagree in realistic places (the urban fringe), roads connecting the centres,
control lines along roads and rivers, sensitive zones and facilities.

Counts scale with `scale` (≈50,000 features at 1, ≈1,000,000 at 20); the structure (seats,
towns, rivers, trunk roads) does not. Reserved zones of the planted scenarios stay empty.
Everything is in the working CRS; `files.py` writes each layer in its department's CRS.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.demo import codes as C
from planfuse.demo.geography import (
    Districts,
    Field,
    meander,
    river_lines,
    star_blobs,
    urban_intensity,
)
from planfuse.demo.ops import (
    Mask,
    explode,
    nearest,
    sample_clustered,
    sample_points,
    subtract,
    voronoi_cells,
)
from planfuse.services.layers.land_use import is_construction

# Features per layer at scale 1 (approximate: clipping splits some, filters drop others).
LAND_USE_PARCELS = 19_000
URBAN_PLAN_PARCELS = 5_500
LAND_PLAN_PARCELS = 4_500
SENSITIVE_ZONES = 900
FACILITIES = 2_500
VILLAGE_ROADS = 1_300
# Structure, the same at every scale.
TOWNS = 320
TOWN_SPACING_M = 5_000.0
# Voronoi cells merged per land-use parcel (gives concave parcels).
CELLS_PER_PARCEL = 2.2
# Pieces smaller than this (m²) left by clipping are dropped.
MIN_PIECE_M2 = 50.0

Progress = Callable[[str], None]


def fine_multiplier(scale: float) -> float:
    """How much the fine-grained layers grow at `scale`. Slightly faster than `scale`:
    the structure (seats, towns, trunk roads, the urban boundary) does not grow, and
    clipping splits proportionally fewer features as they get smaller, so that `scale`
    N still gives about N × 50,000 features (20 → ~1,000,000)."""
    return scale**1.06 if scale > 1 else scale


@dataclass
class LayerData:
    """Generated features of one layer: working-CRS geometries and their properties."""

    geoms: np.ndarray
    props: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.geoms)


@dataclass
class World:
    """The structure every layer is drawn from."""

    districts: Districts
    mask: Mask
    zones: list[BaseGeometry]
    zones_union: BaseGeometry
    towns_xy: np.ndarray
    towns_radius_m: np.ndarray
    town_district: np.ndarray
    centres_xy: np.ndarray
    centres_radius_m: np.ndarray
    mountain: Field
    eco: Field
    east_span: tuple[float, float]
    rivers: list[tuple[str, float, BaseGeometry]]
    river_polys: list[BaseGeometry]  # river corridors cut into ~3 km pieces
    river_names: list[str]  # the river of each piece
    ub_zones: dict[str, BaseGeometry] = field(default_factory=dict)
    ub_all: BaseGeometry = field(default=None)  # type: ignore[assignment]

    def intensity(self, x, y) -> np.ndarray:
        return urban_intensity(x, y, self.centres_xy, self.centres_radius_m)

    def terrain(self, x, y) -> np.ndarray:
        """Mountainousness in [-1, 1]: a smooth field plus the east (大巴山, 武陵山) rising."""
        x = np.asarray(x, dtype=np.float64).ravel()
        west, east = self.east_span
        eastness = np.clip((x - west) / (east - west), 0.0, 1.0) * 2.0 - 1.0
        return np.clip(0.55 * self.mountain(x, y) + 0.7 * eastness + 0.1, -1.0, 1.0)

    def in_urban(self, x, y) -> np.ndarray:
        return shapely.contains_xy(self.ub_all, np.asarray(x), np.asarray(y))


def _pick(rng: np.random.Generator, mix, n: int) -> np.ndarray:
    codes = np.array([c for c, _ in mix], dtype=object)
    weights = np.array([w for _, w in mix], dtype=np.float64)
    return codes[rng.choice(len(codes), size=n, p=weights / weights.sum())]


def _xy(points) -> tuple[np.ndarray, np.ndarray]:
    c = shapely.get_coordinates(points)
    return c[:, 0], c[:, 1]


# --- structure --------------------------------------------------------------------------


def build_world(rng: np.random.Generator, districts: Districts, zones: list[BaseGeometry]) -> World:
    zones_union = shapely.union_all(zones)
    mountain = Field(rng, waves=24, min_wavelength_m=12_000, max_wavelength_m=120_000)
    eco = Field(rng, waves=24, min_wavelength_m=6_000, max_wavelength_m=60_000)
    x0, _, x1, _ = districts.outline.bounds
    rivers = river_lines(rng)
    corridors = np.array(
        [line.buffer(width / 2.0, quad_segs=4) for _, width, line in rivers], dtype=object
    )
    # Cut into pieces: subtracting a 300 km polygon from every parcel it touches would
    # process all its vertices each time.
    river_pieces, river_src = _grid_split(corridors, 3_000.0)
    world = World(
        districts=districts,
        mask=Mask.of(districts.work),
        zones=zones,
        zones_union=zones_union,
        towns_xy=np.zeros((0, 2)),
        towns_radius_m=np.zeros(0),
        town_district=np.zeros(0, dtype=np.int64),
        centres_xy=districts.seats_xy,
        centres_radius_m=districts.seat_radius_m,
        mountain=mountain,
        eco=eco,
        east_span=(x0, x1),
        rivers=rivers,
        river_polys=list(river_pieces),
        river_names=[rivers[i][0] for i in river_src.tolist()],
    )
    _place_towns(rng, world)
    world.ub_all = _urban_boundary_union(rng, world)
    return world


def _place_towns(rng: np.random.Generator, world: World) -> None:
    d = world.districts
    avoid = world.zones_union.buffer(3_000.0)
    cand = sample_points(
        rng,
        TOWNS * 8,
        d.outline,
        weight=lambda x, y: 0.25 + 0.75 * (1.0 - (world.terrain(x, y) + 1.0) / 2.0),
        avoid=avoid,
    )
    seats = d.seats_xy
    seat_clear = 2.0 * d.seat_radius_m + 2_000.0
    accepted: list[np.ndarray] = []
    for p in cand:
        if np.any(np.hypot(*(seats - p).T) < seat_clear):
            continue
        if accepted and np.min(np.hypot(*(np.asarray(accepted) - p).T)) < TOWN_SPACING_M:
            continue
        accepted.append(p)
        if len(accepted) == TOWNS:
            break
    towns = np.asarray(accepted)
    world.towns_xy = towns
    world.towns_radius_m = rng.uniform(450.0, 1_100.0, len(towns))
    world.town_district = d.district_at(towns[:, 0], towns[:, 1])
    world.centres_xy = np.vstack([d.seats_xy, towns])
    world.centres_radius_m = np.r_[d.seat_radius_m, world.towns_radius_m]


def _urban_blobs(rng: np.random.Generator, world: World):
    d = world.districts
    sx, sy = d.seats_xy[:, 0], d.seats_xy[:, 1]
    outer = star_blobs(sx, sy, d.seat_radius_m * 1.25, rng, vertices=64, roughness=0.3)
    core = star_blobs(sx, sy, d.seat_radius_m * 0.75, rng, vertices=48, roughness=0.25)
    tx, ty = world.towns_xy[:, 0], world.towns_xy[:, 1]
    towns = star_blobs(tx, ty, world.towns_radius_m * 1.3, rng, vertices=32, roughness=0.35)
    special_seats = np.flatnonzero(rng.uniform(size=len(sx)) < 0.35)
    angle = rng.uniform(0, 2 * np.pi, len(special_seats))
    r = d.seat_radius_m[special_seats]
    special = star_blobs(
        sx[special_seats] + 1.7 * r * np.cos(angle),
        sy[special_seats] + 1.7 * r * np.sin(angle),
        0.3 * r,
        rng,
        vertices=24,
        roughness=0.3,
    )
    zone01 = shapely.union_all(np.r_[core, towns])
    zone02 = shapely.difference(shapely.union_all(outer), zone01)
    everything = shapely.union_all([zone01, zone02])
    zone03 = shapely.difference(shapely.union_all(special), everything)
    return {"01": zone01, "02": zone02, "03": zone03}


def _urban_boundary_union(rng: np.random.Generator, world: World) -> BaseGeometry:
    world.ub_zones = _urban_blobs(rng, world)
    ub = shapely.intersection(
        shapely.union_all(list(world.ub_zones.values())), world.districts.outline
    )
    shapely.prepare(ub)
    return ub


# --- layers -------------------------------------------------------------------------------

UB_ZONE_NAMES = {"01": "集中建设区", "02": "弹性发展区", "03": "特别用途区"}


def urban_boundary_layer(world: World) -> LayerData:
    d = world.districts
    geoms, props = [], []
    for zone, geom in world.ub_zones.items():
        parts, _ = explode(np.array([geom], dtype=object), MIN_PIECE_M2)
        pieces, _, dist = world.mask.clip(parts, MIN_PIECE_M2)
        pieces, idx = subtract(pieces, world.zones, MIN_PIECE_M2)
        for g, di in zip(pieces, dist[idx], strict=True):
            geoms.append(g)
            props.append({"zone": zone, "name": f"{d.names[di]}{UB_ZONE_NAMES[zone]}"})
    return LayerData(np.array(geoms, dtype=object), props)


@dataclass
class LandUse:
    geoms: np.ndarray
    codes: np.ndarray
    district: np.ndarray
    urban: np.ndarray  # representative point inside the urban boundary
    intensity: np.ndarray
    terrain: np.ndarray
    eco: np.ndarray
    river: list[str | None]
    tree: shapely.STRtree | None = None


def land_use(rng: np.random.Generator, world: World, scale: float, progress: Progress) -> LandUse:
    d = world.districts
    n = max(50, int(LAND_USE_PARCELS * fine_multiplier(scale)))
    fine = int(n * CELLS_PER_PARCEL)

    pts = sample_clustered(rng, fine, d.outline, world.centres_xy, world.centres_radius_m, 40.0)
    progress(f"land-use plan: {fine:,} Voronoi cells")
    cells = voronoi_cells(pts, shapely.box(*d.outline.bounds).buffer(1_000.0))
    # Merge each cell into the parcel of its nearest seed (the first n points, a random
    # subset with the same density): concave parcels with jagged, shared edges.
    from planfuse.demo.ops import union_groups

    group = nearest(pts[:n], pts)
    parcels, _ = union_groups(cells, group)
    progress(f"land-use plan: {len(parcels):,} parcels, clipping to districts")
    pieces, _, dist = world.mask.clip(parcels, MIN_PIECE_M2)
    pieces, idx = subtract(pieces, world.river_polys + world.zones, MIN_PIECE_M2)
    dist = dist[idx]
    rx, ry = _xy(shapely.point_on_surface(pieces))
    u = world.intensity(rx, ry)
    terrain = world.terrain(rx, ry)
    urban = world.in_urban(rx, ry)
    codes = np.empty(len(pieces), dtype=object)
    categories = {
        "core": urban & (u >= 0.55),
        "fringe": urban & (u < 0.55),
        "village": ~urban & (u >= 0.12),
        "mountain": ~urban & (u < 0.12) & (terrain > 0.05),
        "hill": ~urban & (u < 0.12) & (terrain <= 0.05),
    }
    mixes = {
        "core": C.URBAN_CORE_MIX,
        "fringe": C.URBAN_FRINGE_MIX,
        "village": C.VILLAGE_MIX,
        "mountain": C.MOUNTAIN_MIX,
        "hill": C.HILL_MIX,
    }
    for name, sel in categories.items():
        codes[sel] = _pick(rng, mixes[name], int(sel.sum()))

    # Holes: a village or a pond inside some large rural parcels.
    rural = ~urban & (shapely.area(pieces) > 300_000.0 / max(scale, 0.25))
    chosen = np.flatnonzero(rural & (rng.uniform(size=len(pieces)) < 0.05))
    hole_geoms = np.array([], dtype=object)
    if len(chosen):
        circles = shapely.maximum_inscribed_circle(pieces[chosen], tolerance=5.0)
        centre = shapely.get_point(circles, 0)
        radius = shapely.length(circles)
        cx, cy = _xy(centre)
        hole_geoms = star_blobs(cx, cy, 0.45 * radius, rng, vertices=20, roughness=0.2)
        ok = shapely.within(hole_geoms, pieces[chosen]) & (shapely.area(hole_geoms) > MIN_PIECE_M2)
        chosen, hole_geoms = chosen[ok], hole_geoms[ok]
        pieces[chosen] = shapely.difference(pieces[chosen], hole_geoms)
    hole_codes = _pick(rng, (("0703", 3), ("1704", 1)), len(hole_geoms))

    # Rivers as water parcels, split by district.
    river_pieces, river_src, river_dist = world.mask.clip(
        np.array(world.river_polys, dtype=object), MIN_PIECE_M2
    )
    river_pieces, ridx = subtract(river_pieces, world.zones, MIN_PIECE_M2)
    river_names = [world.river_names[i] for i in river_src[ridx]]
    river_dist = river_dist[ridx]

    geoms = np.concatenate([pieces, hole_geoms, river_pieces])
    all_codes = np.concatenate(
        [codes, hole_codes, np.full(len(river_pieces), "1701", dtype=object)]
    )
    district = np.concatenate([dist, dist[chosen], river_dist])
    rx, ry = _xy(shapely.point_on_surface(geoms))
    return LandUse(
        geoms=geoms,
        codes=all_codes,
        district=district,
        urban=world.in_urban(rx, ry),
        intensity=world.intensity(rx, ry),
        terrain=world.terrain(rx, ry),
        eco=world.eco(rx, ry),
        river=[None] * (len(pieces) + len(hole_geoms)) + river_names,
    )


def _lookup_codes(lu: LandUse, points: np.ndarray, default: str) -> np.ndarray:
    """The land-use code at each point (the parcel containing it)."""
    if lu.tree is None:
        lu.tree = shapely.STRtree(lu.geoms)
    p_idx, g_idx = lu.tree.query(points, predicate="within")
    out = np.full(len(points), default, dtype=object)
    out[p_idx] = lu.codes[g_idx]
    return out


def land_use_layer(lu: LandUse, world: World) -> LayerData:
    d = world.districts
    props = []
    counters: dict[int, int] = {}
    for code, di, river in zip(lu.codes.tolist(), lu.district.tolist(), lu.river, strict=True):
        counters[di] = counters.get(di, 0) + 1
        props.append(
            {
                "code": code,
                "name": river or C.land_use_name(code),
                "parcel_no": f"{d.adcodes[di]}-{counters[di]:06d}",
            }
        )
    return LayerData(lu.geoms, props)


def basic_farmland(rng: np.random.Generator, lu: LandUse, world: World) -> LayerData:
    """Two thirds of the cultivated parcels (01xx), outside the urban boundary — mostly:
    3 % keep their overlap with the boundary (三线 conflicts); 3 % of those near towns are
    re-planned as construction land in the land-use plan (plan-vs-control-line conflicts)."""
    d = world.districts
    cultivated = np.array([str(c).startswith("01") for c in lu.codes], dtype=bool)
    # Not all cultivated land is permanent basic farmland (Chongqing: about two thirds).
    sel = np.flatnonzero(cultivated & (rng.uniform(size=len(lu.codes)) < 0.68))
    keep_overlap = rng.uniform(size=len(sel)) < 0.03
    geoms = lu.geoms[sel].copy()
    cut = ~keep_overlap & shapely.intersects(geoms, world.ub_all)
    geoms[cut] = shapely.difference(geoms[cut], world.ub_all)
    replanned = (lu.intensity[sel] > 0.15) & (rng.uniform(size=len(sel)) < 0.03)
    lu.codes[sel[replanned]] = _pick(
        rng, (("0701", 2), ("1001", 2), ("0901", 1)), int(replanned.sum())
    )
    parts, idx = explode(geoms, MIN_PIECE_M2)
    props = []
    for i, j in enumerate(idx.tolist()):
        src = sel[j]
        di = int(lu.district[src])
        code = lu.codes[src]
        props.append(
            {
                "name": "永久基本农田",
                "tbbh": f"JBNT{d.adcodes[di]}{i + 1:07d}",
                "dlmc": C.land_use_name(code, "耕地") if code.startswith("01") else "耕地",
            }
        )
    return LayerData(parts, props)


REDLINE_TYPES = ("水源涵养", "生物多样性维护", "水土保持")


def ecological_redline(rng: np.random.Generator, lu: LandUse, world: World) -> LayerData:
    """Forest, grass and reservoir parcels where the ecological field is high, away from
    the urban boundary (5 % keep an overlap with it); 2 % are drawn 40 m wider, reaching
    onto neighbouring farmland (三线 conflicts)."""
    d = world.districts
    natural = np.array([str(c)[:2] in ("03", "04") or c == "1703" for c in lu.codes], dtype=bool)
    sel = np.flatnonzero(natural & (lu.eco > 0.1) & (lu.terrain > -0.3) & (lu.intensity < 0.3))
    geoms = lu.geoms[sel].copy()
    widen = rng.uniform(size=len(sel)) < 0.02
    if widen.any():
        grown = shapely.buffer(geoms[widen], 40.0, quad_segs=2)
        geoms[widen] = shapely.intersection(grown, d.work[lu.district[sel[widen]]])
    keep_overlap = rng.uniform(size=len(sel)) < 0.05
    cut = ~keep_overlap & shapely.intersects(geoms, world.ub_all)
    geoms[cut] = shapely.difference(geoms[cut], world.ub_all)
    geoms, idx = subtract(geoms, world.zones, MIN_PIECE_M2)
    kinds = rng.choice(len(REDLINE_TYPES), size=len(geoms))
    props = []
    for i, (j, k) in enumerate(zip(idx.tolist(), kinds.tolist(), strict=True)):
        di = int(lu.district[sel[j]])
        props.append(
            {
                "name": f"{d.names[di]}{REDLINE_TYPES[k]}生态保护红线",
                "type": REDLINE_TYPES[k],
                "hxbh": f"HX{d.adcodes[di]}{i + 1:06d}",
            }
        )
    return LayerData(geoms, props)


def _tessellation(
    rng: np.random.Generator,
    world: World,
    n: int,
    region: BaseGeometry,
    urban_weight: float,
):
    """Voronoi parcels of `n` points in `region` (denser around the centres), clipped to it
    and to the districts."""
    pts = sample_clustered(rng, n, region, world.centres_xy, world.centres_radius_m, urban_weight)
    cells = voronoi_cells(pts, shapely.box(*region.bounds).buffer(1_000.0))
    if region is not world.districts.outline:
        region_parts, _ = explode(np.array([region], dtype=object))
        cells, _, _ = Mask.of(region_parts).clip(cells, MIN_PIECE_M2)
    pieces, _, dist = world.mask.clip(cells, MIN_PIECE_M2)
    pieces, idx = subtract(pieces, world.zones, MIN_PIECE_M2)
    return pieces, dist[idx]


def urban_plan(rng: np.random.Generator, lu: LandUse, world: World, scale: float) -> LayerData:
    """The legacy urban plan (总规/控规): its own parcels around the urban areas, classes
    from the land-use plan under each, except on the fringe where the old plan had already
    zoned farmland for building (type-04 conflicts with the land plan)."""
    d = world.districts
    region = shapely.intersection(world.ub_all.buffer(1_500.0, quad_segs=4), d.outline)
    n = max(30, int(URBAN_PLAN_PARCELS * fine_multiplier(scale)))
    pieces, dist = _tessellation(rng, world, n, region, urban_weight=6.0)
    rep = shapely.point_on_surface(pieces)
    rx, ry = _xy(rep)
    lu_codes = _lookup_codes(lu, rep, "0103")
    urban = world.in_urban(rx, ry)
    u = world.intensity(rx, ry)
    codes = np.array([C.urban_plan_code(c) for c in lu_codes], dtype=object)
    non_construction = np.array([not is_construction(c) for c in lu_codes], dtype=bool)
    zoned = non_construction & ~urban & (u > 0.15) & (rng.uniform(size=len(codes)) < 0.3)
    codes[zoned] = _pick(rng, (("M1", 2), ("R2", 2), ("W1", 1)), int(zoned.sum()))
    props = []
    for i, (code, di, inside) in enumerate(
        zip(codes.tolist(), dist.tolist(), urban.tolist(), strict=True)
    ):
        props.append(
            {
                "code": code,
                "name": C.urban_plan_name(code),
                "plan": "控制性详细规划" if inside else "城市总体规划",
                "dkbh": f"{d.adcodes[di]}-KG-{i + 1:06d}",
            }
        )
    return LayerData(pieces, props)


def land_plan(rng: np.random.Generator, lu: LandUse, world: World, scale: float) -> LayerData:
    """The legacy land plan (土地利用总体规划 2006–2020): its own, coarser parcels over the
    whole territory, classes from the land-use plan, except where its construction quota
    ran short (1100 under new urban land: type 04) or ran ahead (2110 on land the urban
    plan keeps green: type 03)."""
    d = world.districts
    n = max(30, int(LAND_PLAN_PARCELS * fine_multiplier(scale)))
    pieces, dist = _tessellation(rng, world, n, d.outline, urban_weight=12.0)
    rep = shapely.point_on_surface(pieces)
    rx, ry = _xy(rep)
    lu_codes = _lookup_codes(lu, rep, "0301")
    urban = world.in_urban(rx, ry)
    u = world.intensity(rx, ry)
    codes = np.array([C.land_plan_code(c) for c in lu_codes], dtype=object)
    construction = np.array([is_construction(c) for c in lu_codes], dtype=bool)
    roll = rng.uniform(size=len(codes))
    codes[construction & urban & (u < 0.5) & (roll < 0.3)] = "1100"
    codes[~construction & urban & (roll < 0.25)] = "2110"
    props = [
        {
            "code": code,
            "name": C.land_plan_name(code),
            "plan": "2006-2020年土地利用总体规划",
            "tbbh": f"{d.adcodes[di]}-TG-{i + 1:06d}",
        }
        for i, (code, di) in enumerate(zip(codes.tolist(), dist.tolist(), strict=True))
    ]
    return LayerData(pieces, props)


HAZARDS = ("滑坡", "崩塌", "泥石流", "地面塌陷")
MINERALS = ("煤矿", "石灰岩矿", "页岩气", "锶矿", "砂岩矿")


def sensitive_zones(
    rng: np.random.Generator, world: World, scale: float
) -> tuple[LayerData, np.ndarray]:
    """Geohazard, drinking-water source, heritage and mineral zones. Water sources and
    heritage sites come in pairs: the inner zone and a ring around it (a polygon with a
    hole). Returns the layer and the heritage protection polygons (for purple lines)."""
    d = world.districts
    n = max(20, int(SENSITIVE_ZONES * fine_multiplier(scale)))
    n_hazard, n_mineral = int(n * 0.45), int(n * 0.2)
    n_pairs_water, n_pairs_heritage = int(n * 0.08), int(n * 0.08)
    geoms: list[np.ndarray] = []
    props: list[dict[str, Any]] = []
    avoid = world.zones_union

    def mountainous(x, y):
        return ((world.terrain(x, y) + 1.0) / 2.0) ** 2

    # Geohazards.
    pts = sample_points(rng, n_hazard, d.outline, mountainous, avoid)
    r = np.exp(rng.normal(np.log(350.0), 0.5, len(pts)))
    blobs = star_blobs(pts[:, 0], pts[:, 1], r, rng, vertices=24, roughness=0.4)
    level = rng.choice(["high", "medium", "low"], size=len(pts), p=[0.25, 0.4, 0.35])
    hazard = rng.choice(len(HAZARDS), size=len(pts))
    geoms.append(blobs)
    props += [
        {"type": "geohazard", "level": str(lv), "name": f"{HAZARDS[h]}隐患区"}
        for lv, h in zip(level.tolist(), hazard.tolist(), strict=True)
    ]
    # Minerals.
    pts = sample_points(rng, n_mineral, d.outline, mountainous, avoid)
    r = np.exp(rng.normal(np.log(900.0), 0.5, len(pts)))
    blobs = star_blobs(pts[:, 0], pts[:, 1], r, rng, vertices=24, roughness=0.35)
    mineral = rng.choice(len(MINERALS), size=len(pts))
    geoms.append(blobs)
    props += [{"type": "mineral", "name": f"{MINERALS[m]}矿区"} for m in mineral.tolist()]
    # Drinking-water sources: along the rivers and near towns; level 1 inside a level-2 ring.
    lines = [line for _, _, line in world.rivers]
    on_river = rng.uniform(size=n_pairs_water) < 0.5
    pos = []
    for is_river in on_river.tolist():
        if is_river:
            line = lines[int(rng.integers(len(lines)))]
            p = line.interpolate(rng.uniform(0, line.length))
            pos.append((p.x + rng.normal(0, 300), p.y + rng.normal(0, 300)))
        else:
            t = world.centres_xy[int(rng.integers(len(world.centres_xy)))]
            pos.append((t[0] + rng.normal(0, 3_000), t[1] + rng.normal(0, 3_000)))
    pos = np.asarray(pos).reshape(-1, 2)
    r = rng.uniform(300.0, 700.0, len(pos))
    inner = star_blobs(pos[:, 0], pos[:, 1], r, rng, vertices=24, roughness=0.3)
    outer = star_blobs(pos[:, 0], pos[:, 1], 2.4 * r, rng, vertices=32, roughness=0.3)
    geoms += [inner, shapely.difference(outer, inner)]
    props += [{"type": "water_source", "level": "1", "name": "饮用水水源一级保护区"}] * len(pos)
    props += [{"type": "water_source", "level": "2", "name": "饮用水水源二级保护区"}] * len(pos)
    # Heritage: protection range inside a construction-control zone, near centres.
    t = world.centres_xy[rng.integers(len(world.centres_xy), size=n_pairs_heritage)]
    near = world.centres_radius_m[rng.integers(len(world.centres_radius_m), size=n_pairs_heritage)]
    hx = t[:, 0] + rng.normal(0, 1, len(t)) * near
    hy = t[:, 1] + rng.normal(0, 1, len(t)) * near
    r = rng.uniform(80.0, 300.0, len(t))
    protection = star_blobs(hx, hy, r, rng, vertices=16, roughness=0.2)
    control = star_blobs(hx, hy, 3.0 * r, rng, vertices=24, roughness=0.2)
    geoms += [protection, shapely.difference(control, protection)]
    props += [{"type": "heritage", "level": "protection", "name": "文物保护单位保护范围"}] * len(t)
    props += [{"type": "heritage", "level": "control", "name": "文物保护单位建设控制地带"}] * len(t)

    all_geoms = np.concatenate(geoms)
    pieces, src, dist = world.mask.clip(all_geoms, MIN_PIECE_M2)
    pieces, idx = subtract(pieces, world.zones, MIN_PIECE_M2)
    src, dist = src[idx], dist[idx]
    out_props = []
    for i, (s, di) in enumerate(zip(src.tolist(), dist.tolist(), strict=True)):
        p = dict(props[s])
        p["name"] = f"{d.names[di]}{p['name']}{i + 1:05d}"
        out_props.append(p)
    is_protection = np.array(
        [p["type"] == "heritage" and p.get("level") == "protection" for p in out_props], dtype=bool
    )
    return LayerData(pieces, out_props), pieces[is_protection]


EXPRESSWAYS = ("G50", "G65", "G75", "G85", "G93", "G42", "G69", "G5012", "G5515", "G6911", "G8515")
NATIONAL = ("G210", "G212", "G243", "G318", "G319", "G348", "G350", "G353", "G211", "G244")


def _mst(points: np.ndarray) -> list[tuple[int, int]]:
    n = len(points)
    dist = np.hypot(
        points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1]
    )
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = dist[0].copy()
    parent = np.zeros(n, dtype=np.int64)
    edges = []
    for _ in range(n - 1):
        cand = np.where(in_tree, np.inf, best)
        j = int(np.argmin(cand))
        edges.append((int(parent[j]), j))
        in_tree[j] = True
        closer = dist[j] < best
        best = np.where(closer, dist[j], best)
        parent = np.where(closer, j, parent)
    return edges


def roads(
    rng: np.random.Generator, world: World, scale: float
) -> tuple[LayerData, np.ndarray, np.ndarray]:
    """Road lines: expressways and national roads between district seats, provincial roads
    from towns to seats, county roads between towns, arterial grids in the urban areas and
    rural roads from villages. Returns the layer and, for the road red lines, the trunk and
    arterial lines with their half widths (m)."""
    d = world.districts
    seats = d.seats_xy
    towns = world.towns_xy
    lines: list[BaseGeometry] = []
    props: list[dict[str, Any]] = []
    dist = np.hypot(seats[:, None, 0] - seats[None, :, 0], seats[:, None, 1] - seats[None, :, 1])
    order = np.argsort(dist, axis=1)
    express = {tuple(sorted(e)) for e in _mst(seats)}
    for i in range(len(seats)):
        for j in order[i, 1:3].tolist():
            express.add(tuple(sorted((i, j))))
    national = set()
    for i in range(len(seats)):
        for j in order[i, 3:5].tolist():
            e = tuple(sorted((i, j)))
            if e not in express and dist[e] < 120_000:
                national.add(e)

    def add(a, b, cls: str, name: str, amplitude: float, step: float) -> None:
        lines.append(meander(np.array([a, b]), rng, amplitude=amplitude, step_m=step))
        props.append({"class": cls, "name": name})

    for k, (i, j) in enumerate(sorted(express)):
        add(
            seats[i],
            seats[j],
            "expressway",
            f"{EXPRESSWAYS[k % len(EXPRESSWAYS)]}高速",
            0.04,
            3_000,
        )
    for k, (i, j) in enumerate(sorted(national)):
        add(seats[i], seats[j], "national", f"{NATIONAL[k % len(NATIONAL)]}国道", 0.08, 2_000)
    if len(towns):
        # Provincial and county roads: a spanning tree over seats and towns (a road network,
        # not spokes), edges at a seat provincial, a share of the others too; plus loops.
        nodes = np.vstack([seats, towns])
        n_seats = len(seats)
        tree_edges = _mst(nodes)
        roll = rng.uniform(size=len(tree_edges))
        k_prov = k_county = 0
        for (i, j), r in zip(tree_edges, roll.tolist(), strict=True):
            if i < n_seats and j < n_seats:
                continue  # seats are joined by expressways and national roads
            if i < n_seats or j < n_seats or r < 0.35:
                k_prov += 1
                add(nodes[i], nodes[j], "provincial", f"S{100 + k_prov % 400}省道", 0.1, 1_500)
            else:
                k_county += 1
                add(nodes[i], nodes[j], "county", f"X{k_county:03d}县道", 0.12, 1_000)
        in_tree = {tuple(sorted(e)) for e in tree_edges}
        tdist = np.hypot(
            towns[:, None, 0] - towns[None, :, 0], towns[:, None, 1] - towns[None, :, 1]
        )
        second = np.argsort(tdist, axis=1)[:, 2]
        for i, j in enumerate(second.tolist()):
            e = tuple(sorted((i + n_seats, j + n_seats)))
            if e not in in_tree and rng.uniform() < 0.5:
                in_tree.add(e)
                k_county += 1
                add(nodes[e[0]], nodes[e[1]], "county", f"X{k_county:03d}县道", 0.12, 1_000)
    # Arterial grids in the seats' urban areas.
    for i in range(len(seats)):
        radius = d.seat_radius_m[i] * 1.3
        spacing = rng.uniform(700.0, 1_100.0)
        angle = rng.uniform(0, np.pi / 2)
        c, s = math.cos(angle), math.sin(angle)
        offsets = np.arange(-radius, radius + 1, spacing)
        for k, o in enumerate(offsets.tolist()):
            for ux, uy in ((c, s), (-s, c)):
                nx, ny = -uy, ux
                a = seats[i] + o * np.array([nx, ny]) - radius * np.array([ux, uy])
                b = seats[i] + o * np.array([nx, ny]) + radius * np.array([ux, uy])
                clipped = shapely.intersection(
                    meander(np.array([a, b]), rng, amplitude=0.01, step_m=400), world.ub_all
                )
                if not clipped.is_empty:
                    lines.append(clipped)
                    props.append({"class": "arterial", "name": f"{d.names[i][:-1]}{k + 1}号路"})
    # Rural roads from villages to their nearest centre.
    n_villages = max(10, int(VILLAGE_ROADS * fine_multiplier(scale)))
    villages = sample_points(
        rng,
        n_villages,
        d.outline,
        lambda x, y: 0.2 + 0.8 * world.intensity(x, y) ** 0.3,
        world.zones_union,
    )
    centre = nearest(world.centres_xy, villages)
    for k, (v, c_idx) in enumerate(zip(villages, centre.tolist(), strict=True)):
        target = world.centres_xy[c_idx]
        vec = target - v
        length = float(np.hypot(*vec))
        end = v + vec * min(1.0, 4_000.0 / max(length, 1.0))
        add(v, end, "rural", f"村道{k + 1:05d}", 0.15, 500)

    geoms = np.array(lines, dtype=object)
    pieces, src, _ = world.mask.clip(geoms, 10.0)
    pieces, idx = subtract(pieces, world.zones, 10.0)
    src = src[idx]
    # A two-vertex piece's "point on surface" is an end, often on a district border: give it
    # a middle vertex so the import finds its district.
    short = np.flatnonzero(shapely.get_num_coordinates(pieces) == 2)
    if len(short):
        ends = shapely.get_coordinates(pieces[short]).reshape(-1, 2, 2)
        mid = ends.mean(axis=1, keepdims=True)
        pieces[short] = shapely.linestrings(np.concatenate([ends[:, :1], mid, ends[:, 1:]], axis=1))
    out_props = [dict(props[s]) for s in src.tolist()]
    cls = np.array([p["class"] for p in out_props], dtype=object)
    wide = np.isin(cls, ("expressway", "national", "arterial"))
    half_width = np.select(
        [cls == "expressway", cls == "national", cls == "arterial"], [30.0, 20.0, 15.0], 0.0
    )
    return LayerData(pieces, out_props), pieces[wide], half_width[wide]


def _grid_split(geoms: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut geometries by a square grid: (pieces, source index). Only the cells over each
    geometry's parts are made (a city-wide grid of small cells would be millions)."""
    if len(geoms) == 0:
        return geoms, np.array([], dtype=np.int64)
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    b = shapely.bounds(parts)
    ix0 = np.floor(b[:, 0] / size_m).astype(np.int64)
    iy0 = np.floor(b[:, 1] / size_m).astype(np.int64)
    nx = np.floor(b[:, 2] / size_m).astype(np.int64) - ix0 + 1
    ny = np.floor(b[:, 3] / size_m).astype(np.int64) - iy0 + 1
    counts = nx * ny
    part_idx = np.repeat(np.arange(len(parts)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cx = (ix0[part_idx] + k % nx[part_idx]) * size_m
    cy = (iy0[part_idx] + k // nx[part_idx]) * size_m
    cells = shapely.box(cx, cy, cx + size_m, cy + size_m)
    pieces = shapely.intersection(parts[part_idx], cells)
    out, idx = explode(pieces, MIN_PIECE_M2)
    return out, owner[part_idx[idx]]


def _stretches(lines: np.ndarray, length_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Lines cut into consecutive stretches of about `length_m`: (stretches, source index)."""
    dense = shapely.segmentize(lines, length_m / 4.0)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    out, src = [], []
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1, len(owner)]
    for a, b in itertools.pairwise(starts.tolist()):
        xy = coords[a:b]
        seg = np.hypot(*np.diff(xy, axis=0).T)
        dist = np.r_[0.0, np.cumsum(seg)]
        cut = np.searchsorted(dist, np.arange(0.0, dist[-1], length_m))
        cut = np.unique(np.r_[cut, len(xy) - 1])
        for i, j in itertools.pairwise(cut.tolist()):
            if j > i:
                out.append(xy[i : j + 1])
                src.append(owner[a])
    if not out:
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    index = np.repeat(np.arange(len(out)), [len(xy) for xy in out])
    return shapely.linestrings(np.vstack(out), indices=index), np.array(src, dtype=np.int64)


def control_lines(
    lu: LandUse,
    world: World,
    scale: float,
    heritage: np.ndarray,
    road_lines: np.ndarray,
    road_half_width: np.ndarray,
) -> LayerData:
    """蓝线 along rivers near towns, 绿线 on parks and green buffers, 紫线 on heritage sites,
    黄线 on utility land, 道路红线 along trunk and arterial roads in the urban areas."""
    d = world.districts
    geoms: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    in_ub = lu.urban
    for codes, kind in (({"1401", "1402"}, "green"), ({"1301", "1303"}, "yellow")):
        sel = in_ub & np.isin(lu.codes, list(codes))
        geoms.append(lu.geoms[sel])
        kinds.append(np.full(int(sel.sum()), kind, dtype=object))
    geoms.append(heritage)
    kinds.append(np.full(len(heritage), "purple", dtype=object))
    cell = 2_500.0 / max(fine_multiplier(scale), 0.05)
    ub_parts, _ = explode(np.array([world.ub_all], dtype=object))
    near_towns, _ = explode(shapely.buffer(ub_parts, 2_000.0, quad_segs=4))
    blue, _, _ = Mask.of(near_towns).clip(np.array(world.river_polys, dtype=object), MIN_PIECE_M2)
    blue, _ = _grid_split(blue, cell)
    geoms.append(blue)
    kinds.append(np.full(len(blue), "blue", dtype=object))
    if len(road_lines):
        # Road red lines: each road cut into stretches of about `cell` metres, buffered by
        # its half width, kept inside the urban boundary.
        stretches, src = _stretches(road_lines, cell)
        corridors = shapely.buffer(stretches, road_half_width[src], quad_segs=2, cap_style="flat")
        red, _, _ = Mask.of(ub_parts).clip(corridors, MIN_PIECE_M2)
        geoms.append(red)
        kinds.append(np.full(len(red), "road", dtype=object))
    all_geoms = np.concatenate(geoms)
    all_kinds = np.concatenate(kinds)
    pieces, src, dist = world.mask.clip(all_geoms, MIN_PIECE_M2)
    pieces, idx = subtract(pieces, world.zones, MIN_PIECE_M2)
    src, dist = src[idx], dist[idx]
    names = {
        "blue": "蓝线",
        "green": "绿线",
        "purple": "紫线",
        "yellow": "黄线",
        "road": "道路红线",
    }
    props = [
        {"type": all_kinds[s], "name": f"{d.names[di]}{names[all_kinds[s]]}{i + 1:05d}"}
        for i, (s, di) in enumerate(zip(src.tolist(), dist.tolist(), strict=True))
    ]
    return LayerData(pieces, props)


FACILITY_TYPES_URBAN = (
    ("school", 22), ("kindergarten", 12), ("hospital", 8), ("clinic", 12), ("fire_station", 5),
    ("police_station", 6), ("substation", 6), ("bus_station", 6), ("community_center", 12),
    ("water_plant", 2), ("sports_center", 3), ("library", 2),
)  # fmt: skip
FACILITY_TYPES_RURAL = (
    ("school", 30), ("clinic", 30), ("substation", 20), ("water_plant", 10),
    ("fire_station", 5), ("police_station", 5),
)  # fmt: skip
FACILITY_NAMES = {
    "school": "学校",
    "kindergarten": "幼儿园",
    "hospital": "医院",
    "clinic": "卫生服务中心",
    "fire_station": "消防站",
    "police_station": "派出所",
    "substation": "变电站",
    "bus_station": "公交枢纽站",
    "community_center": "社区服务中心",
    "water_plant": "水厂",
    "sports_center": "体育中心",
    "library": "图书馆",
}


def facilities(rng: np.random.Generator, world: World, scale: float) -> LayerData:
    d = world.districts
    n = max(20, int(FACILITIES * fine_multiplier(scale)))
    n_urban = int(n * 0.85)
    urban = sample_points(
        rng,
        n_urban,
        world.ub_all,
        lambda x, y: 0.2 + 0.8 * world.intensity(x, y),
        world.zones_union,
    )
    rural = sample_points(
        rng,
        n - n_urban,
        d.outline,
        lambda x, y: 0.3 + 0.7 * world.intensity(x, y),
        world.zones_union,
    )
    pts = np.vstack([urban, rural])
    types = np.concatenate(
        [_pick(rng, FACILITY_TYPES_URBAN, len(urban)), _pick(rng, FACILITY_TYPES_RURAL, len(rural))]
    )
    dist = d.district_at(pts[:, 0], pts[:, 1])
    keep = dist >= 0
    pts, types, dist = pts[keep], types[keep], dist[keep]
    props = [
        {"type": t, "name": f"{d.names[di]}第{i + 1}{FACILITY_NAMES[t]}"}
        for i, (t, di) in enumerate(zip(types.tolist(), dist.tolist(), strict=True))
    ]
    return LayerData(shapely.points(pts), props)


def generate_layers(
    districts: Districts,
    zones: list[BaseGeometry],
    *,
    seed: int,
    scale: float,
    progress: Progress = lambda message: None,
) -> dict[str, LayerData]:
    """Every synthetic layer, keyed by demo layer id (working CRS). Scale 0 generates
    nothing (the planted scenarios alone: the fastest dataset for tests)."""
    if scale <= 0:
        return {}
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10)]
    progress("structure: towns, rivers, urban boundary")
    world = build_world(streams[0], districts, zones)
    out: dict[str, LayerData] = {}
    out["urban_boundary"] = urban_boundary_layer(world)
    progress("land-use plan")
    lu = land_use(streams[1], world, scale, progress)
    progress("basic farmland and ecological red line")
    out["basic_farmland"] = basic_farmland(streams[2], lu, world)
    out["ecological_redline"] = ecological_redline(streams[3], lu, world)
    out["land_use_plan"] = land_use_layer(lu, world)
    progress("legacy urban plan and land plan")
    out["urban_plan"] = urban_plan(streams[4], lu, world, scale)
    out["land_plan"] = land_plan(streams[5], lu, world, scale)
    progress("sensitive zones, roads, control lines, facilities")
    out["sensitive_zones"], heritage = sensitive_zones(streams[6], world, scale)
    out["roads"], road_lines, half_width = roads(streams[7], world, scale)
    out["control_lines"] = control_lines(lu, world, scale, heritage, road_lines, half_width)
    out["facilities"] = facilities(streams[8], world, scale)
    return out
