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
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError
from planfuse.geo import crs as crs_mod
from planfuse.geo.errors import GeoError
from planfuse.geo.parse import parse_features, to_storage
from planfuse.services.land_use import LAND_USE_CLASSES, nearest_class
from planfuse.services.layer_data import LayerRef, layers_by_kind
from planfuse.services.siting import scoring
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
    SitingCache,
    Source,
    siting_cache,
)

PARCEL_KIND = "land_use_plan"
#: Coordinates in results: 1e-8° ≈ 1 mm; projected CRSs to the millimetre.
DEGREE_DECIMALS = 8
METRE_DECIMALS = 3


def _missing_layer(kind: str, why: str) -> ProblemError:
    return ProblemError(
        409,
        "layer_missing",
        f"no layer of kind {kind!r} is loaded, so {why} cannot be evaluated; import one "
        f"(planfuse layers import --kind {kind} …) or drop the condition",
        title="Layer missing",
        errors=[{"field": kind, "message": f"no {kind} layer"}],
    )


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
    m², distances in m. Raises ProblemError: 400 for bad input, 409 when a condition needs a
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


# --- the data a query reads ---------------------------------------------------------------


def parcel_layer(ctx: PlanFuse, layers: Mapping[str, list[LayerRef]]) -> LayerRef:
    """The candidate parcel layer: `siting_parcel_layer`, else the land-use plan layer (the
    first by id when there are several)."""
    wanted = ctx.settings.siting_parcel_layer
    if wanted:
        for refs in layers.values():
            for ref in refs:
                if ref.layer_id == wanted:
                    return ref
        raise ProblemError(
            409,
            "layer_missing",
            f"the parcel layer {wanted!r} (setting siting_parcel_layer) has no data; import it "
            "or change the setting",
            title="Layer missing",
        )
    refs = layers.get(PARCEL_KIND) or []
    if not refs:
        raise _missing_layer(PARCEL_KIND, "the candidate parcels")
    return refs[0]


class _Plan:
    """What one query reads, resolved against the current layers and checked."""

    def __init__(self, ctx: PlanFuse, query: SitingQuery, cache: SitingCache):
        self.ctx = ctx
        self.query = query
        self.cache = cache
        self.layers = layers_by_kind(ctx)
        self.current = frozenset(
            (r.layer_id, r.version) for refs in self.layers.values() for r in refs
        )
        cache.prune(self.current)
        self.parcel_ref = parcel_layer(ctx, self.layers)
        self.read: dict[str, int] = {self.parcel_ref.layer_id: self.parcel_ref.version}
        self.table = cache.table(ctx, self.parcel_ref)
        self.districts = None
        district_refs = self.layers.get("district") or []
        if district_refs:
            self.districts = cache.districts(ctx, district_refs[0])
            self.district_ref = district_refs[0]
        self.errors: list[dict[str, Any]] = []

    def refs(self, kind: str, why: str) -> tuple[LayerRef, ...]:
        refs = tuple(self.layers.get(kind) or ())
        if not refs:
            raise _missing_layer(kind, why)
        return refs

    def source(self, kind: str, refs, where=()) -> Source:
        for ref in refs:
            self.read[ref.layer_id] = ref.version
        return Source(kind, tuple(refs), tuple(where))

    def known_values(self, refs, attribute: str) -> dict[str, frozenset]:
        merged: dict[str, set] = {}
        for ref in refs:
            for value, levels in self.cache.values(self.ctx, ref, attribute).items():
                merged.setdefault(value, set()).update(levels)
        return {k: frozenset(v) for k, v in merged.items()}

    def error(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def check_value(self, field: str, refs, attribute: str, value: str, kind: str) -> None:
        known = self.known_values(refs, attribute)
        if value not in known:
            listed = ", ".join(sorted(known)[:20]) or "none"
            self.error(field, f"no {kind} feature has {attribute} {value!r}; present: {listed}")

    def raise_if_errors(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:5])
            raise ProblemError(
                400, "invalid_siting_request", detail, title="Invalid request", errors=self.errors
            )

    def district_name(self, adcode: str | None) -> str | None:
        if adcode is None or self.districts is None:
            return None
        return self.districts.names.get(adcode)


def _scope_polygon(ctx: PlanFuse, geometry: Mapping[str, Any], crs_name: str):
    """The scope polygon in the working CRS; GeoErrors name `scope.geometry`."""
    settings = ctx.settings
    try:
        features = parse_features(
            # Through JSON: callers in Python may hand over tuples (shapely's mapping()).
            orjson.loads(orjson.dumps(geometry)),
            geometry_types={"Polygon", "MultiPolygon"},
            max_vertices=int(settings.max_vertices),
        )
        if len(features) != 1:
            raise ProblemError(
                400,
                "invalid_siting_request",
                f"scope.geometry must be one polygon, not {len(features)} features",
                title="Invalid request",
                errors=[{"field": "scope.geometry", "message": "one polygon expected"}],
            )
        info = crs_mod.resolve_crs(crs_name, settings.datum_shifts)
        storage = to_storage(features, info, settings.datum_shifts)[0]
    except GeoError as exc:
        raise ProblemError(
            400,
            "invalid_scope_geometry",
            f"scope.geometry (in {crs_name}): {exc.message}",
            title="Invalid geometry or coordinate system",
            errors=[{"field": "scope.geometry", **p.to_dict()} for p in exc.errors]
            or [{"field": "scope.geometry", "message": exc.message}],
        ) from None
    work = ctx.work.to_work(storage)
    shapely.prepare(work)
    return work


# --- the funnel ---------------------------------------------------------------------------


def run_query(ctx: PlanFuse, query: SitingQuery) -> dict[str, Any]:
    """Run a parsed query (see :func:`search`)."""
    settings = ctx.settings
    tolerance_m2 = float(settings.siting_tolerance_m2)
    inside_share = float(settings.siting_inside_share)
    try:
        out_crs = crs_mod.resolve_crs(query.output_crs, settings.datum_shifts)
    except GeoError as exc:
        raise ProblemError(
            400,
            "invalid_siting_request",
            f"output_crs: {exc.message}",
            title="Invalid request",
            errors=[{"field": "output_crs", "message": exc.message}],
        ) from None
    cache = siting_cache(ctx)
    plan = _Plan(ctx, query, cache)
    table = plan.table

    # Check everything that needs the data before computing anything.
    scope_work = None
    if query.scope.geometry is not None:
        scope_work = _scope_polygon(ctx, query.scope.geometry, query.scope.crs or "EPSG:4490")
    else:
        if plan.districts is not None:
            plan.read[plan.district_ref.layer_id] = plan.district_ref.version
            known = set(plan.districts.centres)
        else:
            known = {d for d in table.districts if d is not None}
        for adcode in query.scope.districts:
            if adcode not in known:
                plan.error(
                    "scope.districts",
                    f"district {adcode!r} is unknown; known districts: "
                    + ", ".join(sorted(known)[:40]),
                )
    if (
        query.land_use is not None
        and query.land_use not in LAND_USE_CLASSES
        and not table.code_known(query.land_use)
    ):
        plan.error(
            "land_use",
            f"land-use code {query.land_use!r} is unknown: not a 用地用海 class, and no parcel "
            "has a code starting with it",
        )
    control_sources = []
    for i, control in enumerate(query.controls):
        refs = plan.refs(control.kind, f"controls[{i}] ({control.kind} {control.mode})")
        for attr, value in control.where:
            plan.check_value(f"controls[{i}].{attr}", refs, attr, value, control.kind)
        control_sources.append(
            plan.source(control.kind, refs, [(a, (v,)) for a, v in control.where])
        )
    exclude_sources = []
    for i, exclusion in enumerate(query.exclude):
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
        exclude_sources.append(plan.source(exclusion.kind, refs, where))
    proximity_sources = []
    for i, prox in enumerate(query.proximity):
        refs = plan.refs(prox.kind, f"proximity[{i}]")
        if prox.value is not None:
            plan.check_value(
                f"proximity[{i}].{prox.attribute}", refs, prox.attribute, prox.value, prox.kind
            )
        where = [(prox.attribute, (prox.value,))] if prox.value is not None else []
        proximity_sources.append(plan.source(prox.kind, refs, where))
    plan.raise_if_errors()

    # 1. scope
    scope_share: dict[int, float] = {}
    if scope_work is not None:
        positions, shares = _inside_polygon(table, scope_work, inside_share)
        scope_share = dict(zip(positions.tolist(), shares.tolist(), strict=True))
    else:
        positions = table.in_districts(query.scope.districts)
    # 2. basic conditions
    if query.land_use is not None:
        positions = table.code_prefix(positions, query.land_use)
    areas = table.areas_m2[positions]
    keep = np.ones(len(positions), dtype=bool)
    if query.area_min_m2 is not None:
        keep &= areas >= query.area_min_m2
    if query.area_max_m2 is not None:
        keep &= areas <= query.area_max_m2
    positions = positions[keep]
    # 3. advanced conditions, each on the survivors of the previous one
    for control, source in zip(query.controls, control_sources, strict=True):
        overlap = table.overlap_m2(source, cache.geometries(ctx, source), positions)
        if control.mode == "inside":
            positions = positions[_share(overlap, table.areas_m2[positions]) >= inside_share]
        else:
            positions = positions[overlap <= tolerance_m2]
    for source in exclude_sources:
        overlap = table.overlap_m2(source, cache.geometries(ctx, source), positions)
        positions = positions[overlap <= tolerance_m2]
    for prox, source in zip(query.proximity, proximity_sources, strict=True):
        if prox.required:
            distance = table.distance_m(source, cache.geometries(ctx, source), positions)
            positions = positions[distance <= prox.within_m]

    # 4. score and rank
    criteria = scoring.evaluate(plan, query, positions)
    scores = np.round(criteria.score, 6)
    # Ties compare the areas as reported (0.01 m²): float noise from reprojection must not
    # decide between two 10,000 m² parcels.
    reported_areas = np.round(table.areas_m2[positions], 2)
    order = np.lexsort((table.ids[positions], -reported_areas, -scores))
    top = order[: query.limit]
    top_positions = positions[top]

    geometries = _output_geometries(ctx, table, top_positions, out_crs)
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    # Maps draw lon/lat: when the caller asks for another CRS, the lon/lat geometry rides along.
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
        reasons = _reasons(
            plan,
            pos,
            scope_share.get(pos),
            control_sources,
            exclude_sources,
            proximity_sources,
            tolerance_m2,
            inside_share,
        )
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
                "reasons": reasons,
                "geometry": geometries[rank - 1],
            }
        )
        if lonlat is not None:
            candidates[-1]["geometry_4490"] = lonlat[rank - 1]
    return {
        "candidates": candidates,
        "total": len(positions),
        "crs": out_crs.key,
        "weights": dict(query.weights),
        "data_versions": dict(sorted(plan.read.items())),
    }


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
    plan: _Plan,
    pos: int,
    scope_share: float | None,
    control_sources,
    exclude_sources,
    proximity_sources,
    tolerance_m2: float,
    inside_share: float,
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
                "threshold": inside_share,
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
    for control, source in zip(query.controls, control_sources, strict=True):
        overlap = float(table.overlap_m2(source, cache.geometries(ctx, source), one)[0])
        out.append(_control_reason(control, overlap, area, tolerance_m2, inside_share))
    for exclusion, source in zip(query.exclude, exclude_sources, strict=True):
        overlap = float(table.overlap_m2(source, cache.geometries(ctx, source), one)[0])
        out.append(_exclusion_reason(exclusion, overlap, tolerance_m2))
    for prox, source in zip(query.proximity, proximity_sources, strict=True):
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
