"""OGC API – Tiles (1.0) over the collections, as plain functions.

* `/ogc/tileMatrixSets`, `/ogc/tileMatrixSets/{id}`: WebMercatorQuad and CGCS2000Quad
  (`planfuse.services.maps.matrix`), as OGC Two Dimensional Tile Matrix Set 2.0 JSON.
* `/ogc/collections/{id}/tiles[/{tms}]`: the vector tilesets of a collection and one
  tileset's metadata (its tile matrix set limits, the layer, the tile URL template);
  `/ogc/collections/{id}/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol}` a Mapbox vector tile.
* `/ogc/collections/{id}/map/tiles[…]`: the same for PNG map tiles drawn with the map
  widget's styles.

Tiles are those of WMTS (`planfuse.services.maps.tiling`: cached per layer version, ETag per
tile); WebMercatorQuad vector tiles are exactly the `/tiles` ones. Empty vector tiles are
204. Metadata is public like the collection's; tiles of a restricted layer need credentials.
Refusals are problem+json like the rest of /ogc.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planfuse.context import PlanFuse
from planfuse.http.problems import ProblemError
from planfuse.ogc.features import CRS84_URI, JSON, collection_ref, readable_collection
from planfuse.services.features.layers import CollectionRef
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.maps import tiling
from planfuse.services.maps.matrix import GRIDS, TileGrid
from planfuse.services.maps.vector import tile_attribute_names

REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TILES_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)
#: The official URIs of the registered tile matrix sets (CGCS2000Quad is this server's own).
TMS_URIS = {"WebMercatorQuad": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"}
#: dataType → (path segment after the collection, tile media type).
KINDS = {"vector": ("tiles", tiling.MVT), "map": ("map/tiles", tiling.PNG)}
_TEMPLATE = "{tileMatrix}/{tileRow}/{tileCol}"


def _link(href: str, rel: str, media_type: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": media_type, "title": title, **extra}


def grid_or_404(tms_id: str) -> TileGrid:
    grid = GRIDS.get(tms_id)
    if grid is None:
        raise ProblemError(
            404,
            "not_found",
            f"tile matrix set {tms_id[:40]!r} does not exist; use " + " or ".join(GRIDS),
            title="Not found",
            errors=[{"field": "tileMatrixSetId", "message": "unknown tile matrix set"}],
        )
    return grid


# --- tile matrix sets ----------------------------------------------------------------------


def _grid_link(root: str, grid: TileGrid) -> str:
    return f"{root}/ogc/tileMatrixSets/{grid.id}"


def tile_matrix_sets(base_url: str) -> dict[str, Any]:
    root = base_url.rstrip("/")
    return {
        "links": [_link(f"{root}/ogc/tileMatrixSets", "self", JSON, "The tile matrix sets")],
        "tileMatrixSets": [
            {
                "id": grid.id,
                "title": grid.title,
                "crs": grid.crs_uri,
                **({"uri": TMS_URIS[grid.id]} if grid.id in TMS_URIS else {}),
                "links": [
                    _link(_grid_link(root, grid), "self", JSON, grid.title),
                    _link(_grid_link(root, grid), REL + "tiling-scheme", JSON, grid.title),
                ],
            }
            for grid in GRIDS.values()
        ],
    }


def tile_matrix_set(tms_id: str, base_url: str) -> dict[str, Any]:
    grid = grid_or_404(tms_id)
    document = grid.document()
    document["links"] = [_link(_grid_link(base_url.rstrip("/"), grid), "self", JSON, grid.title)]
    return document


# --- tilesets of a collection --------------------------------------------------------------


def _kind(data_type: str) -> tuple[str, str]:
    return KINDS[data_type]


def _tileset_base(root: str, ref: CollectionRef, data_type: str) -> str:
    return f"{root}/ogc/collections/{ref.id}/{_kind(data_type)[0]}"


def _tileset_links(root: str, ref: CollectionRef, grid: TileGrid, data_type: str) -> list:
    base = f"{_tileset_base(root, ref, data_type)}/{grid.id}"
    media = _kind(data_type)[1]
    what = "vector tiles (MVT)" if data_type == "vector" else "map tiles (PNG)"
    return [
        _link(base, "self", JSON, f"{ref.name}: {what} in {grid.id}"),
        _link(_grid_link(root, grid), REL + "tiling-scheme", JSON, grid.title),
        _link(f"{root}/ogc/collections/{ref.id}", "collection", JSON, ref.name),
        _link(f"{base}/{_TEMPLATE}", "item", media, f"A tile ({what})", templated=True),
    ]


def _summary(root: str, ref: CollectionRef, grid: TileGrid, data_type: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "title": f"{ref.name} ({grid.id})",
        "dataType": data_type,
        "crs": grid.crs_uri,
        "links": _tileset_links(root, ref, grid, data_type),
    }
    if grid.id in TMS_URIS:
        summary["tileMatrixSetURI"] = TMS_URIS[grid.id]
    return summary


def tilesets(ctx: PlanFuse, collection_id: str, base_url: str, data_type: str) -> dict:
    """`/collections/{id}/tiles` (vector) or `/collections/{id}/map/tiles` (map)."""
    ref = collection_ref(ctx, collection_id)
    root = base_url.rstrip("/")
    return {
        "links": [
            _link(_tileset_base(root, ref, data_type), "self", JSON, "The tilesets"),
            _link(f"{root}/ogc/collections/{ref.id}", "collection", JSON, ref.name),
        ],
        "tilesets": [_summary(root, ref, grid, data_type) for grid in GRIDS.values()],
    }


def tileset(
    ctx: PlanFuse, collection_id: str, tms_id: str, base_url: str, data_type: str
) -> dict[str, Any]:
    """One tileset's metadata: limits per zoom over the layer's extent, the layer, links."""
    ref = collection_ref(ctx, collection_id)
    grid = grid_or_404(tms_id)
    root = base_url.rstrip("/")
    document = _summary(root, ref, grid, data_type)
    kind = LAYER_KINDS.get(ref.kind)
    document["description"] = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    document["minTileMatrix"] = "0"
    document["maxTileMatrix"] = str(grid.max_zoom)
    if ref.bbox is not None:
        document["boundingBox"] = {
            "lowerLeft": [ref.bbox[0], ref.bbox[1]],
            "upperRight": [ref.bbox[2], ref.bbox[3]],
            "crs": CRS84_URI,
        }
        limits = []
        for z in range(grid.max_zoom + 1):
            row0, row1, col0, col1 = grid.limits(ref.bbox, z)
            limits.append(
                {
                    "tileMatrix": str(z),
                    "minTileRow": row0,
                    "maxTileRow": row1,
                    "minTileCol": col0,
                    "maxTileCol": col1,
                }
            )
        document["tileMatrixSetLimits"] = limits
    if data_type == "vector":
        properties = {"fid": {"type": "integer"}, "district": {"type": "string"}}
        for name in tile_attribute_names(ref.kind, ref.fields):
            properties[name] = {"type": "string"}
        document["layers"] = [
            {
                "id": ref.id,
                "title": ref.name,
                "dataType": "vector",
                "geometryType": _geometry_type(ref.geometry_type),
                "minTileMatrix": "0",
                "maxTileMatrix": str(grid.max_zoom),
                "propertiesSchema": {"type": "object", "properties": properties},
            }
        ]
    return document


def _geometry_type(stored: str) -> str:
    text = (stored or "").lower()
    if "polygon" in text:
        return "polygons"
    if "line" in text:
        return "lines"
    if "point" in text:
        return "points"
    return "geometries"


# --- tiles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TileResponse:
    """A tile: `content` (b"" for an empty vector tile → 204; None when the client's
    `If-None-Match` already holds it → 304), its media type and caching headers."""

    content: bytes | None
    media_type: str
    etag: str
    cache_control: str


def tile(
    ctx: PlanFuse,
    cache: tiling.TileCache | None,
    collection_id: str,
    tms_id: str,
    tile_matrix: str,
    tile_row: str,
    tile_col: str,
    data_type: str,
    *,
    authorization: str | None = None,
    if_none_match: str | None = None,
    max_age_s: int = 60,
) -> TileResponse:
    """A tile of a collection: checked tile matrix set and coordinates (a 404 for an unknown
    set, a 400 naming `tileMatrix`, `tileRow` or `tileCol` out of range), then access."""
    grid = grid_or_404(tms_id)
    z, row, col = grid.parse(tile_matrix, tile_row, tile_col, ("tileMatrix", "tileRow", "tileCol"))
    ref = readable_collection(ctx, collection_id, authorization)
    media = _kind(data_type)[1]
    etag = tiling.tile_etag(ref, grid, media, z, row, col)
    control = f"{'private' if ref.restricted else 'public'}, max-age={max_age_s}"
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return TileResponse(None, media, etag, control)
    content = tiling.layer_tile(ctx, cache, ref, grid, media, z, row, col)
    return TileResponse(content, media, etag, control)
