"""The admin console's service page (服务监控): the service catalogue with live figures.

The page fetches `/admin/services.json` (the cookie-signed-in twin of
`GET /api/v1/admin/services`) every 15 seconds. Department administrators read it too:
it changes nothing, and the catalogue shows every service's figures to them as well.
"""

from __future__ import annotations

from flask import g, render_template, url_for

from planfuse.admin.views import console_page, csrf_token, require_signed_in
from planfuse.http.context import planfuse, response_cache
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.monitoring.metrics import metrics_recorder
from planfuse.services.monitoring.status import service_report

routes = RouteTable()

#: How often the page reloads the figures, in seconds.
REFRESH_S = 15


def current_service_report() -> dict:
    """The catalogue report for the admin pages, this process's latest counts included."""
    ctx = planfuse()
    metrics_recorder(ctx).flush()
    return service_report(ctx, cache=response_cache())


@routes.get("/services")
@console_page(department_ok=True)
def services_page():
    config = {
        "csrf_token": csrf_token(),
        "report_url": url_for("admin.services_json"),
        "refresh_s": REFRESH_S,
        "report": current_service_report(),
    }
    return render_template("admin/services.html", admin=g.admin, config=config)


@routes.get("/services.json")
def services_json():
    require_signed_in(department_ok=True)
    return json_response(current_service_report())
