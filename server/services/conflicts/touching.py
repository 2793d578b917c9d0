"""The conflict patches a red line touches (冲突图斑-按红线): for a project before it is
registered — the second step of the 项目预审 chain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.services.approval.evidence import conflicts_touching
from planfuse.services.compliance.redline import parse_red_line


def conflicts_touching_red_line(
    ctx: PlanFuse,
    body: Any,
    *,
    districts: Iterable[str] | None = None,
    analysis: str | None = None,
) -> dict[str, Any]:
    """``{"geometry", "crs"}`` → the current, non-sliver conflict patches the red line
    overlaps by more than `conflict_noise_m2`, largest overlap first, with the red line's
    area and the summed overlap (m²). `districts` / `analysis` narrow them (a widget's
    locked scope)."""
    if not isinstance(body, dict) or body.get("geometry") is None:
        raise InvalidInput(
            'send {"geometry": <the red line>, "crs": "EPSG:4490"}', field="geometry"
        )
    unknown = sorted(set(body) - {"geometry", "crs"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    red = parse_red_line(ctx, body["geometry"], body.get("crs"))
    found = conflicts_touching(ctx, red.geom_4490, red.area_m2)
    if districts is not None:
        allowed = set(districts)
        found = [c for c in found if c.get("district") in allowed]
    if analysis is not None:
        found = [c for c in found if c.get("analysis") == analysis]
    return {
        "area_m2": round(red.area_m2, 2),
        "count": len(found),
        "overlap_area_m2": round(sum(c["overlap_area_m2"] for c in found), 2),
        "conflicts": found,
    }
