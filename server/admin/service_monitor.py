"""The admin console's service page (服务监控): the service catalogue with live figures.

The page fetches `/admin/services.json` (the cookie-signed-in twin of
`GET /api/v1/admin/services`) every 15 seconds.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for

from planfuse.admin.views import _admin_from_cookie, _signed_in, admin_bp, csrf_token
from planfuse.api.common import json_response
from planfuse.web.metrics import current_service_report

#: How often the page reloads the figures, in seconds.
REFRESH_S = 15


@admin_bp.get("/services")
def services_page():
    admin = _admin_from_cookie()
    if admin is None:
        return redirect(url_for("admin.login"))
    config = {
        "csrf_token": csrf_token(),
        "report_url": url_for("admin.services_json"),
        "refresh_s": REFRESH_S,
        "report": current_service_report(),
    }
    return render_template("admin/services.html", admin=admin, config=config)


@admin_bp.get("/services.json")
def services_json():
    _signed_in()
    return json_response(current_service_report())
