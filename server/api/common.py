"""What the route modules of the JSON API share: JSON responses (with `Location` for what
a request created), JSON object bodies, file downloads, the locale of a request, whole-number
query arguments and form checkboxes, and the 403 for a request that widens a locked
parameter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson
from flask import Response, request

from planfuse.api import api_bp
from planfuse.errors import ProblemError, bad_request
from planfuse.web.json import dumps_bytes

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCALES = ("zh-CN", "en")
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
        response.headers["Location"] = f"{api_bp.url_prefix}/{location}"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_body(*, optional: bool = False, example: str | None = None) -> dict[str, Any]:
    """The request's body, a JSON object; else a 400 problem naming `body`.

    `optional`: an empty body stands for ``{}``. `example`: a body to quote in the problem.
    """
    raw = request.get_data(cache=False)
    if optional and not raw:
        return {}
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(body, dict):
        hint = f", e.g. {example}" if example else ""
        raise bad_request(f"send a JSON object{hint}", field="body")
    return body


def download(data: bytes, mimetype: str, filename: str, *, title: str | None = None) -> Response:
    """A file to save: `filename` (ASCII) and, for browsers that read it, a UTF-8 `title`."""
    response = Response(data, mimetype=mimetype)
    disposition = f'attachment; filename="{filename}"'
    if title is not None:
        disposition += f"; filename*=UTF-8''{quote(title)}"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "no-store"
    return response


def request_locale(default: str | None = None) -> str:
    """The `locale` query argument when it is zh-CN or en; else `default` when it is one of
    them (the session's locale, the browser's); else zh-CN."""
    for wanted in (request.args.get("locale"), default):
        if wanted in LOCALES:
            return wanted
    return "zh-CN"


def int_arg(name: str, default: int | None = None, *, message: str | None = None) -> int | None:
    """Query argument `name` as a whole number (`default` when absent); else a 400 problem
    (`message`, or "NAME must be a whole number")."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(message or f"{name} must be a whole number", field=name) from None


def form_flag(name: str) -> bool:
    """Multipart form field `name` as a checkbox: 1, true, yes or on (any case) is true."""
    return request.form.get(name, "").lower() in {"1", "true", "yes", "on"}


def widened_lock(name: str, message: str) -> ProblemError:
    """The 403 for a request that widens parameter `name` the host locked in the embed
    token (narrowing is allowed; see each area's lock rules)."""
    return ProblemError(
        403,
        "forbidden",
        f"the request widens parameter {name!r} locked by the host: {message}",
        title="Forbidden",
        errors=[{"field": name, "message": message}],
    )
