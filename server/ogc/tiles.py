"""Mapbox vector tiles (Web Mercator XYZ) at `/tiles` and TileJSON per layer, as plain
functions over the shared tile maker (`planfuse.services.maps.vector`, which says how a tile
is made).

Every tile without features is answered **204 No Content** (OGC API – Tiles allows 204 for
empty tiles; MapLibre and OpenLayers treat it as an empty tile). Tiles are cached in
flask-caching under a key holding the layer id and its current version (a new version is a
new key: old tiles are never served again) and carry an ETag and Cache-Control for browsers.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from planfuse.context import PlanFuse
from planfuse.http.problems import ProblemError
from planfuse.ogc.features import CollectionRef, readable_collection
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.maps.vector import (  # noqa: F401 - the tile maker's names, for callers
    BUFFER_UNITS,
    DETAIL_ZOOM,
    EXTENT,
    MAX_ZOOM,
    MIN_ZOOM,
    MVT_MEDIA_TYPE,
    ORIGIN_M,
    TILE_REVISION,
    TileIndex,
    buffered,
    encode_tile,
    render_tile,
    select_tile_features,
    tile_attribute_names,
    tile_bounds,
    tile_geometries,
    tile_index,
    tile_index_cache,
)

# TileJSON announces tiles up to this zoom; clients overzoom beyond it (at z16 a grid unit
# is 0.15 m, finer than any planning survey), while the endpoint still answers up to z22.
TILEJSON_MAXZOOM = 16

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


# --- the HTTP-facing pieces (still plain functions) ------------------------------------------


@dataclass(frozen=True)
class TileResponse:
    """A tile for the HTTP layer: `content` (b"" for an empty tile → 204; None when the
    client's `If-None-Match` already holds it → 304) and its headers."""

    content: bytes | None
    etag: str
    cache_control: str
    #: "gzip" when `content` is the gzip-compressed tile, else None.
    content_encoding: str | None = None


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
    gzip_ok: bool = False,
) -> TileResponse:
    """`/tiles/{layer}/{z}/{x}/{y}.mvt`: checked coordinates, access, cache, rendering.

    The ETag names the layer version, so a client revalidating an unchanged tile gets its
    answer (content None) without the tile being looked up or rendered. With `gzip_ok` (the
    client accepts gzip) the tile comes compressed — compressed once and cached beside the
    plain one, with its own ETag.
    """
    zi, xi, yi = parse_tile(z, x, y)
    ref = readable_collection(ctx, layer_id, authorization)
    plain_etag = tile_etag(ref, zi, xi, yi)
    gz_etag = f'{plain_etag[:-1]}-gz"'
    control = cache_control(ref, max_age_s)
    if if_none_match:
        held = {t.strip() for t in if_none_match.split(",")}
        if plain_etag in held or (gzip_ok and gz_etag in held):
            return TileResponse(None, gz_etag if gz_etag in held else plain_etag, control)
    key = f"tile:{ref.id}:{ref.version}:{zi}/{xi}/{yi}:r{TILE_REVISION}"
    # b"" cached under the gzip key means "too small to compress: send it plain".
    packed = cache.get(f"{key}:gz") if gzip_ok and cache is not None else None
    if packed:
        return TileResponse(packed, gz_etag, control, content_encoding="gzip")
    content = cache.get(key) if cache is not None else None
    if content is None:
        content = render_tile(ctx, ref, zi, xi, yi)
        if cache is not None:
            cache.set(key, content)
    if not gzip_ok or not content or packed == b"":
        return TileResponse(content, plain_etag, control)
    packed = gzip_tile(content)
    if cache is not None:
        cache.set(f"{key}:gz", packed)
    if not packed:
        return TileResponse(content, plain_etag, control)
    return TileResponse(packed, gz_etag, control, content_encoding="gzip")


#: Tiles below this go out plain: gzip saves less than its header and the client's work.
GZIP_MIN_BYTES = 1024


def gzip_tile(content: bytes) -> bytes:
    """The tile gzip-compressed, or b"" when compression is not worth it (small tiles).

    Level 6: a tile is compressed once and served many times, so the better ratio is worth
    the CPU (a dense z8 tile of the demo: 259 KB → about 158 KB)."""
    if len(content) < GZIP_MIN_BYTES:
        return b""
    return gzip.compress(content, compresslevel=6, mtime=0)


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
        # Map libraries (MapLibre, Leaflet, OpenLayers) put attribution in the page as HTML:
        # escaped, a department's name shows as the text it is and can never be markup.
        "attribution": html.escape(ref.department or ""),
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
