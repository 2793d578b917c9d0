"""CORS for the data services (/ogc, /tiles): other departments' web maps read them straight
from the browser.

Safe to open to any origin: these endpoints use no cookies, so a foreign page reads a
restricted layer only with a token it already holds (sent as `Authorization`, which the
preflight allows). The function API and the widget pages keep the same-origin default.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, request

from planfuse.auth.apps import normalise_origin
from planfuse.errors import InvalidInput
from planfuse.settings import SettingsError

DATA_SERVICE_BLUEPRINTS = frozenset({"ogc", "tiles", "ows", "wmts", "arcgis"})
# POST: WFS requests written as XML (read-only, like every data service request).
ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_REQUEST_HEADERS = "Authorization, Accept, Accept-Language, Content-Type, If-None-Match"
EXPOSED_HEADERS = "Content-Crs, ETag, X-Request-Id"
PREFLIGHT_MAX_AGE_S = "600"


def cors_origins(values: Iterable[str]) -> list[str]:
    """The `data_cors_origins` setting checked and written as browsers send `Origin`."""
    try:
        return ["*" if value == "*" else normalise_origin(value) for value in values]
    except InvalidInput as error:
        raise SettingsError(f"PLANFUSE_DATA_CORS_ORIGINS: {error.message}") from None


def allow_origin(origin: str | None, allowed: list[str]) -> str | None:
    """The `Access-Control-Allow-Origin` value for a request from `origin`, or None.

    `allowed` holds exact origins (scheme://host[:port]) or `*`; an empty list opens to none.
    """
    if not origin or not allowed:
        return None
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def add_cors_headers(response: Response, origin: str | None, allowed: list[str]) -> Response:
    if len(allowed) > 1 or "*" not in allowed:
        # The answer depends on the Origin: shared caches must keep one copy per origin.
        response.vary.add("Origin")
    value = allow_origin(origin, allowed)
    if value is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = value
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE_S
    return response


def register_data_service_cors(app: Flask, origins: Iterable[str]) -> None:
    allowed = cors_origins(origins)

    @app.after_request
    def _cors(response: Response) -> Response:
        if request.blueprint not in DATA_SERVICE_BLUEPRINTS:
            return response
        return add_cors_headers(response, request.headers.get("Origin"), allowed)
