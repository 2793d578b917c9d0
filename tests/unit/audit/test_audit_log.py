"""The audit log service on SQLite and PostgreSQL: what `record` stores (actor, action,
target, origin, detail without secrets), filters and paging, the CSV export, and that the
database refuses to change or delete an event."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from planfuse.errors import InvalidInput
from planfuse.services import audit
from planfuse.services.audit import CLI, Actor, AuditQuery, bind_origin, parse_query, record
from planfuse.storage.models import AuditEvent

ADMIN = Actor.admin("a1b2", "张三")


def count(ctx) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def test_record_stores_who_what_target_origin_and_time(ctx):
    before = datetime.now(UTC)
    with bind_origin("203.0.113.9", "req-1"):
        event_id = record(ctx, ADMIN, "app.create", "app:app_1", {"name": "审批平台"})
    [event] = audit.list_events(ctx, AuditQuery())["events"]
    assert event["id"] == event_id
    assert event["actor"] == {"kind": "admin", "id": "a1b2", "name": "张三"}
    assert event["action"] == "app.create" and event["target"] == "app:app_1"
    assert event["origin"] == "203.0.113.9" and event["request_id"] == "req-1"
    assert event["detail"] == {"name": "审批平台"}
    at = datetime.fromisoformat(event["at"])
    assert at.tzinfo is not None and before - timedelta(seconds=1) <= at <= datetime.now(UTC)


def test_origin_is_system_unless_bound(ctx):
    record(ctx, CLI, "signing_key.rotate", "signing_key:k1")
    assert audit.list_events(ctx, AuditQuery())["events"][0]["origin"] == "system"


def test_secrets_never_reach_the_log(ctx):
    record(
        ctx,
        ADMIN,
        "key.rotate",
        "app:app_1",
        {"kid": "k2", "secret": "s3cr3t", "nested": [{"access_token": "t"}], "grace_s": 60},
    )
    detail = audit.list_events(ctx, AuditQuery())["events"][0]["detail"]
    assert detail == {
        "kid": "k2",
        "secret": "[redacted]",
        "nested": [{"access_token": "[redacted]"}],
        "grace_s": 60,
    }


def test_an_unknown_action_is_a_programming_error(ctx):
    with pytest.raises(ValueError, match="ACTIONS"):
        record(ctx, ADMIN, "app.explode", "app:app_1")
    assert count(ctx) == 0


def test_the_database_refuses_to_change_or_delete_events(ctx):
    record(ctx, ADMIN, "app.create", "app:app_1")
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(update(AuditEvent).values(actor_id="someone else"))
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(text("UPDATE audit_events SET action = 'app.update'"))
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(delete(AuditEvent))
    assert count(ctx) == 1
    assert audit.list_events(ctx, AuditQuery())["events"][0]["actor"]["id"] == "a1b2"


def test_filters_and_paging(ctx):
    user = Actor.user("app_1", "u1", "李四")
    for i in range(5):
        record(ctx, ADMIN, "app.update", f"app:app_{i}")
    record(ctx, user, "conflict.change", "conflict:7", {"status": "coordinating"})
    record(ctx, CLI, "layer.import", "layer:basic_farmland", {"version": 2})

    def ids(**args) -> list[str]:
        return [e["target"] for e in audit.list_events(ctx, parse_query(args))["events"]]

    assert ids(action="layer") == ["layer:basic_farmland"]
    assert ids(action="conflict.change") == ["conflict:7"]
    assert ids(actor="app_1/u1") == ["conflict:7"]
    assert ids(target="app:app_3") == ["app:app_3"]
    assert len(ids(target="app:")) == 5
    # Newest first, in pages joined by next_before.
    first = audit.list_events(ctx, parse_query({"limit": "3"}))
    assert [e["target"] for e in first["events"]] == [
        "layer:basic_farmland",
        "conflict:7",
        "app:app_4",
    ]
    rest = audit.list_events(ctx, parse_query({"before": str(first["next_before"])}))
    assert [e["target"] for e in rest["events"]] == [f"app:app_{i}" for i in (3, 2, 1, 0)]
    assert rest["next_before"] is None
    now = datetime.now(UTC)
    assert ids(since=(now + timedelta(minutes=1)).isoformat()) == []
    assert len(ids(until=(now + timedelta(minutes=1)).isoformat())) == 7


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-12-01T00:00:00"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"before": "-1"}, "before"),
        ({"before": "99999999999999999999999"}, "before"),
        ({"action": "DROP TABLE"}, "action"),
        ({"actor": "x" * 300}, "actor"),
    ],
)
def test_bad_filters_name_the_argument(args, field):
    with pytest.raises(InvalidInput) as caught:
        parse_query(args)
    assert caught.value.errors[0]["field"] == field


def test_csv_export_has_every_matching_event_and_defuses_formulas(ctx):
    for i in range(7):
        record(ctx, ADMIN, "app.update", f"app:app_{i}")
    record(ctx, Actor.user("app_1", "u9", '=HYPERLINK("http://x")'), "conflict.change", "c:1")
    text_ = "".join(audit.export_csv(ctx, parse_query({}), batch=3))
    assert text_.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text_.lstrip("\ufeff"))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert len(rows) == 1 + 8
    assert rows[1][4] == '\'=HYPERLINK("http://x")'
    only_apps = "".join(audit.export_csv(ctx, parse_query({"action": "app"})))
    assert len(list(csv.reader(io.StringIO(only_apps)))) == 1 + 7
