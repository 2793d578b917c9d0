"""Mapbox vector tiles (Web Mercator XYZ) and TileJSON per layer, as plain functions.

How a tile is made (all steps vectorised with shapely/numpy over the tile's features):

1. **Empty tiles are cheap.** A tile outside the layer version's bbox is answered without
   loading anything; inside, the layer's in-memory STRtree (EPSG:3857 geometries, built once
   per layer version, see `TileIndex`) returns the candidates. No candidates: no geometry
   work. Every tile without features is answered **204 No Content** (OGC API – Tiles allows
   204 for empty tiles; MapLibre and OpenLayers treat it as an empty tile).
2. **Tiny features are dropped below zoom 14** (`DETAIL_ZOOM`): a polygon or line whose
   bounding box is smaller than one screen pixel (1/256 of the tile width, i.e.
   `PIXEL_UNITS` = 16 units of the 4096 extent) in both directions is invisible at that
   zoom and left out; points are thinned to the lowest-fid point per screen pixel. From
   zoom 14 up every feature is kept, so a tile at z ≥ 14 holds every feature intersecting
   it.
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
   all features are computed at once with numpy (`planfuse.ogc.mvt`); the output decodes
   to exactly what `mapbox_vector_tile.encode` makes of the same geometries.

Tiles are cached in flask-caching under a key holding the layer id and its current version
(a new version is a new key: old tiles are never served again) and carry an ETag and
Cache-Control for browsers.
"""

from __future__ import annotations

import gc
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError
from planfuse.geo.crs import get_transformer
from planfuse.geo.index import IndexCache, LayerIndex
from planfuse.ogc import mvt
from planfuse.ogc.features import CollectionRef, readable_collection
from planfuse.services.kinds import LAYER_KINDS
from planfuse.storage.models import Feature, Layer, LayerVersion

# Web Mercator (EPSG:3857) half-width of the world, metres.
ORIGIN_M = 20037508.342789244
MIN_ZOOM = 0
MAX_ZOOM = 22
# TileJSON announces tiles up to this zoom; clients overzoom beyond it (at z16 a grid unit
# is 0.15 m, finer than any planning survey), while the endpoint still answers up to z22.
TILEJSON_MAXZOOM = 16
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

_TILE_NUMBER = re.compile(r"^[0-9]{1,8}$")


class TileCache(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


# --- tile coordinates ------------------------------------------------------------------------


def parse_tile(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Checked tile coordinates: z in 0–22, x and y in 0…2^z − 1; else a 400 problem."""
    for name, value in (("z", z), ("x", x), ("y", y)):
        if not _TILE_NUMBER.match(value):
            raise _bad_tile(f"tile {name} {value[:16]!r} is not a whole number")
    zi, xi, yi = int(z), int(x), int(y)
    if not MIN_ZOOM <= zi <= MAX_ZOOM:
        raise _bad_tile(f"zoom {zi} is out of range; tiles exist for zoom {MIN_ZOOM}–{MAX_ZOOM}")
    n = 1 << zi
    if xi >= n or yi >= n:
        raise _bad_tile(
            f"tile {zi}/{xi}/{yi} does not exist: at zoom {zi}, x and y run from 0 to {n - 1}"
        )
    return zi, xi, yi


def _bad_tile(detail: str) -> ProblemError:
    return ProblemError(
        400,
        "invalid_tile",
        detail,
        title="Invalid tile coordinates",
        errors=[{"field": "z/x/y", "message": detail}],
    )


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
    `ids`, attribute columns) over geometries in EPSG:3857, plus each feature's bbox size in
    metres and whether it is a point (for the tiny-feature rule). Rows are in fid order.
    """

    def __init__(self, ids: np.ndarray, geometries: np.ndarray, attributes: dict[str, Any]):
        super().__init__(ids, geometries, attributes)
        bounds = shapely.bounds(self.geometries)
        self.size_m = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        type_ids = shapely.get_type_id(self.geometries)
        self.is_point = (type_ids == 0) | (type_ids == 4)

    @classmethod
    def from_storage(
        cls, fids: Sequence[int], wkb: Sequence[bytes], attributes: dict[str, Sequence[Any]]
    ) -> TileIndex:
        """Build from storage rows: WKB in EPSG:4490, reprojected to 3857 in one pass."""
        geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))

        def to_mercator(coords: np.ndarray) -> np.ndarray:
            mx, my = lonlat_to_mercator(coords[:, 0], coords[:, 1])
            return np.column_stack([mx, my])

        columns = {k: np.asarray(v, dtype=object) for k, v in attributes.items()}
        return cls(np.asarray(fids, dtype=np.int64), shapely.transform(geoms, to_mercator), columns)


def tile_attribute_names(kind: str, fields: Sequence[str]) -> tuple[str, ...]:
    """The source attributes tiles of a layer carry: the kind's own plus `name`, if the
    layer version has them."""
    kind_def = LAYER_KINDS.get(kind)
    wanted = (*(kind_def.attributes if kind_def else ()), "name")
    present = set(fields)
    return tuple(dict.fromkeys(a for a in wanted if a in present))


def load_tile_index(ctx: PlanFuse, layer_id: str, version: int) -> TileIndex:
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
    index = TileIndex.from_storage([r[0] for r in rows], [bytes(r[1]) for r in rows], attributes)
    del rows
    if len(index) >= GC_FREEZE_MIN_FEATURES:
        # A million shapely geometries are GC-tracked objects living as long as the index;
        # every full collection would walk them all (measured: p95 of z12 tiles 340 → 180
        # ms). Freezing moves what is alive now out of the collector's sight; the geometries
        # are still freed by reference counting when the index is evicted.
        gc.collect()
        gc.freeze()
    return index


def tile_index_cache(ctx: PlanFuse) -> IndexCache:
    """The process's cache of tile indexes, keyed by (layer id, version)."""
    return ctx.shared(
        "tile_indexes",
        lambda: IndexCache(
            lambda layer_id, version: load_tile_index(ctx, layer_id, version),
            max_entries=max(1, ctx.settings.index_cache_size),
        ),
    )


def tile_index(ctx: PlanFuse, ref: CollectionRef) -> TileIndex:
    """The layer version's `TileIndex`, built on first use."""
    return tile_index_cache(ctx).get(ref.id, ref.version)


# --- rendering -------------------------------------------------------------------------------


def layer_touches_tile(ref: CollectionRef, bounds: tuple[float, float, float, float]) -> bool:
    """Whether the layer version's bbox (EPSG:4490) meets the buffered tile (3857)."""
    if ref.bbox is None:
        return False
    mx, my = lonlat_to_mercator(
        np.array([ref.bbox[0], ref.bbox[2]]), np.array([ref.bbox[1], ref.bbox[3]])
    )
    minx, miny, maxx, maxy = bounds
    return not (mx[1] < minx or mx[0] > maxx or my[1] < miny or my[0] > maxy)


def buffered(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    pad = (maxx - minx) * BUFFER_UNITS / EXTENT
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def select_tile_features(index: TileIndex, z: int, x: int, y: int) -> np.ndarray:
    """Row numbers of the features a tile shows, in fid order (before clipping: a
    candidate's bbox meets the buffered tile; the rules of the module docstring applied)."""
    bounds = tile_bounds(z, x, y)
    box = buffered(bounds)
    rows = np.sort(index.tree.query(shapely.box(*box)))
    if rows.size == 0 or z >= DETAIL_ZOOM:
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
    """Clip, grid and simplify the geometries of `rows`; returns (the rows kept, their
    geometries in tile grid coordinates, y down, ready to encode)."""
    bounds = tile_bounds(z, x, y)
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
    """The MVT bytes of tile z/x/y of a layer's current version; b"" when it is empty."""
    if not layer_touches_tile(ref, buffered(tile_bounds(z, x, y))):
        return b""
    index = tile_index(ctx, ref)
    rows = select_tile_features(index, z, x, y)
    if rows.size == 0:
        return b""
    rows, geoms = tile_geometries(index, rows, z, x, y)
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


# --- the HTTP-facing pieces (still plain functions) ------------------------------------------


@dataclass(frozen=True)
class TileResponse:
    """A tile for the HTTP layer: `content` (b"" for an empty tile → 204; None when the
    client's `If-None-Match` already holds it → 304) and its headers."""

    content: bytes | None
    etag: str
    cache_control: str


def tile_etag(ref: CollectionRef, z: int, x: int, y: int) -> str:
    digest = hashlib.sha1(  # noqa: S324 - an ETag, not a security digest
        f"{ref.id}/{ref.version}/{z}/{x}/{y}/{TILE_REVISION}".encode()
    ).hexdigest()[:20]
    return f'"{digest}"'


def cache_control(ref: CollectionRef, max_age_s: int) -> str:
    scope = "private" if ref.restricted else "public"
    return f"{scope}, max-age={max_age_s}"


def get_tile(
    ctx: PlanFuse,
    cache: TileCache | None,
    layer_id: str,
    z: str,
    x: str,
    y: str,
    *,
    authorization: str | None = None,
    if_none_match: str | None = None,
    max_age_s: int = 60,
) -> TileResponse:
    """`/tiles/{layer}/{z}/{x}/{y}.mvt`: checked coordinates, access, cache, rendering.

    The ETag names the layer version, so a client revalidating an unchanged tile gets its
    answer (content None) without the tile being looked up or rendered.
    """
    zi, xi, yi = parse_tile(z, x, y)
    ref = readable_collection(ctx, layer_id, authorization)
    etag = tile_etag(ref, zi, xi, yi)
    control = cache_control(ref, max_age_s)
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return TileResponse(None, etag, control)
    key = f"tile:{ref.id}:{ref.version}:{zi}/{xi}/{yi}:r{TILE_REVISION}"
    content = cache.get(key) if cache is not None else None
    if content is None:
        content = render_tile(ctx, ref, zi, xi, yi)
        if cache is not None:
            cache.set(key, content)
    return TileResponse(content, etag, control)


@dataclass(frozen=True)
class TileJSONResponse:
    document: dict[str, Any]
    cache_control: str


def tilejson(
    ctx: PlanFuse,
    layer_id: str,
    *,
    base_url: str,
    authorization: str | None = None,
    max_age_s: int = 60,
) -> TileJSONResponse:
    """`/tiles/{layer}.json`: the TileJSON 3.0.0 document of a layer's vector tiles."""
    ref = readable_collection(ctx, layer_id, authorization)
    return TileJSONResponse(tilejson_document(ref, base_url), cache_control(ref, max_age_s))


def tilejson_document(ref: CollectionRef, base_url: str) -> dict[str, Any]:
    """TileJSON 3.0.0 for a layer version: tile URL template, zooms, bounds, fields."""
    root = base_url.rstrip("/")
    kind = LAYER_KINDS.get(ref.kind)
    fields = {"fid": "Number", "district": "String"}
    for name in tile_attribute_names(ref.kind, ref.fields):
        fields[name] = "String"
    bounds = list(ref.bbox) if ref.bbox else [-180.0, -85.0511, 180.0, 85.0511]
    description = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    return {
        "tilejson": "3.0.0",
        "name": ref.name,
        "description": description,
        "version": f"{ref.version}.0.0",
        "attribution": ref.department,
        "scheme": "xyz",
        "tiles": [f"{root}/tiles/{ref.id}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": MIN_ZOOM,
        "maxzoom": TILEJSON_MAXZOOM,
        "bounds": bounds,
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            center_zoom(bounds),
        ],
        "vector_layers": [
            {
                "id": ref.id,
                "description": description,
                "minzoom": MIN_ZOOM,
                "maxzoom": TILEJSON_MAXZOOM,
                "fields": fields,
            }
        ],
    }


def center_zoom(bounds: Sequence[float]) -> int:
    """A zoom at which the bounds fill a 512-pixel map (two tiles) or so."""
    span = max(bounds[2] - bounds[0], (bounds[3] - bounds[1]) * 1.2, 1e-6)
    return int(max(MIN_ZOOM, min(TILEJSON_MAXZOOM, math.floor(math.log2(720 / span)))))
