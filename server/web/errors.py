"""The one error handler: every error becomes a problem response, JSON or HTML."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request

from planfuse.errors import PROBLEM_CONTENT_TYPE, problem_from_exception
from planfuse.web.json import dumps_bytes

log = logging.getLogger("planfuse.errors")

# Paths whose clients are programs: always JSON, whatever the Accept header says.
JSON_PREFIXES = ("/api/", "/ogc", "/tiles/", "/embed/session", "/healthz", "/readyz")


def wants_html() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "text/html"
        and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]
    )


def problem_response(exc: BaseException) -> Response:
    problem = problem_from_exception(exc)
    if problem.status >= 500:
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    body = problem.to_dict()
    if wants_html():
        html = render_template("error.html", problem=body)
        response = Response(html, status=problem.status, mimetype="text/html")
    else:
        response = Response(dumps_bytes(body), status=problem.status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    if problem.status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Exception, problem_response)
