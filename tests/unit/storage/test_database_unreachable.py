"""Which database errors mean "not now" (503 with Retry-After) and which are bugs (500)."""

import sqlite3

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from planfuse.http.problems import problem_from_exception
from planfuse.storage import Database
from planfuse.storage.database import database_unreachable


def sqlite_error(message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


def test_sqlite_locked_is_unreachable_and_a_missing_table_is_not(tmp_path):
    assert database_unreachable(sqlite_error("database is locked"))
    assert database_unreachable(sqlite_error("unable to open database file"))
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    except OperationalError as exc:
        assert not database_unreachable(exc)
        assert problem_from_exception(exc).status == 500
    finally:
        db.dispose()


def test_postgresql_down_is_a_503_with_retry_after():
    # Nothing listens on port 1: the connection is refused at once.
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        assert database_unreachable(exc)
        problem = problem_from_exception(exc)
        assert (problem.status, problem.code) == (503, "database_unavailable")
        assert problem.headers["Retry-After"] == "5"
    else:
        raise AssertionError("connected to nothing")
    finally:
        db.dispose()
    assert not database_unreachable(ProgrammingError("SELECT", {}, Exception("no table")))
