"""What a ledger aggregates: pieces (district, group, area m²) of a layer kind's features cut
at district boundaries (cached per layer version), of the conflict patches, and of the
comprehensive ledger's items.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.errors import Conflict as ConflictError
from planfuse.errors import NotFound
from planfuse.services.conflicts.districts import (
    DistrictSet,
    missing_layers,
    split_by_district,
)
from planfuse.services.layers.data import LayerRef, current_layers, layer_index
from planfuse.services.layers.land_use import matches_prefix
from planfuse.storage.models import Conflict


@dataclass
class Pieces:
    """Aggregation input: one entry per piece — district position (-1 outside), group
    key, area in m²."""

    district: np.ndarray
    group: np.ndarray
    area_m2: np.ndarray


# --- layer pieces, cached per layer version -------------------------------------------

_CACHE_KEY = "ledger_parts"
_CACHE_SIZE = 16
_cache_lock = threading.Lock()


def _layer_parts(ctx: PlanFuse, ref: LayerRef, districts: DistrictSet):
    """(owner feature positions, district positions, areas m²) of a layer version cut at
    district boundaries; cached per (layer, version, district layer version)."""
    key = (ref.layer_id, ref.version, districts.ref.layer_id, districts.ref.version)
    with _cache_lock:
        cache = ctx.extras.setdefault(_CACHE_KEY, OrderedDict())
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            return hit
    index = layer_index(ctx, ref)
    parts = split_by_district(index.geometries, districts)
    value = (parts.owner, parts.district, parts.areas_m2)
    with _cache_lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _refs(ctx: PlanFuse, kind: str, layer_id: str | None) -> list[LayerRef]:
    refs = current_layers(ctx, [kind])
    if layer_id is not None:
        refs = [r for r in refs if r.layer_id == layer_id]
        if not refs:
            raise NotFound(
                "layer",
                layer_id,
                message=f"layer {layer_id!r} does not exist or is not a current {kind} layer",
            )
    if not refs:
        raise missing_layers([kind])
    return refs


def layer_pieces(
    ctx: PlanFuse,
    kind: str,
    grouping: Callable[[str | None], str],
    attribute: str | None,
    districts: DistrictSet,
    layer_id: str | None = None,
    feature_filter: Callable[[str | None], bool] | None = None,
) -> tuple[Pieces, dict[str, int]]:
    """The pieces of every current layer of ``kind`` (or one layer), grouped."""
    refs = _refs(ctx, kind, layer_id)
    d_all, g_all, a_all = [], [], []
    for ref in refs:
        owner, district, areas = _layer_parts(ctx, ref, districts)
        index = layer_index(ctx, ref)
        column = index.attributes.get(attribute) if attribute else None
        values = column[owner] if column is not None else np.full(len(owner), None, object)
        keep = np.ones(len(owner), dtype=bool)
        if feature_filter is not None:
            keep = np.fromiter((feature_filter(v) for v in values), dtype=bool, count=len(owner))
        d_all.append(district[keep])
        g_all.append(np.array([grouping(v) for v in values[keep]], dtype=object))
        a_all.append(areas[keep])
    pieces = Pieces(
        np.concatenate(d_all) if d_all else np.empty(0, dtype=np.int64),
        np.concatenate(g_all) if g_all else np.empty(0, dtype=object),
        np.concatenate(a_all) if a_all else np.empty(0),
    )
    return pieces, {r.layer_id: r.version for r in refs}


def conflict_pieces(ctx: PlanFuse, districts: DistrictSet, analysis: str | None) -> Pieces:
    query = select(Conflict.district, Conflict.analysis, Conflict.type, Conflict.area_m2).where(
        Conflict.current.is_(True), Conflict.sliver.is_(False)
    )
    if analysis:
        query = query.where(Conflict.analysis == analysis)
    with ctx.db.session() as session:
        rows = session.execute(query).all()
    lookup = {code: i for i, code in enumerate(districts.adcodes.tolist())}
    return Pieces(
        np.array([lookup.get(r.district, -1) for r in rows], dtype=np.int64),
        np.array([f"{r.analysis}:{r.type}" for r in rows], dtype=object),
        np.array([float(r.area_m2) for r in rows], dtype=np.float64),
    )


def conflict_totals_sql(ctx: PlanFuse, analysis: str | None = None) -> tuple[int, float]:
    """(count, area m²) of the current non-sliver conflicts by one SQL aggregate: a check
    that is independent of the ledger's own aggregation."""
    query = select(func.count(), func.coalesce(func.sum(Conflict.area_m2), 0.0)).where(
        Conflict.current.is_(True), Conflict.sliver.is_(False)
    )
    if analysis:
        query = query.where(Conflict.analysis == analysis)
    with ctx.db.session() as session:
        count, area = session.execute(query).one()
    return int(count), float(area)


def comprehensive_pieces(
    ctx: PlanFuse, districts: DistrictSet
) -> tuple[Pieces, dict[str, int], list[str]]:
    parts: list[Pieces] = []
    layers: dict[str, int] = {}
    missing: list[str] = []
    codes = ctx.settings.construction_land_codes

    def add(kind: str, item: str, attribute: str | None = None, keep=None) -> None:
        try:
            pieces, versions = layer_pieces(
                ctx, kind, lambda _v: item, attribute, districts, feature_filter=keep
            )
        except ConflictError as exc:
            if exc.code != "missing_layers":
                raise
            missing.append(item)
            return
        parts.append(pieces)
        layers.update(versions)

    add("land_use_plan", "construction_land", "code", lambda c: matches_prefix(c, codes))
    add("basic_farmland", "basic_farmland")
    add("ecological_redline", "ecological_redline")
    add("urban_boundary", "urban_boundary")
    conflicts = conflict_pieces(ctx, districts, None)
    conflicts.group = np.array(
        ["conflicts:" + g.split(":")[0] for g in conflicts.group], dtype=object
    )
    parts.append(conflicts)
    return (
        Pieces(
            np.concatenate([p.district for p in parts]),
            np.concatenate([p.group for p in parts]),
            np.concatenate([p.area_m2 for p in parts]),
        ),
        layers,
        missing,
    )
