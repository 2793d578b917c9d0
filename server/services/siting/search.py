"""辅助选址: find, filter and rank candidate parcels (DOMAIN.md, "Siting").

Candidates are the parcels of the land-use-plan layer (kind `land_use_plan`, or the layer
named by the `siting_parcel_layer` setting). A search runs as a funnel, cheapest first, so
the expensive geometry is only computed for parcels still in play:

1. scope — the districts' parcels (integer comparison over the layer's district column), or
   the parcels ≥ 99.9 % inside a drawn polygon;
2. basic conditions — 用地用海 code prefix, area range (inclusive);
3. advanced conditions, in the order given — controls (`inside`: share of the parcel in
   the layer ≥ `siting_inside_share`; `outside`: overlap ≤ `siting_tolerance_m2`),
   sensitive-zone exclusions (overlap ≤ tolerance), required proximity (distance ≤ within_m);
4. score and rank — see :mod:`planfuse.services.siting.scoring`.

Overlaps and distances come from the relation table (relations.py): computed once per
parcel and combination of layer versions, so a repeated or similar search is fast and still
exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo import crs as crs_mod
from planfuse.geo.crs import CRSInfo
from planfuse.geo.errors import GeoError
from planfuse.geo.parse import to_storage
from planfuse.services.geometry_pool import parse_features_bounded
from planfuse.services.layers.land_use import LAND_USE_CLASSES, nearest_class
from planfuse.services.monitoring.config import config_value
from planfuse.services.siting import scoring
from planfuse.services.siting.plan import QueryPlan
from planfuse.services.siting.query import (
    DEFAULT_LIMIT,
    SENSITIVE_TYPES,
    Control,
    Exclusion,
    Proximity,
    SitingQuery,
    parse_query,
)
from planfuse.services.siting.relations import (
    DistrictCentres,
    ParcelTable,
    Source,
    siting_cache,
)

#: Coordinates in results: 1e-8° ≈ 1 mm; projected CRSs to the millimetre.
DEGREE_DECIMALS = 8
METRE_DECIMALS = 3


def search(
    ctx: PlanFuse,
    scope: Mapping[str, Any],
    conditions: Mapping[str, Any] | None = None,
    weights: Mapping[str, float] | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    output_crs: str = "EPSG:4490",
) -> dict[str, Any]:
    """Ranked candidate parcels for a siting request.

    ``scope``: ``{"districts": ["500112", …]}`` or ``{"geometry": GeoJSON, "crs": "EPSG:…"}``.
    ``conditions``: ``land_use`` (用地用海 code, prefix match), ``area_min_m2``,
    ``area_max_m2`` (m², inclusive), ``target_area_m2``, ``controls``, ``proximity``,
    ``exclude`` (see query.py). ``weights``: criterion → weight summing to 1 (None: the
    defaults). ``limit``: candidates returned (``total`` counts all that pass).

    Returns ``{"candidates": [...], "total", "crs", "weights", "data_versions"}``; areas in
    m², distances in m. Raises InvalidInput for bad input, Conflict when a condition needs a
    layer that is not loaded.
    """
    body = {"scope": scope, **(conditions or {}), "limit": limit, "output_crs": output_crs}
    if weights is not None:
        body["weights"] = weights
    return run_query(ctx, parse_request(ctx, body))


def parse_request(ctx: PlanFuse, body: Any) -> SitingQuery:
    """A :class:`SitingQuery` from a flat request body, with this instance's limits."""
    settings = ctx.settings
    return parse_query(
        body,
        max_area_m2=float(settings.max_project_area_m2),
        limit_max=int(settings.siting_limit_max),
        default_crs=settings.default_crs,
    )


#: What 辅助选址-高级条件 adds to the basic search (scope, land use, area range, weights).
ADVANCED_CONDITIONS = ("controls", "proximity", "exclude")


def parse_basic_request(ctx: PlanFuse, body: Any) -> SitingQuery:
    """:func:`parse_request` for 辅助选址-基础条件: a body with an advanced condition is
    refused (InvalidInput naming it), so a basic search is never silently narrowed."""
    if isinstance(body, Mapping):
        for name in ADVANCED_CONDITIONS:
            if body.get(name):
                raise InvalidInput(
                    f"`{name}` is an advanced condition; the basic search takes scope, "
                    "land_use, area_min_m2, area_max_m2, target_area_m2, weights and limit — "
                    "send advanced conditions to POST /api/v1/siting/search",
                    code="advanced_condition",
                    errors=[{"field": name, "message": "not a basic condition"}],
                    title="Advanced condition in a basic search",
                )
    return parse_request(ctx, body)


def _scope_polygon(ctx: PlanFuse, geometry: Mapping[str, Any], crs_name: str):
    """The scope polygon in the working CRS; GeoErrors name `scope.geometry`."""
    settings = ctx.settings
    try:
        features = parse_features_bounded(
            ctx,
            # Through JSON: callers in Python may hand over tuples (shapely's mapping()).
            orjson.loads(orjson.dumps(geometry)),
            geometry_types={"Polygon", "MultiPolygon"},
            max_vertices=int(settings.max_vertices),
        )
        if len(features) != 1:
            raise InvalidInput(
                f"scope.geometry must be one polygon, not {len(features)} features",
                code="invalid_siting_request",
                errors=[{"field": "scope.geometry", "message": "one polygon expected"}],
            )
        info = crs_mod.resolve_crs(crs_name, settings.datum_shifts)
        storage = to_storage(features, info, settings.datum_shifts)[0]
    except GeoError as exc:
        raise InvalidInput(
            f"scope.geometry (in {crs_name}): {exc.message}",
            code="invalid_scope_geometry",
            errors=[{"field": "scope.geometry", **p.to_dict()} for p in exc.errors]
            or [{"field": "scope.geometry", "message": exc.message}],
            title="Invalid geometry or coordinate system",
        ) from None
    work = ctx.work.to_work(storage)
    shapely.prepare(work)
    return work


@dataclass(frozen=True)
class Thresholds:
    """When a parcel counts as outside a layer (overlap ≤ `tolerance_m2`, m²) and as inside
    one (share of its area ≥ `inside_share`): the configuration of 辅助选址-高级条件, by
    default the `siting_tolerance_m2` and `siting_inside_share` settings."""

    tolerance_m2: float
    inside_share: float


#: The catalogue entry whose configuration holds the thresholds (辅助选址-高级条件).
CONFIG_SERVICE = "siting_advanced"


def thresholds(ctx: PlanFuse) -> Thresholds:
    """The thresholds as configured now (the service's catalogued configuration)."""
    return Thresholds(
        float(config_value(ctx, CONFIG_SERVICE, "tolerance_m2")),
        float(config_value(ctx, CONFIG_SERVICE, "inside_share")),
    )


@dataclass(frozen=True)
class ConditionSources:
    """The layer features each advanced condition reads, in the query's order."""

    controls: list[Source]
    exclude: list[Source]
    proximity: list[Source]


def run_query(ctx: PlanFuse, query: SitingQuery) -> dict[str, Any]:
    """Run a parsed query (see :func:`search`): check it against the data, narrow the
    parcels through the funnel, then score, rank and describe the best `limit`."""
    limits = thresholds(ctx)
    out_crs = _output_crs(ctx, query.output_crs)
    plan = QueryPlan(ctx, query, siting_cache(ctx))

    # Check everything that needs the data before computing anything.
    scope_work = _check_scope(ctx, plan)
    _check_land_use(plan)
    sources = ConditionSources(
        _control_sources(plan), _exclude_sources(plan), _proximity_sources(plan)
    )
    plan.raise_if_errors()

    positions, scope_share = _scope(plan, scope_work, limits)  # 1. scope
    positions = _basic_conditions(plan, positions)  # 2. basic conditions
    positions = _advanced_conditions(plan, sources, positions, limits)  # 3. advanced
    criteria = scoring.evaluate(plan, query, positions)  # 4. score and rank
    scores, top = _rank(plan, positions, criteria)
    return {
        "candidates": _candidates(
            plan, criteria, scores, top, positions[top], scope_share, sources, limits, out_crs
        ),
        "total": len(positions),
        "crs": out_crs.key,
        "weights": dict(query.weights),
        "data_versions": dict(sorted(plan.read.items())),
    }


def _output_crs(ctx: PlanFuse, name: str) -> CRSInfo:
    try:
        return crs_mod.resolve_crs(name, ctx.settings.datum_shifts)
    except GeoError as exc:
        raise InvalidInput(
            f"output_crs: {exc.message}",
            code="invalid_siting_request",
            errors=[{"field": "output_crs", "message": exc.message}],
        ) from None


# --- checks against the data --------------------------------------------------------------


def _check_scope(ctx: PlanFuse, plan: QueryPlan):
    """The scope polygon in the working CRS, or None for a district scope (whose adcodes
    must be districts of the district layer, or of the parcels when there is none)."""
    scope = plan.query.scope
    if scope.geometry is not None:
        return _scope_polygon(ctx, scope.geometry, scope.crs or "EPSG:4490")
    if plan.districts is not None:
        plan.read[plan.district_ref.layer_id] = plan.district_ref.version
        known = set(plan.districts.centres)
    else:
        known = {d for d in plan.table.districts if d is not None}
    for adcode in scope.districts:
        if adcode not in known:
            plan.error(
                "scope.districts",
                f"district {adcode!r} is unknown; known districts: "
                + ", ".join(sorted(known)[:40]),
            )
    return None


def _check_land_use(plan: QueryPlan) -> None:
    land_use = plan.query.land_use
    known = land_use is None or land_use in LAND_USE_CLASSES or plan.table.code_known(land_use)
    if not known:
        plan.error(
            "land_use",
            f"land-use code {land_use!r} is unknown: not a 用地用海 class, and no parcel "
            "has a code starting with it",
        )


def _control_sources(plan: QueryPlan) -> list[Source]:
    sources = []
    for i, control in enumerate(plan.query.controls):
        refs = plan.refs(control.kind, f"controls[{i}] ({control.kind} {control.mode})")
        for attr, value in control.where:
            plan.check_value(f"controls[{i}].{attr}", refs, attr, value, control.kind)
        sources.append(plan.source(control.kind, refs, [(a, (v,)) for a, v in control.where]))
    return sources


def _exclude_sources(plan: QueryPlan) -> list[Source]:
    sources = []
    for i, exclusion in enumerate(plan.query.exclude):
        refs = plan.refs(exclusion.kind, f"exclude[{i}] ({exclusion.type})")
        known = plan.known_values(refs, "type")
        if exclusion.type not in known and exclusion.type not in SENSITIVE_TYPES:
            plan.error(
                f"exclude[{i}].type",
                f"sensitive-zone type {exclusion.type!r} is unknown; types: "
                + ", ".join(sorted(set(SENSITIVE_TYPES) | set(known))),
            )
        elif (
            exclusion.level is not None
            and known.get(exclusion.type)
            and exclusion.level not in known[exclusion.type]
        ):
            plan.error(
                f"exclude[{i}].level",
                f"{exclusion.type} zones have no level {exclusion.level!r}; levels: "
                + ", ".join(sorted(known[exclusion.type])),
            )
        where = [("type", (exclusion.type,))]
        if exclusion.level is not None:
            where.append(("level", (exclusion.level,)))
        sources.append(plan.source(exclusion.kind, refs, where))
    return sources


def _proximity_sources(plan: QueryPlan) -> list[Source]:
    sources = []
    for i, prox in enumerate(plan.query.proximity):
        refs = plan.refs(prox.kind, f"proximity[{i}]")
        if prox.value is not None:
            plan.check_value(
                f"proximity[{i}].{prox.attribute}", refs, prox.attribute, prox.value, prox.kind
            )
        where = [(prox.attribute, (prox.value,))] if prox.value is not None else []
        sources.append(plan.source(prox.kind, refs, where))
    return sources


# --- the funnel ---------------------------------------------------------------------------


def _scope(plan: QueryPlan, scope_work, limits: Thresholds) -> tuple[np.ndarray, dict[int, float]]:
    """The parcels in scope, and for a polygon scope the share of each inside it."""
    if scope_work is None:
        return plan.table.in_districts(plan.query.scope.districts), {}
    positions, shares = _inside_polygon(plan.table, scope_work, limits.inside_share)
    return positions, dict(zip(positions.tolist(), shares.tolist(), strict=True))


def _basic_conditions(plan: QueryPlan, positions: np.ndarray) -> np.ndarray:
    """The parcels of the land-use code prefix and within the area range (inclusive)."""
    query, table = plan.query, plan.table
    if query.land_use is not None:
        positions = table.code_prefix(positions, query.land_use)
    areas = table.areas_m2[positions]
    keep = np.ones(len(positions), dtype=bool)
    if query.area_min_m2 is not None:
        keep &= areas >= query.area_min_m2
    if query.area_max_m2 is not None:
        keep &= areas <= query.area_max_m2
    return positions[keep]


def _advanced_conditions(
    plan: QueryPlan, sources: ConditionSources, positions: np.ndarray, limits: Thresholds
) -> np.ndarray:
    """Controls, exclusions and required proximity, each on the survivors of the previous."""
    query, table, cache, ctx = plan.query, plan.table, plan.cache, plan.ctx
    for control, source in zip(query.controls, sources.controls, strict=True):
        overlap = table.overlap_m2(source, cache.geometries(ctx, source), positions)
        if control.mode == "inside":
            share = _share(overlap, table.areas_m2[positions])
            positions = positions[share >= limits.inside_share]
        else:
            positions = positions[overlap <= limits.tolerance_m2]
    for source in sources.exclude:
        overlap = table.overlap_m2(source, cache.geometries(ctx, source), positions)
        positions = positions[overlap <= limits.tolerance_m2]
    for prox, source in zip(query.proximity, sources.proximity, strict=True):
        if prox.required:
            distance = table.distance_m(source, cache.geometries(ctx, source), positions)
            positions = positions[distance <= prox.within_m]
    return positions


def _rank(
    plan: QueryPlan, positions: np.ndarray, criteria: scoring.Scores
) -> tuple[np.ndarray, np.ndarray]:
    """The rounded scores, and the indices of the best `limit` in rank order."""
    table = plan.table
    scores = np.round(criteria.score, 6)
    # Ties compare the areas as reported (0.01 m²): float noise from reprojection must not
    # decide between two 10,000 m² parcels.
    reported_areas = np.round(table.areas_m2[positions], 2)
    order = np.lexsort((table.ids[positions], -reported_areas, -scores))
    return scores, order[: plan.query.limit]


def _candidates(
    plan: QueryPlan,
    criteria: scoring.Scores,
    scores: np.ndarray,
    top: np.ndarray,
    top_positions: np.ndarray,
    scope_share: dict[int, float],
    sources: ConditionSources,
    limits: Thresholds,
    out_crs: CRSInfo,
) -> list[dict[str, Any]]:
    """The ranked candidates as the API returns them, with geometries in `out_crs` (and in
    lon/lat too when that is another CRS: maps draw lon/lat)."""
    ctx, table = plan.ctx, plan.table
    geometries = _output_geometries(ctx, table, top_positions, out_crs)
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    lonlat = (
        _output_geometries(ctx, table, top_positions, storage)
        if out_crs.key != storage.key
        else None
    )
    keys = _parcel_keys(ctx, table, top_positions)
    candidates = []
    for rank, (i, pos) in enumerate(zip(top.tolist(), top_positions.tolist(), strict=True), 1):
        code = table.codes[table.code_codes[pos]]
        cls = nearest_class(code) if code else None
        district = table.districts[table.district_codes[pos]]
        candidates.append(
            {
                "feature_id": int(table.ids[pos]),
                "layer": plan.parcel_ref.layer_id,
                "parcel_key": keys[rank - 1],
                "rank": rank,
                "recommended": rank == 1,
                "score": float(scores[i]),
                "area_m2": round(float(table.areas_m2[pos]), 2),
                "land_use": code,
                "land_use_name": {"zh-CN": cls.name_zh, "en": cls.name_en} if cls else None,
                "district": district,
                "district_name": plan.district_name(district),
                "criteria": criteria.describe(i),
                "reasons": _reasons(plan, pos, scope_share.get(pos), sources, limits),
                "geometry": geometries[rank - 1],
            }
        )
        if lonlat is not None:
            candidates[-1]["geometry_4490"] = lonlat[rank - 1]
    return candidates


def _share(overlap: np.ndarray, areas: np.ndarray) -> np.ndarray:
    out = np.zeros(len(areas), dtype=np.float64)
    np.divide(overlap, areas, out=out, where=areas > 0)
    return out


def _inside_polygon(table: ParcelTable, polygon, inside_share: float):
    """Positions (ascending) and shares of the parcels ≥ `inside_share` inside `polygon`."""
    positions = np.sort(table.index.tree.query(polygon, predicate="intersects"))
    if positions.size == 0:
        return positions, np.empty(0)
    geoms = table.geometries[positions]
    areas = table.areas_m2[positions]
    inside = shapely.covers(polygon, geoms)
    overlap = areas.copy()
    partial = ~inside
    if partial.any():
        overlap[partial] = shapely.area(shapely.intersection(geoms[partial], polygon))
    shares = np.minimum(_share(overlap, areas), 1.0)
    keep = shares >= inside_share
    return positions[keep], shares[keep]


def _round_coords(geom, decimals: int):
    return shapely.transform(geom, lambda xy: np.round(xy, decimals))


def _output_geometries(ctx: PlanFuse, table: ParcelTable, positions: np.ndarray, out_crs):
    if positions.size == 0:
        return []
    geoms = ctx.work.to_storage(table.geometries[positions])
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    if out_crs.key != storage.key:
        geoms = crs_mod.transform_geometry(geoms, storage, out_crs, ctx.settings.datum_shifts)
    decimals = DEGREE_DECIMALS if out_crs.degrees else METRE_DECIMALS
    return [mapping(g) for g in _round_coords(geoms, decimals)]


def _parcel_keys(ctx: PlanFuse, table: ParcelTable, positions: np.ndarray) -> list[str]:
    """A parcel's identity across layer versions (fids are renumbered by a re-import): a hash
    of its geometry in storage coordinates, rounded to ~1 mm."""
    if positions.size == 0:
        return []
    geoms = _round_coords(ctx.work.to_storage(table.geometries[positions]), DEGREE_DECIMALS)
    return [hashlib.sha256(w).hexdigest()[:16] for w in shapely.to_wkb(geoms, output_dimension=2)]


# --- reasons ------------------------------------------------------------------------------


def _reasons(
    plan: QueryPlan,
    pos: int,
    scope_share: float | None,
    sources: ConditionSources,
    limits: Thresholds,
) -> list[dict[str, Any]]:
    """Per condition, the measured value that makes it hold (or not, for scored proximity)."""
    query, table, cache, ctx = plan.query, plan.table, plan.cache, plan.ctx
    one = np.array([pos], dtype=np.intp)
    area = float(table.areas_m2[pos])
    out: list[dict[str, Any]] = []
    if scope_share is not None:
        out.append(
            {
                "condition": "scope",
                "kind": "polygon",
                "value": round(scope_share, 6),
                "unit": "share",
                "threshold": limits.inside_share,
                "holds": True,
            }
        )
    else:
        district = table.districts[table.district_codes[pos]]
        out.append(
            {
                "condition": "scope",
                "kind": "district",
                "value": district,
                "name": plan.district_name(district),
                "holds": True,
            }
        )
    if query.land_use is not None:
        out.append(
            {
                "condition": "land_use",
                "value": table.codes[table.code_codes[pos]],
                "expected": query.land_use,
                "holds": True,
            }
        )
    out.append(
        {
            "condition": "area",
            "value": round(area, 2),
            "unit": "m2",
            "min": query.area_min_m2,
            "max": query.area_max_m2,
            "holds": True,
        }
    )
    for control, source in zip(query.controls, sources.controls, strict=True):
        overlap = float(table.overlap_m2(source, cache.geometries(ctx, source), one)[0])
        out.append(
            _control_reason(control, overlap, area, limits.tolerance_m2, limits.inside_share)
        )
    for exclusion, source in zip(query.exclude, sources.exclude, strict=True):
        overlap = float(table.overlap_m2(source, cache.geometries(ctx, source), one)[0])
        out.append(_exclusion_reason(exclusion, overlap, limits.tolerance_m2))
    for prox, source in zip(query.proximity, sources.proximity, strict=True):
        distance = float(table.distance_m(source, cache.geometries(ctx, source), one)[0])
        out.append(_proximity_reason(prox, distance))
    return out


def _control_reason(control: Control, overlap: float, area: float, tol: float, share: float):
    reason: dict[str, Any] = {"condition": "control", "kind": control.kind, "mode": control.mode}
    reason.update(dict(control.where))
    parcel_share = overlap / area if area > 0 else 0.0
    if control.mode == "inside":
        reason.update(
            value=round(min(parcel_share, 1.0), 6),
            unit="share",
            overlap_m2=round(overlap, 2),
            threshold=share,
            holds=parcel_share >= share,
        )
    else:
        reason.update(value=round(overlap, 2), unit="m2", threshold=tol, holds=overlap <= tol)
    return reason


def _exclusion_reason(exclusion: Exclusion, overlap: float, tol: float):
    reason: dict[str, Any] = {"condition": "exclude", **exclusion.to_dict()}
    reason.update(value=round(overlap, 2), unit="m2", threshold=tol, holds=overlap <= tol)
    return reason


def _proximity_reason(prox: Proximity, distance: float):
    reason: dict[str, Any] = {"condition": "proximity", "kind": prox.kind}
    if prox.value is not None:
        reason[prox.attribute] = prox.value
    finite = bool(np.isfinite(distance))
    reason.update(
        value=round(distance, 2) if finite else None,
        unit="m",
        threshold=prox.within_m,
        required=prox.required,
        holds=finite and (prox.within_m is None or distance <= prox.within_m),
    )
    return reason


def result_json(result: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of a result (what a siting plan stores and compares)."""
    return orjson.dumps(result)


__all__ = ["DistrictCentres", "parse_request", "result_json", "run_query", "search"]
