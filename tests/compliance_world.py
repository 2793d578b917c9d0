"""A small, exact world of control layers for compliance tests.

Every feature is a rectangle laid out in metres in the equal-area working CRS around a
point in central Chongqing (x east, y north from it), stored like any import (EPSG:4490).
Areas therefore come out exactly as written here (to ~1e-6 relative). Projects are built
the same way, so a test reads like a drawing:

    world = build_world(ctx)
    report = check(ctx, project(-100, 50, 100, 150), "EPSG:4490", "0701", "urban")
    # basic farmland overlap: x 0..100, y 50..150 → 10,000 m²
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import shapely
from shapely.geometry import mapping

from planfuse.geo.crs import resolve_crs, transform_geometry
from planfuse.geo.measure import work_projection
from planfuse.geo.parse import ParsedFeature
from planfuse.services.layers.importer import ImportOptions, store_features

CENTRE = (106.52, 29.60)  # 沙坪坝/渝北 boundary area, inside zone 35 (CM 105°E) and 36

# layer id → (kind, [((x0, y0, x1, y1), properties), ...])
LAYERS: dict[str, tuple[str, list[tuple[tuple[float, float, float, float], dict[str, Any]]]]] = {
    "basic_farmland": (
        "basic_farmland",
        [
            ((0, 0, 200, 200), {}),
            # Two farmland features overlapping each other by 100 × 100 m.
            ((1000, 0, 1200, 200), {}),
            ((1100, 100, 1300, 300), {}),
        ],
    ),
    "ecological_redline": ("ecological_redline", [((0, 500, 400, 700), {"name": "缙云山"})]),
    "urban_boundary": (
        "urban_boundary",
        [((-1000, -1000, 500, 1000), {"zone": "01"}), ((500, -1000, 900, 1000), {"zone": "02"})],
    ),
    "land_use_plan": (
        "land_use_plan",
        [
            ((-1000, -1000, 0, 1000), {"code": "0701"}),
            ((0, -1000, 1000, 1000), {"code": "0101"}),
            ((-1000, 1000, 0, 1010), {"code": "0901"}),  # a 10 m strip: 10,000 m²
            ((-1000, 1010, 0, 1015), {"code": "1207"}),
        ],
    ),
    "sensitive_zones": (
        "sensitive_zone",
        [
            ((2000, 0, 2200, 200), {"type": "geohazard", "level": "high"}),
            ((2300, 0, 2500, 200), {"type": "geohazard", "level": "medium"}),
            ((2600, 0, 2800, 200), {"type": "water_source", "level": "1"}),
            ((2900, 0, 3100, 200), {"type": "geohazard", "level": "low"}),
        ],
    ),
    "control_lines": (
        "control_line",
        [
            ((4000, 0, 4020, 1000), {"type": "road"}),
            ((4100, 0, 4130, 1000), {"type": "blue"}),
        ],
    ),
}


def work_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in the working CRS, offsets in metres from CENTRE."""
    cx, cy = work_projection().points_to_work([CENTRE[0]], [CENTRE[1]])
    box = shapely.box(cx[0] + x0, cy[0] + y0, cx[0] + x1, cy[0] + y1)
    # Densified so the straight working-CRS edges stay straight within micrometres.
    return shapely.segmentize(box, 25.0)


def storage_box(x0: float, y0: float, x1: float, y1: float):
    """The same rectangle in EPSG:4490."""
    return work_projection().to_storage(work_box(x0, y0, x1, y1))


def geometry_in(geom_4490, crs: str = "EPSG:4490") -> dict[str, Any]:
    """A GeoJSON geometry dict of an EPSG:4490 geometry, written in `crs`."""
    out = geom_4490 if crs == "EPSG:4490" else transform_geometry(geom_4490, "EPSG:4490", crs)
    return _lists(mapping(out))


def project(x0: float, y0: float, x1: float, y1: float, crs: str = "EPSG:4490") -> dict:
    """A rectangular red line as a GeoJSON geometry in `crs`."""
    return geometry_in(storage_box(x0, y0, x1, y1), crs)


def _lists(obj):
    if isinstance(obj, tuple | list):
        return [_lists(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    return obj


def build_world(ctx, layers: Iterable[str] | None = None) -> dict[str, str]:
    """Store the world's layers (all, or the named ones); returns {layer id: kind}."""
    wanted = list(LAYERS) if layers is None else list(layers)
    storage = resolve_crs("EPSG:4490")
    out = {}
    for layer_id in wanted:
        kind, entries = LAYERS[layer_id]
        features = [
            ParsedFeature(geometry=storage_box(*box), properties=dict(props), index=i)
            for i, (box, props) in enumerate(entries)
        ]
        store_features(ctx, features, storage, ImportOptions(layer_id=layer_id, kind=kind))
        out[layer_id] = kind
    return out
