"""The JSON API of the function services under /api/v1: one blueprint, one module per
service (compliance, siting, conflicts, ledgers, plan monitoring, reserve, layers, jobs,
approvals, catalogue, webhooks, departments' remote services) plus the OpenAPI document.

Views only adapt HTTP to the services in `planfuse.services`: they parse the request, call
a plain function and return its data. The admin and embed areas serve their own /api/v1
routes on blueprints of their own (`planfuse.admin`, `planfuse.embed`).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from planfuse.api import (
    approvals,
    catalogue,
    chains,
    compliance,
    conflicts,
    jobs,
    layers,
    ledgers,
    openapi,
    plan_monitoring,
    remote,
    reserve,
    siting,
    webhooks,
)
from planfuse.http.responses import API_PREFIX

ROUTE_MODULES = (
    compliance,
    siting,
    conflicts,
    ledgers,
    plan_monitoring,
    reserve,
    layers,
    jobs,
    approvals,
    catalogue,
    chains,
    webhooks,
    remote,
    openapi,
)


def register(app: Flask) -> None:
    """Serve the function services from `app`: the `api` blueprint at /api/v1."""
    bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
    for module in ROUTE_MODULES:
        module.routes.add_to(bp)
    app.register_blueprint(bp)
