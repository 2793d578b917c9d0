"""The demo's land-use status (土地利用现状): one version per annual survey, 2021–2025, with
planted scenarios whose answers are known.

The territory is cut into grid cells inside the real districts; each cell carries a
用地用海 code from how urban its place is, and year by year some farmland and open land
near the towns becomes construction land (and some farmland becomes orchard). The
planted scenarios' zones are surveyed from their planted lines and never change: basic
farmland is farmland (0101), the ecological red line forest (0301), the urban boundary
built-up (0701) and the rest forest (0301) — so every other service's known answers in a
zone hold on the status too. On top of that:

- new construction in 2025 (2024 → 2025) in zone d (长寿, scenario d's zone): 12,345 m²
  on basic farmland (its F1), 12,075 m² outside the urban development boundary and a
  0.5 m² piece under the sliver tolerance; in zone e (涪陵) 5,616 m² on the ecological
  red line (scenario e's R1);
- indicator targets (`planted_targets`) put 渝北's construction land at 95 % of its 2025
  target (预警), 沙坪坝's at 85 % (正常), 渝中's at 104 % (超标), and 合川's farmland 4 %
  under its target (不达标).

Everything is in the working CRS (equal-area): planar areas are areas on the ellipsoid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.demo.geography import Districts, load_districts, urban_intensity
from planfuse.demo.layers import NATURAL_RESOURCES, DemoLayer
from planfuse.demo.scenarios import ZONES, box, build_scenarios, reserved_zones

YEARS = (2021, 2022, 2023, 2024, 2025)
STATUS_LAYER = DemoLayer(
    "land_use_status",
    "land_use_status",
    "土地利用现状（国土变更调查）",
    NATURAL_RESOURCES,
    "EPSG:4490",
)
# Grid cells at scale 1: about 20,000 per version (2 km); fewer, larger ones below.
CELLS_AT_SCALE_1 = 20_000
CITY_AREA_M2 = 8.24e10
MIN_CELL_M = 500.0
MAX_CELL_M = 12_000.0

CONSTRUCTION_CODES = ("0701", "0701", "0801", "0901", "1001", "1101", "1207", "1301", "1401")
FARMLAND_CODES = ("0101", "0102", "0103")
#: Construction land (建设用地) and farmland (耕地) as the demo indicators measure them.
CONSTRUCTION_PREFIXES = ("07", "08", "09", "10", "11", "12", "13", "14", "15", "16")
FARMLAND_PREFIXES = ("01",)
# Yearly conversion rates of the cells that may change.
TO_CONSTRUCTION_PER_YEAR = 0.035
FARMLAND_TO_ORCHARD_PER_YEAR = 0.01

#: Planted district ratios (value / 2025 target), DOMAIN.md thresholds: ≤ 0.9 normal,
#: ≤ 1 warning, above exceeded; a lower bound under 1 is below target.
PLANTED_RATIOS = {
    ("construction_land", "500112"): 0.95,
    ("construction_land", "500106"): 0.85,
    ("construction_land", "500103"): 1.04,
    ("farmland", "500117"): 0.96,
}


@dataclass(frozen=True)
class PlantedChange:
    """A piece that becomes construction land in 2025, with where it lands."""

    key: str
    zone: str
    local: BaseGeometry
    before: str
    after: str
    on: str | None  # basic_farmland, ecological_redline, outside_urban_boundary
    area_m2: float
    sliver: bool = False

    @property
    def work(self) -> BaseGeometry:
        return ZONES[self.zone].place(self.local)

    def describe(self) -> dict[str, Any]:
        zone = ZONES[self.zone]
        return {
            "id": self.key,
            "district": zone.adcode,
            "from": self.before,
            "to": self.after,
            "on": self.on,
            "area_m2": self.area_m2,
            "left_out": self.sliver,
        }


PLANTED_CHANGES = (
    # Scenario d's basic farmland F1 covers u ∈ [0, 1500]; no urban boundary in zone d.
    PlantedChange(
        "m:C1", "d", box(400, 200, 500, 323.45), "0101", "1001", "basic_farmland", 12_345.0
    ),
    # Scenario e's red line R1 is the band v ∈ [-400, 412.34]; its road runs at u ∈ ±30.
    PlantedChange(
        "m:C2", "e", box(600, -100, 680, -29.8), "0301", "1001", "ecological_redline", 5_616.0
    ),
    PlantedChange(
        "m:C3",
        "d",
        box(-1000, 200, -850, 280.5),
        "0301",
        "0701",
        "outside_urban_boundary",
        12_075.0,
    ),
    PlantedChange(
        "m:C4",
        "d",
        box(-600, -600, -599.5, -599),
        "0301",
        "1001",
        "outside_urban_boundary",
        0.5,
        True,
    ),
)


@dataclass
class StatusVersions:
    """The generated versions: per year, the cells' geometries (working CRS) and codes."""

    geoms: dict[int, np.ndarray] = field(default_factory=dict)
    codes: dict[int, list[str]] = field(default_factory=dict)
    owners: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    cell_m: float = 0.0

    def area_by_district(self, year: int, prefixes: tuple[str, ...]) -> dict[str, float]:
        """m² per district adcode of the cells whose code starts with one of `prefixes`
        (every cell lies in one district)."""
        return _area_by_district(self, year, prefixes)

    def properties(self, year: int) -> list[dict[str, Any]]:
        return [{"code": code} for code in self.codes[year]]


def _cell_size(scale: float) -> float:
    cells = max(CELLS_AT_SCALE_1 * max(scale, 0.001), 1.0)
    return float(np.clip(np.sqrt(CITY_AREA_M2 / cells), MIN_CELL_M, MAX_CELL_M))


def _grid(districts: Districts, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid cells clipped to each district: (geometries, district index)."""
    minx, miny, maxx, maxy = districts.outline.bounds
    xs = np.arange(np.floor(minx / cell_m) * cell_m, maxx, cell_m)
    ys = np.arange(np.floor(miny / cell_m) * cell_m, maxy, cell_m)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_m, gy.ravel() + cell_m)
    b_idx, d_idx = districts.tree.query(boxes, predicate="intersects")
    parts = shapely.intersection(boxes[b_idx], districts.work[d_idx])
    geoms, owners = [], []
    for geom, d in zip(parts.tolist(), d_idx.tolist(), strict=True):
        for part in shapely.get_parts(geom):
            # Shreds along the district boundary would be noise, not land parcels.
            if part.geom_type == "Polygon" and part.area >= 1_000.0:
                geoms.append(part)
                owners.append(d)
    return np.array(geoms, dtype=object), np.array(owners, dtype=np.int64)


def generate_status(scale: float, seed: int) -> StatusVersions:
    """The status versions of `YEARS` (deterministic for a seed and scale)."""
    return _generate(round(float(scale), 6), int(seed))


@functools.lru_cache(maxsize=4)
def _generate(scale: float, seed: int) -> StatusVersions:
    districts = load_districts()
    rng = np.random.default_rng([seed, 12])
    cell_m = _cell_size(scale)
    geoms, owners = _grid(districts, cell_m)
    pieces = [p.work for p in PLANTED_CHANGES]
    carved = shapely.union_all([*pieces, *reserved_zones()])
    geoms, owners = _polygons(shapely.difference(geoms, carved), owners)
    zone_geoms, zone_codes, zone_owners = _zone_status(districts, shapely.union_all(pieces))
    centre = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(centre), shapely.get_y(centre)
    urban = urban_intensity(x, y, districts.seats_xy, 2.5 * districts.seat_radius_m)
    n = len(geoms)
    draw = rng.random(n)
    codes = np.empty(n, dtype=object)
    built = urban > 0.55
    codes[built] = np.array(CONSTRUCTION_CODES, dtype=object)[
        rng.integers(0, len(CONSTRUCTION_CODES), int(built.sum()))
    ]
    rest = ~built
    open_land = np.select(
        [draw < 0.45, draw < 0.75, draw < 0.80, draw < 0.85, draw < 0.95],
        ["farm", "0301", "0401", "0501", "1701"],
        default="0703",
    )
    farm_code = np.array(FARMLAND_CODES, dtype=object)[rng.integers(0, 3, n)]
    codes[rest] = np.where(open_land == "farm", farm_code, open_land)[rest]
    # Cells near the towns turn into construction land, one year or another; some farmland
    # becomes orchard (非粮化).
    candidate = rest & (urban > 0.15) & np.isin(codes, [*FARMLAND_CODES, "0401", "0703"])
    change_year = np.full(n, 9999)
    yearly = rng.random((len(YEARS), n))
    for i, year in enumerate(YEARS[1:], start=1):
        turning = candidate & (change_year == 9999) & (yearly[i] < TO_CONSTRUCTION_PER_YEAR)
        change_year[turning] = year
    orchard_year = np.full(n, 9999)
    orchard = rest & ~candidate & np.isin(codes, FARMLAND_CODES)
    for i, year in enumerate(YEARS[1:], start=1):
        turning = orchard & (orchard_year == 9999) & (yearly[i] > 1 - FARMLAND_TO_ORCHARD_PER_YEAR)
        orchard_year[turning] = year
    new_code = np.where(rng.random(n) < 0.6, "0701", "1001")
    out = StatusVersions(cell_m=cell_m)
    planted_geoms = np.array(pieces, dtype=object)
    for year in YEARS:
        year_codes = np.where(change_year <= year, new_code, codes)
        year_codes = np.where(orchard_year <= year, "0201", year_codes)
        planted_codes = [p.after if year >= YEARS[-1] else p.before for p in PLANTED_CHANGES]
        out.geoms[year] = np.concatenate([planted_geoms, zone_geoms, geoms])
        out.codes[year] = [*planted_codes, *zone_codes, *year_codes.tolist()]
    planted_owners = [districts.index_of(ZONES[p.zone].adcode) for p in PLANTED_CHANGES]
    out.owners = np.concatenate([np.array(planted_owners), zone_owners, owners])
    return out


def _polygons(geoms: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of at least 1,000 m² (a cell cut by a zone may fall apart)."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= 1_000.0)
    return parts[keep], owners[index[keep]]


#: The status of a zone's planted lines, first match wins; the rest of a zone is forest.
ZONE_STATUS = (
    ("basic_farmland", "0101"),
    ("ecological_redline", "0301"),
    ("urban_boundary", "0701"),
)
ZONE_REST = "0301"


def _zone_status(
    districts: Districts, carved: BaseGeometry
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The status features of the planted zones (without the planted change pieces)."""
    planted = build_scenarios(districts).features
    geoms: list[BaseGeometry] = []
    codes: list[str] = []
    owners: list[int] = []
    for letter, zone in ZONES.items():
        left = zone.square.difference(carved)
        for layer, code in (*ZONE_STATUS, (None, ZONE_REST)):
            if layer is None:
                part = left
            else:
                lines = [p.work for p in planted.get(layer, []) if p.zone.letter == letter]
                if not lines:
                    continue
                part = left.intersection(shapely.union_all(lines))
                left = left.difference(part)
            for piece in shapely.get_parts(part):
                if piece.geom_type == "Polygon" and piece.area >= 1.0:
                    geoms.append(piece)
                    codes.append(code)
                    owners.append(districts.index_of(zone.adcode))
    return np.array(geoms, dtype=object), codes, np.array(owners, dtype=np.int64)


def _area_by_district(
    versions: StatusVersions, year: int, prefixes: tuple[str, ...]
) -> dict[str, float]:
    districts = load_districts()
    codes = np.array(versions.codes[year], dtype=str)
    wanted = np.zeros(len(codes), dtype=bool)
    for prefix in prefixes:
        wanted |= np.char.startswith(codes, prefix)
    areas = shapely.area(versions.geoms[year])
    owners = versions.owners
    sums = np.bincount(owners[wanted], weights=areas[wanted], minlength=len(districts.adcodes))
    return dict(zip(districts.adcodes, sums.tolist(), strict=True))
