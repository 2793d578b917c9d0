"""Per-request hooks: request ids, access logs without secrets, default security headers,
and the service metrics (`planfuse.web.metrics`)."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable

from flask import Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from planfuse.logs import redact
from planfuse.services.audit import reset_origin, set_origin

access_log = logging.getLogger("planfuse.access")


def register_request_hooks(
    app: Flask, record: Callable[[Response, str | None, float], None] | None = None
) -> None:
    """`record(response, endpoint, duration_ms)` is called for every timed request."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or secrets.token_hex(8)
        # Audit events recorded during the request name where it came from.
        g.audit_origin = set_origin(request.remote_addr or "unknown", g.request_id)
        # Refuse an announced oversized body before anything (auth, parsing) reads it;
        # bodies without a length are capped while read (MAX_CONTENT_LENGTH).
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()

    @app.teardown_request
    def _unbind_origin(_exc: BaseException | None) -> None:
        token = g.pop("audit_origin", None)
        if token is not None:
            # ValueError: bound in another context (a streamed response's).
            with contextlib.suppress(ValueError):
                reset_origin(token)

    @app.after_request
    def _finish(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers["X-Request-Id"] = g.get("request_id", "")
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else None
        endpoint = request.endpoint
        # The query string is not logged: it may carry a token a client put there by
        # mistake. Paths are redacted too.
        access_log.info(
            "%s %s %s",
            request.method,
            redact(request.path),
            response.status_code,
            extra={
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2) if duration_ms is not None else None,
                "request_id": g.get("request_id"),
                "endpoint": endpoint,
            },
        )
        if record is not None and duration_ms is not None:
            record(response, endpoint, duration_ms)
        return response
