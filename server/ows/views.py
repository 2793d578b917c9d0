"""HTTP adapters of the OWS interfaces: `/ows?SERVICE=WFS|WMS&REQUEST=…` (KVP, GET), WMTS at
`/wmts` (KVP and RESTful) and the ArcGIS REST services.

A view reads the parameters, calls the plain function of the service the request names and
answers its document; any refusal is that standard's exception document with the refusal's
HTTP status (`planfuse.ows.errors`), never a problem+json or a bare 500.
"""

from __future__ import annotations

import orjson
from flask import Response, request

from planfuse.errors import DomainError
from planfuse.geo.errors import GeoError
from planfuse.http.context import planfuse, response_cache
from planfuse.http.problems import ProblemError
from planfuse.http.routes import RouteTable
from planfuse.ows import arcgis, wfs11, wfs_post, wms, wmts
from planfuse.ows.errors import (
    OWSError,
    exception_report,
    from_exception,
    invalid,
    missing,
    service_exception_report,
)
from planfuse.ows.kvp import KVP

ows_routes = RouteTable()  # the `ows` blueprint (/ows)
arcgis_routes = RouteTable()  # the `arcgis` blueprint (/arcgis/rest/services)
wmts_routes = RouteTable()  # the `wmts` blueprint (/wmts)

_REFUSALS = (OWSError, ProblemError, DomainError, GeoError)


def _base_url() -> str:
    return planfuse().settings.public_url or request.url_root


def _xml_error(error: OWSError, version: str = "2.0.0") -> Response:
    response = Response(
        exception_report(error, version), status=error.status, mimetype="application/xml"
    )
    response.headers.update(error.headers)
    return response


def _wms_error(error: OWSError, version: str) -> Response:
    media = "text/xml" if version == "1.3.0" else "application/vnd.ogc.se_xml"
    body = service_exception_report(error, version)
    response = Response(body, status=error.status, mimetype=media)
    response.headers.update(error.headers)
    return response


@ows_routes.get("", strict_slashes=False)
def ows():
    return _ows(lambda: KVP(request.args.items(multi=True)))


@ows_routes.post("", strict_slashes=False)
def ows_post():
    """WFS requests as XML (`wfs:GetFeature` …), answered as their KVP spelling is."""
    return _ows(lambda: wfs_post.kvp_from_xml(request.get_data()), post=True)


def _ows(read_kvp, post: bool = False) -> Response:
    service = "WFS" if post else ""
    version = "1.3.0"
    try:
        kvp = read_kvp()
        service = (kvp.get("SERVICE") or "").strip().upper()
        version = "1.1.1" if (kvp.get("VERSION") or "").strip() == "1.1.1" else "1.3.0"
        # WMS 1.1.1 clients may leave SERVICE out of GetMap and GetFeatureInfo.
        if not service and (kvp.get("REQUEST") or "").strip().lower() in (
            "getmap",
            "getfeatureinfo",
        ):
            service = "WMS"
        if not service:
            raise missing("service")
        ctx = planfuse()
        authorization = request.headers.get("Authorization")
        if service == "WFS":
            answer = wfs11.handle(ctx, kvp, _base_url(), authorization)  # 1.1.0 or 2.0.0
        elif service == "WMS":
            answer = wms.handle(ctx, kvp, _base_url(), authorization)
        else:
            raise invalid(
                "service", f"service {service[:20]!r} is not offered here; use WFS or WMS"
            )
        return Response(answer.body, mimetype=answer.media_type)
    except _REFUSALS as exc:
        if service == "WMS":
            return _wms_error(from_exception(exc, not_found_code="LayerNotDefined"), version)
        return _xml_error(from_exception(exc), _wfs_version(post))


def _wfs_version(post: bool = False) -> str:
    """The WFS version an exception report is written in: 1.1.0 when the request asked it
    (a POST body in the WFS 1.1.0 namespace, or VERSION=1.1.0)."""
    if post:
        return "1.1.0" if b'http://www.opengis.net/wfs"' in request.get_data() else "2.0.0"
    asked = request.args.get("VERSION") or request.args.get("version") or ""
    return "1.1.0" if asked.strip() == "1.1.0" else "2.0.0"


# --- WMTS ----------------------------------------------------------------------------------


def _wmts_answer(answer: wmts.Answer | wmts.TileAnswer) -> Response:
    if isinstance(answer, wmts.Answer):
        return Response(answer.body, mimetype=answer.media_type)
    if answer.content is None:
        response = Response(status=304)
    elif not answer.content:
        response = Response(status=204)
    else:
        response = Response(answer.content, mimetype=answer.media_type)
    response.headers["ETag"] = answer.etag
    response.headers["Cache-Control"] = answer.cache_control
    return response


@wmts_routes.get("", strict_slashes=False)
def wmts_kvp():
    try:
        ctx = planfuse()
        answer = wmts.handle(
            ctx,
            response_cache(),
            KVP(request.args.items(multi=True)),
            _base_url(),
            request.headers.get("Authorization"),
            request.headers.get("If-None-Match"),
            ctx.settings.tile_max_age_s,
        )
        return _wmts_answer(answer)
    except _REFUSALS as exc:
        return _xml_error(from_exception(exc), wmts.VERSION)


@wmts_routes.get("/1.0.0/WMTSCapabilities.xml")
def wmts_rest_capabilities():
    try:
        return _wmts_answer(wmts.capabilities(planfuse(), _base_url()))
    except _REFUSALS as exc:
        return _xml_error(from_exception(exc), wmts.VERSION)


@wmts_routes.get("/1.0.0/<layer>/<style>/<matrix_set>/<matrix>/<row>/<col>.<ext>")
def wmts_rest_tile(layer: str, style: str, matrix_set: str, matrix: str, row: str, col: str,
                   ext: str):  # fmt: skip
    try:
        ctx = planfuse()
        answer = wmts.get_tile(
            ctx,
            response_cache(),
            layer=layer,
            style=style,
            matrix_set=matrix_set,
            matrix=matrix,
            row=row,
            col=col,
            media_type=wmts.rest_media_type(ext),
            authorization=request.headers.get("Authorization"),
            if_none_match=request.headers.get("If-None-Match"),
            max_age_s=ctx.settings.tile_max_age_s,
            rest=True,
        )
        return _wmts_answer(answer)
    except _REFUSALS as exc:
        return _xml_error(from_exception(exc), wmts.VERSION)


# --- ArcGIS REST ---------------------------------------------------------------------------

# Esri's codes for the statuses its clients know (499: a token is required).
_ESRI_CODES = {401: 499, 403: 403, 404: 404}


def _arcgis(produce) -> Response:
    try:
        args = arcgis.request_args(request.args.items(multi=True))
        answer = produce(planfuse(), args)
        if isinstance(answer.body, bytes):
            return Response(answer.body, mimetype=answer.media_type)
        indent = orjson.OPT_INDENT_2 if (args.get("f") or "").lower() == "pjson" else 0
        return Response(orjson.dumps(answer.body, option=indent), mimetype=answer.media_type)
    except _REFUSALS as exc:
        return _arcgis_error(exc)


def _arcgis_error(exc: Exception) -> Response:
    error = from_exception(exc)
    body = {
        "error": {
            "code": _ESRI_CODES.get(error.status, error.status),
            "message": error.message,
            "details": [f"{error.locator}: {error.message}" if error.locator else error.message],
        }
    }
    response = Response(orjson.dumps(body), status=error.status, mimetype="application/json")
    response.headers.update(error.headers)
    return response


@arcgis_routes.get("", strict_slashes=False)
def arcgis_services():
    def produce(ctx, args):
        arcgis.check_format(args)
        return arcgis.services(ctx)

    return _arcgis(produce)


@arcgis_routes.get("/<name>/FeatureServer", strict_slashes=False)
def arcgis_feature_server(name: str):
    def produce(ctx, args):
        arcgis.check_format(args)
        return arcgis.feature_server(ctx, name)

    return _arcgis(produce)


@arcgis_routes.get("/<name>/FeatureServer/<int:layer>", strict_slashes=False)
def arcgis_feature_layer(name: str, layer: int):
    def produce(ctx, args):
        arcgis.check_format(args)
        _only_layer_zero(layer)
        return arcgis.feature_layer(ctx, name)

    return _arcgis(produce)


@arcgis_routes.get("/<name>/FeatureServer/<int:layer>/query")
def arcgis_query(name: str, layer: int):
    def produce(ctx, args):
        _only_layer_zero(layer)
        return arcgis.query(ctx, name, args, request.headers.get("Authorization"))

    return _arcgis(produce)


def _only_layer_zero(layer: int) -> None:
    if layer != 0:
        raise OWSError("NotFound", f"layer {layer} does not exist; each service has layer 0",
                       "layer", status=404)  # fmt: skip


@arcgis_routes.get("/<name>/MapServer", strict_slashes=False)
def arcgis_map_server(name: str):
    def produce(ctx, args):
        arcgis.check_format(args)
        return arcgis.map_server(ctx, name)

    return _arcgis(produce)


@arcgis_routes.get("/<name>/MapServer/identify")
def arcgis_identify(name: str):
    def produce(ctx, args):
        return arcgis.identify(ctx, name, args, request.headers.get("Authorization"))

    return _arcgis(produce)


@arcgis_routes.get("/<name>/MapServer/<int:layer>", strict_slashes=False)
def arcgis_map_layer(name: str, layer: int):
    # A Map,Query service's layer: the same description and query as the FeatureServer's.
    return arcgis_feature_layer(name, layer)


@arcgis_routes.get("/<name>/MapServer/<int:layer>/query")
def arcgis_map_layer_query(name: str, layer: int):
    return arcgis_query(name, layer)


@arcgis_routes.get("/<name>/MapServer/legend")
def arcgis_legend(name: str):
    def produce(ctx, args):
        return arcgis.legend(ctx, name, args, request.headers.get("Authorization"))

    return _arcgis(produce)


@arcgis_routes.get("/<name>/MapServer/export")
def arcgis_export(name: str):
    try:
        args = arcgis.request_args(request.args.items(multi=True))
        body, media_type = arcgis.export(
            planfuse(), name, args, request.headers.get("Authorization")
        )
        return Response(body, mimetype=media_type)
    except _REFUSALS as exc:
        return _arcgis_error(exc)
