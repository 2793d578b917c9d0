"""JSON responses (with `Location` for what a request created) and file downloads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from flask import Response, stream_with_context

from planfuse.http.json import dumps_bytes

#: Where the function services answer (the `api` and the areas' API blueprints).
API_PREFIX = "/api/v1"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Per-user answers (reports, sessions, secrets) must not sit in a shared cache.
NO_STORE = {"Cache-Control": "no-store"}


def json_response(
    data: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    location: str | None = None,
) -> Response:
    """`data` as JSON (already serialised bytes are sent as they are).

    `location`: the path of what the request created, below the API root
    (``"jobs/42"`` → ``Location: /api/v1/jobs/42``).
    """
    body = data if isinstance(data, bytes) else dumps_bytes(data)
    response = Response(body, status=status, mimetype="application/json")
    if location is not None:
        response.headers["Location"] = f"{API_PREFIX}/{location}"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def download(data: bytes, mimetype: str, filename: str, *, title: str | None = None) -> Response:
    """A file to save: `filename` (ASCII) and, for browsers that read it, a UTF-8 `title`."""
    response = Response(data, mimetype=mimetype)
    disposition = f'attachment; filename="{filename}"'
    if title is not None:
        disposition += f"; filename*=UTF-8''{quote(title)}"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_stream(chunks: Iterator[str], filename: str) -> Response:
    """CSV text produced piece by piece (a long export never sits in memory whole)."""
    response = Response(stream_with_context(chunk.encode() for chunk in chunks), mimetype=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
