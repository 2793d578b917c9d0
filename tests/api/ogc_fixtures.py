"""Small real layers for the data-service tests, imported through the normal import path.

Geometry is written in EPSG:4490 so the stored coordinates are the ones written here; the
tests compute their known answers from the stored WKB with shapely, independently of the
code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.services.layers.importer import ImportOptions, import_layer
from planfuse.storage.models import Feature, Layer

# The parcel grid: 8 columns × 6 rows of squares, lower-left corner at (WEST, SOUTH).
WEST, SOUTH = 106.50, 29.50
STEP_DEG = 0.01
SIDE_DEG = 0.006
COLUMNS, ROWS = 8, 6
CODES = ("0701", "0801", "1001", "1101", "1201", "0301")
DISTRICT_A, DISTRICT_B = "500106", "500107"  # split at longitude 106.54


def _write(tmp: Path, name: str, features: list[dict[str, Any]]) -> Path:
    path = tmp / f"{name}.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def _feature(geom, **properties) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": properties}


def import_geojson(
    ctx: PlanFuse,
    tmp: Path,
    layer_id: str,
    kind: str,
    features: list[dict[str, Any]],
    *,
    restricted: bool = False,
    name: str | None = None,
):
    path = _write(tmp, f"{layer_id}-{len(features)}", features)
    options = ImportOptions(
        layer_id=layer_id,
        kind=kind,
        crs="EPSG:4490",
        name=name or layer_id,
        department="规划和自然资源局",
        restricted=restricted,
    )
    return import_layer(ctx, path, options)


def district_features() -> list[dict[str, Any]]:
    box_a = shapely.box(106.40, 29.40, 106.54, 29.70)
    box_b = shapely.box(106.54, 29.40, 106.70, 29.70)
    return [
        _feature(box_a, adcode=DISTRICT_A, name="沙坪坝区"),
        _feature(box_b, adcode=DISTRICT_B, name="九龙坡区"),
    ]


def parcel_features() -> list[dict[str, Any]]:
    """48 grid squares (fids 1–48, column-major), an L-shaped parcel (49) whose bbox covers
    the empty corner (106.62–106.64, 29.62–29.64), a parcel with a hole (50), and six tiny
    parcels (51–56, ~50 m) between the grid squares."""
    features = []
    n = 0
    for i in range(COLUMNS):
        for j in range(ROWS):
            x0, y0 = WEST + i * STEP_DEG, SOUTH + j * STEP_DEG
            props: dict[str, Any] = {"code": CODES[n % len(CODES)], "rank": n % 3}
            if n % 4 == 0:
                props["name"] = f"地块{n + 1}"
            features.append(_feature(shapely.box(x0, y0, x0 + SIDE_DEG, y0 + SIDE_DEG), **props))
            n += 1
    ell = shapely.Polygon(
        [(106.61, 29.61), (106.65, 29.61), (106.65, 29.62), (106.62, 29.62), (106.62, 29.65),
         (106.61, 29.65), (106.61, 29.61)]
    )  # fmt: skip
    features.append(_feature(ell, code="1401", name="L形绿地"))
    holed = shapely.Polygon(
        shapely.box(106.66, 29.50, 106.68, 29.52).exterior.coords,
        [shapely.box(106.665, 29.505, 106.675, 29.515).exterior.coords],
    )
    features.append(_feature(holed, code="0701", name="回字形"))
    for k in range(6):
        x0, y0 = WEST + 0.0075 + k * STEP_DEG, SOUTH + 0.0075
        features.append(_feature(shapely.box(x0, y0, x0 + 0.0005, y0 + 0.0005), code="1601"))
    return features


def road_features() -> list[dict[str, Any]]:
    """Diagonal roads: their bboxes are large, their geometry thin."""
    return [
        _feature(shapely.LineString([(106.50, 29.50), (106.58, 29.56)]), **{"class": "arterial"}),
        _feature(shapely.LineString([(106.58, 29.50), (106.50, 29.56)]), **{"class": "county"}),
        _feature(
            shapely.LineString([(106.60, 29.50), (106.60, 29.53), (106.64, 29.53)]),
            **{"class": "expressway", "name": "内环快速路"},
        ),
    ]


def facility_features() -> list[dict[str, Any]]:
    """Points; 1 and 2 are 20 m apart (one screen pixel at low zoom)."""
    return [
        _feature(shapely.Point(106.5215, 29.5215), type="school", name="一中"),
        _feature(shapely.Point(106.5217, 29.5216), type="hospital", name="二院"),
        _feature(shapely.Point(106.5915, 29.5515), type="substation"),
    ]


def import_all(ctx: PlanFuse, tmp: Path) -> None:
    """districts, parcels, roads and facilities (all public)."""
    import_geojson(ctx, tmp, "districts", "district", district_features())
    import_geojson(ctx, tmp, "parcels", "land_use_plan", parcel_features(), name="用地规划")
    import_geojson(ctx, tmp, "roads", "road", road_features())
    import_geojson(ctx, tmp, "facilities", "facility", facility_features())


def stored(ctx: PlanFuse, layer_id: str) -> dict[int, shapely.Geometry]:
    """fid → stored geometry (EPSG:4490) of the layer's current version."""
    with ctx.db.session() as session:
        version = session.scalar(select(Layer.current_version).where(Layer.id == layer_id))
        rows = session.execute(
            select(Feature.fid, Feature.geom).where(
                Feature.layer_id == layer_id, Feature.version == version
            )
        ).all()
    return {int(fid): shapely.from_wkb(bytes(wkb)) for fid, wkb in rows}


_TO_MERCATOR = Transformer.from_crs("EPSG:4490", "EPSG:3857", always_xy=True)


def to_mercator(geom: shapely.Geometry) -> shapely.Geometry:
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = _TO_MERCATOR.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)
