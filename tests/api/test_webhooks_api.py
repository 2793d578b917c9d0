"""Webhooks over HTTP: a host backend subscribes, tests its endpoint against a real
receiver that checks the signature, reads its delivery log; widget sessions and other
apps are kept out; the admin API and console show every app's deliveries."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from embed_support import basic, session_headers
from sqlalchemy import select
from webhook_receiver import signature_ok, webhook_receiver

from planfuse.services.webhooks.delivery import deliver_due, emit
from planfuse.storage.models import AuditEvent


@pytest.fixture
def settings_overrides():
    return {"webhook_allow_http": True, "webhook_retry_s": [5]}


@pytest.fixture
def api(embed_app):
    return embed_app.test_client()


@pytest.fixture
def receiver():
    with webhook_receiver() as r:
        yield r


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_subscribe_test_and_read_the_log(api, pf, host, receiver):
    auth = basic(host)
    types = api.get("/api/v1/webhooks/event-types", headers=auth).get_json()["event_types"]
    assert "monitoring.warning" in {t["type"] for t in types}
    r = api.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["monitoring.warning"], "description": "审批平台"},
        headers=auth,
    )
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    sub = r.get_json()
    assert sub["secret"].startswith("whsec_") and sub["app_id"] == host.id
    sent = api.post(f"/api/v1/webhooks/{sub['id']}/test", headers=auth)
    assert sent.status_code == 202
    (message,) = receiver.wait_for(1)
    assert signature_ok(sub["secret"], message)
    assert b'"type":"webhook.test"' in message.body
    deadline = time.monotonic() + 10
    while True:  # the receiver answered; the dispatcher records it right after
        log = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth).get_json()
        (entry,) = log["deliveries"]
        if entry["status"] == "delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert entry["id"] == sent.get_json()["delivery_id"] == message.headers["webhook-id"]
    assert entry["status"] == "delivered" and entry["log"][0]["status_code"] == 200
    listed = api.get("/api/v1/webhooks", headers=auth).get_json()["webhooks"]
    assert [w["id"] for w in listed] == [sub["id"]] and "secret" not in listed[0]
    rotated = api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=auth).get_json()
    assert rotated["secret"] != sub["secret"]
    assert api.delete(f"/api/v1/webhooks/{sub['id']}", headers=auth).status_code == 204
    with pf.db.session() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor_id).where(
                AuditEvent.target == f"webhook:{sub['id']}"
            )
        ).all()
    assert sorted(events) == [
        ("webhook.create", host.id),
        ("webhook.delete", host.id),
        ("webhook.rotate_secret", host.id),
    ]
    problem(api.get(f"/api/v1/webhooks/{sub['id']}", headers=auth), 404)


def test_other_apps_and_widget_sessions_are_kept_out(api, host, other_host, receiver):
    sub = api.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["monitoring.warning"]},
        headers=basic(host),
    ).get_json()
    theirs = basic(other_host)
    problem(api.get(f"/api/v1/webhooks/{sub['id']}", headers=theirs), 404)
    problem(api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=theirs), 404)
    problem(api.delete(f"/api/v1/webhooks/{sub['id']}", headers=theirs), 404)
    assert api.get("/api/v1/webhooks", headers=theirs).get_json()["webhooks"] == []
    session = session_headers(api, host, "probe", sub="user-1")
    body = problem(api.get("/api/v1/webhooks", headers=session), 403)
    assert "Basic" in body["detail"]
    problem(api.get("/api/v1/webhooks"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.example/hook", "events": ["monitoring.warning"]}, "url"),
        ({"url": "https://x.example/hook", "events": ["nope"]}, "events"),
        ({"url": "https://x.example/hook"}, "events"),
        ({"events": ["monitoring.warning"]}, "url"),
    ],
)
def test_bad_subscriptions_are_problems(api, host, body, field):
    assert (
        problem(api.post("/api/v1/webhooks", json=body, headers=basic(host)), 400)["errors"][0][
            "field"
        ]
        == field
    )
    assert api.get("/api/v1/webhooks", headers=basic(host)).get_json()["webhooks"] == []


def test_admins_see_every_delivery_and_retry_a_failed_one(api, pf, host, admin_token, receiver):
    api.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["monitoring.warning"]},
        headers=basic(host),
    )
    receiver.answers = [500, 500]
    (msg_id,) = emit(pf, "monitoring.warning", {"area": "500112"}, wake=False)
    t0 = datetime.now(UTC)
    deliver_due(pf, now=t0)
    deliver_due(pf, now=t0 + timedelta(seconds=10))
    admin = {"Authorization": f"Bearer {admin_token}"}
    body = api.get("/api/v1/admin/webhooks/deliveries?status=failed", headers=admin).get_json()
    assert [d["id"] for d in body["deliveries"]] == [msg_id]
    assert len(api.get("/api/v1/admin/webhooks", headers=admin).get_json()["webhooks"]) == 1
    problem(api.get("/api/v1/admin/webhooks/deliveries"), 401)
    # The console lists it with a retry form (CSRF-protected).
    login = api.get("/admin/login")
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', login.data).group(1).decode()
    api.post("/admin/login", data={"token": admin_token, "csrf_token": csrf})
    page = api.get("/admin/webhooks?status=failed")
    assert page.status_code == 200 and msg_id.encode() in page.data
    assert b"HTTP 500" in page.data
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    problem(api.post(f"/admin/webhooks/deliveries/{msg_id}/retry"), 403)
    r = api.post(f"/admin/webhooks/deliveries/{msg_id}/retry", data={"csrf_token": csrf})
    assert r.status_code == 303
    receiver.wait_for(3)
