"""Counts every request for the service catalogue (planfuse.services.service_metrics).

The service of each Flask endpoint is resolved once, when the app is built, from its route;
requests no route matches are attributed by their path. Only the service id, the status
and the latency reach the recorder: no path, query string or header.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request

from planfuse.app import planfuse
from planfuse.context import PlanFuse
from planfuse.services.service_catalogue import service_for_path
from planfuse.services.service_metrics import metrics_recorder
from planfuse.services.service_status import service_report


def endpoint_services(app: Flask) -> dict[str, str]:
    """Every endpoint of `app` with the id of the service it belongs to."""
    return {rule.endpoint: service_for_path(rule.rule) for rule in app.url_map.iter_rules()}


def register_service_metrics(app: Flask, context: PlanFuse) -> None:
    """Record each request; call after every blueprint is registered."""
    recorder = metrics_recorder(context)
    services = endpoint_services(app)

    @app.after_request
    def _record(response):
        started = g.get("request_started")
        if started is None:
            return response
        duration_ms = (time.perf_counter() - started) * 1000
        endpoint = request.endpoint
        service = services.get(endpoint) if endpoint else None
        if service is None:
            service = service_for_path(request.path)
        if recorder.record(service, response.status_code, duration_ms):
            # Written once the response is sent; a failure is logged, never raised.
            response.call_on_close(recorder.flush)
        return response


def current_service_report() -> dict:
    """The catalogue report for the admin pages, this process's latest counts included."""
    ctx = planfuse()
    metrics_recorder(ctx).flush()
    return service_report(ctx, cache=current_app.extensions.get("planfuse_cache"))
