"""Which features of a layer may overlap another feature of the same layer.

Union areas count each m² once, but a union of a few hundred overlap pieces costs ~10 ms,
while planning layers are nearly always coverages (parcels that share edges but never
overlap). So, once per layer version, GEOS's coverage validation flags every feature whose
edges lie inside another feature or do not match a neighbour; any overlapping pair has at
least one flagged member, and its partner intersects it. The mask "flagged, or intersects a
flagged feature" therefore holds every overlapping pair, and pieces outside it can simply
be summed (`rules.PieceSet`).

Validating a 500,000-feature layer takes seconds, so the mask is built in a background
thread on first use (GEOS releases the GIL); until it is ready the check validates the
candidates of each query instead (`PieceSet._overlap_group`), which gives the same areas.
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


def self_overlap_mask(index: LayerIndex) -> np.ndarray:
    """Bool per feature of `index`: True where it may overlap another feature of it."""
    n = len(index)
    mask = np.zeros(n, dtype=bool)
    if n < 2:
        return mask
    edges = shapely.coverage_invalid_edges(index.geometries)
    flagged = ~shapely.is_empty(edges)
    if flagged.any():
        _, hits = index.tree.query(index.geometries[flagged], predicate="intersects")
        mask[flagged] = True
        mask[hits] = True
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
    masks = ctx.extras.get(_EXTRA)
    if masks is None:
        masks = ctx.extras.setdefault(_EXTRA, OverlapMasks(ctx.settings.index_cache_size))
    return masks
