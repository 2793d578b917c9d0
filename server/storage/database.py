"""Engine, sessions and schema upgrades for the planning database.

SQLite (the embedded default) runs in WAL mode with a busy timeout so several server
processes can read while one writes; PostgreSQL needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Longest a new PostgreSQL connection may take (a server that is down or unreachable must
#: fail a request quickly, not hold a worker).
PG_CONNECT_TIMEOUT_S = 5
#: SQLite's OperationalErrors that mean "not now" rather than a mistake in a statement.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open", "disk i/o")


class DatabaseConfigError(ValueError):
    """The database URL cannot be used; the message says how to fix it."""


def normalise_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and use the psycopg 3 driver for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """An engine and a session factory; created once per app or CLI command."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30_000, echo: bool = False):
        url = normalise_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseConfigError(
                f"database URL {url!r} is not a valid SQLAlchemy URL; use e.g. "
                "sqlite:///planfuse.db or postgresql+psycopg://user@127.0.0.1:5432/db"
            ) from None
        self.url = parsed
        self.dialect = parsed.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise DatabaseConfigError(
                f"database {self.dialect!r} is not supported; use SQLite or PostgreSQL"
            )
        kwargs: dict = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {
                "timeout": sqlite_busy_timeout_ms / 1000,
                "check_same_thread": False,
            }
        else:
            # A connection that died with its server (a restart) is replaced on checkout.
            kwargs["pool_pre_ping"] = True
            if "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: Passed to the migrations beside the engine (see `upgrade_schema`).
        self.migration_attributes: dict[str, Any] = {}

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """`session()` for a read followed by a write. On SQLite the transaction takes the
        write lock at its start (BEGIN IMMEDIATE), so it waits its turn behind other
        writers (`busy_timeout`); a plain transaction that read first would fail at once
        with "database is locked" when another process wrote in between."""
        with self.session() as session:
            if self.dialect == "sqlite":
                session.connection(execution_options={"sqlite_begin": "immediate"})
            yield session

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        upgrade_schema(self.engine, attributes=self.migration_attributes)

    def dispose(self) -> None:
        self.engine.dispose()


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used right now (its server stopped or
    restarted, a connection broke, the pool is exhausted, SQLite is locked) rather than that
    a statement is wrong: worth a retry later, and a 503 to a client, never a 500."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, InterfaceError):
        return True
    if isinstance(exc, OperationalError):
        if type(exc.orig).__module__.startswith("sqlite3"):
            return any(m in str(exc.orig).lower() for m in _SQLITE_TRANSIENT)
        # PostgreSQL's OperationalErrors are connection failures, shutdowns, cancelled
        # statements and serialisation failures (SQLSTATE classes 08, 57, 40): all transient.
        return True
    return False


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not the driver, manage transactions (pysqlite's legacy mode
        # would otherwise defer BEGIN and break SAVEPOINTs).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        immediate = conn.get_execution_options().get("sqlite_begin") == "immediate"
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(engine: Engine, attributes: dict[str, Any] | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes.update(attributes or {})
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(
    engine: Engine, revision: str = "head", *, attributes: dict[str, Any] | None = None
) -> None:
    """Apply migrations up to `revision` (a new database is created from scratch).

    `attributes`: what data migrations may need beside the engine (`settings`, for the
    migration that encrypts secrets at rest with the server key)."""
    from alembic import command

    command.upgrade(alembic_config(engine, attributes), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
