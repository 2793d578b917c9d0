"""The project red line (项目红线) as input: untrusted geometry in any supported CRS →
one validated (Multi)Polygon in storage (EPSG:4490) and in the working CRS (metres).

Accepts a GeoJSON geometry, Feature or FeatureCollection (dict or text; a legacy GeoJSON
`crs` member names the CRS when the caller gives none), WKT, a 界址点坐标 list, or a shapely
geometry already in the source CRS. Several polygons (a FeatureCollection, a multi-record
shapefile) are one project: they are merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.crs import CRSInfo, resolve_crs
from planfuse.geo.errors import GeometryInputError, InputProblem
from planfuse.geo.parse import (
    POLYGONAL_TYPES,
    ParsedFeature,
    polygonal_part,
    to_storage,
    validate_in_crs,
)
from planfuse.services.geometry_pool import parse_features_bounded

POLYGON_TYPES = ("Polygon", "MultiPolygon")
REPAIR_HINT = {
    "zh-CN": "红线存在自相交等拓扑错误：可选择“自动修复”（make_valid）后重新审查，或修正红线。",
    "en": "The red line is not a valid polygon: ask for repair (make_valid) and check again, "
    "or fix the red line.",
}


@dataclass
class RedLine:
    """A validated project red line.

    geom_4490   (Multi)Polygon in EPSG:4490 lon/lat degrees (what is stored)
    geom_work   the same in the working CRS (metres; areas in m²)
    area_m2     its area in m² (equal-area working CRS)
    crs         the CRS it was submitted in
    source      the submitted geometry as GeoJSON in the source CRS (after any repair)
    repaired    True when make_valid changed it (only with repair=True)
    notes       what was done on the way (merges, repairs, axis swaps of 界址点 lists)
    parts       how many input features made it
    """

    geom_4490: BaseGeometry
    geom_work: BaseGeometry
    area_m2: float
    crs: CRSInfo
    source: dict[str, Any]
    repaired: bool = False
    notes: list[str] = field(default_factory=list)
    parts: int = 1


def crs_from_geojson(data: Any) -> str | None:
    """The CRS a legacy GeoJSON object names in its `crs` member (2008 spec, still written
    by many Chinese GIS exports), e.g. {"type": "name", "properties": {"name": "EPSG:4523"}}."""
    if not isinstance(data, Mapping):
        return None
    member = data.get("crs")
    if not isinstance(member, Mapping):
        return None
    props = member.get("properties")
    if isinstance(props, Mapping) and isinstance(props.get("name"), str):
        return props["name"]
    return None


def _input_problem(code: str, detail: str, fieldname: str = "geometry") -> InvalidInput:
    return InvalidInput(detail, code=code, field=fieldname, title="Invalid red line")


def resolve_input_crs(ctx: PlanFuse, crs: str | None, project: Any) -> CRSInfo:
    """The CRS of the input: the caller's, else the GeoJSON `crs` member, else the default
    (`default_crs`, EPSG:4490). A GeoJSON member contradicting the caller's CRS is InvalidInput."""
    declared = crs_from_geojson(project)
    shifts = ctx.settings.datum_shifts
    if crs not in (None, ""):
        info = resolve_crs(crs, shifts)
        if declared is not None and resolve_crs(declared, shifts).key != info.key:
            raise _input_problem(
                "crs_conflict",
                f"crs says {info.key} but the GeoJSON's own crs member says "
                f"{resolve_crs(declared, shifts).key}; send the CRS that matches the "
                "coordinates",
                "crs",
            )
        return info
    return resolve_crs(declared or ctx.settings.default_crs, shifts)


def _parse(ctx: PlanFuse, project: Any, repair: bool) -> list[ParsedFeature]:
    if isinstance(project, BaseGeometry):
        if project.is_empty:
            raise GeometryInputError(
                None, [InputProblem("the red line is empty", field="geometry")]
            )
        if project.geom_type not in POLYGONAL_TYPES:
            raise GeometryInputError(
                None,
                [
                    InputProblem(
                        f"geometry type {project.geom_type} is not allowed here; expected "
                        "Polygon or MultiPolygon",
                        field="geometry",
                    )
                ],
            )
        # Round-trip through GeoJSON so shapely input gets exactly the same checks.
        project = {"type": project.geom_type, "coordinates": mapping(project)["coordinates"]}
        project = _lists(project)
    if project is None or (isinstance(project, str | bytes) and not project.strip()):
        raise _input_problem(
            "invalid_geometry",
            "the red line is missing: send `geometry` as a GeoJSON Polygon or MultiPolygon "
            "(or a Feature), WKT, or a 界址点 coordinate list",
        )
    if not isinstance(project, Mapping | str | bytes):
        raise _input_problem(
            "invalid_geometry",
            "`geometry` must be a GeoJSON object or text (WKT or a 界址点 coordinate list)",
        )
    if isinstance(project, Mapping):
        if "crs" in project:
            project = {k: v for k, v in project.items() if k != "crs"}
        if _has_tuples(project):
            # shapely's mapping() and other Python callers use tuples; GeoJSON has arrays.
            project = _lists(project)
    return parse_features_bounded(
        ctx,
        project,
        max_vertices=ctx.settings.max_vertices,
        geometry_types=POLYGON_TYPES,
        repair=repair,
    )


def _has_tuples(obj: Any) -> bool:
    """True if the first coordinates of a GeoJSON-like dict are tuples (cheap: follows the
    first element at each level only)."""
    if isinstance(obj, Mapping):
        for key in ("features", "geometry", "coordinates"):
            if key in obj:
                return _has_tuples(obj[key])
        return False
    while isinstance(obj, list) and obj:
        obj = obj[0]
    return isinstance(obj, tuple)


def _lists(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_lists(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    return obj


def _repairable(ctx: PlanFuse, project: Any, exc: GeometryInputError) -> InvalidInput | None:
    """The problem to raise when `exc` is a validity error make_valid would fix, else None."""
    try:
        _parse(ctx, project, repair=True)
    except (GeometryInputError, InvalidInput):
        return None
    messages = " ".join(p.message for p in exc.errors)
    code = "self_intersection" if "elf-intersection" in messages else "invalid_geometry"
    detail = (
        f'{exc.message}. The red line can be repaired automatically: send "repair": true '
        "to apply make_valid (the result is checked and its area reported), or fix the "
        "boundary"
    )
    errors = [p.to_dict() for p in exc.errors]
    errors.append(
        {
            "field": "repair",
            "message": "send repair: true to apply make_valid",
            "repairable": True,
            "hint": REPAIR_HINT,
        }
    )
    return InvalidInput(detail, code=code, errors=errors, title="Invalid red line")


def parse_red_line(
    ctx: PlanFuse, project: Any, crs: str | None = None, *, repair: bool = False
) -> RedLine:
    """Validate and reproject a red line (see the module docstring for the inputs).

    Raises InvalidInput (or a GeoError) for: empty input, a point or
    line, an invalid polygon (self-intersection etc., with an offer to repair), coordinates
    that do not fit the CRS (e.g. eastings without the zone prefix under a prefixed CRS)
    and unknown CRSs. Nothing is stored here.
    """
    info = resolve_input_crs(ctx, crs, project)
    try:
        features = _parse(ctx, project, repair)
    except GeometryInputError as exc:
        offer = None if repair else _repairable(ctx, project, exc)
        if offer is not None:
            raise offer from None
        raise
    validate_in_crs(features, info)
    try:
        geoms = to_storage(features, info, ctx.settings.datum_shifts, validate=False)
    except GeometryInputError as exc:
        raise InvalidInput(
            f'{exc.message}. Send "repair": true to apply make_valid, or fix the boundary',
            code="invalid_geometry",
            errors=[
                *(p.to_dict() for p in exc.errors),
                {"field": "repair", "message": "send repair: true", "repairable": True},
            ],
            title="Invalid red line",
        ) from None
    notes = [n for f in features for n in f.notes]
    if len(geoms) == 1:
        geom_4490 = geoms[0]
    else:
        geom_4490 = polygonal_part(shapely.union_all(geoms))
        notes.append(f"{len(geoms)} polygons merged into one red line")
    geom_work = ctx.work.to_work(geom_4490)
    if not shapely.is_valid(geom_work):
        # Reprojection can move nearly touching rings across each other (sub-millimetre);
        # the valid-in-storage polygon is what was submitted, so mend the working copy only.
        geom_work = polygonal_part(shapely.make_valid(geom_work)) or geom_work
    area_m2 = float(shapely.area(geom_work))
    if not area_m2 > 0:
        raise _input_problem("invalid_geometry", "the red line encloses no area")
    parts = [mapping(f.geometry) for f in features]
    source = _lists(parts[0]) if len(parts) == 1 else _merge_source(parts)
    return RedLine(
        geom_4490=geom_4490,
        geom_work=geom_work,
        area_m2=area_m2,
        crs=info,
        source=source,
        repaired=any(f.repaired for f in features),
        notes=notes,
        parts=len(features),
    )


def _merge_source(parts: list[dict[str, Any]]) -> dict[str, Any]:
    polygons = []
    for part in parts:
        if part["type"] == "Polygon":
            polygons.append(part["coordinates"])
        else:
            polygons.extend(part["coordinates"])
    return _lists({"type": "MultiPolygon", "coordinates": polygons})
