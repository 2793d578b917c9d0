"""HTTP adapters of the data services: parse the request, call the plain function, answer."""

from __future__ import annotations

from flask import Response, jsonify, request

from planfuse.http.context import planfuse, response_cache
from planfuse.http.json import dumps_bytes
from planfuse.http.routes import RouteTable
from planfuse.ogc import cql, features, openapi, tiles, tilesets

feature_routes = RouteTable()  # the `ogc` blueprint (/ogc)
tile_routes = RouteTable()  # the `tiles` blueprint (/tiles)


def _base_url() -> str:
    return planfuse().settings.public_url or request.url_root


def _args() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def _geojson(result: features.FeaturesResponse) -> Response:
    response = Response(dumps_bytes(result.body), mimetype=result.media_type)
    response.headers["Content-Crs"] = f"<{result.content_crs}>"
    return response


# --- OGC API – Features --------------------------------------------------------------------


@feature_routes.get("/", strict_slashes=False)
def landing_page():
    return jsonify(features.landing_page(_base_url()))


@feature_routes.get("/api")
def api_definition():
    settings = planfuse().settings
    document = openapi.openapi_document(
        _base_url(), settings.ogc_limit_default, settings.ogc_limit_max
    )
    response = jsonify(document)
    # With the version parameter, as the landing page's link says: GDAL's OAPIF driver
    # checks the Content-Type against it and complains on every request otherwise.
    response.headers["Content-Type"] = features.OPENAPI_TYPE
    return response


@feature_routes.get("/conformance")
def conformance():
    return jsonify(features.conformance((*cql.FILTER_CONFORMANCE, *tilesets.TILES_CONFORMANCE)))


@feature_routes.get("/collections")
def collections():
    return jsonify(features.collections(planfuse(), _base_url()))


@feature_routes.get("/collections/<collection_id>")
def collection(collection_id: str):
    return jsonify(features.collection(planfuse(), collection_id, _base_url()))


@feature_routes.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    document = features.queryables(planfuse(), collection_id, _base_url())
    return Response(dumps_bytes(document), mimetype="application/schema+json")


@feature_routes.get("/collections/<collection_id>/items")
def items(collection_id: str):
    result = features.items(
        planfuse(),
        collection_id,
        _args(),
        base_url=_base_url(),
        authorization=request.headers.get("Authorization"),
    )
    return _geojson(result)


@feature_routes.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    result = features.item(
        planfuse(),
        collection_id,
        feature_id,
        _args(),
        base_url=_base_url(),
        authorization=request.headers.get("Authorization"),
    )
    return _geojson(result)


# --- OGC API – Tiles -------------------------------------------------------------------------


@feature_routes.get("/tileMatrixSets")
def tile_matrix_sets():
    return jsonify(tilesets.tile_matrix_sets(_base_url()))


@feature_routes.get("/tileMatrixSets/<tms_id>")
def tile_matrix_set(tms_id: str):
    return jsonify(tilesets.tile_matrix_set(tms_id, _base_url()))


@feature_routes.get("/collections/<collection_id>/tiles", defaults={"data_type": "vector"})
@feature_routes.get("/collections/<collection_id>/map/tiles", defaults={"data_type": "map"})
def collection_tilesets(collection_id: str, data_type: str):
    return jsonify(tilesets.tilesets(planfuse(), collection_id, _base_url(), data_type))


@feature_routes.get("/collections/<collection_id>/tiles/<tms_id>", defaults={"data_type": "vector"})
@feature_routes.get(
    "/collections/<collection_id>/map/tiles/<tms_id>", defaults={"data_type": "map"}
)
def collection_tileset(collection_id: str, tms_id: str, data_type: str):
    return jsonify(tilesets.tileset(planfuse(), collection_id, tms_id, _base_url(), data_type))


_TILE_PATH = "<tms_id>/<tile_matrix>/<tile_row>/<tile_col>"


@feature_routes.get(f"/collections/<collection_id>/tiles/{_TILE_PATH}",
                    defaults={"data_type": "vector"})  # fmt: skip
@feature_routes.get(f"/collections/<collection_id>/map/tiles/{_TILE_PATH}",
                    defaults={"data_type": "map"})  # fmt: skip
def collection_tile(collection_id: str, tms_id: str, tile_matrix: str, tile_row: str,
                    tile_col: str, data_type: str):  # fmt: skip
    ctx = planfuse()
    result = tilesets.tile(
        ctx,
        response_cache(),
        collection_id,
        tms_id,
        tile_matrix,
        tile_row,
        tile_col,
        data_type,
        authorization=request.headers.get("Authorization"),
        if_none_match=request.headers.get("If-None-Match"),
        max_age_s=ctx.settings.tile_max_age_s,
    )
    if result.content is None:
        response = Response(status=304)
    elif not result.content:
        response = Response(status=204)
    else:
        response = Response(result.content, mimetype=result.media_type)
    response.headers["ETag"] = result.etag
    response.headers["Cache-Control"] = result.cache_control
    return response


# --- vector tiles ----------------------------------------------------------------------------


@tile_routes.get("/<layer_id>/<z>/<x>/<y>.mvt")
def tile(layer_id: str, z: str, x: str, y: str):
    ctx = planfuse()
    result = tiles.get_tile(
        ctx,
        response_cache(),
        layer_id,
        z,
        x,
        y,
        authorization=request.headers.get("Authorization"),
        if_none_match=request.headers.get("If-None-Match"),
        max_age_s=ctx.settings.tile_max_age_s,
        gzip_ok=request.accept_encodings["gzip"] > 0,
    )
    if result.content is None:
        response = Response(status=304)
    elif not result.content:
        response = Response(status=204)
    else:
        response = Response(result.content, mimetype=tiles.MVT_MEDIA_TYPE)
        if result.content_encoding:
            response.headers["Content-Encoding"] = result.content_encoding
    response.headers["ETag"] = result.etag
    response.headers["Cache-Control"] = result.cache_control
    response.vary.add("Accept-Encoding")
    return response  # byte ranges: planfuse.web.ranges, as for every data service's tiles


@tile_routes.get("/<layer_id>.json")
def tilejson(layer_id: str):
    ctx = planfuse()
    result = tiles.tilejson(
        ctx,
        layer_id,
        base_url=_base_url(),
        authorization=request.headers.get("Authorization"),
        max_age_s=ctx.settings.tile_max_age_s,
    )
    response = jsonify(result.document)
    response.headers["Cache-Control"] = result.cache_control
    return response
