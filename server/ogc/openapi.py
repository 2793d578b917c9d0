"""The API definition of the data services (OpenAPI 3.0, linked as `service-desc` from the
OGC API landing page): /ogc (Features and Tiles) and /tiles (vector tiles, TileJSON)."""

from __future__ import annotations

from typing import Any

from planfuse.ogc.crs import CRS84_URI, collection_crs_uris
from planfuse.ogc.tiles import MAX_ZOOM
from planfuse.services.maps.matrix import GRIDS


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(description: str, media_type: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}


def _path(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def openapi_document(base_url: str, limit_default: int, limit_max: int) -> dict[str, Any]:
    """The OpenAPI 3.0 document of /ogc and /tiles, with server URL `base_url`."""
    crs_list = collection_crs_uris()
    collection_id = _path(
        "collectionId", "A layer id (GET /ogc/collections lists them).", {"type": "string"}
    )
    features = {
        "200": {
            "description": "Features as GeoJSON; `Content-Crs` names their CRS.",
            "headers": {"Content-Crs": {"schema": {"type": "string"}}},
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        "400": _problem("A parameter is invalid; the problem names it."),
        "401": _problem("The layer is restricted: send a token."),
        "403": _problem("The credentials may not read this layer."),
        "404": _problem("No such collection or feature."),
    }
    crs_param = {
        "name": "crs",
        "in": "query",
        "description": "Output CRS (axis order as the CRS defines: EPSG:4490/4326 and the "
        "Gauss–Krüger zones list latitude/northing first).",
        "schema": {"type": "string", "enum": crs_list, "default": CRS84_URI},
    }
    f_param = {
        "name": "f",
        "in": "query",
        "description": "`geojson` (application/geo+json, default) or `json` (application/json).",
        "schema": {"type": "string", "enum": ["geojson", "json"]},
    }
    zoom_param = {
        "name": "zoom-level",
        "in": "query",
        "description": "Geometries simplified for a map at this WebMercatorQuad zoom level "
        "(OGC API – Features Part 7, draft): every outline stays within half a pixel of the "
        "surveyed one at that zoom. Leave it out for full detail (analysis, export).",
        "schema": {"type": "integer", "minimum": 0, "maximum": 24},
    }
    items_params = [
        collection_id,
        {
            "name": "bbox",
            "in": "query",
            "description": "minA,minB,maxA,maxB in bbox-crs and its axis order (CRS84: lon,lat). "
            "Only features whose geometry intersects the box are returned.",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        {
            "name": "bbox-crs",
            "in": "query",
            "description": "CRS of bbox (needs bbox).",
            "schema": {"type": "string", "enum": crs_list, "default": CRS84_URI},
        },
        crs_param,
        {
            "name": "limit",
            "in": "query",
            "description": "Features per page; a larger value is capped at the maximum.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": limit_max,
                "default": limit_default,
            },
        },
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        f_param,
        zoom_param,
        {
            "name": "filter",
            "in": "query",
            "description": "A CQL2 filter (OGC API – Features Part 3) in filter-lang: "
            "comparisons, LIKE, IN, BETWEEN, IS NULL, CASEI, AND/OR/NOT and the S_* spatial "
            "functions on `geometry`; GET …/queryables lists the names it may use.",
            "schema": {"type": "string"},
        },
        {
            "name": "filter-lang",
            "in": "query",
            "schema": {
                "type": "string",
                "enum": ["cql2-text", "cql2-json"],
                "default": "cql2-text",
            },
        },
        {
            "name": "filter-crs",
            "in": "query",
            "description": "CRS of the filter's geometries (its axis order).",
            "schema": {"type": "string", "enum": crs_list, "default": CRS84_URI},
        },
        {
            "name": "sortby",
            "in": "query",
            "description": "Sort keys: +name or -name (descending), comma-separated; "
            "properties, fid or district.",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": {"type": "string"}},
        },
        {
            "name": "properties",
            "in": "query",
            "description": "Property filters: any property of the layer (or `district`) as "
            "`name=value`; repeat a name to allow several values. Unknown names are refused.",
            "style": "form",
            "explode": True,
            "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    ]
    tile_params = [
        _path("layerId", "A layer id.", {"type": "string"}),
        _path("z", "Zoom.", {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM}),
        _path("x", "Column, 0…2^z − 1.", {"type": "integer", "minimum": 0}),
        _path("y", "Row, 0…2^z − 1 (XYZ, north at 0).", {"type": "integer", "minimum": 0}),
    ]
    paths = _tiles_paths(collection_id)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "PlanFuse data services",
            "version": "1.0.0",
            "description": "OGC API – Features (Core, GeoJSON, CRS by reference), OGC API – "
            "Tiles (vector and map tiles in WebMercatorQuad and CGCS2000Quad) and Mapbox "
            "vector tiles over the unified planning database.",
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": {
            "/ogc": {"get": {"operationId": "landingPage", "responses": {"200": _json("Links.")}}},
            "/ogc/conformance": {
                "get": {"operationId": "conformance", "responses": {"200": _json("Classes.")}}
            },
            "/ogc/api": {
                "get": {
                    "operationId": "apiDefinition",
                    "responses": {
                        "200": _json(
                            "This document.", "application/vnd.oai.openapi+json;version=3.0"
                        )
                    },
                }
            },
            "/ogc/collections": {
                "get": {"operationId": "collections", "responses": {"200": _json("The layers.")}}
            },
            "/ogc/collections/{collectionId}": {
                "get": {
                    "operationId": "collection",
                    "parameters": [collection_id],
                    "responses": {
                        "200": _json("The layer."),
                        "404": _problem("No such collection."),
                    },
                }
            },
            "/ogc/collections/{collectionId}/queryables": {
                "get": {
                    "operationId": "queryables",
                    "parameters": [collection_id],
                    "responses": {
                        "200": _json("The queryables (JSON Schema).", "application/schema+json"),
                        "404": _problem("No such collection."),
                    },
                }
            },
            "/ogc/collections/{collectionId}/items": {
                "get": {"operationId": "items", "parameters": items_params, "responses": features}
            },
            "/ogc/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "item",
                    "parameters": [
                        collection_id,
                        _path(
                            "featureId", "The feature id (1…N).", {"type": "integer", "minimum": 1}
                        ),
                        crs_param,
                        f_param,
                        zoom_param,
                    ],
                    "responses": features,
                }
            },
            "/tiles/{layerId}/{z}/{x}/{y}.mvt": {
                "get": {
                    "operationId": "vectorTile",
                    "parameters": tile_params,
                    "responses": {
                        "200": {
                            "description": "The tile (Web Mercator, extent 4096).",
                            "content": {
                                "application/vnd.mapbox-vector-tile": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                        "204": {"description": "The tile holds no features."},
                        "304": {"description": "Not modified (If-None-Match)."},
                        "400": _problem("Tile coordinates out of range."),
                        "401": _problem("The layer is restricted: send a token."),
                        "404": _problem("No such layer."),
                    },
                }
            },
            "/tiles/{layerId}.json": {
                "get": {
                    "operationId": "tileJSON",
                    "parameters": [tile_params[0]],
                    "responses": {
                        "200": _json("TileJSON 3.0.0."),
                        "404": _problem("No such layer."),
                    },
                }
            },
            **paths,
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }


def _tiles_paths(collection_id: dict[str, Any]) -> dict[str, Any]:
    """The OGC API – Tiles paths: tile matrix sets, and per collection the vector and map
    tilesets, one tileset's metadata and a tile."""
    tms_id = _path(
        "tileMatrixSetId",
        "A tile matrix set (GET /ogc/tileMatrixSets lists them).",
        {"type": "string", "enum": list(GRIDS)},
    )
    tile_params = [
        collection_id,
        tms_id,
        _path("tileMatrix", "The zoom level (tile matrix id).", {"type": "string"}),
        _path("tileRow", "The row, 0 at the top.", {"type": "integer", "minimum": 0}),
        _path("tileCol", "The column, 0 at the left.", {"type": "integer", "minimum": 0}),
    ]
    paths: dict[str, Any] = {
        "/ogc/tileMatrixSets": {
            "get": {
                "operationId": "tileMatrixSets",
                "responses": {"200": _json("The tile matrix sets.")},
            }
        },
        "/ogc/tileMatrixSets/{tileMatrixSetId}": {
            "get": {
                "operationId": "tileMatrixSet",
                "parameters": [tms_id],
                "responses": {
                    "200": _json("The tile matrix set (OGC TMS 2.0 JSON)."),
                    "404": _problem("No such tile matrix set."),
                },
            }
        },
    }
    for prefix, kind, media, what in (
        ("tiles", "Vector", "application/vnd.mapbox-vector-tile", "Mapbox vector tile"),
        ("map/tiles", "Map", "image/png", "PNG map tile (the map widget's styles)"),
    ):
        base = f"/ogc/collections/{{collectionId}}/{prefix}"
        empty = {"204": {"description": "The tile holds no features."}} if kind == "Vector" else {}
        paths[base] = {
            "get": {
                "operationId": f"collection{kind}Tilesets",
                "parameters": [collection_id],
                "responses": {
                    "200": _json("The tilesets of the collection."),
                    "404": _problem("No such collection."),
                },
            }
        }
        paths[f"{base}/{{tileMatrixSetId}}"] = {
            "get": {
                "operationId": f"collection{kind}Tileset",
                "parameters": [collection_id, tms_id],
                "responses": {
                    "200": _json("The tileset: limits, layers, the tile URL template."),
                    "404": _problem("No such collection or tile matrix set."),
                },
            }
        }
        paths[f"{base}/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"] = {
            "get": {
                "operationId": f"collection{kind}Tile",
                "parameters": tile_params,
                "responses": {
                    "200": {
                        "description": f"The {what}.",
                        "content": {media: {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **empty,
                    "304": {"description": "Not modified (If-None-Match)."},
                    "400": _problem("tileMatrix, tileRow or tileCol out of range."),
                    "401": _problem("The layer is restricted: send a token."),
                    "403": _problem("The credentials may not read this layer."),
                    "404": _problem("No such collection or tile matrix set."),
                },
            }
        }
    return paths
