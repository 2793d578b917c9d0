"""Change monitoring (监测预警): what changed between two land-use status versions.

New construction land (新增建设用地: a non-construction code that became construction)
and lost farmland (耕地减少: farmland that became neither farmland nor construction land),
piece by piece: the intersection of a current feature with a feature of the version
before. Each piece is classified where it lands — on basic farmland (永久基本农田) first,
then on an ecological red line (生态保护红线), then outside the urban development boundary
(城镇开发边界外); what is left of it is a change without a warning (`on` null). Pieces
under the sliver tolerance (`monitoring_sliver_m2`, 1 m²) are digitising noise and left
out. Areas are geodesic on the CGCS2000 ellipsoid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.geo.measure import geodesic_area_m2
from planfuse.services.layers.land_use import is_construction
from planfuse.services.monitoring.config import config_value
from planfuse.services.plan_monitoring import measure as M
from planfuse.services.plan_monitoring.years import (
    STATUS_KIND,
    require_year,
    status_years,
    versions_at_year_end,
)

NEW_CONSTRUCTION = "new_construction"
LOST_FARMLAND = "lost_farmland"
TYPES = (NEW_CONSTRUCTION, LOST_FARMLAND)
#: Where a piece lands, in the order it is classified; the rest of a piece is `None`.
ON = ("basic_farmland", "ecological_redline", "outside_urban_boundary")
FARMLAND_PREFIX = "01"
LIMIT_MAX = 5000


def _pairs(ctx: PlanFuse, before: M.Pieces, after: M.Pieces) -> list[tuple[str, int, int]]:
    """(type, row after, row before) of every pair whose codes make a change."""
    if len(after.geoms) == 0 or len(before.geoms) == 0:
        return []
    built_after = np.array([is_construction(c) for c in after.codes], dtype=bool)
    built_before = np.array([is_construction(c) for c in before.codes], dtype=bool)
    farm_after = np.array([c.startswith(FARMLAND_PREFIX) for c in after.codes], dtype=bool)
    farm_before = np.array([c.startswith(FARMLAND_PREFIX) for c in before.codes], dtype=bool)
    tree = shapely.STRtree(before.geoms)
    a_idx, b_idx = tree.query(after.geoms, predicate="intersects")
    new = built_after[a_idx] & ~built_before[b_idx]
    lost = ~built_after[a_idx] & ~farm_after[a_idx] & farm_before[b_idx]
    out = [(NEW_CONSTRUCTION, a, b) for a, b in zip(a_idx[new], b_idx[new], strict=True)]
    out += [(LOST_FARMLAND, a, b) for a, b in zip(a_idx[lost], b_idx[lost], strict=True)]
    return [(t, int(a), int(b)) for t, a, b in out]


def _union_near(tree_geoms: np.ndarray, tree: shapely.STRtree | None, piece: BaseGeometry):
    if tree is None:
        return None
    hits = tree.query(piece, predicate="intersects")
    return shapely.union_all(tree_geoms[hits]) if len(hits) else None


def _classify(
    piece: BaseGeometry, masks: dict[str, tuple[np.ndarray, shapely.STRtree | None]]
) -> list[tuple[str | None, BaseGeometry]]:
    """The piece cut by where it lands: basic farmland, then red line, then outside the
    urban boundary; what remains is `None`."""
    out: list[tuple[str | None, BaseGeometry]] = []
    rest = piece
    for on in ("basic_farmland", "ecological_redline"):
        geoms, tree = masks[on]
        cover = _union_near(geoms, tree, rest)
        if cover is not None:
            part = rest.intersection(cover)
            if not part.is_empty:
                out.append((on, part))
                rest = rest.difference(cover)
    if rest.is_empty:
        return out
    geoms, tree = masks["urban_boundary"]
    boundary = _union_near(geoms, tree, rest)
    outside = rest if boundary is None else rest.difference(boundary)
    inside = rest.intersection(boundary) if boundary is not None else None
    if not outside.is_empty:
        out.append(("outside_urban_boundary", outside))
    if inside is not None and not inside.is_empty:
        out.append((None, inside))
    return out


def _masks(ctx: PlanFuse, year: int) -> dict[str, tuple[np.ndarray, shapely.STRtree | None]]:
    masks = {}
    for kind in ("basic_farmland", "ecological_redline", "urban_boundary"):
        geoms = [M.layer_pieces(ctx, ref).geoms for ref in versions_at_year_end(ctx, kind, year)]
        joined = np.concatenate(geoms) if geoms else np.array([], dtype=object)
        masks[kind] = (joined, shapely.STRtree(joined) if len(joined) else None)
    return masks


def _district(table: M.Districts, piece: BaseGeometry) -> str | None:
    point = piece.representative_point()
    for i in shapely.STRtree(table.geoms).query(point, predicate="intersects").tolist():
        return table.adcodes[i]
    return None


def compute_changes(ctx: PlanFuse, year: int) -> dict[str, Any]:
    """Every change piece of `year` against the monitoring year before it (cached)."""
    require_year(ctx, year)
    earlier = [y for y in status_years(ctx) if y < year]
    if not earlier:
        raise InvalidInput(
            f"{year} is the first monitoring year: there is no status version before it to "
            "compare with",
            field="year",
            code="no_previous_year",
        )
    previous = earlier[-1]
    after_refs = versions_at_year_end(ctx, STATUS_KIND, year)
    before_refs = dict(versions_at_year_end(ctx, STATUS_KIND, previous))
    sliver = float(config_value(ctx, "plan_monitoring", "sliver_m2"))
    key = ("changes", year, after_refs, tuple(before_refs.items()), sliver, M.districts(ctx).key)

    def build() -> dict[str, Any]:
        table = M.districts(ctx)
        masks = _masks(ctx, year)
        changes: list[dict[str, Any]] = []
        for layer_id, version in after_refs:
            if layer_id not in before_refs:
                continue
            after = M.layer_pieces(ctx, (layer_id, version))
            before = M.layer_pieces(ctx, (layer_id, before_refs[layer_id]))
            for kind, a, b in _pairs(ctx, before, after):
                piece = after.geoms[a].intersection(before.geoms[b])
                if piece.is_empty or piece.area == 0:
                    continue
                for on, part in _classify(piece, masks):
                    part = _polygonal(part)
                    area = geodesic_area_m2(part) if part is not None else 0.0
                    if part is None or area < sliver:
                        continue
                    changes.append(
                        {
                            "id": f"{year}-{kind}-{a + 1}-{b + 1}-{on or 'none'}",
                            "type": kind,
                            "on": on,
                            "district": _district(table, part),
                            "area_m2": round(area, 2),
                            "from_code": before.codes[b],
                            "to_code": after.codes[a],
                            "layer": layer_id,
                            "feature_id": a + 1,
                            "geometry": orjson.loads(shapely.to_geojson(part)),
                        }
                    )
        changes.sort(key=lambda c: (-c["area_m2"], c["id"]))
        return {"year": year, "compared_with": previous, "changes": changes}

    return M.cached(ctx, key, build)  # type: ignore[return-value]


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def list_changes(
    ctx: PlanFuse,
    year: int,
    *,
    districts: Sequence[str] | None = None,
    types: Sequence[str] | None = None,
    on: Sequence[str] | None = None,
    warnings_only: bool = False,
    limit: int = 500,
    offset: int = 0,
    geometry: bool = True,
) -> dict[str, Any]:
    """`{"year", "compared_with", "changes": [{"id", "type", "on", "district", "area_m2",
    "geometry", …}], "total", "area_m2", "by_on"}`, largest first, filtered and paged."""
    if not 1 <= limit <= LIMIT_MAX or offset < 0:
        raise InvalidInput(f"limit is 1–{LIMIT_MAX} and offset ≥ 0", field="limit")
    for name, values, allowed in (("type", types, TYPES), ("on", on, ON)):
        bad = sorted(set(values or ()) - set(allowed))
        if bad:
            raise InvalidInput(
                f"{name} {', '.join(bad)} unknown; expected {', '.join(allowed)}", field=name
            )
    if districts is not None:
        known = set(M.districts(ctx).adcodes)
        for adcode in districts:
            if adcode not in known:
                raise NotFound("district", adcode, code="unknown_district")
    result = compute_changes(ctx, year)
    rows = [
        c
        for c in result["changes"]
        if (districts is None or c["district"] in districts)
        and (not types or c["type"] in types)
        and (not on or c["on"] in on)
        and (not warnings_only or c["on"] is not None)
    ]
    by_on: dict[str, float] = {}
    for c in rows:
        by_on[c["on"] or "none"] = round(by_on.get(c["on"] or "none", 0.0) + c["area_m2"], 2)
    page = rows[offset : offset + limit]
    if not geometry:
        page = [{k: v for k, v in c.items() if k != "geometry"} for c in page]
    return {
        "year": year,
        "compared_with": result["compared_with"],
        "changes": page,
        "total": len(rows),
        "area_m2": round(sum(c["area_m2"] for c in rows), 2),
        "by_on": by_on,
    }
