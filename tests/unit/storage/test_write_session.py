"""`Database.write_session` on SQLite: a read followed by a write takes the write lock at
the start (BEGIN IMMEDIATE), so another process's write in between waits its turn instead
of failing the read-then-write with "database is locked" (what a plain transaction does in
WAL mode once its snapshot is stale)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from planfuse.storage.database import Database


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'w.db'}", sqlite_busy_timeout_ms=5_000)
    with database.session() as session:
        session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1, 0)"))
    yield database
    database.dispose()


def other_writer(db: Database) -> threading.Thread:
    """Another connection adding 1, in a thread (it waits while a write lock is held)."""

    def write():
        with db.session() as session:
            session.execute(text("UPDATE t SET n = n + 1 WHERE id = 1"))

    return threading.Thread(target=write)


def test_a_plain_read_then_write_fails_when_another_writer_came_between(db):
    with pytest.raises(OperationalError, match="locked"), db.session() as session:
        session.execute(text("SELECT n FROM t")).scalar()  # the snapshot starts here
        writer = other_writer(db)
        writer.start()
        writer.join()  # nothing holds the write lock: it commits at once
        session.execute(text("UPDATE t SET n = n + 10 WHERE id = 1"))


def test_a_write_session_holds_the_lock_and_the_other_writer_waits(db):
    with db.write_session() as session:
        n = session.execute(text("SELECT n FROM t")).scalar()
        writer = other_writer(db)
        writer.start()
        writer.join(0.3)
        assert writer.is_alive()  # waiting for this transaction's write lock
        session.execute(text("UPDATE t SET n = :n WHERE id = 1"), {"n": n + 10})
    writer.join(5)
    assert not writer.is_alive()
    with db.session() as session:
        assert session.execute(text("SELECT n FROM t")).scalar() == 11
