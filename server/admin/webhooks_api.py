"""The admin API of webhooks: every app's subscriptions and delivery log
(`GET /api/v1/admin/webhooks`, `GET /api/v1/admin/webhooks/deliveries`)."""

from __future__ import annotations

from flask import request

from planfuse.http.caller import require_admin
from planfuse.http.context import planfuse
from planfuse.http.parsing import int_arg
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.webhooks.delivery import list_deliveries
from planfuse.services.webhooks.subscriptions import list_subscriptions

routes = RouteTable()


@routes.get("/admin/webhooks")
def admin_webhooks():
    """Every app's webhook subscriptions."""
    require_admin()
    return json_response({"webhooks": list_subscriptions(planfuse(), None)})


@routes.get("/admin/webhooks/deliveries")
def admin_webhook_deliveries():
    """The delivery log of every app, newest first (`app_id`, `status`, `limit`)."""
    require_admin()
    deliveries = list_deliveries(
        planfuse(),
        app_id=request.args.get("app_id") or None,
        status=request.args.get("status") or None,
        limit=int_arg("limit", 50) or 50,
    )
    return json_response({"deliveries": deliveries})
