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

Finding the pairs takes tens of seconds on a 500,000-feature layer, so the mask is built in
a background thread on first use (GEOS releases the GIL); until it is ready, the check
unions every piece of the kind, which gives the same areas, slower.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import shapely

from planfuse.context import PlanFuse
from planfuse.geo.index import LayerIndex

log = logging.getLogger("planfuse.compliance")
_EXTRA = "compliance_overlap_masks"


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
    """Thread-safe LRU of self-overlap masks by (layer id, version), built in the
    background."""

    def __init__(self, max_entries: int = 24) -> None:
        self._max = max(1, max_entries)
        self._masks: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._pending: dict[Hashable, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, index: LayerIndex, *, wait: bool = False) -> np.ndarray | None:
        """The mask of `key`, or None while it is being built (started on first call).
        `wait=True` builds it in the calling thread if needed (benchmarks, warm-up)."""
        with self._lock:
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
                return mask
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
        return self._store(key, self_overlap_mask(index))

    def _build(self, key: Hashable, index: LayerIndex) -> None:
        started = time.perf_counter()
        try:
            mask = self_overlap_mask(index)
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


def overlap_masks(ctx: PlanFuse) -> OverlapMasks:
    """The instance's mask cache (as many entries as the index cache)."""
    return ctx.shared(_EXTRA, lambda: OverlapMasks(ctx.settings.index_cache_size))


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


class DissolvedLayers:
    """Background-built dissolved layers by (layer id, version, attribute, values): the
    union of the layer's features whose `attribute` is one of `values` (all features when
    `attribute` is None)."""

    def __init__(self, max_entries: int = 48) -> None:
        self._max = max(1, max_entries)
        self._ready: OrderedDict[Hashable, LayerIndex] = OrderedDict()
        self._pending: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(self, key: Hashable, index: LayerIndex, *, request: bool) -> LayerIndex | None:
        """The dissolved layer of `key` if built; with `request`, start building it."""
        with self._lock:
            found = self._ready.get(key)
            if found is not None:
                self._ready.move_to_end(key)
                return found
            if not request or key in self._pending:
                return None
            self._pending.add(key)
        threading.Thread(
            target=self._build, args=(key, index), name="dissolve", daemon=True
        ).start()
        return None

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
        return self._store(key, dissolve(index, _keep(index, key)))

    def _build(self, key: Hashable, index: LayerIndex) -> None:
        started = time.perf_counter()
        try:
            with _build_lock:
                layer = dissolve(index, _keep(index, key))
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
    return ctx.shared(_DISSOLVE_EXTRA, lambda: DissolvedLayers(2 * ctx.settings.index_cache_size))
