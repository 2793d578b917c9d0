"""The admin console (/admin: sign-in, embed page, host apps, layers, services, webhooks)
and the admin API (/api/v1/admin/…: host apps, the service report, monitoring indicators
and webhooks, with an admin token).

The console's pages are cookie-and-CSRF twins of the admin API: both read a request the
same way and call the same service functions.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from planfuse.admin import (
    api,
    apps,
    audit,
    catalogue_api,
    catalogue_console,
    chains_api,
    chains_console,
    layers,
    monitoring_api,
    remote_api,
    service_monitor,
    sso,
    views,
    webhooks,
    webhooks_api,
)
from planfuse.http.responses import API_PREFIX

CONSOLE_MODULES = (
    views,
    sso,
    apps,
    layers,
    service_monitor,
    audit,
    webhooks,
    catalogue_console,
    chains_console,
)


def register(app: Flask) -> None:
    """Serve the admin area from `app`: the `admin` console blueprint at /admin and the
    `admin_api` blueprint at /api/v1."""
    console = Blueprint("admin", __name__, url_prefix="/admin")
    for module in CONSOLE_MODULES:
        module.routes.add_to(console)
    app.register_blueprint(console)
    admin_api = Blueprint("admin_api", __name__, url_prefix=API_PREFIX)
    for module in (api, catalogue_api, chains_api, monitoring_api, webhooks_api, remote_api):
        module.routes.add_to(admin_api)
    audit.api_routes.add_to(admin_api)
    app.register_blueprint(admin_api)
