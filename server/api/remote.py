"""The proxy of departments' remote services: `/api/v1/remote/{service_id}/{path}`.

Only callers granted the service get through: an administrator (`Bearer pfa_…`), a host
app's backend (HTTP Basic) or one of its widget sessions, when an administrator granted
the app that service (planfuse.services.monitoring.access). The service gate attributed
the request to the registered service, so a stopped one answers 503 and every call is
counted in its figures. The forwarding itself is planfuse.services.remote.proxy.
"""

from __future__ import annotations

from flask import Response, request

from planfuse.http.caller import require_admin_or_caller
from planfuse.http.context import planfuse
from planfuse.http.outbound import fetch
from planfuse.http.routes import RouteTable
from planfuse.services.remote.proxy import forward
from planfuse.services.remote.records import proxy_path

routes = RouteTable()

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@routes.route("/remote/<service_id>", methods=METHODS, defaults={"path": ""})
@routes.route("/remote/<service_id>/<path:path>", methods=METHODS)
def remote_proxy(service_id: str, path: str):
    """Forward the request to remote service `service_id`; its answer."""
    require_admin_or_caller()
    forwarded = forward(
        planfuse(),
        service_id,
        method=request.method,
        path=path,
        query=request.query_string.decode("latin-1"),
        headers=request.headers,
        body=request.get_data(cache=False) if request.method not in ("GET", "HEAD") else None,
        public_base=request.host_url.rstrip("/") + proxy_path(service_id),
        fetch=fetch,
    )
    headers = dict.fromkeys(("Content-Type",), "application/octet-stream")
    response = Response(forwarded.body, status=forwarded.status, headers=headers)
    for name, value in forwarded.headers:
        if name.lower() == "content-type":
            response.headers["Content-Type"] = value
        else:
            response.headers.add(name, value)
    # The remote's answer, served from PlanFuse's origin: never a document that runs in it
    # (a sandboxed, opaque origin), never sniffed, never in a shared cache.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = response.headers.get("Cache-Control") or "private"
    return response
