"""The one error handler: every error becomes a problem response, JSON or HTML."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, render_template, request

from planfuse.http.json import dumps_bytes
from planfuse.http.problems import PROBLEM_CONTENT_TYPE, problem_from_exception
from planfuse.web.home import HOME_CSP

log = logging.getLogger("planfuse.errors")

#: The error page's title in Chinese, by status (the problem's own title is English).
TITLES_ZH = {
    400: "请求有误",
    401: "需要登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持该请求方法",
    406: "无法提供所需格式",
    409: "操作冲突",
    413: "内容过大",
    415: "不支持的内容类型",
    422: "无法处理",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务错误",
    503: "服务暂不可用",
    504: "上游服务超时",
}

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
    if problem.status == 503:
        # A dependency is down (the database restarting): one line, not a trace per request.
        log.warning(
            "%s %s answered 503 %s: %s",
            request.method,
            request.path,
            problem.code,
            str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
        )
    elif problem.status >= 500:
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    body = problem.to_dict()
    if wants_html():
        html = render_template(
            "error.html",
            problem=body,
            title_zh=TITLES_ZH.get(
                problem.status, "出错了" if problem.status >= 500 else "请求未完成"
            ),
            request_id=g.get("request_id"),
        )
        response = Response(html, status=problem.status, mimetype="text/html")
        # The same policy as every page without script: nothing runs, nothing frames it.
        # A blueprint's own policy (the admin console's) is set after this and wins.
        response.headers["Content-Security-Policy"] = HOME_CSP
        response.headers["X-Frame-Options"] = "DENY"
    else:
        response = Response(dumps_bytes(body), status=problem.status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    if problem.status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Exception, problem_response)
