"""In-process spatial index of one layer version, and a thread-safe cache of them.

Geometries are held in the working CRS (metres, equal-area), so overlap areas come out in
m² directly. Every query is vectorised: one STRtree query, one prepared-geometry
``contains`` over the candidates, one ``intersection`` call over the candidates that are
not wholly inside the project — no Python loop per candidate. Built for the benchmark
target of p95 ≤ 10 ms for a 1–5 km² project against 1,000,000 polygons.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# Polygon type ids in shapely (Polygon = 3, MultiPolygon = 6; GeometryCollection = 7).
_POLYGON_IDS = (3, 6)
_COLLECTION_ID = 7


@dataclass(frozen=True)
class OverlapResult:
    """Features overlapping a project geometry.

    ``positions`` index the layer's arrays; ``ids`` are the feature ids; ``geometries``
    the overlap pieces (working CRS, polygonal); ``areas_m2`` their areas in m².
    Sorted by position.
    """

    positions: np.ndarray
    ids: np.ndarray
    geometries: np.ndarray
    areas_m2: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def total_area_m2(self) -> float:
        """Sum of the overlap areas in m² (counts twice where layer features overlap)."""
        return float(self.areas_m2.sum())

    def union_area_m2(self) -> float:
        """Area in m² of the union of the overlap pieces (each m² once)."""
        if len(self.geometries) == 0:
            return 0.0
        if len(self.geometries) == 1:
            return float(self.areas_m2[0])
        return float(shapely.area(shapely.union_all(self.geometries)))


class LayerIndex:
    """STRtree over one layer version's geometries in the working CRS (metres).

    ``ids``: int64 feature ids; ``geometries``: shapely geometries (stored once, shared with
    the tree); ``attributes``: optional columns (name → array/list, same length) for
    filtering, e.g. ``index.attributes["class"] == "expressway"``. Per-feature areas (m²)
    are computed once at build time. Instances are read-only after construction, so one
    index is safely shared by many threads.
    """

    def __init__(
        self,
        ids: Sequence[int] | np.ndarray,
        geometries: Sequence[BaseGeometry] | np.ndarray,
        attributes: Mapping[str, Sequence | np.ndarray] | None = None,
    ) -> None:
        ids = np.asarray(ids, dtype=np.int64).ravel()
        geoms = np.asarray(geometries, dtype=object).ravel()
        if ids.shape != geoms.shape:
            raise ValueError(f"{len(ids)} ids for {len(geoms)} geometries")
        self.ids = ids
        self.tree = shapely.STRtree(geoms)
        # The tree keeps the array it was given; use it rather than holding a second copy.
        self.geometries = self.tree.geometries
        self.areas_m2 = np.asarray(shapely.area(self.geometries), dtype=np.float64)
        self.attributes: dict[str, np.ndarray] = {}
        for name, column in (attributes or {}).items():
            col = np.asarray(column)
            if col.shape[:1] != ids.shape:
                raise ValueError(f"attribute {name!r} has {len(col)} values for {len(ids)} ids")
            self.attributes[name] = col
        bounds = shapely.total_bounds(self.geometries) if len(geoms) else np.full(4, np.nan)
        self.bounds = tuple(float(v) for v in bounds)

    def __len__(self) -> int:
        return len(self.ids)

    def query(
        self, geom_work, predicate: str | None = "intersects", distance_m: float | None = None
    ) -> np.ndarray:
        """Positions of features for which ``predicate(geom_work, feature)`` holds (e.g.
        "intersects"; "contains" finds features inside ``geom_work``; "dwithin" with
        ``distance_m`` in metres finds features within that distance).

        For an array of query geometries returns shapely's 2×n (query, position) array.
        """
        if predicate == "dwithin":
            return self.tree.query(geom_work, predicate="dwithin", distance=distance_m)
        return self.tree.query(geom_work, predicate=predicate)

    def overlaps(self, geom_work: BaseGeometry, min_area_m2: float = 0.0) -> OverlapResult:
        """Features whose overlap with the polygon ``geom_work`` has area > ``min_area_m2``
        (m²), with the overlap pieces and their areas. Features that merely touch (area 0)
        are never reported.

        Candidates wholly inside the project are not intersected: their overlap is the
        feature itself and its area was precomputed.
        """
        empty = OverlapResult(
            np.empty(0, dtype=np.intp),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=object),
            np.empty(0, dtype=np.float64),
        )
        if geom_work is None or geom_work.is_empty or len(self) == 0:
            return empty
        if not shapely.is_prepared(geom_work):
            shapely.prepare(geom_work)
        positions = np.sort(self.tree.query(geom_work, predicate="intersects"))
        if positions.size == 0:
            return empty
        candidates = self.geometries[positions]
        inside = shapely.contains(geom_work, candidates)
        pieces = candidates.copy()
        areas = self.areas_m2[positions].copy()
        partial = ~inside
        if partial.any():
            cut = shapely.intersection(candidates[partial], geom_work)
            pieces[partial] = _polygonal(cut)
            areas[partial] = shapely.area(pieces[partial])
        keep = areas > min_area_m2
        return OverlapResult(positions[keep], self.ids[positions[keep]], pieces[keep], areas[keep])

    def nearest(
        self, geom_work: BaseGeometry, positions_mask: np.ndarray | None = None
    ) -> tuple[int, float]:
        """(position, distance in metres) of the feature nearest ``geom_work``, considering
        only features where ``positions_mask`` (bool array over the layer) is True.
        Returns (-1, inf) when there is none.
        """
        if len(self) == 0:
            return -1, float("inf")
        if positions_mask is None:
            pos, dist = self.tree.query_nearest(geom_work, return_distance=True, all_matches=False)
            return int(pos[0]), float(dist[0])
        mask = np.asarray(positions_mask, dtype=bool)
        if mask.shape != self.ids.shape:
            raise ValueError("positions_mask must have one entry per feature")
        if not mask.any():
            return -1, float("inf")
        # Expanding search: the nearest masked feature within d is the nearest overall,
        # because every other masked feature is farther than d.
        west, south, east, north = self.bounds
        gx0, gy0, gx1, gy1 = shapely.bounds(geom_work)
        span = max(east, gx1) - min(west, gx0) + max(north, gy1) - min(south, gy0)
        d = 1_000.0
        while True:
            hits = self.tree.query(geom_work, predicate="dwithin", distance=d)
            hits = hits[mask[hits]]
            if hits.size:
                dists = shapely.distance(self.geometries[hits], geom_work)
                k = int(np.argmin(dists))
                return int(hits[k]), float(dists[k])
            if d > span:
                # Cannot happen with a masked feature present; guards against NaN bounds.
                return -1, float("inf")
            d *= 4.0

    def nearest_distance_m(
        self, geom_work: BaseGeometry, positions_mask: np.ndarray | None = None
    ) -> float:
        """Distance in metres from ``geom_work`` to the nearest (masked) feature; inf if
        there is none."""
        return self.nearest(geom_work, positions_mask)[1]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of intersection results (lines/points where a
    feature merely touches the project carry no area and are noise in the pieces)."""
    types = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(types == _COLLECTION_ID)
    if mixed.size == 0:
        return geoms
    out = geoms.copy()
    for i in mixed.tolist():
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), _POLYGON_IDS)]
        if polys.size == 0:
            out[i] = shapely.Polygon()
        elif polys.size == 1:
            out[i] = polys[0]
        else:
            out[i] = shapely.union_all(polys)
    return out


Key = tuple[Hashable, Hashable]


class IndexCache:
    """Thread-safe LRU cache of :class:`LayerIndex` keyed by (layer_id, version).

    ``loader(layer_id, version)`` builds a missing index. Concurrent ``get`` calls for the
    same key build it once (a per-key lock); different keys build in parallel. A build that
    finishes after :meth:`invalidate` of its layer is returned to its callers but not
    cached, so a stale index never outlives the invalidation.
    """

    def __init__(
        self, loader: Callable[[Hashable, Hashable], LayerIndex], max_entries: int = 16
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._loader = loader
        self._max = max_entries
        self._entries: OrderedDict[Key, LayerIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Key, threading.Lock] = {}
        self._generation: dict[Hashable, int] = {}
        #: loader calls so far (for metrics and tests)
        self.builds = 0

    def get(self, layer_id: Hashable, version: Hashable) -> LayerIndex:
        """The index of (layer_id, version), built by the loader if not cached."""
        key = (layer_id, version)
        with self._lock:
            index = self._entries.get(key)
            if index is not None:
                self._entries.move_to_end(key)
                return index
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                index = self._entries.get(key)
                if index is not None:
                    self._entries.move_to_end(key)
                    return index
                generation = self._generation.get(layer_id, 0)
            try:
                index = self._loader(layer_id, version)
                with self._lock:
                    self.builds += 1
                    if self._generation.get(layer_id, 0) == generation:
                        self._entries[key] = index
                        self._entries.move_to_end(key)
                        while len(self._entries) > self._max:
                            self._entries.popitem(last=False)
            finally:
                with self._lock:
                    if self._building.get(key) is key_lock:
                        del self._building[key]
        return index

    def invalidate(self, layer_id: Hashable) -> None:
        """Drop every cached version of ``layer_id`` (and any build now in flight)."""
        with self._lock:
            self._generation[layer_id] = self._generation.get(layer_id, 0) + 1
            for key in [k for k in self._entries if k[0] == layer_id]:
                del self._entries[key]

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._entries.clear()
            for layer_id in list(self._generation):
                self._generation[layer_id] += 1

    def __contains__(self, key: Key) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
