"""Per-parcel relations for siting, computed once per combination of layer versions.

A siting search filters up to millions of parcels by their relation to other layers:
overlap (m²) with the urban boundary, the red line, farmland; distance (m) to the nearest
provincial road; and so on. Those relations depend only on the parcel layer's version and
the other layers' versions, not on the search, so they are cached as columns of a
**relation table** per parcel-layer version:

* a column is a float64 array over every parcel of the layer plus a "computed" mask; it is
  keyed by what it measures and the exact (layer id, version) pairs it was measured on;
* a search asks a column for the parcels still in play after the cheaper filters and
  computes only the ones not computed before (a district scope fills its district; the
  next search in the same district computes nothing);
* a new version of any layer gives new keys; columns whose versions are no longer current
  are dropped at the next search (:meth:`SitingCache.prune`). Nothing is ever stale.

Values do not depend on which search filled them: each parcel's value is computed from that
parcel and the layer alone, with the same GEOS operations in the same order, so cold and
warm searches return identical results (tested). The cache lives in one server process
(`ctx.extras["siting"]`), like the layer indexes it is built on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from planfuse.context import PlanFuse
from planfuse.geo.index import LayerIndex
from planfuse.services.layers.data import LayerRef, layer_index

EXTRA_KEY = "siting"
VersionKey = tuple[str, int]


def _ref_key(refs: Iterable[LayerRef]) -> tuple[VersionKey, ...]:
    return tuple((r.layer_id, r.version) for r in refs)


@dataclass(frozen=True)
class Source:
    """The features of one kind that a condition reads: every current layer of `kind`,
    optionally only the features whose attribute `attr` is one of `values`, for each
    `(attr, values)` in `where`."""

    kind: str
    refs: tuple[LayerRef, ...]
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def key(self) -> Hashable:
        return (self.kind, _ref_key(self.refs), self.where)

    @property
    def versions(self) -> frozenset[VersionKey]:
        return frozenset(_ref_key(self.refs))


class SourceGeometries:
    """The geometries of a :class:`Source` (working CRS) in one STRtree."""

    def __init__(self, indexes: Sequence[LayerIndex], where: Sequence[tuple[str, tuple[str, ...]]]):
        parts = []
        for index in indexes:
            mask = np.ones(len(index), dtype=bool)
            for attr, values in where:
                column = index.attributes.get(attr)
                if column is None:
                    mask[:] = False
                else:
                    # A set lookup per value: object columns hold None, which np.isin's
                    # sort-based path cannot compare with text.
                    wanted = set(values)
                    mask &= np.fromiter((v in wanted for v in column.tolist()), bool, len(column))
            parts.append(index.geometries[mask] if not mask.all() else index.geometries)
        if len(parts) == 1 and len(parts[0]) == len(indexes[0]) and len(indexes[0]):
            # One unfiltered layer: its index's tree already holds exactly these geometries.
            self.geometries = indexes[0].geometries
            self.tree = indexes[0].tree
        else:
            geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
            self.geometries = geoms
            self.tree = shapely.STRtree(geoms)

        self._nearest_tree: shapely.STRtree | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.geometries)

    @property
    def nearest_tree(self) -> shapely.STRtree:
        """A tree for nearest-distance queries. Lines are split into their segments: a long
        road's envelope covers half a district and would make every parcel's nearest search
        measure the exact distance to dozens of roads; segments have tight envelopes. The
        distance to a line is the least distance to its segments, so values are unchanged."""
        with self._lock:
            if self._nearest_tree is None:
                types = shapely.get_type_id(self.geometries) if len(self) else np.empty(0)
                if len(self) and np.isin(types, (1, 5)).all():
                    self._nearest_tree = shapely.STRtree(_segments(self.geometries))
                else:
                    self._nearest_tree = self.tree
            return self._nearest_tree


def _segments(lines: np.ndarray) -> np.ndarray:
    """Every segment of `lines` (LineStrings or MultiLineStrings) as a 2-point LineString."""
    parts = shapely.get_parts(lines)
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    same = owner[:-1] == owner[1:]
    starts = coords[:-1][same]
    ends = coords[1:][same]
    return shapely.linestrings(np.stack((starts, ends), axis=1))


def overlap_areas_m2(
    parcels: np.ndarray, parcel_areas_m2: np.ndarray, source: SourceGeometries
) -> np.ndarray:
    """Area in m² of each parcel covered by the union of the source's features.

    A parcel wholly covered by one feature counts its full area (no intersection computed);
    a parcel cut by one feature counts the piece; a parcel cut by several counts the area
    of the union of the pieces, so overlapping source features are never counted twice.
    """
    n = len(parcels)
    out = np.zeros(n, dtype=np.float64)
    if n == 0 or len(source) == 0:
        return out
    qi, fj = source.tree.query(parcels, predicate="intersects")
    if qi.size == 0:
        return out
    # Pairs sorted by (parcel, feature): each parcel's pieces form one run, in a fixed order.
    order = np.lexsort((fj, qi))
    qi, fj = qi[order], fj[order]
    # Prepared once (in place, kept by the shared geometry objects): the covers test below
    # then costs a point-in-polygon walk instead of a full relate.
    shapely.prepare(source.geometries[np.unique(fj)])
    features = source.geometries[fj]
    covered = shapely.covers(features, parcels[qi])
    full = np.zeros(n, dtype=bool)
    full[qi[covered]] = True
    cut = ~full[qi]
    qi, features = qi[cut], features[cut]
    if qi.size:
        pieces = shapely.intersection(parcels[qi], features)
        areas = shapely.area(pieces)
        out += np.bincount(qi, weights=areas, minlength=n)
        counts = np.bincount(qi, minlength=n)
        multi = np.flatnonzero(counts > 1)
        if multi.size:
            starts = np.searchsorted(qi, multi)
            ends = starts + counts[multi]
            for p, s, e in zip(multi.tolist(), starts.tolist(), ends.tolist(), strict=True):
                out[p] = shapely.area(shapely.union_all(pieces[s:e]))
    out[full] = parcel_areas_m2[full]
    return np.minimum(out, parcel_areas_m2)


def nearest_distances_m(parcels: np.ndarray, source: SourceGeometries) -> np.ndarray:
    """Distance in metres from each parcel to the nearest source feature (0 when they touch
    or overlap; inf when the source is empty)."""
    out = np.full(len(parcels), np.inf, dtype=np.float64)
    if len(parcels) == 0 or len(source) == 0:
        return out
    idx, dist = source.nearest_tree.query_nearest(parcels, return_distance=True, all_matches=False)
    out[idx[0]] = dist
    return out


def compactness(parcels: np.ndarray, areas_m2: np.ndarray) -> np.ndarray:
    """Polsby–Popper compactness 4πA/P² (1 for a disc, 0.785 for a square, → 0 for a strip)."""
    perimeter = np.asarray(shapely.length(parcels), dtype=np.float64)
    out = np.zeros(len(parcels), dtype=np.float64)
    np.divide(4.0 * np.pi * areas_m2, perimeter**2, out=out, where=perimeter > 0)
    return np.clip(out, 0.0, 1.0)


class RelationColumn:
    """One relation over every parcel of a layer version, filled on demand."""

    def __init__(self, n: int, versions: frozenset[VersionKey]):
        self.values = np.zeros(n, dtype=np.float64)
        self.done = np.zeros(n, dtype=bool)
        self.versions = versions
        self.lock = threading.Lock()
        #: parcels computed so far (for tests and the benchmark's cold/warm report)
        self.computed = 0

    def get(self, positions: np.ndarray, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Values at `positions`, computing (with `compute(missing_positions)`) those not
        computed before."""
        missing = positions[~self.done[positions]]
        if missing.size:
            values = compute(missing)
            with self.lock:
                self.values[missing] = values
                self.done[missing] = True
                self.computed += int(missing.size)
        return self.values[positions]


class ParcelTable:
    """A parcel layer version prepared for siting: categorical district and land-use code
    columns (integer codes, so filters are integer comparisons over the whole layer), and
    its relation columns (LRU, at most `max_columns`)."""

    def __init__(self, ref: LayerRef, index: LayerIndex, max_columns: int = 24):
        self.ref = ref
        self.index = index
        self.n = len(index)
        self.geometries = index.geometries
        self.areas_m2 = index.areas_m2
        self.ids = index.ids
        self.districts, self.district_codes = _categories(index.attributes.get("district"), self.n)
        self.codes, self.code_codes = _categories(index.attributes.get("code"), self.n)
        # Positions grouped by district (ascending within each): a district scope is a slice.
        self._by_district = np.argsort(self.district_codes, kind="stable")
        counts = np.bincount(self.district_codes, minlength=len(self.districts))
        self._district_starts = np.concatenate(([0], np.cumsum(counts)))
        self._columns: OrderedDict[Hashable, RelationColumn] = OrderedDict()
        self._max_columns = max(1, max_columns)
        self._lock = threading.Lock()

    def column(self, key: Hashable, versions: frozenset[VersionKey]) -> RelationColumn:
        with self._lock:
            col = self._columns.get(key)
            if col is None:
                col = RelationColumn(self.n, versions)
                self._columns[key] = col
                while len(self._columns) > self._max_columns:
                    self._columns.popitem(last=False)
            else:
                self._columns.move_to_end(key)
            return col

    def prune(self, current: frozenset[VersionKey]) -> None:
        """Drop columns measured on a layer version that is no longer current."""
        with self._lock:
            for key in [k for k, c in self._columns.items() if not c.versions <= current]:
                del self._columns[key]

    def column_count(self) -> int:
        with self._lock:
            return len(self._columns)

    def computed(self) -> int:
        """Parcel relations computed so far over all columns."""
        with self._lock:
            return sum(c.computed for c in self._columns.values())

    # --- filters ---------------------------------------------------------------------

    def in_districts(self, adcodes: Iterable[str]) -> np.ndarray:
        """Positions (ascending) of the parcels in these districts."""
        adcodes = set(adcodes)
        wanted = [i for i, d in enumerate(self.districts) if d in adcodes]
        parts = [
            self._by_district[self._district_starts[i] : self._district_starts[i + 1]]
            for i in wanted
        ]
        if not parts:
            return np.empty(0, dtype=np.intp)
        return np.sort(np.concatenate(parts)).astype(np.intp, copy=False)

    def code_prefix(self, positions: np.ndarray, prefix: str) -> np.ndarray:
        """The subset of `positions` whose land-use code starts with `prefix`."""
        wanted = [i for i, c in enumerate(self.codes) if c is not None and c.startswith(prefix)]
        if not wanted:
            return positions[:0]
        return positions[np.isin(self.code_codes[positions], wanted)]

    def code_known(self, prefix: str) -> bool:
        return any(c is not None and c.startswith(prefix) for c in self.codes)

    # --- relations -------------------------------------------------------------------

    def overlap_m2(self, source: Source, geoms: SourceGeometries, positions: np.ndarray):
        col = self.column(("overlap", source.key), source.versions)
        return col.get(
            positions,
            lambda p: overlap_areas_m2(self.geometries[p], self.areas_m2[p], geoms),
        )

    def distance_m(self, source: Source, geoms: SourceGeometries, positions: np.ndarray):
        col = self.column(("distance", source.key), source.versions)
        return col.get(positions, lambda p: nearest_distances_m(self.geometries[p], geoms))

    def compactness(self, positions: np.ndarray) -> np.ndarray:
        col = self.column(("compactness",), frozenset())
        return col.get(positions, lambda p: compactness(self.geometries[p], self.areas_m2[p]))

    def centre_distance_m(self, districts: DistrictCentres, positions: np.ndarray):
        col = self.column(("centre", districts.key), districts.versions)

        def compute(p: np.ndarray) -> np.ndarray:
            centres = districts.for_categories(self.districts)
            cx, cy = centres[0][self.district_codes[p]], centres[1][self.district_codes[p]]
            xy = shapely.get_coordinates(shapely.centroid(self.geometries[p]))
            return np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)

        return col.get(positions, compute)


def _categories(column: np.ndarray | None, n: int) -> tuple[list[str | None], np.ndarray]:
    """(categories, int32 category index per row) of a text column."""
    if column is None:
        return [None], np.zeros(n, dtype=np.int32)
    if n == 0:
        return [], np.zeros(0, dtype=np.int32)
    # Missing and empty values share the category None.
    keys = np.array(["" if v is None else str(v) for v in column.tolist()], dtype=str)
    cats, inverse = np.unique(keys, return_inverse=True)
    return [str(c) or None for c in cats.tolist()], inverse.astype(np.int32)


class DistrictCentres:
    """Centre (centroid, working CRS) and equivalent radius √(A/π) in metres of each
    district polygon of the district layer, by adcode."""

    def __init__(self, ref: LayerRef, index: LayerIndex):
        self.key = ("districts", ref.layer_id, ref.version)
        self.versions = frozenset({(ref.layer_id, ref.version)})
        adcodes = index.attributes.get("adcode")
        if adcodes is None:
            adcodes = index.attributes.get("district")
        names = index.attributes.get("name")
        self.names: dict[str, str] = {}
        self.centres: dict[str, tuple[float, float, float]] = {}
        xy = shapely.get_coordinates(shapely.centroid(index.geometries))
        for i, code in enumerate(adcodes.tolist() if adcodes is not None else []):
            if code is None:
                continue
            area = float(index.areas_m2[i])
            self.centres[str(code)] = (
                float(xy[i, 0]),
                float(xy[i, 1]),
                float(np.sqrt(area / np.pi)),
            )
            if names is not None and names[i] is not None:
                self.names[str(code)] = str(names[i])

    def for_categories(self, categories: Sequence[str | None]) -> tuple[np.ndarray, ...]:
        """(cx, cy, radius) arrays aligned with `categories` (NaN for unknown districts)."""
        out = np.full((3, len(categories)), np.nan)
        for i, code in enumerate(categories):
            if code in self.centres:
                out[:, i] = self.centres[code]
        return out[0], out[1], out[2]


class SitingCache:
    """The per-process siting state: parcel tables by layer version and the source
    geometries of every condition (both LRU)."""

    def __init__(self, max_tables: int = 2, max_sources: int = 32, max_columns: int = 24):
        self._tables: OrderedDict[VersionKey, ParcelTable] = OrderedDict()
        self._sources: OrderedDict[Hashable, tuple[frozenset[VersionKey], object]] = OrderedDict()
        self._max_tables = max_tables
        self._max_sources = max_sources
        self._max_columns = max_columns
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def _get_or_build(self, store: OrderedDict, key: Hashable, build, limit: int):
        with self._lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in store:
                    return store[key]
            value = build()
            with self._lock:
                store[key] = value
                while len(store) > limit:
                    store.popitem(last=False)
                self._building.pop(key, None)
            return value

    def table(self, ctx: PlanFuse, ref: LayerRef) -> ParcelTable:
        """The parcel table of `ref` (built from its layer index on first use)."""
        return self._get_or_build(
            self._tables,
            (ref.layer_id, ref.version),
            lambda: ParcelTable(ref, layer_index(ctx, ref), self._max_columns),
            self._max_tables,
        )

    def geometries(self, ctx: PlanFuse, source: Source) -> SourceGeometries:
        """The STRtree of a source's features."""
        entry = self._get_or_build(
            self._sources,
            ("geoms", source.key),
            lambda: (
                source.versions,
                SourceGeometries([layer_index(ctx, r) for r in source.refs], source.where),
            ),
            self._max_sources,
        )
        return entry[1]

    def districts(self, ctx: PlanFuse, ref: LayerRef) -> DistrictCentres:
        entry = self._get_or_build(
            self._sources,
            ("districts", ref.layer_id, ref.version),
            lambda: (
                frozenset({(ref.layer_id, ref.version)}),
                DistrictCentres(ref, layer_index(ctx, ref)),
            ),
            self._max_sources,
        )
        return entry[1]

    def values(self, ctx: PlanFuse, ref: LayerRef, attribute: str) -> dict[str, frozenset]:
        """Distinct values of `attribute` in a layer version, each with the distinct values
        of the kind's `level` attribute that occur with it (for validation messages)."""

        def build():
            index = layer_index(ctx, ref)
            column = index.attributes.get(attribute)
            levels = index.attributes.get("level")
            found: dict[str, set] = {}
            if column is not None:
                pairs = zip(
                    column.tolist(),
                    levels.tolist() if levels is not None else [None] * len(column),
                    strict=True,
                )
                for value, level in set(pairs):
                    if value is not None:
                        found.setdefault(str(value), set())
                        if level is not None:
                            found[str(value)].add(str(level))
            return (
                frozenset({(ref.layer_id, ref.version)}),
                {k: frozenset(v) for k, v in found.items()},
            )

        return self._get_or_build(
            self._sources,
            ("values", ref.layer_id, ref.version, attribute),
            build,
            self._max_sources,
        )[1]

    def prune(self, current: frozenset[VersionKey]) -> None:
        """Forget everything measured on layer versions that are no longer current."""
        with self._lock:
            for key in [k for k in self._tables if k not in current]:
                del self._tables[key]
            for key in [k for k, (v, _) in self._sources.items() if not v <= current]:
                del self._sources[key]
            tables = list(self._tables.values())
        for table in tables:
            table.prune(current)

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()
            self._sources.clear()


def siting_cache(ctx: PlanFuse) -> SitingCache:
    """The context's siting cache (created on first use)."""
    return ctx.shared(
        EXTRA_KEY,
        lambda: SitingCache(max_columns=int(ctx.settings.get("siting_cache_columns", 24))),
    )
