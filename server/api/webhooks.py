"""Webhooks over HTTP: a host app's backend (HTTP Basic) manages its own subscriptions and
reads their delivery log (server/api/openapi/webhooks.yaml, docs/webhooks.md)."""

from __future__ import annotations

from flask import request

from planfuse.auth.caller import Caller
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_caller
from planfuse.http.context import planfuse
from planfuse.http.parsing import int_arg, json_body
from planfuse.http.problems import ProblemError
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.webhooks.delivery import emit, list_deliveries, retry_delivery
from planfuse.services.webhooks.events import event_types
from planfuse.services.webhooks.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    rotate_secret,
)

routes = RouteTable()


def backend() -> Caller:
    """The host app's backend (Basic credentials); a widget session may not manage webhooks."""
    caller = require_caller()
    if caller.via != "basic":
        raise ProblemError(
            403,
            "forbidden",
            "webhooks are managed by the host app's backend with its Basic credentials, not "
            "from a widget session",
            title="Forbidden",
        )
    return caller


@routes.get("/webhooks/event-types")
def webhook_event_types():
    """The event types a subscription may ask for."""
    backend()
    return json_response({"event_types": event_types()})


@routes.get("/webhooks")
def webhooks_list():
    """The app's subscriptions."""
    caller = backend()
    return json_response({"webhooks": list_subscriptions(planfuse(), caller.app_id)})


@routes.post("/webhooks")
def webhooks_create():
    """Subscribe `url` to `events`; the answer holds the signing secret, shown this once."""
    caller = backend()
    body = json_body(example='{"url": "https://portal.example.gov.cn/hooks", "events": [...]}')
    entry = create_subscription(
        planfuse(),
        caller.app_id,
        body.get("url"),
        body.get("events"),
        description=body.get("description") or "",
        created_by=f"app:{caller.app_id}",
    )
    audit_event(
        "webhook.create", f"webhook:{entry['id']}", {"url": entry["url"], "events": entry["events"]}
    )
    return json_response(entry, 201, NO_STORE, location=f"webhooks/{entry['id']}")


@routes.get("/webhooks/<subscription_id>")
def webhooks_get(subscription_id: str):
    caller = backend()
    return json_response(get_subscription(planfuse(), subscription_id, caller.app_id))


@routes.delete("/webhooks/<subscription_id>")
def webhooks_delete(subscription_id: str):
    caller = backend()
    delete_subscription(planfuse(), subscription_id, caller.app_id)
    audit_event("webhook.delete", f"webhook:{subscription_id}")
    return "", 204


@routes.post("/webhooks/<subscription_id>/rotate-secret")
def webhooks_rotate(subscription_id: str):
    """A new signing secret (the old one stops signing at once)."""
    caller = backend()
    entry = rotate_secret(planfuse(), subscription_id, caller.app_id)
    audit_event("webhook.rotate_secret", f"webhook:{subscription_id}")
    return json_response(entry, 200, NO_STORE)


@routes.post("/webhooks/<subscription_id>/test")
def webhooks_test(subscription_id: str):
    """Send a `webhook.test` message to this subscription now."""
    caller = backend()
    ctx = planfuse()
    get_subscription(ctx, subscription_id, caller.app_id)
    ids = emit(
        ctx,
        "webhook.test",
        {"message": "PlanFuse webhook test · 测试消息"},
        app_ids=[caller.app_id],
        subscription_id=subscription_id,
    )
    return json_response({"delivery_id": ids[0]}, 202)


@routes.get("/webhooks/<subscription_id>/deliveries")
def webhooks_deliveries(subscription_id: str):
    """The subscription's delivery log, newest first (`status`, `limit`)."""
    caller = backend()
    deliveries = list_deliveries(
        planfuse(),
        app_id=caller.app_id,
        subscription_id=subscription_id,
        status=request.args.get("status"),
        limit=int_arg("limit", 50) or 50,
    )
    return json_response({"deliveries": deliveries})


@routes.post("/webhooks/deliveries/<delivery_id>/retry")
def webhooks_retry(delivery_id: str):
    """Send a failed delivery again now, with a fresh round of retries."""
    caller = backend()
    entry = retry_delivery(planfuse(), delivery_id, caller.app_id)
    audit_event("webhook.retry", f"webhook_delivery:{delivery_id}")
    return json_response(entry, 202)
