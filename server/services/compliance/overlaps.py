"""Which features of a layer overlap another feature of the same layer.

Union areas count each m² once, but a union of a few hundred overlap pieces costs ~10 ms,
while planning layers are nearly always coverages (parcels that share edges but never
overlap). So, once per layer version, every pair of features whose interiors meet is found
(STRtree queries with the prepared `overlaps` and `contains` predicates — together exactly
the polygon pairs with a common interior point), and pairs overlapping by more than
`OVERLAP_EPS_M2` mark both members. Pieces of unmarked features overlap nothing and are
simply summed (`rules.PieceSet`).

(GEOS's coverage validation is faster but not enough: it never flags an edge matched by a
neighbour's edge, so a polygon whose edges are all shared with a neighbour — a zone inside
its ring-shaped outer zone — goes unflagged when it lies inside a third polygon, and so do
two stacked coverages in one layer.)

Finding the pairs takes tens of seconds on a 500,000-feature layer, so the mask is built
once per layer version — by the first process that needs it, in a background thread (GEOS
releases the GIL) — and stored with the layer version (`planfuse.services.layers.derived`);
every other process loads it. Until it is ready, the check unions every piece of the kind,
which gives the same areas, slower. Dissolved layers are shared the same way.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np
import shapely

from planfuse.context import PlanFuse
from planfuse.geo.index import LayerIndex
from planfuse.services.layers import derived

log = logging.getLogger("planfuse.compliance")
_EXTRA = "compliance_overlap_masks"
MASK_NAME = "overlap_mask"


#: Pairs of features overlapping by less than this (m²) count as not overlapping: files
#: written with rounded coordinates leave neighbours overlapping by µm² along shared edges,
#: and counting such a sliver twice moves no reported area (2 decimals).
OVERLAP_EPS_M2 = 1e-4


def self_overlap_mask(index: LayerIndex) -> np.ndarray:
    """Bool per feature of `index`: True where it overlaps another feature of it by more
    than `OVERLAP_EPS_M2` (both members of every such pair are True)."""
    n = len(index)
    mask = np.zeros(n, dtype=bool)
    if n < 2:
        return mask
    geoms = index.geometries
    # For polygons, interiors meet iff one overlaps, contains or is contained by the other
    # (`contains` also covers duplicates and shared-boundary containment).
    a1, b1 = index.tree.query(geoms, predicate="overlaps")
    a2, b2 = index.tree.query(geoms, predicate="contains")
    one = a1 < b1  # symmetric: each pair once
    two = a2 != b2
    a = np.concatenate([a1[one], a2[two]])
    b = np.concatenate([b1[one], b2[two]])
    for start in range(0, len(a), 200_000):  # bounded memory on big layers
        sa, sb = a[start : start + 200_000], b[start : start + 200_000]
        overlap = shapely.area(shapely.intersection(geoms[sa], geoms[sb]))
        real = overlap > OVERLAP_EPS_M2
        mask[sa[real]] = True
        mask[sb[real]] = True
    return mask


class OverlapMasks:
    """Thread-safe LRU of self-overlap masks by (layer id, version): loaded from the layer
    version's stored state, else built in the background and stored."""

    def __init__(self, ctx: PlanFuse | None = None, max_entries: int = 24) -> None:
        self._ctx = ctx
        self._max = max(1, max_entries)
        self._masks: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._pending: dict[Hashable, threading.Thread] = {}
        self._looked_up: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, index: LayerIndex, *, wait: bool = False) -> np.ndarray | None:
        """The mask of `key`, or None while it is being built (started on first call).
        `wait=True` builds it in the calling thread if needed (benchmarks, warm-up)."""
        with self._lock:
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
                return mask
            look_up = key not in self._looked_up
            self._looked_up.add(key)
        if look_up:
            stored = self._load(key, index)
            if stored is not None:
                return self._store(key, stored)
        with self._lock:
            thread = self._pending.get(key)
            if thread is None and not wait:
                thread = threading.Thread(
                    target=self._build, args=(key, index), name="overlap-mask", daemon=True
                )
                self._pending[key] = thread
                thread.start()
                return None
        if not wait:
            return None
        if thread is not None:
            thread.join()
            with self._lock:
                found = self._masks.get(key)
            if found is not None:
                return found
        return self._store(key, self._compute(key, index))

    def close(self, timeout_s: float = 60.0) -> None:
        """Wait for builds under way: they write to the database, which closes next."""
        with self._lock:
            threads = list(self._pending.values())
        _join_all(threads, timeout_s)

    def _load(self, key: Hashable, index: LayerIndex) -> np.ndarray | None:
        if self._ctx is None or not isinstance(key, tuple):
            return None
        data = derived.load(self._ctx, key[0], key[1], MASK_NAME)
        if data is None:
            return None
        mask = derived.unpack_mask(data)
        return mask if len(mask) == len(index) else None

    def _compute(self, key: Hashable, index: LayerIndex) -> np.ndarray:
        started = time.perf_counter()
        mask = self_overlap_mask(index)
        if self._ctx is not None and isinstance(key, tuple):
            derived.store(
                self._ctx, key[0], key[1], MASK_NAME, derived.pack_mask(mask),
                time.perf_counter() - started,
            )  # fmt: skip
        return mask

    def _build(self, key: Hashable, index: LayerIndex) -> None:
        started = time.perf_counter()
        try:
            mask = self._compute(key, index)
        except Exception:  # the per-query fallback stays correct; log and carry on
            log.exception("self-overlap mask of %s could not be built", key)
            with self._lock:
                self._pending.pop(key, None)
            return
        self._store(key, mask)
        log.info(
            "self-overlap mask of %s: %d of %d features flagged in %.1f s",
            key,
            int(mask.sum()),
            len(mask),
            time.perf_counter() - started,
        )

    def _store(self, key: Hashable, mask: np.ndarray) -> np.ndarray:
        with self._lock:
            self._pending.pop(key, None)
            self._masks[key] = mask
            self._masks.move_to_end(key)
            while len(self._masks) > self._max:
                self._masks.popitem(last=False)
        return mask


def _join_all(threads: list[threading.Thread], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


def overlap_masks(ctx: PlanFuse) -> OverlapMasks:
    """The instance's mask cache (as many entries as the index cache)."""
    return ctx.shared(_EXTRA, lambda: OverlapMasks(ctx, ctx.settings.index_cache_size))


# --- dissolved layers ------------------------------------------------------------------------

#: Tiles a dissolved layer is cut into, in metres: small enough that a project's partly
#: covered tiles are cheap to intersect, large enough that most tiles hold several features.
DISSOLVE_TILE_M = 500.0
#: A union of this many overlapping pieces per query is worth a dissolved layer (dense road
#: red lines: hundreds of crossing strips in a town project cost tens of ms to union; a
#: union of 24 costs about 1 ms).
DISSOLVE_MIN_PIECES = 24
_DISSOLVE_EXTRA = "compliance_dissolved"
# One background build at a time: they are CPU-heavy, and requests must keep running.
_build_lock = threading.Lock()


def dissolve(index: LayerIndex, keep: np.ndarray | None = None) -> LayerIndex:
    """The union of the (kept) features of `index`, cut into square tiles of
    `DISSOLVE_TILE_M`: polygons that never overlap each other, so the area of a project's
    overlap with the union is the sum of the tile pieces' overlaps."""
    geoms = index.geometries if keep is None else index.geometries[keep]
    geoms = geoms[~shapely.is_empty(geoms)]
    if len(geoms) == 0:
        return LayerIndex(np.empty(0, dtype=np.int64), np.empty(0, dtype=object))
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    nx = max(1, int(np.ceil((maxx - minx) / DISSOLVE_TILE_M)))
    ny = max(1, int(np.ceil((maxy - miny) / DISSOLVE_TILE_M)))
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
    x0 = minx + gx.ravel() * DISSOLVE_TILE_M
    y0 = miny + gy.ravel() * DISSOLVE_TILE_M
    tiles = shapely.box(x0, y0, x0 + DISSOLVE_TILE_M, y0 + DISSOLVE_TILE_M)
    tile_ids, geom_ids = shapely.STRtree(geoms).query(tiles, predicate="intersects")
    order = np.argsort(tile_ids, kind="stable")
    tile_ids, geom_ids = tile_ids[order], geom_ids[order]
    starts = np.flatnonzero(np.r_[True, tile_ids[1:] != tile_ids[:-1]])
    ends = np.r_[starts[1:], len(tile_ids)]
    pieces = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        tile = tiles[tile_ids[s]]
        clipped = shapely.intersection(geoms[geom_ids[s:e]], tile)
        merged = shapely.union_all(clipped)
        parts = shapely.get_parts(merged)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        if len(parts):
            pieces.append(parts[0] if len(parts) == 1 else shapely.multipolygons(parts))
    return LayerIndex(np.arange(len(pieces), dtype=np.int64), np.array(pieces, dtype=object))


def dissolve_name(key: Hashable) -> str:
    """The stored name of a dissolve key (layer, version, attribute, values)."""
    _, _, attribute, values = key
    digest = hashlib.sha1(
        "\x1f".join(sorted(str(v) for v in values or ())).encode(), usedforsecurity=False
    ).hexdigest()[:16]
    return f"dissolve:{attribute or '*'}:{digest}"


class DissolvedLayers:
    """Dissolved layers by (layer id, version, attribute, values): the union of the layer's
    features whose `attribute` is one of `values` (all features when `attribute` is None).
    Loaded from the layer version's stored state, else built in the background and
    stored."""

    def __init__(self, ctx: PlanFuse | None = None, max_entries: int = 48) -> None:
        self._ctx = ctx
        self._max = max(1, max_entries)
        self._ready: OrderedDict[Hashable, LayerIndex] = OrderedDict()
        self._pending: set[Hashable] = set()
        self._threads: set[threading.Thread] = set()
        self._looked_up: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, index: LayerIndex, *, request: bool) -> LayerIndex | None:
        """The dissolved layer of `key` if built; with `request`, start building it."""
        with self._lock:
            found = self._ready.get(key)
            if found is not None:
                self._ready.move_to_end(key)
                return found
            look_up = key not in self._looked_up
            self._looked_up.add(key)
        if look_up:
            stored = self._load(key)
            if stored is not None:
                return self._store(key, stored)
        with self._lock:
            if not request or key in self._pending:
                return None
            self._pending.add(key)
            thread = threading.Thread(
                target=self._build, args=(key, index), name="dissolve", daemon=True
            )
            self._threads.add(thread)
        thread.start()
        return None

    def close(self, timeout_s: float = 60.0) -> None:
        """Wait for builds under way: they write to the database, which closes next."""
        with self._lock:
            threads = list(self._threads)
        _join_all(threads, timeout_s)

    def pending(self) -> int:
        """How many builds are queued or running."""
        with self._lock:
            return len(self._pending)

    def build_now(self, key: Hashable, index: LayerIndex) -> LayerIndex:
        """Build (or return) the dissolved layer of `key` in the calling thread."""
        with self._lock:
            found = self._ready.get(key)
        if found is not None:
            return found
        return self._store(key, self._load(key) or self._compute(key, index))

    def preload(self, layer_id: str, version: int) -> int:
        """Load every stored dissolved layer of a layer version; returns how many."""
        if self._ctx is None:
            return 0
        loaded = 0
        for name in derived.names(self._ctx, layer_id, version, "dissolve:"):
            data = derived.load(self._ctx, layer_id, version, name)
            if data is None:
                continue
            geoms, header = derived.unpack_geometries(data)
            values = header.get("values")
            key = (
                layer_id,
                version,
                header.get("attribute"),
                None if values is None else frozenset(values),
            )
            with self._lock:
                self._looked_up.add(key)
            self._store(key, LayerIndex(np.arange(len(geoms), dtype=np.int64), geoms))
            loaded += 1
        return loaded

    def _load(self, key: Hashable) -> LayerIndex | None:
        if self._ctx is None:
            return None
        layer_id, version = key[0], key[1]
        data = derived.load(self._ctx, layer_id, version, dissolve_name(key))
        if data is None:
            return None
        geoms, _ = derived.unpack_geometries(data)
        return LayerIndex(np.arange(len(geoms), dtype=np.int64), geoms)

    def _compute(self, key: Hashable, index: LayerIndex) -> LayerIndex:
        started = time.perf_counter()
        layer = dissolve(index, _keep(index, key))
        if self._ctx is not None:
            _, _, attribute, values = key
            header = {
                "attribute": attribute,
                "values": None if values is None else sorted(str(v) for v in values),
            }
            derived.store(
                self._ctx, key[0], key[1], dissolve_name(key),
                derived.pack_geometries(layer.geometries, header),
                time.perf_counter() - started,
            )  # fmt: skip
        return layer

    def _build(self, key: Hashable, index: LayerIndex) -> None:
        try:
            self._build_and_store(key, index)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _build_and_store(self, key: Hashable, index: LayerIndex) -> None:
        started = time.perf_counter()
        try:
            with _build_lock:
                layer = self._compute(key, index)
        except Exception:  # the per-query union stays correct; log and carry on
            log.exception("dissolved layer %s could not be built", key)
            with self._lock:
                self._pending.discard(key)
            return
        self._store(key, layer)
        log.info(
            "dissolved layer %s: %d tiles in %.1f s", key, len(layer), time.perf_counter() - started
        )

    def _store(self, key: Hashable, layer: LayerIndex) -> LayerIndex:
        with self._lock:
            self._pending.discard(key)
            self._ready[key] = layer
            self._ready.move_to_end(key)
            while len(self._ready) > self._max:
                self._ready.popitem(last=False)
        return layer


def _keep(index: LayerIndex, key: Hashable) -> np.ndarray | None:
    """Which features of `index` a dissolve key (layer, version, attribute, values) keeps."""
    _, _, attribute, values = key
    if attribute is None:
        return None
    column = index.attributes.get(attribute)
    if column is None:
        return np.zeros(len(index), dtype=bool)
    return np.isin(column.astype(str), sorted(values))


def dissolved_layers(ctx: PlanFuse) -> DissolvedLayers:
    """The instance's dissolved-layer cache."""
    return ctx.shared(
        _DISSOLVE_EXTRA, lambda: DissolvedLayers(ctx, 2 * ctx.settings.index_cache_size)
    )


def preload_compliance_state(ctx: PlanFuse, kinds: Iterable[str] | None = None) -> dict:
    """Load what a compliance check needs for every current control layer: its index, its
    self-overlap mask (built and stored if no process did so yet) and its stored dissolved
    layers. Run before a server forks its workers, so they share it. Returns counts and
    seconds for the log."""
    from planfuse.services.compliance.rulesets import RULE_ORDER
    from planfuse.services.layers.data import current_layers, layer_index

    started = time.perf_counter()
    refs = current_layers(ctx, list(kinds or RULE_ORDER))
    features = dissolves = 0
    for ref in refs:
        index = layer_index(ctx, ref)
        features += len(index)
        overlap_masks(ctx).get((ref.layer_id, ref.version), index, wait=True)
        dissolves += dissolved_layers(ctx).preload(ref.layer_id, ref.version)
    return {
        "layers": len(refs),
        "features": features,
        "dissolved": dissolves,
        "seconds": round(time.perf_counter() - started, 1),
    }
