"""The service gate: every request is attributed to its catalogue service before any view
runs (`g.service_id`, which the metrics and the grant check read), and a request to a
stopped service gets the `service_stopped` problem (503) on every one of its routes
(planfuse.services.monitoring.control). A request no declared service answers may belong
to one registered at run time (a published chain, planfuse.services.monitoring.runtime).

A request to `/api/v1/remote/{id}/…` is attributed to the department's registered remote
service `{id}` (planfuse.services.remote), so its grants, stop and figures are that
service's own; a process that proxies one runs the health checks (as every `planfuse
serve` worker and the process that registers one do).
"""

from __future__ import annotations

from flask import Flask, g, request

from planfuse.context import PlanFuse
from planfuse.http.outbound import fetch
from planfuse.services.monitoring.catalogue import OTHER
from planfuse.services.monitoring.control import require_running
from planfuse.services.monitoring.runtime import runtime_service_for_request
from planfuse.services.remote.catalogue_entries import PROXY_SERVICE_ID
from planfuse.services.remote.health import health_checker
from planfuse.services.remote.records import remote_entries
from planfuse.web.metrics import RequestMetrics


def register_service_gate(app: Flask, context: PlanFuse, metrics: RequestMetrics) -> None:
    @app.before_request
    def _gate() -> None:
        service_id = metrics.service(request.endpoint)
        if service_id == OTHER:
            service_id = (
                runtime_service_for_request(context, request.method, request.path, request.args)
                or OTHER
            )
        if service_id == PROXY_SERVICE_ID:
            # Only the proxy's requests read the registrations (probes never wait for them).
            named = (request.view_args or {}).get("service_id")
            if named in remote_entries(context):
                service_id = named
                health_checker(context, fetch)
        g.service_id = service_id
        require_running(context, service_id)
