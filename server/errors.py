"""The errors services raise: domain errors that say what is wrong and where, and how to
fix it, with no HTTP status.

`InvalidInput(message, field=..., errors=[...])`, `NotFound(what, ident)`, `Conflict`,
`Forbidden`, `Unauthenticated`, `TooLarge`, `TooComplex`, `RateLimited`, `Unavailable` and
`Interrupted`. `planfuse.http.problems` is the one place that maps them (and geo errors)
onto RFC 9457 problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class DomainError(Exception):
    """Base of the errors services raise.

    `message` says what is wrong and how to fix it; `code` is a stable slug (the problem
    `type`); `errors` lists field-level problems (dicts with `message` and, where known,
    `field` or location keys such as `feature`, `ring`, `vertex`, `line`).
    """

    default_code = "invalid_request"
    title = "Invalid request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: Iterable[Mapping[str, Any]] = (),
        title: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.errors = [dict(e) for e in errors]
        if field is not None and not self.errors:
            self.errors = [{"field": field, "message": message}]
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The caller's input is wrong (a field, a value, a geometry); fixable by the caller."""


class NotFound(DomainError):
    """The thing named does not exist (or is not visible to this caller)."""

    default_code = "not_found"
    title = "Not found"

    def __init__(
        self,
        what: str,
        ident: Any,
        *,
        code: str | None = None,
        hint: str = "",
        message: str | None = None,
        title: str | None = None,
    ):
        """`what` and `ident` name the missing thing ("layer", "kx"); the message is
        "layer 'kx' does not exist", then `; hint` — or `message` when the usual sentence
        does not fit."""
        if message is None:
            message = f"{what} {ident!r} does not exist" + (f"; {hint}" if hint else "")
        super().__init__(message, code=code, title=title)
        self.what = what
        self.ident = ident


class Conflict(DomainError):
    """The request clashes with the current state (a running job, an illegal transition)."""

    default_code = "conflict"
    title = "Conflict"


class Forbidden(DomainError):
    """The caller is known but may not do this (a locked parameter, a role, another app)."""

    default_code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    """No valid credentials were given.

    `challenge` says which credentials would do, in the form of an authentication
    challenge (RFC 9110 §11.6.1), e.g. ``Bearer realm="planfuse", Basic realm="planfuse"``.
    """

    default_code = "authentication_required"
    title = "Authentication required"

    def __init__(
        self,
        message: str,
        *,
        challenge: str | None = None,
        code: str | None = None,
        title: str | None = None,
    ):
        super().__init__(message, code=code, title=title)
        self.challenge = challenge


class TooLarge(DomainError):
    """The input is larger than the server accepts (bytes, vertices, features)."""

    default_code = "payload_too_large"
    title = "Too large"


class TooComplex(DomainError):
    """The input is well-formed but the work it asks for exceeds a limit (time, size)."""

    default_code = "too_complex"
    title = "Too complex"


class RateLimited(DomainError):
    """Too many requests or concurrent heavy requests; retry after `retry_after_s`."""

    default_code = "rate_limited"
    title = "Too many requests"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: int = 1,
        code: str | None = None,
        title: str | None = None,
    ):
        super().__init__(message, code=code, title=title)
        self.retry_after_s = retry_after_s


class Interrupted(DomainError):
    """Work the server had accepted stopped before it finished (its process died, a bug);
    not the caller's fault, and starting it again may succeed."""

    default_code = "internal_error"
    title = "Internal server error"


class Unavailable(DomainError):
    """A dependency (database, Redis, a stopped service) is down; retry after `retry_after_s`."""

    default_code = "service_unavailable"
    title = "Service unavailable"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: int | None = None,
        code: str | None = None,
        title: str | None = None,
    ):
        super().__init__(message, code=code, title=title)
        self.retry_after_s = retry_after_s


class UpstreamFailed(DomainError):
    """A service PlanFuse calls on the caller's behalf (a department's remote service)
    answered with something unusable: no answer, garbage, too large, a refused redirect."""

    default_code = "upstream_failed"
    title = "Bad gateway"


class UpstreamTimeout(UpstreamFailed):
    """A service PlanFuse calls on the caller's behalf did not answer in time."""

    default_code = "upstream_timeout"
    title = "Gateway timeout"
