"""A tile of a layer in a tile matrix set, PNG or MVT, cached per layer version.

WMTS and OGC API – Tiles serve their tiles from here (access is checked by the caller with
`planfuse.http.layer_access`). A tile is kept in the shared cache (flask-caching; Redis when
configured) under a key holding the layer id and its current version, so a new import is a
new key and old tiles are never served again; WebMercatorQuad vector tiles share their key
with `/tiles`, since they are the same tiles.

* **PNG** (`image/png`): 256×256, transparent, drawn with the map widget's styles exactly as
  WMS GetMap draws (`planfuse.services.maps.draw`), features up to `PAD_PX` pixels outside
  the tile included so strokes and symbols continue across tile edges. A tile away from the
  layer's extent is a transparent tile made without reading the layer.
* **MVT** (`application/vnd.mapbox-vector-tile`): the vector tiles of
  `planfuse.services.maps.vector` in the grid's CRS; an empty one is b"".
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Protocol

from PIL import Image

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.crs import resolve_crs
from planfuse.services.features.layers import CollectionRef
from planfuse.services.maps.draw import MapFrame, draw_map, encode_image
from planfuse.services.maps.matrix import TILE_SIZE, TileGrid
from planfuse.services.maps.vector import (
    MVT_MEDIA_TYPE,
    TILE_REVISION,
    buffered,
    layer_touches_tile,
    render_bounds,
)

PNG = "image/png"
MVT = MVT_MEDIA_TYPE
#: Tile formats by media type, with the file extension the REST templates use.
TILE_FORMATS = {PNG: "png", MVT: "mvt"}
# Bump when the drawing of map tiles changes, so cached tiles and ETags go stale.
MAP_TILE_REVISION = 2  # 2: district names and facility glyphs
PAD_PX = 10


class TileCache(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


def _revision(fmt: str) -> int:
    return TILE_REVISION if fmt == MVT else MAP_TILE_REVISION


def cache_key(ref: CollectionRef, grid: TileGrid, fmt: str, z: int, row: int, col: int) -> str:
    """The shared cache's key of a tile: layer id, version, grid, format and revision."""
    if fmt == MVT and grid.id == "WebMercatorQuad":
        # The /tiles key (planfuse.ogc.tiles): the same tile, cached once.
        return f"tile:{ref.id}:{ref.version}:{z}/{col}/{row}:r{TILE_REVISION}"
    ext = TILE_FORMATS[fmt]
    return f"tile:{ref.id}:{ref.version}:{grid.id}:{ext}:{z}/{row}/{col}:r{_revision(fmt)}"


def tile_etag(ref: CollectionRef, grid: TileGrid, fmt: str, z: int, row: int, col: int) -> str:
    """An ETag naming the layer version and the tile."""
    text = f"{ref.id}/{ref.version}/{grid.id}/{TILE_FORMATS[fmt]}/{z}/{row}/{col}/{_revision(fmt)}"
    return '"' + hashlib.sha1(text.encode()).hexdigest()[:20] + '"'  # noqa: S324 - an ETag


@functools.cache
def empty_png() -> bytes:
    """A transparent 256×256 PNG."""
    return encode_image(Image.new("RGBA", (TILE_SIZE, TILE_SIZE), (0, 0, 0, 0)), PNG)


def render(
    ctx: PlanFuse, ref: CollectionRef, grid: TileGrid, fmt: str, z: int, row: int, col: int
) -> bytes:
    """Tile z/row/col of the layer's current version in `grid` as `fmt` (not cached)."""
    bounds = grid.bounds(z, row, col)
    if fmt == MVT:
        return render_bounds(ctx, ref, bounds, grid.detail(z), grid.crs)
    if not layer_touches_tile(ref, buffered(bounds), grid.crs):
        return empty_png()
    frame = MapFrame(resolve_crs(grid.crs), bounds, TILE_SIZE, TILE_SIZE)
    try:
        return draw_map(ctx, [ref], frame, PNG, transparent=True, pad_px=PAD_PX)
    except InvalidInput as exc:  # more features than one map draws
        raise InvalidInput(
            f"tile {z}/{row}/{col} of {grid.id}: {exc.message}",
            field="TileMatrix",
        ) from None


def layer_tile(
    ctx: PlanFuse,
    cache: TileCache | None,
    ref: CollectionRef,
    grid: TileGrid,
    fmt: str,
    z: int,
    row: int,
    col: int,
) -> bytes:
    """Tile z/row/col (checked by `grid.parse`) of a layer whose access was checked, from
    the cache or rendered and kept there; b"" for an empty vector tile."""
    key = cache_key(ref, grid, fmt, z, row, col)
    content = cache.get(key) if cache is not None else None
    if content is None:
        content = render(ctx, ref, grid, fmt, z, row, col)
        if cache is not None:
            cache.set(key, content)
    return content
