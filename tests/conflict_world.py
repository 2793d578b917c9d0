"""A small planning world with known conflict answers, built through the real import path.

Laid out in local metres (origin at 解放碑, working-CRS axes, equal-area) so every area is
exact by construction, then stored in EPSG:4490 like any import.

    district 500103 (渝中区)  x 0…10,000     district 500112 (渝北区)  x 10,000…20,000

Two plans (urban plan code → CG建设 unless E*, land plan 2xxx → TG建设):

    land plan  L1 1100  0…3,000 × 0…3,000      L2 2110  3,000…6,000 × 0…3,000
               L3 1100  9,000…11,000 × 4,000…6,000 (across both districts)
    urban plan U1 M1  1,000…1,200 × 1,000…1,100   inside L1: type 04, 20,000 m²
               U2 R2  2,900…3,100 × 500…600       04 with L1 10,000 m²; 02 with L2
               U3 E2  3,500…3,700 × 500…700       inside L2: type 03, 40,000 m²
               U4 G1  2,999.5…3,010 × 1,500…2,000 04 with L1: 250 m², 0.5 m thin → sliver
               U5 B1  2,000…2,010 × 2,000…2,019   04: 190 m² → sliver (area)
               U6 M1  2,100…2,110 × 2,000…2,021   04: 210 m² → kept
               U7 R2  9,900…10,100 × 5,000…5,100  04 across districts: 10,000 m² in each
               U8 E1  500…600 × 500…600           01 (consistent)

Three lines:

    basic farmland  F1 0…1,000 × 5,000…6,000     F2 3,000…4,000 × 5,000…6,000
    red line        R1 990…1,500 × 5,000…5,019.9   F1 ∩ R1 = 10 × 19.9 = 199 m² (sliver)
                    R2 990…1,500 × 5,500…5,520.1   F1 ∩ R2 = 201 m² (conflict)
                    R3 4,500…4,600 × 5,000…5,100
    urban boundary  UB1 zone 01 3,990…5,000 × 5,000…5,050
                    F2 ∩ UB1 = 10 × 50 = 500 m²; R3 ∩ UB1 = 100 × 50 = 5,000 m²

Land-use plan against the control lines:

    P1 0701 500…700 × 5,500…5,700   on F1: 40,000 m²; outside the boundary: 40,000 m²
    P2 0101 100…300 × 5,100…5,300   farmland on farmland: no conflict
    P3 0703 1,200…1,300 × 5,000…5,015  rural housing on R1: 1,500 m²; exempt outside
    P4 0901 4,200…4,400 × 5,000…5,040  inside the boundary: no conflict
    P5 1001 4,900…5,100 × 5,000…5,050  half outside the boundary: 5,000 m²
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import shapely

import planfuse.services.conflicts.partitions as conflict_partitions
from planfuse.geo.measure import work_projection
from planfuse.services.layers.importer import ImportOptions, import_layer
from tests.layer_files import JIEFANGBEI, feature_collection, write_geojson

DISTRICT_A = "500103"
DISTRICT_B = "500112"

LAND_PLAN = (
    ("L1", "1100", (0, 0, 3000, 3000)),
    ("L2", "2110", (3000, 0, 6000, 3000)),
    ("L3", "1100", (9000, 4000, 11_000, 6000)),
)
URBAN_PLAN = (
    ("U1", "M1", (1000, 1000, 1200, 1100)),
    ("U2", "R2", (2900, 500, 3100, 600)),
    ("U3", "E2", (3500, 500, 3700, 700)),
    ("U4", "G1", (2999.5, 1500, 3010, 2000)),
    ("U5", "B1", (2000, 2000, 2010, 2019)),
    ("U6", "M1", (2100, 2000, 2110, 2021)),
    ("U7", "R2", (9900, 5000, 10_100, 5100)),
    ("U8", "E1", (500, 500, 600, 600)),
)
FARMLAND = (("F1", (0, 5000, 1000, 6000)), ("F2", (3000, 5000, 4000, 6000)))
REDLINE = (
    ("R1", (990, 5000, 1500, 5019.9)),
    ("R2", (990, 5500, 1500, 5520.1)),
    ("R3", (4500, 5000, 4600, 5100)),
)
BOUNDARY = (("UB1", "01", (3990, 5000, 5000, 5050)),)
LAND_USE = (
    ("P1", "0701", (500, 5500, 700, 5700)),
    ("P2", "0101", (100, 5100, 300, 5300)),
    ("P3", "0703", (1200, 5000, 1300, 5015)),
    ("P4", "0901", (4200, 5000, 4400, 5040)),
    ("P5", "1001", (4900, 5000, 5100, 5050)),
)

#: Expected two-plan conflicts (non-sliver): (type, area m², district, urban id, land id).
TWO_PLAN_CONFLICTS = [
    ("03", 40_000.0, DISTRICT_A, "U3", "L2"),
    ("04", 20_000.0, DISTRICT_A, "U1", "L1"),
    ("04", 10_000.0, DISTRICT_A, "U2", "L1"),
    ("04", 10_000.0, DISTRICT_A, "U7", "L3"),
    ("04", 10_000.0, DISTRICT_B, "U7", "L3"),
    ("04", 210.0, DISTRICT_A, "U6", "L1"),
]
TWO_PLAN_SLIVERS = [("04", 250.0, "thinness", "U4"), ("04", 190.0, "area", "U5")]


def _origin():
    x, y = work_projection().points_to_work([JIEFANGBEI[0]], [JIEFANGBEI[1]])
    return float(x[0]), float(y[0])


def to_storage(geom_local):
    """A geometry in local metres (origin at 解放碑, working-CRS axes) → EPSG:4490."""
    ox, oy = _origin()
    moved = shapely.transform(geom_local, lambda xy: xy + np.asarray((ox, oy)))
    return work_projection().to_storage(moved)


def local_work(geom_local):
    """Local metres → the working CRS."""
    ox, oy = _origin()
    return shapely.transform(geom_local, lambda xy: xy + np.asarray((ox, oy)))


def box(x0, y0, x1, y1):
    return to_storage(shapely.box(x0, y0, x1, y1))


def import_features(ctx, tmp_path: Path, layer_id: str, kind: str, items, tag: str = ""):
    """Import (name, props, bounds) items as a layer (a new version if it exists)."""
    geoms = [box(*bounds) for _, _, bounds in items]
    props = [{"label": name, **p} for name, p, _ in items]
    path = write_geojson(tmp_path / f"{layer_id}{tag}.geojson", feature_collection(geoms, props))
    return import_layer(ctx, path, ImportOptions(layer_id=layer_id, kind=kind, crs="EPSG:4490"))


def import_districts(ctx, tmp_path: Path) -> None:
    import_features(
        ctx,
        tmp_path,
        "districts",
        "district",
        [
            ("D1", {"adcode": DISTRICT_A, "name": "渝中区"}, (0, 0, 10_000, 10_000)),
            ("D2", {"adcode": DISTRICT_B, "name": "渝北区"}, (10_000, 0, 20_000, 10_000)),
        ],
    )


def import_two_plans(ctx, tmp_path: Path, urban=URBAN_PLAN, land=LAND_PLAN, tag="") -> None:
    import_features(
        ctx, tmp_path, "urban_plan", "urban_plan", [(n, {"code": c}, b) for n, c, b in urban], tag
    )
    import_features(
        ctx, tmp_path, "land_plan", "land_plan", [(n, {"code": c}, b) for n, c, b in land], tag
    )


def import_three_lines(ctx, tmp_path: Path) -> None:
    import_features(
        ctx, tmp_path, "basic_farmland", "basic_farmland", [(n, {}, b) for n, b in FARMLAND]
    )
    import_features(
        ctx,
        tmp_path,
        "ecological_redline",
        "ecological_redline",
        [(n, {"name": f"红线{n}"}, b) for n, b in REDLINE],
    )
    import_features(
        ctx,
        tmp_path,
        "urban_boundary",
        "urban_boundary",
        [(n, {"zone": z}, b) for n, z, b in BOUNDARY],
    )


def import_land_use(ctx, tmp_path: Path) -> None:
    import_features(
        ctx,
        tmp_path,
        "land_use_plan",
        "land_use_plan",
        [(n, {"code": c}, b) for n, c, b in LAND_USE],
    )


def build_world(ctx, tmp_path: Path) -> None:
    """Every layer above."""
    import_districts(ctx, tmp_path)
    import_two_plans(ctx, tmp_path)
    import_three_lines(ctx, tmp_path)
    import_land_use(ctx, tmp_path)


def label_of(layer_items, fid: int) -> str:
    """The name (U1, L2, …) of feature ``fid`` (1-based position) of a layer's items."""
    return layer_items[fid - 1][0]


def hold_detection(monkeypatch, stage: str, fraction: float = 0.05):
    """Make conflict detection wait until the test releases it: it reports progress
    `fraction` at `stage`, then checks for cancellation every 20 ms. Returns the events
    (started, release); the fixture using it sets `release` when the test ends."""
    release = threading.Event()
    started = threading.Event()
    real = conflict_partitions.detect_partition

    def held(ctx, analysis, districts, part, parts, *, progress, check, **kw):
        started.set()
        progress(fraction, stage)
        while not release.wait(0.02):
            check()
        return real(ctx, analysis, districts, part, parts, progress=progress, check=check, **kw)

    monkeypatch.setattr(conflict_partitions, "detect_partition", held)
    return started, release
