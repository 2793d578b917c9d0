"""The admin console's webhook page (事件推送): every app's subscriptions and the delivery
log, with a retry for a failed delivery; and its admin API twin
`GET /api/v1/admin/webhooks/deliveries` (in `planfuse.admin.webhooks_api`)."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from planfuse.admin.views import console_change, console_page, csrf_token
from planfuse.http.audit import audit_event
from planfuse.http.context import planfuse
from planfuse.http.routes import RouteTable
from planfuse.services.webhooks.delivery import list_deliveries, retry_delivery
from planfuse.services.webhooks.subscriptions import list_subscriptions

routes = RouteTable()

STATUS_NAMES = {
    "pending": "待重试 · pending",
    "delivered": "已送达 · delivered",
    "failed": "失败 · failed",
}


@routes.get("/webhooks")
@console_page
def webhooks_page():
    """Subscriptions and the latest deliveries (`status` filters them)."""
    ctx = planfuse()
    status = request.args.get("status") or None
    if status not in (None, *STATUS_NAMES):
        status = None
    return render_template(
        "admin/webhooks.html",
        admin=g.admin,
        subscriptions=list_subscriptions(ctx, None),
        deliveries=list_deliveries(ctx, app_id=None, status=status, limit=100),
        status=status,
        status_names=STATUS_NAMES,
        csrf=csrf_token(),
    )


@routes.post("/webhooks/deliveries/<delivery_id>/retry")
@console_change
def webhooks_retry(delivery_id: str):
    """Make a failed delivery due again now, then back to the log."""
    retry_delivery(planfuse(), delivery_id, None)
    audit_event("webhook.retry", f"webhook_delivery:{delivery_id}")
    return redirect(url_for("admin.webhooks_page"), 303)
