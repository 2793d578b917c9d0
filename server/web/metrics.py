"""Counts every request for the service catalogue (planfuse.services.monitoring.metrics).

The request hook (`planfuse.web.requests`) hands each finished request to
`RequestMetrics`, which attributes it to a catalogue service: by its Flask endpoint when
only one service answers that endpoint's route (matched once, then remembered), else by
its method, path and query among the few endpoints that route can be
(`planfuse.services.monitoring.catalogue.ServiceMatcher`); requests no route matches are
attributed by their path. Only the service id, the status and the latency reach the
recorder: no path, query string or header.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from planfuse.context import PlanFuse
from planfuse.services.monitoring.catalogue import matcher
from planfuse.services.monitoring.limits import usage_recorder
from planfuse.services.monitoring.metrics import metrics_recorder


def endpoint_services(app: Flask) -> dict[str, object]:
    """Every endpoint of `app` with its service id, or the endpoints it may be."""
    return {rule.endpoint: matcher().for_rule(rule.rule) for rule in app.url_map.iter_rules()}


class RequestMetrics:
    """Called once per request with its response, endpoint and duration."""

    def __init__(self, context: PlanFuse):
        self.recorder = metrics_recorder(context)
        self.usage = usage_recorder(context)
        self.matcher = matcher()
        self.services: dict[str, object] = {}

    def __call__(self, response: Response, endpoint: str | None, duration_ms: float) -> None:
        # The service gate attributed the request already (planfuse.web.service_gate).
        service = g.get("service_id") or self.service(endpoint)
        if self.recorder.record(service, response.status_code, duration_ms):
            # Written once the response is sent; a failure is logged, never raised.
            response.call_on_close(self.recorder.flush_if_due)
        caller = g.get("caller")
        # Usage per host app: the requests its credentials were accepted for.
        if caller is not None and self.usage.record(service, caller.app_id, response.status_code):
            response.call_on_close(self.usage.flush_if_due)

    def service(self, endpoint: str | None) -> str:
        """The service the current request belongs to."""
        known = self.services.get(endpoint) if endpoint else None
        if known is None:
            rule = request.url_rule
            if not endpoint or rule is None:
                return self.matcher.resolve(request.method, request.path, request.args)
            known = self.services[endpoint] = self.matcher.for_rule(rule.rule)
        if isinstance(known, str):
            return known
        return self.matcher.resolve(request.method, request.path, request.args, known)
