"""Mapbox vector tiles of a layer version, as plain functions over a tile's bounds.

Shared by the vector tiles at `/tiles`, OGC API – Tiles and WMTS (planfuse.ogc, planfuse.ows).
A tile grid is in EPSG:3857 metres (WebMercatorQuad, the XYZ tiles) or in EPSG:4490 degrees
(CGCS2000Quad); each has its own in-memory index of the layer version in that CRS.

How a tile is made (all steps vectorised with shapely/numpy over the tile's features):

1. **Empty tiles are cheap.** A tile outside the layer version's bbox is answered without
   loading anything; inside, the layer's in-memory STRtree (see `TileIndex`, built once per
   layer version and grid CRS) returns the candidates. No candidates: no geometry work.
2. **Tiny features are dropped below the detail zoom** (`DETAIL_ZOOM` in WebMercatorQuad;
   tiles of the same size in other grids): a polygon or line whose bounding box is smaller
   than one screen pixel (1/256 of the tile width, i.e. `PIXEL_UNITS` = 16 units of the
   4096 extent) in both directions is invisible at that zoom and left out; points are
   thinned to the lowest-fid point per screen pixel. From the detail zoom up every feature
   is kept, so such a tile holds every feature intersecting it.
3. **Clip** to the tile plus a buffer of `BUFFER_UNITS` (64 of 4096: 1/64 of the tile, so
   strokes and labels continue across tile edges).
4. **Tile coordinates and simplification.** Coordinates go to the 4096 grid (y down) and
   are rounded; lines and rings are simplified with a tolerance of one grid unit (one tile
   pixel at extent 4096, about 2.4 m at z12 and 0.15 m at z16): invisible by construction.
   Polygons that collapse to no area vanish; the few made invalid by rounding are repaired
   (`make_valid`, structure method); rings are oriented as the MVT spec requires.
5. **Encode** into mapbox-vector-tile's protobuf message, one layer named after the layer
   id, with the attributes a map needs: `fid`, `district` and the kind's attributes
   (`code`, `type`, `class`, `zone`, `name`, `level`, `adcode`). The geometry commands of
   all features are computed at once with numpy (`planfuse.services.maps.mvt`); the output
   decodes to exactly what `mapbox_vector_tile.encode` makes of the same geometries.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.geo.crs import get_transformer
from planfuse.geo.index import IndexCache, LayerIndex
from planfuse.services.features.layers import CollectionRef
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.maps import mvt
from planfuse.storage.models import Feature, Layer, LayerVersion

# Web Mercator (EPSG:3857) half-width of the world, metres.
ORIGIN_M = 20037508.342789244
MIN_ZOOM = 0
MAX_ZOOM = 22
EXTENT = 4096
BUFFER_UNITS = 64
PIXEL_UNITS = EXTENT // 256
DETAIL_ZOOM = 14
SIMPLIFY_UNITS = 1.0
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# Bump when the tile encoding changes, so cached tiles and ETags of older code go stale.
TILE_REVISION = 1
# Layers at least this large are moved out of the garbage collector's view once indexed.
GC_FREEZE_MIN_FEATURES = 100_000
#: The CRSs tile grids are in: Web Mercator metres and CGCS2000 degrees (lon, lat).
MERCATOR = "EPSG:3857"
CGCS2000 = "EPSG:4490"
GRID_CRSS = (MERCATOR, CGCS2000)

Bounds = tuple[float, float, float, float]


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds in EPSG:3857 metres (minx, miny, maxx, maxy)."""
    size = 2 * ORIGIN_M / (1 << z)
    minx = -ORIGIN_M + x * size
    maxy = ORIGIN_M - y * size
    return minx, maxy - size, minx + size, maxy


def lonlat_to_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4490 (≡ WGS 84 here) longitude/latitude degrees to EPSG:3857 metres."""
    return get_transformer("EPSG:4490", "EPSG:3857")(lon, lat)


# --- the per-layer-version index -------------------------------------------------------------


class TileIndex(LayerIndex):
    """A layer version in memory for tiling: the geo core's `LayerIndex` (STRtree, fids as
    `ids`, attribute columns) over geometries in a grid CRS (EPSG:3857 or EPSG:4490), plus
    each feature's bbox size in that CRS's units and whether it is a point (for the
    tiny-feature rule). Rows are in fid order.
    """

    def __init__(self, ids: np.ndarray, geometries: np.ndarray, attributes: dict[str, Any]):
        super().__init__(ids, geometries, attributes)
        bounds = shapely.bounds(self.geometries)
        self.size_m = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        type_ids = shapely.get_type_id(self.geometries)
        self.is_point = (type_ids == 0) | (type_ids == 4)

    @classmethod
    def from_storage(
        cls,
        fids: Sequence[int],
        wkb: Sequence[bytes],
        attributes: dict[str, Sequence[Any]],
        crs: str = MERCATOR,
    ) -> TileIndex:
        """Build from storage rows: WKB in EPSG:4490, reprojected to 3857 in one pass (kept
        as stored for `crs` EPSG:4490)."""
        geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
        columns = {k: np.asarray(v, dtype=object) for k, v in attributes.items()}
        ids = np.asarray(fids, dtype=np.int64)
        if crs == CGCS2000:
            return cls(ids, geoms, columns)

        def to_mercator(coords: np.ndarray) -> np.ndarray:
            mx, my = lonlat_to_mercator(coords[:, 0], coords[:, 1])
            return np.column_stack([mx, my])

        return cls(ids, shapely.transform(geoms, to_mercator), columns)


def tile_attribute_names(kind: str, fields: Sequence[str]) -> tuple[str, ...]:
    """The source attributes tiles of a layer carry: the kind's own plus `name`, if the
    layer version has them."""
    kind_def = LAYER_KINDS.get(kind)
    wanted = (*(kind_def.attributes if kind_def else ()), "name")
    present = set(fields)
    return tuple(dict.fromkeys(a for a in wanted if a in present))


def load_tile_index(ctx: PlanFuse, layer_id: str, version: int, crs: str = MERCATOR) -> TileIndex:
    """Read a layer version from the database into a `TileIndex`.

    Only the attributes tiles carry are read, extracted from the JSON in SQL, so a
    1,000,000-feature layer is one sequential read without parsing every properties object.
    """
    with ctx.db.session() as session:
        kind = session.scalar(select(Layer.kind).where(Layer.id == layer_id)) or ""
        fields = session.scalar(
            select(LayerVersion.fields).where(
                LayerVersion.layer_id == layer_id, LayerVersion.version == version
            )
        )
        names = tile_attribute_names(kind, fields or ())
        columns = [Feature.fid, Feature.geom, Feature.district]
        columns += [Feature.properties[name].as_string() for name in names]
        rows = session.execute(
            select(*columns)
            .where(Feature.layer_id == layer_id, Feature.version == version)
            .order_by(Feature.fid)
        ).all()
    attributes: dict[str, list[Any]] = {"district": [r[2] for r in rows]}
    for i, name in enumerate(names):
        # As text on both databases (SQLite's json_extract keeps numbers as numbers).
        attributes[name] = [None if r[3 + i] is None else str(r[3 + i]) for r in rows]
    index = TileIndex.from_storage(
        [r[0] for r in rows], [bytes(r[1]) for r in rows], attributes, crs
    )
    del rows
    if len(index) >= GC_FREEZE_MIN_FEATURES:
        # A million shapely geometries are GC-tracked objects living as long as the index;
        # every full collection would walk them all (measured: p95 of z12 tiles 340 → 180
        # ms). Freezing moves what is alive now out of the collector's sight; the geometries
        # are still freed by reference counting when the index is evicted.
        gc.collect()
        gc.freeze()
    return index


def tile_index_cache(ctx: PlanFuse, crs: str = MERCATOR) -> IndexCache:
    """The process's cache of tile indexes in grid CRS `crs`, keyed by (layer id, version)."""
    return ctx.shared(
        "tile_indexes" if crs == MERCATOR else f"tile_indexes:{crs}",
        lambda: IndexCache(
            lambda layer_id, version: load_tile_index(ctx, layer_id, version, crs),
            max_entries=max(1, ctx.settings.index_cache_size),
        ),
    )


def tile_index(ctx: PlanFuse, ref: CollectionRef, crs: str = MERCATOR) -> TileIndex:
    """The layer version's `TileIndex` in grid CRS `crs`, built on first use."""
    return tile_index_cache(ctx, crs).get(ref.id, ref.version)


# --- rendering -------------------------------------------------------------------------------


def layer_touches_tile(ref: CollectionRef, bounds: Bounds, crs: str = MERCATOR) -> bool:
    """Whether the layer version's bbox (EPSG:4490) meets the buffered tile (in `crs`)."""
    if ref.bbox is None:
        return False
    lon = np.array([ref.bbox[0], ref.bbox[2]])
    lat = np.array([ref.bbox[1], ref.bbox[3]])
    mx, my = (lon, lat) if crs == CGCS2000 else lonlat_to_mercator(lon, lat)
    minx, miny, maxx, maxy = bounds
    return not (mx[1] < minx or mx[0] > maxx or my[1] < miny or my[0] > maxy)


def buffered(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    pad = (maxx - minx) * BUFFER_UNITS / EXTENT
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def select_tile_features(index: TileIndex, z: int, x: int, y: int) -> np.ndarray:
    """Row numbers of the features Web Mercator tile z/x/y shows (`select_features`)."""
    return select_features(index, tile_bounds(z, x, y), z >= DETAIL_ZOOM)


def select_features(index: TileIndex, bounds: Bounds, detail: bool) -> np.ndarray:
    """Row numbers of the features the tile with `bounds` (in the index's CRS) shows, in fid
    order (before clipping: a candidate's bbox meets the buffered tile; the rules of the
    module docstring applied, tiny features kept when `detail`)."""
    box = buffered(bounds)
    rows = np.sort(index.tree.query(shapely.box(*box)))
    if rows.size == 0 or detail:
        return rows
    pixel_m = (bounds[2] - bounds[0]) / 256
    points = index.is_point[rows]
    keep = ~points & (index.size_m[rows] >= pixel_m)
    if points.any():
        # One point per screen pixel: the lowest fid (rows are sorted) wins.
        point_rows = rows[points]
        xy = shapely.get_coordinates(shapely.point_on_surface(index.geometries[point_rows]))
        cells = np.floor((xy - [box[0], box[1]]) / pixel_m).astype(np.int64)
        _, first = np.unique(cells, axis=0, return_index=True)
        kept_points = np.zeros(point_rows.size, dtype=bool)
        kept_points[first] = True
        keep[np.flatnonzero(points)] = kept_points
    return rows[keep]


def _to_grid(geoms: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    minx, _, maxx, maxy = bounds
    scale = EXTENT / (maxx - minx)

    def affine(coords: np.ndarray) -> np.ndarray:
        gx = (coords[:, 0] - minx) * scale
        gy = (maxy - coords[:, 1]) * scale  # y grows downwards in tiles
        return np.round(np.column_stack([gx, gy]))

    return shapely.transform(geoms, affine)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _largest_kind(geom: shapely.Geometry) -> shapely.Geometry | None:
    """A clipped GeometryCollection reduced to its polygons, else its lines, else points."""
    parts = shapely.get_parts(geom)
    for kinds in ((3, 6), (1, 5), (0, 4)):
        chosen = [p for p in parts if shapely.get_type_id(p) in kinds and not p.is_empty]
        if chosen:
            return shapely.union_all(chosen) if len(chosen) > 1 else chosen[0]
    return None


def tile_geometries(
    index: TileIndex, rows: np.ndarray, z: int, x: int, y: int
) -> tuple[np.ndarray, np.ndarray]:
    """`clip_to_grid` for Web Mercator tile z/x/y."""
    return clip_to_grid(index, rows, tile_bounds(z, x, y))


def clip_to_grid(
    index: TileIndex, rows: np.ndarray, bounds: Bounds
) -> tuple[np.ndarray, np.ndarray]:
    """Clip, grid and simplify the geometries of `rows` for the tile with `bounds`; returns
    (the rows kept, their geometries in tile grid coordinates, y down, ready to encode)."""
    box = buffered(bounds)
    clipped = index.geometries[rows]  # a copy (fancy indexing)
    # Most features of a dense tile lie wholly inside it: only those crossing its edge are clipped.
    b = shapely.bounds(clipped)
    crossing = (b[:, 0] < box[0]) | (b[:, 1] < box[1]) | (b[:, 2] > box[2]) | (b[:, 3] > box[3])
    if crossing.any():
        clipped[crossing] = shapely.clip_by_rect(clipped[crossing], *box)
    # Douglas–Peucker without topology preservation: faster, and the rare ring it makes
    # invalid is repaired below with the ones rounding breaks.
    geoms = shapely.simplify(_to_grid(clipped, bounds), SIMPLIFY_UNITS, preserve_topology=False)
    types = shapely.get_type_id(geoms)
    # Clipping along a tile edge can leave a collection of a polygon and a line.
    for i in np.flatnonzero(types == 7):
        geoms[i] = _largest_kind(geoms[i])
    types = shapely.get_type_id(geoms)  # None (dropped collections) is −1
    polygonal = (types == 3) | (types == 6)
    invalid = np.flatnonzero(polygonal & ~shapely.is_valid(geoms))
    if invalid.size:
        # Rounding to the grid can pinch or cross a ring; the structure method keeps the
        # covered area (a bow-tie becomes two triangles) and drops collapsed parts.
        repaired = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        geoms[invalid] = [_polygonal(g) for g in repaired]
        types = shapely.get_type_id(geoms)
        polygonal = (types == 3) | (types == 6)
    lineal = (types == 1) | (types == 5)
    keep = (types >= 0) & ~shapely.is_empty(geoms)
    keep &= ~polygonal | (shapely.area(geoms) > 0)
    keep &= ~lineal | (shapely.length(geoms) > 0)
    rows, geoms, polygonal = rows[keep], geoms[keep], polygonal[keep]
    if polygonal.any():
        # MVT: exterior rings have positive area in tile coordinates (clockwise on screen).
        geoms[polygonal] = shapely.orient_polygons(geoms[polygonal], exterior_cw=False)
    return rows, geoms


def render_tile(ctx: PlanFuse, ref: CollectionRef, z: int, x: int, y: int) -> bytes:
    """The MVT bytes of Web Mercator tile z/x/y of a layer's current version; b"" when it
    is empty."""
    return render_bounds(ctx, ref, tile_bounds(z, x, y), z >= DETAIL_ZOOM)


def render_bounds(
    ctx: PlanFuse, ref: CollectionRef, bounds: Bounds, detail: bool, crs: str = MERCATOR
) -> bytes:
    """The MVT bytes of the tile with `bounds` in grid CRS `crs` (EPSG:3857 or EPSG:4490,
    longitude first); b"" when it is empty. `detail`: keep features smaller than a pixel."""
    if not layer_touches_tile(ref, buffered(bounds), crs):
        return b""
    index = tile_index(ctx, ref, crs)
    rows = select_features(index, bounds, detail)
    if rows.size == 0:
        return b""
    rows, geoms = clip_to_grid(index, rows, bounds)
    if rows.size == 0:
        return b""
    return encode_tile(index, ref.id, rows, geoms)


def encode_tile(index: TileIndex, layer_name: str, rows: np.ndarray, geoms: np.ndarray) -> bytes:
    """The MVT of the features `rows` (geometries from `tile_geometries`), one layer named
    `layer_name`, attributes `fid`, `district` and the kind's (None values left out)."""
    fids = index.ids[rows].tolist()
    properties: dict[str, Any] = {"fid": fids}
    for name, values in index.attributes.items():
        properties[name] = values[rows].tolist()
    return mvt.encode_layer(layer_name, geoms, fids, properties, extent=EXTENT)
