"""Counts every request for the service catalogue (planfuse.services.service_metrics).

The request hook (`planfuse.web.requests`) hands each finished request to
`RequestMetrics`, which attributes it to a catalogue service by its Flask endpoint (the
endpoint's route is matched once, then remembered); requests no route matches are
attributed by their path. Only the service id, the status and the latency reach the
recorder: no path, query string or header.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from planfuse.app import planfuse
from planfuse.context import PlanFuse
from planfuse.services.service_catalogue import service_for_path
from planfuse.services.service_metrics import metrics_recorder
from planfuse.services.service_status import service_report


def endpoint_services(app: Flask) -> dict[str, str]:
    """Every endpoint of `app` with the id of the service it belongs to."""
    return {rule.endpoint: service_for_path(rule.rule) for rule in app.url_map.iter_rules()}


class RequestMetrics:
    """Called once per request with its response, endpoint and duration."""

    def __init__(self, context: PlanFuse):
        self.recorder = metrics_recorder(context)
        self.services: dict[str, str] = {}

    def __call__(self, response: Response, endpoint: str | None, duration_ms: float) -> None:
        service = self.services.get(endpoint) if endpoint else None
        if service is None:
            service = self._attribute(endpoint)
        if self.recorder.record(service, response.status_code, duration_ms):
            # Written once the response is sent; a failure is logged, never raised.
            response.call_on_close(self.recorder.flush_if_due)

    def _attribute(self, endpoint: str | None) -> str:
        rule = request.url_rule
        if endpoint and rule is not None:
            service = self.services[endpoint] = service_for_path(rule.rule)
            return service
        return service_for_path(request.path)


def current_service_report() -> dict:
    """The catalogue report for the admin pages, this process's latest counts included."""
    ctx = planfuse()
    metrics_recorder(ctx).flush()
    return service_report(ctx, cache=current_app.extensions.get("planfuse_cache"))
