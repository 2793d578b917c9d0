"""A small planning world with known siting answers, built through the real import path.

Everything is laid out in the working CRS (metres, equal-area) around 解放碑 so every area
and distance below is exact by construction, then stored in EPSG:4490 like any import.

    district 500103 (渝中区)  x 0…10,000   district 500112 (渝北区)  x 10,000…20,000
    urban boundary (zone 01)  x 0…5,000 (whole height of 500103)
    ecological red line       x 6,000…10,000
    basic farmland            3,000…4,000 × 1,000…2,000
    provincial road           y = 500, x 0…20,000         county road  x = 2,500
    school                    (1,500, 2,000)
    geohazard high            4,000…4,500 × 2,200…2,700
    geohazard medium          1,000…1,500 × 2,000…2,500

Parcels (land_use_plan, fid = position in PARCELS + 1) are listed in PARCELS with why each
passes or fails the issue's example request (EXAMPLE).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from planfuse.geo.measure import work_projection
from planfuse.services.layers.importer import ImportOptions, import_layer
from tests.layer_files import JIEFANGBEI, feature_collection, write_geojson


@dataclass(frozen=True)
class WorldParcel:
    name: str
    x: float
    y: float
    w: float
    h: float
    code: str
    why: str

    @property
    def area_m2(self) -> float:
        return self.w * self.h


PARCELS = (
    WorldParcel(
        "P1", 1000, 1000, 100, 100, "100101", "passes everything; 500 m from the provincial road"
    ),
    WorldParcel("P2", 2000, 1000, 150, 150, "100102", "passes everything; 22,500 m²"),
    WorldParcel("P3", 3500, 1500, 100, 100, "100101", "on basic farmland"),
    WorldParcel("P4", 3950, 1100, 100, 100, "100101", "half on basic farmland (5,000 m²)"),
    WorldParcel("P5", 4950, 1500, 100, 100, "100101", "half outside the urban boundary"),
    WorldParcel(
        "P6", 7000, 1500, 100, 100, "100101", "in the red line, outside the urban boundary"
    ),
    WorldParcel("P7", 1100, 2100, 100, 100, "100101", "in a geohazard zone of level medium"),
    WorldParcel("P8", 4100, 2300, 100, 100, "100101", "in a geohazard zone of level high"),
    WorldParcel("P9", 1500, 1000, 100, 100, "070101", "residential, not industrial"),
    WorldParcel("P10", 11000, 1000, 100, 100, "100101", "in district 500112"),
    WorldParcel("P11", 1000, 3000, 300, 300, "1001", "90,000 m²: above the area range"),
    WorldParcel("P12", 2900.005, 1200, 100, 100, "100101", "0.5 m² on farmland: boundary noise"),
    WorldParcel("P13", 1000, 4500, 100, 100, "100101", "4,000 m from the provincial road"),
)
DISTRICT_A = "500103"
DISTRICT_B = "500112"


def _origin():
    x, y = work_projection().points_to_work([JIEFANGBEI[0]], [JIEFANGBEI[1]])
    return float(x[0]), float(y[0])


def to_storage(geom_local):
    """A geometry in local metres (origin at 解放碑, working CRS axes) → EPSG:4490."""
    ox, oy = _origin()
    moved = shapely.transform(geom_local, lambda xy: xy + np.array([ox, oy]))
    return work_projection().to_storage(moved)


def box(x0, y0, x1, y1):
    return to_storage(shapely.box(x0, y0, x1, y1))


def _import(ctx, tmp_path: Path, layer_id: str, kind: str, geoms, props, version_tag=""):
    path = write_geojson(
        tmp_path / f"{layer_id}{version_tag}.geojson", feature_collection(geoms, props)
    )
    return import_layer(ctx, path, ImportOptions(layer_id=layer_id, kind=kind, crs="EPSG:4490"))


def parcel_geoms(parcels=PARCELS):
    return [box(p.x, p.y, p.x + p.w, p.y + p.h) for p in parcels]


def import_parcels(ctx, tmp_path: Path, parcels=PARCELS, tag=""):
    return _import(
        ctx,
        tmp_path,
        "land_use_plan",
        "land_use_plan",
        parcel_geoms(parcels),
        [{"code": p.code, "name": p.name} for p in parcels],
        tag,
    )


def build_world(ctx, tmp_path: Path) -> None:
    _import(
        ctx,
        tmp_path,
        "districts",
        "district",
        [box(0, 0, 10_000, 10_000), box(10_000, 0, 20_000, 10_000)],
        [{"adcode": DISTRICT_A, "name": "渝中区"}, {"adcode": DISTRICT_B, "name": "渝北区"}],
    )
    _import(
        ctx,
        tmp_path,
        "urban_boundary",
        "urban_boundary",
        [box(0, 0, 5000, 10_000)],
        [{"zone": "01"}],
    )
    _import(
        ctx,
        tmp_path,
        "ecological_redline",
        "ecological_redline",
        [box(6000, 0, 10_000, 10_000)],
        [{"name": "缙云山"}],
    )
    _import(ctx, tmp_path, "basic_farmland", "basic_farmland", [box(3000, 1000, 4000, 2000)], [{}])
    _import(
        ctx,
        tmp_path,
        "roads",
        "road",
        [
            to_storage(shapely.LineString([(0, 500), (20_000, 500)])),
            to_storage(shapely.LineString([(2500, 0), (2500, 10_000)])),
        ],
        [{"class": "provincial"}, {"class": "county"}],
    )
    _import(
        ctx,
        tmp_path,
        "facilities",
        "facility",
        [to_storage(shapely.Point(1500, 2000))],
        [{"type": "school"}],
    )
    _import(
        ctx,
        tmp_path,
        "sensitive_zones",
        "sensitive_zone",
        [box(4000, 2200, 4500, 2700), box(1000, 2000, 1500, 2500)],
        [{"type": "geohazard", "level": "high"}, {"type": "geohazard", "level": "medium"}],
    )
    import_parcels(ctx, tmp_path)


def fid(name: str) -> int:
    return next(i for i, p in enumerate(PARCELS, 1) if p.name == name)


def names(candidates) -> list[str]:
    return [PARCELS[c["feature_id"] - 1].name for c in candidates]


#: The issue's example request, on this world.
EXAMPLE = {
    "scope": {"districts": [DISTRICT_A]},
    "land_use": "10",
    "area_min_m2": 8000,
    "area_max_m2": 60000,
    "controls": [
        {"kind": "urban_boundary", "mode": "inside"},
        {"kind": "ecological_redline", "mode": "outside"},
        {"kind": "basic_farmland", "mode": "outside"},
    ],
    "proximity": [{"kind": "road", "class": "provincial", "within_m": 2000, "required": True}],
    "exclude": [{"kind": "sensitive_zone", "type": "geohazard", "level": "high"}],
}
