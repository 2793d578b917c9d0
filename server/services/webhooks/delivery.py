"""Emitting events and delivering them: stored first, sent in the background, retried
with backoff until the receiver answers 2xx.

`emit` stores one delivery per matching subscription (`pending`, due now) and wakes the
process's dispatcher; `deliver_due` sends what is due. Several processes may run
dispatchers over one database: a delivery is claimed (its next attempt pushed past the
send's timeout, compare-and-set) before it is sent, so only one of them sends it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.webhooks.events import EVENT_TYPES
from planfuse.services.webhooks.signing import signature
from planfuse.services.webhooks.subscriptions import _row, matching, subscription_key
from planfuse.storage.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger("planfuse.webhooks")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
LOG_ATTEMPTS = 20
BATCH = 50
IDLE_WAIT_S = 30.0
USER_AGENT = "PlanFuse-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the HTTP status, or the error that stopped it."""

    status: int | None
    error: str | None = None


Sender = Callable[[str, dict[str, str], bytes, float], Answer]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A receiver answers where it was told: a redirect is an answer, not a new address."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http_send(url: str, headers: dict[str, str], body: bytes, timeout_s: float) -> Answer:
    """POST `body` to `url`; the status the receiver answered, or the error."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only, checked on subscribing)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(65536)
            return Answer(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Answer(exc.code)
    except (OSError, ValueError) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def emit(
    ctx: PlanFuse,
    event_type: str,
    data: Mapping[str, Any],
    *,
    app_ids: Sequence[str] | None = None,
    subscription_id: str | None = None,
    wake: bool = True,
) -> list[str]:
    """Store a delivery of the event for every subscription to it (of `app_ids`, or of
    every app; or the one `subscription_id`) and wake the dispatcher. The delivery ids."""
    if event_type not in EVENT_TYPES:
        raise InvalidInput(f"event type {event_type!r} is not declared in webhooks.events")
    if subscription_id is not None:
        with ctx.db.session() as session:
            row = _row(session, subscription_id, app_ids[0] if app_ids else None)
            session.expunge(row)
        targets = [row]
    else:
        targets = matching(ctx, event_type, app_ids)
    if not targets:
        return []
    now = _now()
    ids = []
    with ctx.db.session() as session:
        for sub in targets:
            msg_id = "msg_" + secrets.token_hex(12)
            body = {"type": event_type, "timestamp": now.isoformat(), "data": dict(data)}
            session.add(
                WebhookDelivery(
                    id=msg_id,
                    subscription_id=sub.id,
                    app_id=sub.app_id,
                    event_type=event_type,
                    payload=orjson.dumps(body),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    log=[],
                    created_at=now,
                )
            )
            ids.append(msg_id)
    if wake:
        dispatcher(ctx).wake()
    return ids


def _claim(ctx: PlanFuse, delivery: WebhookDelivery, now: datetime) -> bool:
    """Take the delivery for this attempt (False when another process took it)."""
    lease = now + timedelta(seconds=ctx.settings.webhook_timeout_s + 30)
    with ctx.db.session() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status == PENDING,
                WebhookDelivery.attempts == delivery.attempts,
            )
            .values(next_attempt_at=lease)
        )
        return result.rowcount == 1


def deliver_due(
    ctx: PlanFuse, *, now: datetime | None = None, send: Sender = http_send
) -> list[str]:
    """Attempt every pending delivery due at `now`; the ids attempted."""
    now = now or _now()
    with ctx.db.session() as session:
        due = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(BATCH)
        ).all()
        for row in due:
            session.expunge(row)
    done = []
    for delivery in due:
        if _claim(ctx, delivery, now):
            _attempt(ctx, delivery, now, send)
            done.append(delivery.id)
    return done


def _attempt(ctx: PlanFuse, delivery: WebhookDelivery, now: datetime, send: Sender) -> None:
    with ctx.db.session() as session:
        sub = session.get(WebhookSubscription, delivery.subscription_id)
        if sub is not None:
            session.expunge(sub)
    attempts = delivery.attempts + 1
    if sub is None or sub.disabled:
        answer = Answer(None, "the subscription was deleted or disabled")
        status, next_at = FAILED, None
    else:
        timestamp = int(now.timestamp())
        body = bytes(delivery.payload)
        key = subscription_key(ctx, sub.id, sub.secret_version)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(key, delivery.id, timestamp, body),
        }
        started = time.perf_counter()
        answer = send(sub.url, headers, body, float(ctx.settings.webhook_timeout_s))
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        ok = answer.status is not None and 200 <= answer.status < 300
        retries = list(ctx.settings.webhook_retry_s)
        if ok:
            status, next_at = DELIVERED, None
        elif attempts <= len(retries):
            status, next_at = PENDING, now + timedelta(seconds=retries[attempts - 1])
        else:
            status, next_at = FAILED, None
    entry = {
        "attempt": attempts,
        "at": now.isoformat(),
        "status_code": answer.status,
        "error": answer.error,
    }
    if sub is not None and not sub.disabled:
        entry["duration_ms"] = elapsed_ms
    with ctx.db.write_session() as session:
        row = session.get(WebhookDelivery, delivery.id)
        if row is None:
            return
        row.attempts = attempts
        row.status = status
        row.next_attempt_at = next_at
        row.last_status_code = answer.status
        row.last_error = answer.error
        row.log = [*(row.log or []), entry][-LOG_ATTEMPTS:]
        if status == DELIVERED:
            row.delivered_at = now
    log.info(
        "webhook %s (%s) attempt %s: %s",
        delivery.id,
        delivery.event_type,
        attempts,
        answer.status or answer.error,
        extra={"webhook": delivery.id, "status": status},
    )


def _delivery_entry(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscription_id": row.subscription_id,
        "app_id": row.app_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created": _iso(row.created_at),
        "delivered_at": _iso(row.delivered_at),
        "log": list(row.log or []),
        "payload": orjson.loads(bytes(row.payload)),
    }


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value else None


def list_deliveries(
    ctx: PlanFuse,
    *,
    app_id: str | None,
    subscription_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The delivery log, newest first (an app's own; every app's for admins)."""
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200", field="limit")
    if status is not None and status not in (PENDING, DELIVERED, FAILED):
        raise InvalidInput("status is pending, delivered or failed", field="status")
    query = select(WebhookDelivery).order_by(
        WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()
    )
    if app_id is not None:
        query = query.where(WebhookDelivery.app_id == app_id)
    if subscription_id is not None:
        with ctx.db.session() as session:
            _row(session, subscription_id, app_id)
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    with ctx.db.session() as session:
        return [_delivery_entry(r) for r in session.scalars(query.limit(limit)).all()]


def retry_delivery(ctx: PlanFuse, delivery_id: str, app_id: str | None) -> dict[str, Any]:
    """Make a failed (or pending) delivery due now again, with a fresh round of retries."""
    with ctx.db.session() as session:
        row = session.get(WebhookDelivery, delivery_id) if len(delivery_id) <= 40 else None
        if row is None or (app_id is not None and row.app_id != app_id):
            raise NotFound("webhook delivery", delivery_id)
        if row.status == DELIVERED:
            raise InvalidInput(f"delivery {delivery_id} was delivered; nothing to retry")
        row.status, row.next_attempt_at, row.attempts = PENDING, _now(), 0
        entry = _delivery_entry(row)
    dispatcher(ctx).wake()
    return entry


class Dispatcher:
    """A daemon thread of this process sending due deliveries: woken by `emit`, else it
    looks again when the next retry is due (at most every 30 s)."""

    def __init__(self, ctx: PlanFuse) -> None:
        self.ctx = ctx
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="planfuse-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _next_due_s(self) -> float:
        with self.ctx.db.session() as session:
            due = session.scalar(
                select(WebhookDelivery.next_attempt_at)
                .where(WebhookDelivery.status == PENDING)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(1)
            )
        if due is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max(0.05, (_aware(due) - _now()).total_seconds()))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                deliver_due(self.ctx)
                wait = self._next_due_s()
            except Exception:  # the database restarting must not end the thread
                log.exception("webhook dispatcher: sending failed; trying again shortly")
                wait = 5.0
            self._wake.wait(wait)


def dispatcher(ctx: PlanFuse) -> Dispatcher:
    """This process's dispatcher (started on first use)."""
    return ctx.shared("webhooks.dispatcher", lambda: Dispatcher(ctx))
