"""Webhooks on SQLite and PostgreSQL against a real receiver: Standard Webhooks signatures
the receiver checks with its own code, retries with backoff until a 2xx, the delivery log,
secrets rotated, subscriptions isolated by app, bad input refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from webhook_receiver import signature_ok, webhook_receiver

from planfuse.errors import InvalidInput, NotFound
from planfuse.services.webhooks.delivery import (
    deliver_due,
    dispatcher,
    emit,
    list_deliveries,
    retry_delivery,
)
from planfuse.services.webhooks.signing import WebhookVerificationError, verify
from planfuse.services.webhooks.subscriptions import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    rotate_secret,
)
from planfuse.storage.models import WebhookDelivery

WARNING = {"indicator": "construction_land", "area": "500112", "year": 2025, "status": "warning"}


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_http": True, "webhook_retry_s": [5, 300]}


@pytest.fixture
def receiver():
    with webhook_receiver() as r:
        yield r


def subscribe(ctx, receiver, app="app-a", events=("monitoring.warning",)):
    return create_subscription(ctx, app, receiver.url, list(events), description="审批平台")


def test_a_signed_message_the_receiver_verifies(ctx, receiver):
    sub = subscribe(ctx, receiver)
    assert sub["secret"].startswith("whsec_")
    (msg_id,) = emit(ctx, "monitoring.warning", WARNING, wake=False)
    assert deliver_due(ctx) == [msg_id]
    (message,) = receiver.received
    assert message.path == "/hooks/planfuse"
    assert message.headers["webhook-id"] == msg_id
    assert message.headers["content-type"] == "application/json"
    assert signature_ok(sub["secret"], message)
    verify(sub["secret"], message.headers, message.body)  # the helper for receivers agrees
    body = json.loads(message.body)
    assert body["type"] == "monitoring.warning" and body["data"] == WARNING
    (entry,) = list_deliveries(ctx, app_id="app-a")
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["log"][0]["status_code"] == 200
    # A tampered body, another secret or a stale timestamp do not verify.
    with pytest.raises(WebhookVerificationError):
        verify(sub["secret"], message.headers, message.body + b" ")
    other = create_subscription(ctx, "app-a", receiver.url, ["webhook.test"])["secret"]
    with pytest.raises(WebhookVerificationError):
        verify(other, message.headers, message.body)
    late = int(message.headers["webhook-timestamp"]) + 301
    with pytest.raises(WebhookVerificationError):
        verify(sub["secret"], message.headers, message.body, now=late)


def test_retries_with_backoff_until_a_2xx(ctx, receiver):
    subscribe(ctx, receiver)
    receiver.answers = [500, 503]
    (msg_id,) = emit(ctx, "monitoring.warning", WARNING, wake=False)
    t0 = datetime.now(UTC)
    assert deliver_due(ctx, now=t0) == [msg_id]
    (entry,) = list_deliveries(ctx, app_id="app-a")
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("pending", 1, 500)
    # Not due before the first wait (5 s) has passed.
    assert deliver_due(ctx, now=t0 + timedelta(seconds=4)) == []
    assert deliver_due(ctx, now=t0 + timedelta(seconds=6)) == [msg_id]
    assert deliver_due(ctx, now=t0 + timedelta(seconds=200)) == []
    assert deliver_due(ctx, now=t0 + timedelta(seconds=400)) == [msg_id]
    (entry,) = list_deliveries(ctx, app_id="app-a")
    assert entry["status"] == "delivered" and entry["attempts"] == 3
    assert [a["status_code"] for a in entry["log"]] == [500, 503, 200]
    # Every attempt carried the same message id and a valid signature.
    assert {m.headers["webhook-id"] for m in receiver.received} == {msg_id}


def test_a_delivery_fails_when_the_retries_are_spent_and_can_be_retried(ctx, receiver):
    subscribe(ctx, receiver)
    receiver.answers = [500, 500, 500]
    (msg_id,) = emit(ctx, "monitoring.warning", WARNING, wake=False)
    t0 = datetime.now(UTC)
    for seconds in (0, 10, 400):
        deliver_due(ctx, now=t0 + timedelta(seconds=seconds))
    (entry,) = list_deliveries(ctx, app_id="app-a", status="failed")
    assert entry["attempts"] == 3 and entry["next_attempt_at"] is None
    # Cleared before the retry: the dispatcher it wakes may send at once.
    receiver.received.clear()
    receiver.answers = []
    assert retry_delivery(ctx, msg_id, "app-a")["status"] == "pending"
    receiver.wait_for(1)  # the dispatcher, woken by the retry, sends it
    assert list_deliveries(ctx, app_id="app-a")[0]["status"] in ("pending", "delivered")


def test_an_unreachable_receiver_is_logged_and_retried(ctx):
    create_subscription(ctx, "app-a", "http://127.0.0.1:9/nothing", ["monitoring.warning"])
    emit(ctx, "monitoring.warning", WARNING, wake=False)
    deliver_due(ctx)
    (entry,) = list_deliveries(ctx, app_id="app-a")
    assert entry["status"] == "pending" and entry["last_status_code"] is None
    assert "Error" in entry["last_error"]


def test_the_dispatcher_sends_what_is_emitted(ctx, receiver):
    sub = subscribe(ctx, receiver)
    emit(ctx, "monitoring.warning", WARNING)
    (message,) = receiver.wait_for(1)
    assert signature_ok(sub["secret"], message)
    dispatcher(ctx).close()


def test_rotating_the_secret(ctx, receiver):
    sub = subscribe(ctx, receiver)
    rotated = rotate_secret(ctx, sub["id"], "app-a")["secret"]
    assert rotated != sub["secret"]
    emit(ctx, "monitoring.warning", WARNING, wake=False)
    deliver_due(ctx)
    (message,) = receiver.received
    assert signature_ok(rotated, message) and not signature_ok(sub["secret"], message)


def test_apps_see_and_receive_only_their_own(ctx, receiver):
    mine = subscribe(ctx, receiver, app="app-a")
    theirs = subscribe(ctx, receiver, app="app-b")
    subscribe(ctx, receiver, app="app-c", events=["webhook.test"])
    assert [s["id"] for s in list_subscriptions(ctx, "app-a")] == [mine["id"]]
    assert "secret" not in get_subscription(ctx, mine["id"], "app-a")
    with pytest.raises(NotFound):
        get_subscription(ctx, theirs["id"], "app-a")
    with pytest.raises(NotFound):
        delete_subscription(ctx, theirs["id"], "app-a")
    # An event for one app reaches only that app; a broadcast every subscriber to it.
    assert len(emit(ctx, "monitoring.warning", WARNING, app_ids=["app-b"], wake=False)) == 1
    assert len(emit(ctx, "monitoring.warning", WARNING, wake=False)) == 2
    with ctx.db.session() as session:
        apps = session.scalars(select(WebhookDelivery.app_id)).all()
    assert sorted(apps) == ["app-a", "app-b", "app-b"]
    assert len(list_deliveries(ctx, app_id="app-a")) == 1


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("ftp://example.org/hook", ["monitoring.warning"], "url"),
        ("https://user:pw@example.org/hook", ["monitoring.warning"], "url"),
        ("/relative", ["monitoring.warning"], "url"),
        ("https://example.org/hook", [], "events"),
        ("https://example.org/hook", ["monitoring.everything"], "events"),
    ],
)
def test_bad_subscriptions_are_refused(ctx, url, events, field):
    with pytest.raises(InvalidInput) as err:
        create_subscription(ctx, "app-a", url, events)
    assert err.value.errors[0]["field"] == field
    assert list_subscriptions(ctx, None) == []


def test_plain_http_only_when_allowed(ctx, settings_overrides):
    ctx.settings.webhook_allow_http = False
    with pytest.raises(InvalidInput) as err:
        create_subscription(ctx, "app-a", "http://example.org/hook", ["monitoring.warning"])
    assert "https" in err.value.message
