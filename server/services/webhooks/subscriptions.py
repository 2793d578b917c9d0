"""Host apps' webhook endpoints (订阅): each app manages its own; an admin sees them all.

A subscription's secret is derived from the server secret, its id and its secret version,
so it is never stored: it is shown when the subscription is made or its secret rotated,
and recomputed to sign each delivery.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.webhooks.events import EVENT_TYPES
from planfuse.services.webhooks.signing import secret_text
from planfuse.signing.secret import derived_key
from planfuse.storage.models import WebhookSubscription

MAX_PER_APP = 20
URL_MAX = 2000


def subscription_key(ctx: PlanFuse, subscription_id: str, version: int) -> bytes:
    """The HMAC key of a subscription's secret (version `version`)."""
    return derived_key(ctx, f"webhook:{subscription_id}:{version}".encode())


def _check_url(ctx: PlanFuse, url: Any) -> str:
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise InvalidInput("url is the receiver's absolute URL", field="url")
    parts = urlsplit(url)
    allowed = ("https", "http") if ctx.settings.webhook_allow_http else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
        raise InvalidInput(
            f"url {url!r} must be an absolute {' or '.join(allowed)} URL without credentials",
            field="url",
            code="invalid_webhook_url",
        )
    return url


def _check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidInput("events is a non-empty list of event types", field="events")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"event type(s) {', '.join(unknown)} unknown; "
            f"there are {', '.join(sorted(EVENT_TYPES))}",
            field="events",
            code="unknown_event_type",
        )
    return sorted(set(events))


def _entry(row: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": row.id,
        "app_id": row.app_id,
        "url": row.url,
        "events": list(row.events),
        "description": row.description,
        "disabled": row.disabled,
        "created_by": row.created_by,
        "created": row.created_at.isoformat() if row.created_at else None,
    }


def create_subscription(
    ctx: PlanFuse,
    app_id: str,
    url: Any,
    events: Any,
    *,
    description: str = "",
    created_by: str = "",
) -> dict[str, Any]:
    """A new subscription of `app_id` with its secret (shown this once)."""
    url = _check_url(ctx, url)
    events = _check_events(events)
    if not isinstance(description, str) or len(description) > 200:
        raise InvalidInput("description is text of at most 200 characters", field="description")
    with ctx.db.write_session() as session:
        count = len(
            session.scalars(
                select(WebhookSubscription.id).where(WebhookSubscription.app_id == app_id)
            ).all()
        )
        if count >= MAX_PER_APP:
            raise InvalidInput(
                f"an app has at most {MAX_PER_APP} webhook subscriptions; delete one first",
                code="too_many_webhooks",
            )
        row = WebhookSubscription(
            id="wh_" + secrets.token_hex(12),
            app_id=app_id,
            url=url,
            events=events,
            description=description,
            secret_version=1,
            disabled=False,
            created_by=created_by[:200],
        )
        session.add(row)
        session.flush()
        entry = _entry(row)
    entry["secret"] = secret_text(subscription_key(ctx, entry["id"], 1))
    return entry


def _row(session, subscription_id: str, app_id: str | None) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id) if len(subscription_id) <= 40 else None
    # Another app's subscription answers as one that does not exist: nothing to probe.
    if row is None or (app_id is not None and row.app_id != app_id):
        raise NotFound("webhook subscription", subscription_id)
    return row


def get_subscription(ctx: PlanFuse, subscription_id: str, app_id: str | None) -> dict[str, Any]:
    """One subscription (of `app_id`; None: any, for admins)."""
    with ctx.db.session() as session:
        return _entry(_row(session, subscription_id, app_id))


def list_subscriptions(ctx: PlanFuse, app_id: str | None) -> list[dict[str, Any]]:
    """The app's subscriptions (every app's for None), oldest first."""
    query = select(WebhookSubscription).order_by(
        WebhookSubscription.created_at, WebhookSubscription.id
    )
    if app_id is not None:
        query = query.where(WebhookSubscription.app_id == app_id)
    with ctx.db.session() as session:
        return [_entry(r) for r in session.scalars(query).all()]


def rotate_secret(ctx: PlanFuse, subscription_id: str, app_id: str | None) -> dict[str, Any]:
    """A new secret; deliveries are signed with it from now on (the old one stops)."""
    with ctx.db.session() as session:
        row = _row(session, subscription_id, app_id)
        row.secret_version += 1
        version = row.secret_version
        entry = _entry(row)
    entry["secret"] = secret_text(subscription_key(ctx, subscription_id, version))
    return entry


def delete_subscription(ctx: PlanFuse, subscription_id: str, app_id: str | None) -> None:
    """Remove a subscription; its pending deliveries are not sent any more."""
    with ctx.db.write_session() as session:
        session.delete(_row(session, subscription_id, app_id))


def matching(ctx: PlanFuse, event_type: str, app_ids: Sequence[str] | None) -> list[Any]:
    """Active subscriptions to `event_type` (of `app_ids`, or of every app)."""
    query = select(WebhookSubscription).where(WebhookSubscription.disabled.is_(False))
    if app_ids is not None:
        query = query.where(WebhookSubscription.app_id.in_(list(app_ids)))
    with ctx.db.session() as session:
        rows = session.scalars(query.order_by(WebhookSubscription.id)).all()
        for row in rows:
            session.expunge(row)
    return [r for r in rows if event_type in (r.events or [])]
