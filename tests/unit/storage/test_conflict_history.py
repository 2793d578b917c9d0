"""Conflict history is append-only, on SQLite and PostgreSQL: the services have no path
that changes it, and the database refuses UPDATE and DELETE (migration triggers)."""

from __future__ import annotations

import pytest
from conflict_world import build_world
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from planfuse.services.conflicts import detection_jobs, queries, workflow
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import detect
from planfuse.services.conflicts.detection_jobs import save_detection
from planfuse.services.conflicts.queries import ConflictQuery, conflict_history, list_conflicts
from planfuse.services.conflicts.workflow import change_status, parse_change
from planfuse.storage.models import ConflictEvent


@pytest.fixture
def history(ctx, tmp_path):
    build_world(ctx, tmp_path)
    save_detection(ctx, detect(ctx, "three_lines"), job_id=None, actor=Actor("a", "u"))
    cid = list_conflicts(ctx, ConflictQuery())["conflicts"][0]["id"]
    change_status(
        ctx, cid, parse_change({"status": "coordinating", "note": "开始协调"}), Actor("a", "u")
    )
    return cid


def count(ctx) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(ConflictEvent))


def test_the_database_refuses_to_update_history(ctx, history):
    before = conflict_history(ctx, history)
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(update(ConflictEvent).values(note="rewritten"))
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(text("UPDATE conflict_history SET app_id = 'x'"))
    assert conflict_history(ctx, history) == before


def test_the_database_refuses_to_delete_history(ctx, history):
    n = count(ctx)
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.session() as s:
        s.execute(delete(ConflictEvent).where(ConflictEvent.conflict_id == history))
    assert count(ctx) == n


def test_every_change_appends(ctx, history):
    n = count(ctx)
    change_status(ctx, history, parse_change({"note": "补充"}), Actor("b", "v"))
    assert count(ctx) == n + 1
    events = conflict_history(ctx, history)
    assert [e["action"] for e in events] == ["detected", "status", "note"]
    assert events[-1]["by"]["app"] == "b"


def test_the_service_has_no_path_that_changes_history():
    # The public functions of the service write history only through INSERTs.
    import inspect

    source = "".join(inspect.getsource(m) for m in (detection_jobs, queries, workflow))
    assert "update(ConflictEvent" not in source
    assert "delete(" not in source
