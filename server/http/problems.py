"""One error shape for every JSON error: RFC 9457 problem details.

`ProblemError` is an error with its HTTP status, for the web areas (`bad_request`,
`not_found` build the common ones); services raise domain errors (`planfuse.errors`).

`problem_from_exception` is the one place that maps errors onto problems: domain errors
(`planfuse.errors`) by the `DOMAIN_STATUS` table, geo errors as 400s naming where the input
is wrong, Werkzeug's HTTP errors by their status, a database that cannot be reached as a
503 with Retry-After, anything else as an opaque 500. The
app's one error handler (`planfuse.web.errors`) turns every error into
`application/problem+json` with `type`, `title`, `status`, `detail` and `errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException

from planfuse.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Interrupted,
    InvalidInput,
    NotFound,
    RateLimited,
    TooComplex,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UpstreamFailed,
    UpstreamTimeout,
)
from planfuse.geo.errors import GeoError
from planfuse.storage.database import database_unreachable

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://planfuse.dev/problems/"
#: When a client may retry after the database could not be reached (a restart takes seconds).
DATABASE_RETRY_AFTER_S = 5


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


# The one table from domain error to HTTP status (most specific class first).
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (TooLarge, 413),
    (TooComplex, 422),
    (RateLimited, 429),
    (Unavailable, 503),
    (UpstreamTimeout, 504),
    (UpstreamFailed, 502),
    (Interrupted, 500),
    (InvalidInput, 400),
    (DomainError, 400),
)


def problem_from_domain_error(exc: DomainError) -> ProblemError:
    """The problem for a domain error: status from `DOMAIN_STATUS`, `Retry-After` if known."""
    status = next(s for cls, s in DOMAIN_STATUS if isinstance(exc, cls))
    headers = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    challenge = getattr(exc, "challenge", None)
    if challenge is not None:
        headers["WWW-Authenticate"] = challenge
    return ProblemError(
        status, exc.code, exc.message, title=exc.title, errors=exc.errors, headers=headers
    )


def problem_from_exception(exc: BaseException) -> ProblemError:
    """Map any exception onto a problem; unknown ones become an opaque 500."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, DomainError):
        return problem_from_domain_error(exc)
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
            429: "rate_limited",
        }.get(status, "http_error")
        detail = exc.description or exc.name
        if status == 413:
            detail = "The request body is larger than the server accepts (max_body_bytes)."
        if status == 429:
            detail = (
                f"Too many requests: the limit is {exc.description}. Wait the seconds in "
                "Retry-After, then retry."
            )
        return ProblemError(status, code, detail, title=exc.name)
    if database_unreachable(exc):
        return database_unavailable()
    return ProblemError(
        500,
        "internal_error",
        "The server hit an unexpected error; it has been logged. Retry, and report it if it "
        "persists.",
        title="Internal server error",
    )


def database_unavailable() -> ProblemError:
    """503 with Retry-After: the planning database cannot be used right now. Nothing was
    half-written: every write is one transaction, rolled back when its connection fails."""
    return ProblemError(
        503,
        "database_unavailable",
        "the planning database cannot be reached right now (stopped, restarting or busy); "
        f"nothing was changed. Retry in {DATABASE_RETRY_AFTER_S} s",
        title="Service unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _geo_code(exc: BaseException) -> str:
    name = type(exc).__name__
    return {
        "UnknownCRSError": "unknown_crs",
        "DatumTransformError": "datum_transform_refused",
        "CoordinateRangeError": "coordinates_out_of_range",
    }.get(name, "invalid_geometry")


def problem_dict(exc: BaseException) -> dict[str, Any]:
    """The problem body of any error, as `problem_from_exception` maps it (what a failed
    background job records)."""
    return problem_from_exception(exc).to_dict()
