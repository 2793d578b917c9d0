"""One error shape for every JSON error: RFC 9457 problem details.

API logic raises `ProblemError` (or a domain error that `problem_from_exception` maps);
one Flask handler turns every error, including 404s and 500s, into
`application/problem+json` with `type`, `title`, `status`, `detail` and `errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException

PROBLEM_TYPE_BASE = "https://planfuse.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

log = logging.getLogger("planfuse.errors")


class ProblemError(Exception):
    """An error with an HTTP status and a message for the user.

    `code` is a stable slug (it becomes the problem `type`); `errors` lists field-level
    problems as dicts with at least `message` and, where known, `field` or location keys
    (`feature`, `ring`, `vertex`, `line`).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.title, self.detail, self.errors)


def problem_body(
    status: int, code: str, title: str, detail: str, errors: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [dict(e) for e in errors],
    }


def bad_request(detail: str, *, field: str | None = None, code: str = "invalid_request"):
    """A 400 naming the offending field."""
    errors = [{"field": field, "message": detail}] if field else []
    return ProblemError(400, code, detail, title="Invalid request", errors=errors)


def not_found(what: str, ident: Any) -> ProblemError:
    return ProblemError(404, "not_found", f"{what} {ident!r} does not exist", title="Not found")


def problem_from_exception(exc: BaseException) -> ProblemError:
    """Map any exception onto a problem; unknown ones become an opaque 500."""
    if isinstance(exc, ProblemError):
        return exc
    # Late import: the geo core must not depend on this module, only the other way round.
    from planfuse.geo.errors import GeoError

    if isinstance(exc, GeoError):
        return ProblemError(
            400,
            _geo_code(exc),
            exc.message,
            title="Invalid geometry or coordinate system",
            errors=[p.to_dict() for p in exc.errors],
        )
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }.get(status, "http_error")
        detail = exc.description or exc.name
        if status == 413:
            detail = "The request body is larger than the server accepts (max_body_bytes)."
        return ProblemError(status, code, detail, title=exc.name)
    return ProblemError(
        500,
        "internal_error",
        "The server hit an unexpected error; it has been logged. Retry, and report it if it "
        "persists.",
        title="Internal server error",
    )


def _geo_code(exc: BaseException) -> str:
    name = type(exc).__name__
    return {
        "UnknownCRSError": "unknown_crs",
        "DatumTransformError": "datum_transform_refused",
        "CoordinateRangeError": "coordinates_out_of_range",
    }.get(name, "invalid_geometry")
