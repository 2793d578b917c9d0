"""Planted scenarios: features with known answers in reserved zones of the demo dataset.

Each scenario lives in a square zone that random generation leaves empty. Its features are
drawn in local metres (u, v) around the zone centre, rotated by the zone's angle and placed
in the working CRS (Albers equal-area, where planar area is true area), so an overlap drawn
as 100 m × 123.4567 m is 12,345.67 m² on the ellipsoid. They are written to each layer's
file in its department's CRS like every other feature, and imported through the normal path.

Planted features come first in their layer files (so their feature ids are stable for any
seed and scale) and carry a `demo_id` property ("<scenario letter>:<name>").

`build_scenarios()` returns the planted features per layer and the scenario records that
`server/demo/scenarios.json` holds (`python -m planfuse.demo.scenarios` rewrites it; a unit
test checks the file is current).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry.base import BaseGeometry

from planfuse.demo.codes import land_use_name
from planfuse.demo.geography import Districts, load_districts, lonlat_to_work, to_storage
from planfuse.demo.layers import DEGREE_DECIMALS, LAYERS_BY_ID, METRE_DECIMALS
from planfuse.geo.crs import STORAGE_CRS_KEY, resolve_crs, transform_geometry

SCENARIOS_FILE = Path(__file__).resolve().parent / "scenarios.json"
FORMAT_VERSION = 1

# DOMAIN.md defaults the expected answers assume.
TOLERANCE_M2 = 1.0
SLIVER_AREA_M2 = 200.0
SLIVER_THINNESS_M = 1.0
UB_PASS_RATIO = 0.999
UB_WARN_RATIO = 0.5


# Construction classes of the legacy plans (DOMAIN.md): GB 50137 anything but E*; land plan
# 2xxx. (用地用海 level-1 07–16: planfuse.services.layers.land_use.is_construction.)
def urban_plan_is_construction(code: str) -> bool:
    return not code.upper().startswith("E")


def land_plan_is_construction(code: str) -> bool:
    return code.startswith("2")


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of an overlay result (drops the lines and points a collection may hold)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    if not parts:
        raise AssertionError("a planted polygon came out empty")
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def box(u0: float, v0: float, u1: float, v1: float) -> shapely.Polygon:
    return shapely.box(u0, v0, u1, v1)


@dataclass
class Zone:
    """A reserved square: centre (CGCS2000 lon/lat), half side, rotation, district."""

    letter: str
    lon: float
    lat: float
    half_m: float
    angle_deg: float
    adcode: str
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        x, y = lonlat_to_work([self.lon], [self.lat])
        self.x, self.y = float(x[0]), float(y[0])

    def place(self, geom: BaseGeometry) -> BaseGeometry:
        """Local metres (u, v) → working CRS."""
        a = math.radians(self.angle_deg)
        c, s = math.cos(a), math.sin(a)
        return affinity.affine_transform(geom, [c, -s, s, c, self.x, self.y])

    @property
    def square_local(self) -> shapely.Polygon:
        h = self.half_m
        return box(-h, -h, h, h)

    @property
    def square(self) -> BaseGeometry:
        return self.place(self.square_local)


ZONES: dict[str, Zone] = {
    z.letter: z
    for z in (
        Zone("a", 106.30, 29.50, 1500, 12.0, "500107"),
        Zone("b", 106.10, 29.10, 1500, -8.0, "500116"),
        Zone("c", 106.75, 29.82, 1500, 25.0, "500112"),
        Zone("d", 107.20, 30.05, 1500, 5.0, "500115"),
        Zone("e", 107.25, 29.55, 1500, 33.0, "500102"),
        Zone("f", 106.50, 29.88, 1500, 0.0, "500109"),
        Zone("g", 106.45, 30.15, 1500, 15.0, "500117"),
        Zone("h", 105.85, 29.20, 1500, -20.0, "500118"),
        Zone("i", 106.80, 29.95, 4500, -10.0, "500112"),
    )
}


def reserved_zones() -> list[BaseGeometry]:
    """The zone squares in the working CRS: random generation leaves them empty."""
    return [z.square for z in ZONES.values()]


@dataclass
class Planted:
    layer: str
    demo_id: str
    local: BaseGeometry
    props: dict[str, Any]
    zone: Zone
    work: BaseGeometry = field(init=False)

    def __post_init__(self) -> None:
        self.work = self.zone.place(self.local)


class ZoneBuilder:
    """Collects the planted features of one zone (local coordinates)."""

    def __init__(self, zone: Zone):
        self.zone = zone
        self.features: list[Planted] = []

    def add(self, layer: str, key: str, local: BaseGeometry, **props: Any) -> Planted:
        props = {"demo_id": f"{self.zone.letter}:{key}", **props}
        local = polygonal(local) if local.geom_type not in ("Point", "LineString") else local
        planted = Planted(layer, props["demo_id"], local, props, self.zone)
        self.features.append(planted)
        return planted

    def of(self, layer: str) -> list[Planted]:
        return [p for p in self.features if p.layer == layer]

    def fill_land_use(self, inside_codes: Iterable[str], outside_codes: Iterable[str]) -> None:
        """Cover the rest of the zone with land-use parcels: blocks of a grid, urban codes
        inside the zone's urban boundary, non-construction codes outside it."""
        square = self.zone.square_local
        taken = shapely.union_all([p.local for p in self.of("land_use_plan")])
        rest = square.difference(taken)
        ub = shapely.union_all([p.local for p in self.of("urban_boundary")])
        h = self.zone.half_m
        size = 500.0 if h <= 1500 else 900.0
        steps = np.arange(-h, h, size)
        inside_codes, outside_codes = list(inside_codes), list(outside_codes)
        n = 0
        for inside, codes in ((True, inside_codes), (False, outside_codes)):
            region = rest.intersection(ub) if inside else rest.difference(ub)
            if region.is_empty:
                continue
            for i, u in enumerate(steps):
                for j, v in enumerate(steps):
                    block = region.intersection(box(u, v, min(u + size, h), min(v + size, h)))
                    for part in shapely.get_parts(block):
                        if part.geom_type != "Polygon" or part.area < 1.0:
                            continue
                        n += 1
                        code = codes[(3 * i + 5 * j) % len(codes)]
                        name = f"背景地块（{land_use_name(code, code)}）"
                        self.add("land_use_plan", f"BG{n:03d}", part, code=code, name=name)


# --- helpers for the expected figures ---------------------------------------------------


def _round(value: float, digits: int = 2) -> float:
    return float(round(value, digits))


def _close(measured: float, designed: float, what: str) -> None:
    """Planted figures are exact by construction; catch design mistakes."""
    if not math.isclose(measured, designed, rel_tol=1e-9, abs_tol=1e-6):
        raise AssertionError(f"{what}: measured {measured!r}, designed {designed!r}")


def thinness(geom: BaseGeometry) -> float:
    return 2.0 * geom.area / geom.length if geom.length else 0.0


def geojson_in(geom_work: BaseGeometry, crs: str) -> dict[str, Any]:
    """A working-CRS geometry as a GeoJSON geometry in `crs`, with the files' rounding."""
    info = resolve_crs(crs)
    storage = to_storage(geom_work)
    target = (
        storage if info.key == STORAGE_CRS_KEY else transform_geometry(storage, "EPSG:4490", info)
    )
    decimals = DEGREE_DECIMALS if info.degrees else METRE_DECIMALS
    target = shapely.transform(target, lambda c: np.round(c, decimals))
    return json.loads(shapely.to_geojson(target))


def _ratio(a: float, b: float) -> float:
    return float(round(a / b, 6)) if b else 0.0


# --- compliance ----------------------------------------------------------------------------

COMPLIANCE_ITEMS = (
    ("basic_farmland", "basic_farmland"),
    ("ecological_redline", "ecological_redline"),
    ("urban_boundary", "urban_boundary"),
    ("land_use_plan", "land_use_plan"),
    ("sensitive_zone", "sensitive_zones"),
    ("control_line", "control_lines"),
)


def _item_status(rule: str, overlap: float, area: float, project_type: str, incompatible: float):
    if rule == "basic_farmland":
        if overlap <= TOLERANCE_M2:
            return "pass"
        return "needs_approval" if project_type == "major" else "fail"
    if rule == "ecological_redline":
        if overlap <= TOLERANCE_M2:
            return "pass"
        return "needs_review" if project_type == "linear" else "fail"
    if rule == "urban_boundary":
        if project_type != "urban":
            return "info"
        ratio = overlap / area
        return "pass" if ratio >= UB_PASS_RATIO else "warn" if ratio >= UB_WARN_RATIO else "fail"
    if rule == "land_use_plan":
        return "pass" if incompatible == 0 else "fail"
    # Sensitive zones and control lines: the planted zones hold none under the projects.
    return "pass" if overlap <= TOLERANCE_M2 else "fail"


def _verdict(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    for verdict in ("fail", "needs_approval", "needs_review", "warn"):
        if verdict in statuses:
            return verdict
    return "pass"


def _compliance_expected(
    zb: ZoneBuilder,
    project_local: BaseGeometry,
    land_use: str,
    project_type: str,
    designed: dict[str, float],
) -> dict[str, Any]:
    project = zb.zone.place(project_local)
    area = project.area
    _close(area, designed["project_area_m2"], f"{zb.zone.letter} project area")
    items = {}
    for rule, layer in COMPLIANCE_ITEMS:
        overlaps = []
        for p in zb.of(layer):
            piece = project.intersection(p.work)
            if piece.area > 1e-6:
                overlaps.append((p, piece.area))
        overlap = sum(a for _, a in overlaps)
        incompatible = 0.0
        item: dict[str, Any] = {}
        if rule == "land_use_plan":
            by_code: dict[str, float] = {}
            for p, a in overlaps:
                by_code[p.props["code"]] = by_code.get(p.props["code"], 0.0) + a
            item["planned_codes_m2"] = {k: _round(v) for k, v in sorted(by_code.items())}
            incompatible = sum(v for k, v in by_code.items() if k != land_use)
            overlap = incompatible
            item["note"] = (
                "the project lies wholly on parcels of the requested class itself, so any "
                "compatibility table passes it"
            )
        if rule in designed:
            _close(overlap, designed[rule], f"{zb.zone.letter} {rule} overlap")
            overlap = designed[rule]
        item = {
            "status": _item_status(rule, overlap, area, project_type, incompatible),
            "overlap_area_m2": _round(overlap),
            "overlap_ratio": _ratio(overlap, designed["project_area_m2"]),
            "features": sorted(p.demo_id for p, _ in overlaps),
            **item,
        }
        items[rule] = item
    return {
        "project_area_m2": designed["project_area_m2"],
        "verdict": _verdict(i["status"] for i in items.values()),
        "items": items,
    }


def _compliance_record(
    zb: ZoneBuilder,
    name: str,
    what: str,
    project_local: BaseGeometry,
    land_use: str,
    project_type: str,
    designed: dict[str, float],
    crs_list: tuple[str, ...] = ("EPSG:4490",),
) -> dict[str, Any]:
    project = zb.zone.place(project_local)
    record = {
        "name": name,
        "scenario": zb.zone.letter,
        "service": "compliance",
        "what": what,
        "input": {
            "geometry": geojson_in(project, crs_list[0]),
            "crs": crs_list[0],
            "land_use": land_use,
            "project_type": project_type,
        },
        "expected": _compliance_expected(zb, project_local, land_use, project_type, designed),
    }
    if len(crs_list) > 1:
        record["inputs_by_crs"] = {crs: geojson_in(project, crs) for crs in crs_list}
    return record


# --- the scenarios ------------------------------------------------------------------------


def scenario_a(zb: ZoneBuilder) -> dict[str, Any]:
    zb.add("urban_boundary", "UB1", box(-1500, -1500, 0, 1500), zone="01", name="集中建设区")
    zb.add("basic_farmland", "F1", box(0, -1500, 1500, 1500), name="永久基本农田保护图斑")
    zb.add("land_use_plan", "P1", box(-400, -300, 200, 300), code="0701", name="居住用地")
    zb.fill_land_use(["0701", "0901", "1401", "070102", "0804"], ["0103", "0101", "0301"])
    w = 61.72835  # 200 m × 61.72835 m = 12,345.67 m² on the farmland
    project = box(-200, -100, w, 100)
    return _compliance_record(
        zb,
        "a_farmland_overlap",
        "An urban residential project whose red line runs 61.73 m onto basic farmland: "
        "basic_farmland fails with an overlap of exactly 12,345.67 m²; 40,000 m² lie inside "
        "the urban boundary (warn for an urban project).",
        project,
        "0701",
        "urban",
        {
            "project_area_m2": 52_345.67,
            "basic_farmland": 12_345.67,
            "urban_boundary": 40_000.0,
            "ecological_redline": 0.0,
        },
    )


def scenario_b(zb: ZoneBuilder) -> dict[str, Any]:
    notch = [(0, -1), (0.5, 0), (0, 1)]  # a 0.5 m² triangle over the boundary line
    zb.add("urban_boundary", "UB1", box(-1500, -1500, 0, 1500), zone="01", name="集中建设区")
    zb.add("basic_farmland", "F1", box(0, -1500, 1500, 1500), name="永久基本农田保护图斑")
    parcel = shapely.Polygon([(-400, -300), (0, -300), *notch, (0, 300), (-400, 300)])
    zb.add("land_use_plan", "P1", parcel, code="0701", name="居住用地")
    zb.fill_land_use(["0701", "0901", "1401", "070102", "0804"], ["0103", "0101", "0301"])
    project = shapely.Polygon([(-200, -100), (0, -100), *notch, (0, 100), (-200, 100)])
    return _compliance_record(
        zb,
        "b_boundary_noise",
        "An urban project drawn along the farmland's edge whose digitising noise crosses it "
        "by a 0.5 m² triangle: under the 1 m² tolerance, basic_farmland passes; 99.999 % "
        "inside the urban boundary; every item passes.",
        project,
        "0701",
        "urban",
        {
            "project_area_m2": 40_000.5,
            "basic_farmland": 0.5,
            "urban_boundary": 40_000.0,
            "ecological_redline": 0.0,
        },
    )


def scenario_c(zb: ZoneBuilder) -> dict[str, Any]:
    h = zb.zone.half_m
    zb.add("urban_boundary", "UB1", box(-h, -h, h, h), zone="01", name="集中建设区")
    zb.add("land_use_plan", "P1", box(-400, -300, 400, 300), code="0701", name="居住用地")
    zb.add("land_use_plan", "P2", box(-400, -420, 400, -300), code="1207", name="城镇村道路用地")
    zb.fill_land_use(["0901", "1401", "0804", "070102", "0701", "0806"], ["0103"])
    zb.add(
        "roads",
        "R1",
        shapely.LineString([(-1500, -360), (1500, -360)]),
        **{"class": "arterial", "name": "规划主干路"},
    )
    zb.add("facilities", "S1", shapely.Point(300, 500), type="school", name="示范小学")
    project = box(-125, -80, 125, 80)
    return _compliance_record(
        zb,
        "c_all_pass",
        "An urban residential project (0701) wholly inside the urban boundary on a 0701 "
        "parcel; no farmland, red line, sensitive zone or control line anywhere in the zone: "
        "every item passes.",
        project,
        "0701",
        "urban",
        {"project_area_m2": 40_000.0, "urban_boundary": 40_000.0, "basic_farmland": 0.0},
    )


def scenario_d(zb: ZoneBuilder) -> dict[str, Any]:
    zb.add("basic_farmland", "F1", box(0, -1500, 1500, 1500), name="永久基本农田保护图斑")
    zb.add("land_use_plan", "P1", box(-300, -250, 400, 250), code="1201", name="铁路用地")
    zb.fill_land_use([], ["0301", "0103", "0101", "0302"])
    project = box(-150, -150, 234.5678, 150)
    return _compliance_record(
        zb,
        "d_major_on_farmland",
        "A major project (重大项目, railway land 1201) occupying 70,370.34 m² of basic "
        "farmland: basic_farmland needs_approval, nothing fails, verdict needs_approval.",
        project,
        "1201",
        "major",
        {"project_area_m2": 115_370.34, "basic_farmland": 70_370.34, "urban_boundary": 0.0},
    )


def scenario_e(zb: ZoneBuilder) -> dict[str, Any]:
    zb.add("ecological_redline", "R1", box(-1500, -400, 1500, 412.34), name="生态保护红线（示例）")
    zb.add("land_use_plan", "P1", box(-30, -1500, 30, 1500), code="1202", name="公路用地")
    zb.fill_land_use([], ["0301", "0302", "0303"])
    project = box(-18.25, -1300, 18.25, 1300)
    return _compliance_record(
        zb,
        "e_linear_across_redline",
        "A 36.5 m wide, 2.6 km long road corridor (linear project, 1202) crossing an "
        "812.34 m band of ecological red line: ecological_redline needs_review with exactly "
        "29,650.41 m²; verdict needs_review.",
        project,
        "1202",
        "linear",
        {"project_area_m2": 94_900.0, "ecological_redline": 29_650.41, "basic_farmland": 0.0},
    )


def scenario_f(zb: ZoneBuilder) -> dict[str, Any]:
    zb.add("basic_farmland", "F1", box(150, -1500, 1500, 1500), name="永久基本农田保护图斑")
    zb.add("urban_boundary", "UB1", box(-1500, -1500, -100, 1500), zone="02", name="弹性发展区")
    zb.add("land_use_plan", "P1", box(-400, -300, 400, 300), code="0901", name="商业用地")
    zb.fill_land_use(["0701", "1401", "070102", "0901"], ["0103", "0101", "0201"])
    project = box(-300, -200, 300, 200).difference(box(100, 50, 300, 200))
    record = _compliance_record(
        zb,
        "f_zone_edge",
        "An L-shaped commercial project straddling 106.5°E, the edge between Gauss–Krüger "
        "zones 35 and 36, supplied in EPSG:4523 and EPSG:4524 (and EPSG:4490): the same "
        "210,000 m² (within 0.01 %) and the same overlaps whichever CRS it comes in.",
        project,
        "0901",
        "urban",
        {
            "project_area_m2": 210_000.0,
            "basic_farmland": 37_500.0,
            "urban_boundary": 80_000.0,
            "ecological_redline": 0.0,
        },
        crs_list=("EPSG:4523", "EPSG:4524", "EPSG:4490"),
    )
    # How the meridian splits it (for the record; the split follows the curved meridian).
    storage = to_storage(zb.zone.place(project))
    west = storage.intersection(shapely.box(100.0, 20.0, 106.5, 40.0))
    from planfuse.demo.geography import to_work

    record["expected"]["west_of_106_5_area_m2"] = _round(to_work(west).area, 0)
    record["expected"]["area_tolerance_relative"] = 1e-4
    return record


def scenario_g(zb: ZoneBuilder) -> dict[str, Any]:
    """Two plans: a type-04 patch of exact area, slivers around it, a 210 m² keeper."""
    h = zb.zone.half_m
    square = box(-h, -h, h, h)
    l1 = box(-600, -500, 600, 500)
    l2 = box(800, -300, 1100, 0)
    zb.add("land_plan", "L1", l1, code="1100", name="耕地")
    zb.add("land_plan", "L2", l2, code="1100", name="耕地")
    zb.add("land_plan", "L3", square.difference(l1).difference(l2), code="2110", name="城镇用地")
    half = 117.2839 / 2  # 200 m × 117.2839 m = 23,456.78 m²
    urban = {
        "U1": (box(-100, -half, 100, half), "M1"),  # the conflict patch, inside L1
        "U2": (box(598.5, 100, 800, 200), "R2"),  # 1.5 m × 100 m = 150 m² into L1
        "U3": (box(-300, 499.4, -50, 700), "B1"),  # 0.6 m × 250 m = 150 m², thin
        "U4": (box(0, -700, 400, -499.2), "R2"),  # 0.8 m × 400 m = 320 m², thin only
        "U5": (box(-800, 488, -588, 700), "M1"),  # 12 m × 12 m = 144 m² corner
        "U6": (box(-800, -300, -590.5, -280), "R2"),  # 9.5 m × 20 m = 190 m²
        "U7": (box(1086, -300, 1300, -285), "M1"),  # 14 m × 15 m = 210 m² into L2: kept
    }
    for name, (geom, code) in urban.items():
        zb.add("urban_plan", name, geom, code=code, name=f"规划{code}地块")
    builtup = shapely.union_all([g for g, _ in urban.values()])
    zb.add("urban_plan", "E1", l1.difference(builtup), code="E2", name="农林用地")
    zb.add("urban_plan", "E2", l2.difference(builtup), code="E2", name="农林用地")
    rest = square.difference(l1).difference(l2).difference(builtup)
    quadrants = [box(-h, -h, 0, 0), box(0, -h, h, 0), box(0, 0, h, h), box(-h, 0, 0, h)]
    for q, (quadrant, code) in enumerate(zip(quadrants, ("R2", "G1", "B1", "S1"), strict=True)):
        zb.add("urban_plan", f"Q{q + 1}", rest.intersection(quadrant), code=code, name="规划地块")
    # Urban boundary around the two farmland parcels, so the zone holds no other conflict.
    zb.add(
        "urban_boundary",
        "UB1",
        rest.union(builtup).difference(l1).difference(l2),
        zone="01",
        name="集中建设区",
    )
    zb.add("land_use_plan", "P1", l1, code="0103", name="旱地")
    zb.add("land_use_plan", "P2", l2, code="0103", name="旱地")
    zb.fill_land_use(["0701", "1001", "0901", "1401", "070102"], ["0103"])

    designed = {
        "U1": 23_456.78,
        "U2": 150.0,
        "U3": 150.0,
        "U4": 320.0,
        "U5": 144.0,
        "U6": 190.0,
        "U7": 210.0,
    }
    pieces = []
    for u in zb.of("urban_plan"):
        for lp in zb.of("land_plan"):
            piece = u.work.intersection(lp.work)
            if piece.area <= 1e-6:
                continue
            cg = urban_plan_is_construction(u.props["code"])
            tg = land_plan_is_construction(lp.props["code"])
            ptype = {
                (False, False): "01",
                (True, True): "02",
                (False, True): "03",
                (True, False): "04",
            }[(cg, tg)]
            area = piece.area
            name = u.demo_id.split(":")[1]
            if ptype == "04":
                _close(area, designed[name], f"g {name} piece")
                area = designed[name]
            thin = thinness(piece)
            sliver = area < SLIVER_AREA_M2 or thin < SLIVER_THINNESS_M
            pieces.append(
                {
                    "type": ptype,
                    "area_m2": _round(area),
                    "thinness_m": _round(thin, 3),
                    "sliver": sliver,
                    "sliver_reason": (
                        ("area" if area < SLIVER_AREA_M2 else "")
                        + ("+" if area < SLIVER_AREA_M2 and thin < SLIVER_THINNESS_M else "")
                        + ("thinness" if thin < SLIVER_THINNESS_M else "")
                    )
                    or None,
                    "urban_plan": {"demo_id": u.demo_id, "code": u.props["code"]},
                    "land_plan": {"demo_id": lp.demo_id, "code": lp.props["code"]},
                }
            )
    pieces.sort(key=lambda p: (p["type"], -p["area_m2"], p["urban_plan"]["demo_id"]))
    conflicts = [p for p in pieces if p["type"] in ("03", "04") and not p["sliver"]]
    slivers = [p for p in pieces if p["type"] in ("03", "04") and p["sliver"]]
    return {
        "name": "g_two_plan_conflict",
        "scenario": "g",
        "service": "conflicts",
        "what": "Urban plan M1 (construction) over land plan 1100 (耕地): one type-04 patch "
        "of exactly 23,456.78 m², five slivers around the farmland parcel (150, 144 and 190 m² "
        "by area; 150 m² 0.6 m wide; 320 m² but 0.8 m wide, a sliver by thinness only), and a "
        "separate 210 m² type-04 patch on a second 1100 parcel that must be kept.",
        "input": {"analysis": "two_plans", "districts": [zb.zone.adcode]},
        "expected": {
            "conflicts": conflicts,
            "slivers": slivers,
            "conflict_area_m2": _round(sum(p["area_m2"] for p in conflicts)),
            "sliver_area_m2": _round(sum(p["area_m2"] for p in slivers)),
            "pieces": pieces,
            "note": "every overlay piece inside the zone is listed (types 01/02 are "
            "consistent). Where the two plans share an edge — drawn in different CRSs and "
            "rounded differently — the overlay also leaves hairline pieces (under 0.01 m², "
            "thinner than 0.1 mm): slivers by thinness, not listed here.",
        },
    }


def scenario_h(zb: ZoneBuilder) -> dict[str, Any]:
    """Three control lines overlapping pairwise just under and over the sliver size."""
    pairs = [
        ("basic_farmland", "ecological_redline", 199.0, (-1000, 600)),
        ("basic_farmland", "ecological_redline", 201.0, (-1000, -600)),
        ("basic_farmland", "urban_boundary", 199.0, (0, 600)),
        ("basic_farmland", "urban_boundary", 201.0, (0, -600)),
        ("ecological_redline", "urban_boundary", 199.0, (1000, 600)),
        ("ecological_redline", "urban_boundary", 201.0, (1000, -600)),
    ]
    side, w = 400.0, 14.0
    props = {
        "basic_farmland": {"name": "永久基本农田保护图斑"},
        "ecological_redline": {"name": "生态保护红线（示例）"},
        "urban_boundary": {"zone": "01", "name": "集中建设区"},
    }
    records = []
    counter: dict[str, int] = {}
    for first, second, area, (pu, pv) in pairs:
        hgt = area / w
        geoms = {
            first: box(pu - side, pv - side, pu, pv),
            second: box(pu - w, pv - hgt, pu - w + side, pv - hgt + side),
        }
        ids = {}
        for layer, geom in geoms.items():
            counter[layer] = counter.get(layer, 0) + 1
            prefix = {"basic_farmland": "F", "ecological_redline": "R", "urban_boundary": "UB"}[
                layer
            ]
            ids[layer] = zb.add(layer, f"{prefix}{counter[layer]}", geom, **props[layer]).demo_id
        piece = zb.zone.place(geoms[first]).intersection(zb.zone.place(geoms[second]))
        _close(piece.area, area, f"h {first}×{second}")
        records.append(
            {
                "layers": [first, second],
                "features": [ids[first], ids[second]],
                "area_m2": area,
                "thinness_m": _round(thinness(piece), 3),
                "sliver": area < SLIVER_AREA_M2,
            }
        )
    zb.fill_land_use(["0701"], ["0103", "0301", "0101", "0302"])
    return {
        "name": "h_three_lines",
        "scenario": "h",
        "service": "conflicts",
        "what": "Basic farmland, ecological red line and urban development boundary overlapping "
        "pairwise in compact 14 m-wide pieces of 199 m² (slivers: under 200 m²) and 201 m² "
        "(conflicts) — one of each for every pair of lines.",
        "input": {"analysis": "three_lines", "districts": [zb.zone.adcode]},
        "expected": {
            "pieces": records,
            "conflicts": [r for r in records if not r["sliver"]],
            "slivers": [r for r in records if r["sliver"]],
        },
    }


SITING_CANDIDATES = {
    # name: (local polygon, expected pass, reasons it fails)
    "C1": (box(-1600, 1500, -1400, 1600), True, []),
    "C2": (box(-900, 1000, -600, 1200).difference(box(-700, 1100, -600, 1200)), True, []),
    "C3": (box(-1500, 500, -1400, 550), False, ["too_small"]),
    "C4": (box(-1200, -200, -900, 50), False, ["too_big"]),
    "C5": (box(-1500, 2700, -1300, 2850), False, ["outside_urban_boundary", "on_basic_farmland"]),
    "C6": (box(-700, -1900, -500, -1750), False, ["on_ecological_redline"]),
    "C7": (box(300, -500, 500, -350), False, ["too_far_from_road"]),
    "C8": (box(-1200, -1150, -1000, -1000), False, ["in_geohazard_high"]),
}


def scenario_i(zb: ZoneBuilder) -> dict[str, Any]:
    h = zb.zone.half_m
    road_local = shapely.LineString([(-2000, -h), (-2000, h)])
    zb.add("roads", "R1", road_local, **{"class": "provincial", "name": "S105 省道（示例）"})
    zb.add("control_lines", "CL1", box(-2020, -h, -1980, h), type="road", name="S105 道路红线")
    zb.add("urban_boundary", "UB1", box(-2500, -2500, 2500, 2500), zone="01", name="集中建设区")
    zb.add("basic_farmland", "F1", box(-2400, 2600, 2400, 3400), name="永久基本农田保护图斑")
    zb.add("ecological_redline", "R1", box(-750, -1950, -450, -1700), name="生态保护红线（示例）")
    zb.add(
        "sensitive_zones",
        "H1",
        box(-1250, -1200, -950, -950),
        type="geohazard",
        level="high",
        name="滑坡隐患点（高易发）",
    )
    zb.add(
        "sensitive_zones",
        "H2",
        box(-1650, 1450, -1500, 1650),
        type="geohazard",
        level="medium",
        name="崩塌隐患点（中易发）",
    )
    for name, (geom, _, _) in SITING_CANDIDATES.items():
        zb.add("land_use_plan", name, geom, code="1001", name="工业用地（候选）")
    zb.add("land_use_plan", "D1", box(-1600, 0, -1400, 150), code="1101", name="物流仓储用地")
    zb.add("land_use_plan", "D2", box(-1600, -600, -1400, -450), code="0701", name="居住用地")
    zb.fill_land_use(["0701", "0901", "1401", "070102", "0804", "1402"], ["0103", "0301", "0101"])

    road = zb.zone.place(road_local)
    ub = zb.of("urban_boundary")[0].work
    farmland = zb.of("basic_farmland")[0].work
    redline = zb.of("ecological_redline")[0].work
    high = zb.of("sensitive_zones")[0].work
    medium = zb.of("sensitive_zones")[1].work
    area_min, area_max, within = 8_000.0, 60_000.0, 2_000.0
    candidates = []
    for name, (_, passes, reasons) in SITING_CANDIDATES.items():
        parcel = zb.zone.place(SITING_CANDIDATES[name][0])
        area = parcel.area
        distance = parcel.distance(road)
        measured = {
            "area_m2": _round(area),
            "distance_to_road_m": _round(distance),
            "inside_urban_boundary_ratio": _ratio(parcel.intersection(ub).area, area),
            "basic_farmland_overlap_m2": _round(parcel.intersection(farmland).area),
            "ecological_redline_overlap_m2": _round(parcel.intersection(redline).area),
            "geohazard_high_overlap_m2": _round(parcel.intersection(high).area),
            "geohazard_medium_overlap_m2": _round(parcel.intersection(medium).area),
            "compactness": _round(4 * math.pi * area / parcel.length**2, 6),
        }
        found = []
        if area < area_min:
            found.append("too_small")
        if area > area_max:
            found.append("too_big")
        if measured["inside_urban_boundary_ratio"] < UB_PASS_RATIO:
            found.append("outside_urban_boundary")
        if measured["ecological_redline_overlap_m2"] > TOLERANCE_M2:
            found.append("on_ecological_redline")
        if measured["basic_farmland_overlap_m2"] > TOLERANCE_M2:
            found.append("on_basic_farmland")
        if distance > within:
            found.append("too_far_from_road")
        if measured["geohazard_high_overlap_m2"] > TOLERANCE_M2:
            found.append("in_geohazard_high")
        order = [
            "too_small",
            "too_big",
            "outside_urban_boundary",
            "on_ecological_redline",
            "on_basic_farmland",
            "too_far_from_road",
            "in_geohazard_high",
        ]
        if sorted(found, key=order.index) != sorted(reasons, key=order.index) or passes != (
            not found
        ):
            raise AssertionError(f"siting candidate {name}: designed {reasons}, measured {found}")
        candidates.append(
            {
                "demo_id": f"i:{name}",
                "land_use": "1001",
                "passes": passes,
                "fails": reasons,
                **measured,
            }
        )
    scope = zb.zone.place(box(-2400, -2400, 2400, 3000))
    request = {
        "scope": {"geometry": geojson_in(scope, "EPSG:4490"), "crs": "EPSG:4490"},
        "land_use": "1001",
        "area_min_m2": area_min,
        "area_max_m2": area_max,
        "controls": [
            {"kind": "urban_boundary", "mode": "inside"},
            {"kind": "ecological_redline", "mode": "outside"},
            {"kind": "basic_farmland", "mode": "outside"},
        ],
        "proximity": [
            {"kind": "road", "class": "provincial", "within_m": within, "required": True}
        ],
        "exclude": [{"kind": "sensitive_zone", "type": "geohazard", "level": "high"}],
        "limit": 50,
    }
    return {
        "name": "i_siting",
        "scenario": "i",
        "service": "siting",
        "what": "Eight industrial (1001) parcels around a provincial road; the siting query "
        "keeps C1 and C2 and rejects one for each condition: too small (C3), too big (C4), "
        "outside the urban boundary and on farmland (C5), on the red line (C6), too far from "
        "the road (C7), in a geohazard-high zone (C8). Distractors D1 (1101) and D2 (0701) "
        "meet every other condition but the land-use class. C1 overlaps a geohazard-medium "
        "zone (only high is excluded).",
        "input": request,
        "expected": {
            "candidates": candidates,
            "passing": [c["demo_id"] for c in candidates if c["passes"]],
            "distractors": ["i:D1", "i:D2"],
            "note": "distances are planar in the working CRS (Albers equal-area; within 0.1 % "
            "of geodesic). The road is a straight line; every other provincial road is more "
            "than 2.5 km from every candidate.",
        },
    }


SCENARIO_BUILDERS = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
    "e": scenario_e,
    "f": scenario_f,
    "g": scenario_g,
    "h": scenario_h,
    "i": scenario_i,
}


@dataclass
class PlantedSet:
    """What `build_scenarios` returns: planted features by layer (work CRS) and records."""

    features: dict[str, list[Planted]]
    records: list[dict[str, Any]]
    zones: list[BaseGeometry]


def build_scenarios(districts: Districts | None = None) -> PlantedSet:
    """Construct every planted scenario (independent of seed and scale)."""
    districts = districts or load_districts()
    by_layer: dict[str, list[Planted]] = {}
    records = []
    for letter, builder in SCENARIO_BUILDERS.items():
        zone = ZONES[letter]
        zb = ZoneBuilder(zone)
        record = builder(zb)
        d = districts.index_of(zone.adcode)
        if not districts.work[d].contains(zone.square):
            raise AssertionError(f"zone {letter} is not inside district {zone.adcode}")
        square_4490 = to_storage(zone.square)
        record = {
            "name": record.pop("name"),
            "scenario": record.pop("scenario"),
            "service": record.pop("service"),
            "what": record.pop("what"),
            "district": zone.adcode,
            "district_name": districts.names[d],
            "zone": {
                "bbox_4490": [round(v, 7) for v in square_4490.bounds],
                "geometry": geojson_in(zone.square, "EPSG:4490"),
                "centre_4490": [zone.lon, zone.lat],
                "half_side_m": zone.half_m,
                "rotation_deg": zone.angle_deg,
            },
            **record,
        }
        records.append(record)
        for p in zb.features:
            if p.layer in LAYERS_BY_ID:
                by_layer.setdefault(p.layer, []).append(p)
    return PlantedSet(by_layer, records, reserved_zones())


def feature_ids(planted: PlantedSet) -> dict[str, dict[str, Any]]:
    """demo_id → {"layer", "fid"}: planted features come first in their layer files, in
    this order, so the import gives them these feature ids for every seed and scale."""
    out = {}
    for layer, features in planted.features.items():
        for i, p in enumerate(features):
            out[p.demo_id] = {"layer": layer, "fid": i + 1, "kind": LAYERS_BY_ID[layer].kind}
    return dict(sorted(out.items()))


def scenarios_document(planted: PlantedSet | None = None) -> dict[str, Any]:
    planted = planted or build_scenarios()
    return {
        "format": FORMAT_VERSION,
        "about": "Planted scenarios of the PlanFuse demo dataset with their expected answers. "
        "Generated by planfuse.demo.scenarios (do not edit by hand). Areas in m², distances "
        "in m, measured in the equal-area working CRS; figures are exact by construction "
        "(the files' coordinate rounding moves them by less than 1e-6 relative).",
        "defaults": {
            "tolerance_m2": TOLERANCE_M2,
            "sliver_area_m2": SLIVER_AREA_M2,
            "sliver_thinness_m": SLIVER_THINNESS_M,
        },
        "layers": {
            layer.id: {"kind": layer.kind, "crs": layer.crs, "department": layer.department}
            for layer in LAYERS_BY_ID.values()
        },
        "features": feature_ids(planted),
        "scenarios": planted.records,
    }


def render_document(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def write_scenarios_file(path: Path = SCENARIOS_FILE) -> Path:
    path.write_text(render_document(scenarios_document()), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write_scenarios_file())
