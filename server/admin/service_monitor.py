"""The admin console's service page (服务监控): the service catalogue with live figures.

The page fetches `/admin/services.json` (the cookie-signed-in twin of
`GET /api/v1/admin/services`) every 15 seconds.
"""

from __future__ import annotations

from flask import g, render_template, url_for

from planfuse.admin.views import admin_bp, console_page, csrf_token, require_signed_in
from planfuse.api.common import json_response
from planfuse.web.metrics import current_service_report

#: How often the page reloads the figures, in seconds.
REFRESH_S = 15


@admin_bp.get("/services")
@console_page
def services_page():
    config = {
        "csrf_token": csrf_token(),
        "report_url": url_for("admin.services_json"),
        "refresh_s": REFRESH_S,
        "report": current_service_report(),
    }
    return render_template("admin/services.html", admin=g.admin, config=config)


@admin_bp.get("/services.json")
def services_json():
    require_signed_in()
    return json_response(current_service_report())
