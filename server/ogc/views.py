"""HTTP adapters of the data services: parse the request, call the plain function, answer."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from planfuse.app import planfuse
from planfuse.ogc import features, ogc_bp, openapi, tiles, tiles_bp
from planfuse.web.json import dumps_bytes


def _base_url() -> str:
    return planfuse().settings.public_url or request.url_root


def _args() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def _geojson(result: features.FeaturesResponse) -> Response:
    response = Response(dumps_bytes(result.body), mimetype=result.media_type)
    response.headers["Content-Crs"] = f"<{result.content_crs}>"
    return response


# --- OGC API – Features --------------------------------------------------------------------


@ogc_bp.get("/", strict_slashes=False)
def landing_page():
    return jsonify(features.landing_page(_base_url()))


@ogc_bp.get("/api")
def api_definition():
    settings = planfuse().settings
    document = openapi.openapi_document(
        _base_url(), settings.ogc_limit_default, settings.ogc_limit_max
    )
    response = jsonify(document)
    response.mimetype = "application/vnd.oai.openapi+json"
    return response


@ogc_bp.get("/conformance")
def conformance():
    return jsonify(features.conformance())


@ogc_bp.get("/collections")
def collections():
    return jsonify(features.collections(planfuse(), _base_url()))


@ogc_bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    return jsonify(features.collection(planfuse(), collection_id, _base_url()))


@ogc_bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    result = features.items(
        planfuse(),
        collection_id,
        _args(),
        base_url=_base_url(),
        authorization=request.headers.get("Authorization"),
    )
    return _geojson(result)


@ogc_bp.get("/collections/<collection_id>/items/<feature_id>")
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


# --- vector tiles ----------------------------------------------------------------------------


@tiles_bp.get("/<layer_id>/<z>/<x>/<y>.mvt")
def tile(layer_id: str, z: str, x: str, y: str):
    ctx = planfuse()
    result = tiles.get_tile(
        ctx,
        current_app.extensions.get("planfuse_cache"),
        layer_id,
        z,
        x,
        y,
        authorization=request.headers.get("Authorization"),
        if_none_match=request.headers.get("If-None-Match"),
        max_age_s=ctx.settings.tile_max_age_s,
    )
    if result.content is None:
        response = Response(status=304)
    elif not result.content:
        response = Response(status=204)
    else:
        response = Response(result.content, mimetype=tiles.MVT_MEDIA_TYPE)
    response.headers["ETag"] = result.etag
    response.headers["Cache-Control"] = result.cache_control
    return response


@tiles_bp.get("/<layer_id>.json")
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
