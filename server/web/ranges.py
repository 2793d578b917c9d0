"""HTTP `Range` for the data services' tiles and images.

GDAL's `/vsicurl/` reads anything over 16 KB by ranges (`Range: bytes=0-16383`, then the
rest) and gives up on a server that answers them with the whole body; download managers
resume by ranges too. A range is only meaningful when every request gets the same bytes, so
it is offered for the answers that are a pure function of the request and the layer
version — map tiles (MVT, PNG, JPEG, WebP) and drawn maps and legends — never for JSON or
XML documents, which carry their time of answer (`timeStamp`).

Ranges apply to the bytes as sent: after compression (a gzip-encoded tile is ranged in its
encoded form, as RFC 9110 has it). `If-Range` with the ETag is honoured by Werkzeug.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from planfuse.http.problems import ProblemError
from planfuse.web.errors import problem_response

#: The data services' blueprints.
RANGED_BLUEPRINTS = frozenset({"ogc", "tiles", "ows", "wmts", "arcgis"})
RANGED_TYPES = frozenset(
    {
        "application/vnd.mapbox-vector-tile",
        "image/png",
        "image/jpeg",
        "image/webp",
    }
)


def ranged(response: Response) -> Response:
    """`response` answering the request's `Range` (206, or 416 when none of it exists)."""
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or response.is_streamed
        or response.mimetype not in RANGED_TYPES
    ):
        return response
    length = len(response.get_data())
    try:
        return response.make_conditional(request, accept_ranges=True, complete_length=length)
    except RequestedRangeNotSatisfiable:
        detail = (
            f"the Range {request.headers.get('Range', '')[:60]!r} lies outside the "
            f"{length} bytes of this answer; ask for bytes 0–{length - 1}"
        )
        problem = ProblemError(
            416,
            "range_not_satisfiable",
            detail,
            title="Range not satisfiable",
            errors=[{"field": "Range", "message": detail}],
            headers={"Content-Range": f"bytes */{length}"},
        )
        return problem_response(problem)


def register_ranges(app: Flask) -> None:
    """Registered before compression, so it runs after it (Flask runs `after_request`
    functions last-registered first) and ranges the encoded bytes."""

    @app.after_request
    def _ranges(response: Response) -> Response:
        if request.blueprint not in RANGED_BLUEPRINTS:
            return response
        return ranged(response)
