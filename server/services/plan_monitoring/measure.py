"""Areas of layer versions per district (分区县面积), the ground every indicator stands on.

A feature is split by the district boundaries: a feature inside one district counts
whole (its stored equal-area m²), one across a boundary counts in each district with the
area of its part there; what lies outside every district counts nowhere. The split of a
layer version never changes, so it is computed once per (layer version, district layer
version) and kept in the context; an indicator is then a filter and a sum.

Cutting features by the district boundaries is the costly part (seconds per status
version), so the split's numbers — and the areas of one layer inside others — are also
stored with the layer version (`layers.derived`): a new process, or another host, loads
them instead of cutting again.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.measure import work_projection
from planfuse.services.layers import derived
from planfuse.services.plan_monitoring.years import LayerRef
from planfuse.storage.models import Feature, Layer

CACHE_ENTRIES = 64
#: Sums per district (38 numbers each) kept apart from the splits they come from, so that
#: many indicators' sums never push a costly split out of the cache.
SUM_CACHE_ENTRIES = 4096


@dataclass(frozen=True)
class Districts:
    """The current district layer: adcodes (sorted), names, polygons (EPSG:4490)."""

    key: LayerRef
    adcodes: list[str]
    names: list[str]
    geoms: np.ndarray

    def index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.adcodes)}


@dataclass(frozen=True)
class Pieces:
    """A layer version split by district: one row per (feature, district) part."""

    feature: np.ndarray  # row of the feature in `codes`
    district: np.ndarray  # index into Districts.adcodes
    area_m2: np.ndarray
    codes: np.ndarray  # the features' 用地用海 codes (text, "" when none)
    feature_district: np.ndarray  # district of each feature's point on surface, -1 outside
    geoms: np.ndarray  # the features' polygons (EPSG:4490)


class _Cache:
    """A small LRU of derived state keyed by layer versions (which never change)."""

    def __init__(self, entries: int = CACHE_ENTRIES, *, serial_builds: bool = True) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        # One build at a time in a process (re-entrant: a build uses others). Builds share
        # cached geometries (the districts, a layer version's features) that GEOS prepares
        # and indexes in place, and shapely runs GEOS without the GIL: two builds at once
        # (a widget's parallel requests to a threaded server) could crash the process.
        # Builds that touch no geometry (sums over a split) need no such lock, and taking
        # a second one around the first could deadlock.
        self._build_lock = threading.RLock() if serial_builds else contextlib.nullcontext()
        self._items: OrderedDict[object, object] = OrderedDict()

    def _cached(self, key: object) -> tuple[bool, object]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
        return False, None

    def get(self, key: object, build: Callable[[], object]) -> object:
        found, value = self._cached(key)
        if found:
            return value
        with self._build_lock:
            # The same build may have run while this one waited.
            found, value = self._cached(key)
            if found:
                return value
            value = build()
            with self._lock:
                self._items[key] = value
                while len(self._items) > self._entries:
                    self._items.popitem(last=False)
        return value


def _cache(ctx: PlanFuse) -> _Cache:
    return ctx.shared("plan_monitoring.measure", _Cache)


def _sums(ctx: PlanFuse) -> _Cache:
    return ctx.shared(
        "plan_monitoring.sums", lambda: _Cache(SUM_CACHE_ENTRIES, serial_builds=False)
    )


def cached(ctx: PlanFuse, key: object, build: Callable[[], object]) -> object:
    """State derived from layer versions named in `key`, built once per process."""
    return _cache(ctx).get(key, build)


def districts(ctx: PlanFuse) -> Districts:
    """The current district layer (InvalidInput when none is loaded)."""
    with ctx.db.session() as session:
        layer = session.execute(
            select(Layer.id, Layer.current_version)
            .where(Layer.kind == "district", Layer.current_version > 0)
            .order_by(Layer.updated_at.desc())
            .limit(1)
        ).first()
    if layer is None:
        raise InvalidInput(
            "no district layer is loaded; monitoring measures by district: import one with "
            "`planfuse layers import FILE --kind district`",
            code="no_district_layer",
        )
    key = (layer[0], layer[1])

    def build() -> Districts:
        with ctx.db.session() as session:
            rows = session.execute(
                select(Feature.district, Feature.geom, Feature.properties)
                .where(Feature.layer_id == key[0], Feature.version == key[1])
                .order_by(Feature.district)
            ).all()
        return Districts(
            key,
            [str(r[0]) for r in rows],
            [str((r[2] or {}).get("name", r[0])) for r in rows],
            shapely.from_wkb([r[1] for r in rows]),
        )

    return _cache(ctx).get(("districts", key), build)  # type: ignore[return-value]


def layer_pieces(ctx: PlanFuse, ref: LayerRef) -> Pieces:
    """The split of one layer version by the current districts (cached)."""
    table = districts(ctx)
    return _cache(ctx).get(("pieces", ref, table.key), lambda: _split_layer(ctx, ref, table))  # type: ignore[return-value]


def _split_layer(ctx: PlanFuse, ref: LayerRef, table: Districts) -> Pieces:
    with ctx.db.session() as session:
        rows = session.execute(
            select(Feature.geom, Feature.area_m2, Feature.district, Feature.properties)
            .where(Feature.layer_id == ref[0], Feature.version == ref[1])
            .order_by(Feature.fid)
        ).all()
    geoms = shapely.from_wkb([r[0] for r in rows]) if rows else np.array([], dtype=object)
    areas = np.array([r[1] for r in rows], dtype=np.float64)
    index = table.index()
    feature_district = np.array([index.get(r[2], -1) for r in rows], dtype=np.int64)
    codes = np.array([_code(r[3]) for r in rows], dtype=object)

    def cut() -> dict[str, np.ndarray]:
        feature, district, area = split_by_district(ctx, geoms, table, areas)
        return {"feature": feature, "district": district, "area_m2": area}

    split = _stored(ctx, ref, f"district_split:{_districts_name(table)}", cut)
    return Pieces(
        split["feature"].astype(np.int64),
        split["district"].astype(np.int64),
        split["area_m2"],
        codes,
        feature_district,
        geoms,
    )


def _districts_name(table: Districts) -> str:
    return f"{table.key[0]}:v{table.key[1]}"


def _stored(
    ctx: PlanFuse, ref: LayerRef, name: str, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Arrays derived from the layer version `ref`, stored with it under `name` (areas
    depend on the equal-area CRS, so a digest of it is part of the name)."""
    crs = hashlib.sha256(str(ctx.settings.area_crs).encode()).hexdigest()[:12]
    return derived.get_or_build(
        ctx,
        ref[0],
        ref[1],
        f"{name}:crs-{crs}",
        build,
        derived.pack_arrays,
        derived.unpack_arrays,
    )


def _code(properties: object) -> str:
    if isinstance(properties, str | bytes):
        properties = orjson.loads(properties)
    code = (properties or {}).get("code") if isinstance(properties, dict) else None
    return "" if code is None else str(code)


def split_by_district(
    ctx: PlanFuse, geoms: np.ndarray, table: Districts, areas_m2: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(feature row, district index, area m²) of every part of `geoms` (EPSG:4490) in a
    district. `areas_m2`: the geometries' own areas when known (a whole feature keeps it)."""
    empty = (np.array([], np.int64), np.array([], np.int64), np.array([], np.float64))
    if len(geoms) == 0 or len(table.geoms) == 0:
        return empty
    projection = work_projection(ctx.settings.area_crs)
    if areas_m2 is None:
        areas_m2 = projection.areas_from_storage_m2(geoms)
    tree = shapely.STRtree(table.geoms)
    f_idx, d_idx = tree.query(geoms)
    shapely.prepare(table.geoms)
    covered = shapely.covers(table.geoms[d_idx], geoms[f_idx])
    # A feature covered by one district counts whole there (the first, should two share
    # an edge it lies on); every other candidate pair is intersected.
    whole_f, first = np.unique(f_idx[covered], return_index=True)
    whole_d = d_idx[covered][first]
    is_whole = np.zeros(len(geoms), dtype=bool)
    is_whole[whole_f] = True
    cut = ~is_whole[f_idx]
    cut_f, cut_d = f_idx[cut], d_idx[cut]
    parts = shapely.intersection(geoms[cut_f], table.geoms[cut_d])
    cut_area = projection.areas_from_storage_m2(parts) if len(parts) else np.array([])
    keep = cut_area > 0
    feature = np.concatenate([whole_f, cut_f[keep]])
    district = np.concatenate([whole_d, cut_d[keep]])
    area = np.concatenate([areas_m2[whole_f], cut_area[keep]])
    order = np.lexsort((district, feature))
    return feature[order], district[order], area[order]


def code_mask(codes: np.ndarray, prefixes: Sequence[str] | None) -> np.ndarray:
    """Which codes start with one of `prefixes` (all when None)."""
    if prefixes is None:
        return np.ones(len(codes), dtype=bool)
    text = codes.astype(str) if len(codes) else np.array([], dtype=str)
    mask = np.zeros(len(codes), dtype=bool)
    for prefix in prefixes:
        mask |= np.char.startswith(text, prefix)
    return mask


def area_by_district(
    ctx: PlanFuse, refs: Sequence[LayerRef], codes: Sequence[str] | None = None
) -> np.ndarray:
    """m² per district (Districts order) of the layers `refs`, limited to `codes` prefixes."""
    table = districts(ctx)
    total = np.zeros(len(table.adcodes))
    for ref in refs:
        total += _layer_sum(ctx, "area", ref, codes, table)
    return total


def count_by_district(
    ctx: PlanFuse, refs: Sequence[LayerRef], codes: Sequence[str] | None = None
) -> np.ndarray:
    """Features per district (by the point on their surface) of the layers `refs`."""
    table = districts(ctx)
    total = np.zeros(len(table.adcodes))
    for ref in refs:
        total += _layer_sum(ctx, "count", ref, codes, table)
    return total


def _layer_sum(
    ctx: PlanFuse, what: str, ref: LayerRef, codes: Sequence[str] | None, table: Districts
) -> np.ndarray:
    """m² ("area") or features ("count") per district of one layer version, limited to
    `codes` prefixes: a filter over the whole split, kept per layer version and codes (the
    cards of a year ask for a dozen of them at once, each again on every visit)."""

    def build() -> np.ndarray:
        pieces = layer_pieces(ctx, ref)
        size = len(table.adcodes)
        if what == "count":
            where = pieces.feature_district[
                code_mask(pieces.codes, codes) & (pieces.feature_district >= 0)
            ]
            return np.bincount(where, minlength=size).astype(np.float64)
        wanted = code_mask(pieces.codes, codes)[pieces.feature]
        return np.bincount(pieces.district[wanted], weights=pieces.area_m2[wanted], minlength=size)

    key = (what, ref, None if codes is None else tuple(codes), table.key)
    value = _sums(ctx).get(key, build)
    return value.copy()  # type: ignore[union-attr]  # callers add into their own totals


def area_inside_by_district(
    ctx: PlanFuse,
    refs: Sequence[LayerRef],
    codes: Sequence[str] | None,
    inside_refs: Sequence[LayerRef],
) -> np.ndarray:
    """m² per district of the layers `refs` (limited to `codes`) lying inside the layers
    `inside_refs` (overlaps among those counted once)."""
    table = districts(ctx)
    key = ("inside", tuple(refs), tuple(codes or ()), codes is None, tuple(inside_refs), table.key)

    def build() -> np.ndarray:
        if not refs:
            return measure()
        # Stored with the first layer version; the name holds every version it reads.
        digest = hashlib.sha256(orjson.dumps(key[1:])).hexdigest()[:32]
        name = f"district_inside:{digest}"
        return _stored(ctx, refs[0], name, lambda: {"area_m2": measure()})["area_m2"]

    def measure() -> np.ndarray:
        geoms = [
            layer_pieces(ctx, ref).geoms[code_mask(layer_pieces(ctx, ref).codes, codes)]
            for ref in refs
        ]
        others = [layer_pieces(ctx, ref).geoms for ref in inside_refs]
        subject = np.concatenate(geoms) if geoms else np.array([], dtype=object)
        mask = np.concatenate(others) if others else np.array([], dtype=object)
        total = np.zeros(len(table.adcodes))
        if len(subject) == 0 or len(mask) == 0:
            return total
        pairs = shapely.STRtree(mask).query(subject)
        order = np.argsort(pairs[0], kind="stable")
        subjects, starts = np.unique(pairs[0][order], return_index=True)
        parts = []
        for s, candidates in zip(
            subjects.tolist(), np.split(pairs[1][order], starts[1:]), strict=True
        ):
            part = shapely.intersection(subject[s], shapely.union_all(mask[candidates]))
            if not part.is_empty:
                parts.append(part)
        if not parts:
            return total
        _, district, area = split_by_district(ctx, np.array(parts, dtype=object), table)
        return np.bincount(district, weights=area, minlength=len(total)).astype(np.float64)

    return _cache(ctx).get(key, build)  # type: ignore[return-value]


def known_adcodes(ctx: PlanFuse) -> list[str] | None:
    """The adcodes of the current district layer (None when none is loaded)."""
    try:
        return list(districts(ctx).adcodes)
    except InvalidInput:
        return None
