"""Backups of the planning database while servers use it, and restoring one.

* SQLite: SQLite's online backup API copies the database page by page in one read
  transaction. In WAL mode (how PlanFuse opens SQLite) a reader blocks no writer, so servers
  keep writing while the copy is taken, and the copy is the database as of one instant (its
  committed transactions, WAL included). The backup is a plain SQLite file.
* PostgreSQL: `pg_dump --format=custom` (one snapshot; it blocks no reader or writer) and
  `pg_restore` in one transaction. The tools must be at least the server's major version (an
  older pg_dump refuses a newer server); the server's own major version under
  /usr/lib/postgresql is preferred over PATH. A database URL with a `search_path` option
  (one schema per instance) dumps and restores that schema only.

A restore goes into an empty database unless `replace` is asked for, and the restored
database is then upgraded to this code's newest migration, so a backup taken by an older
release restores into a newer one. What a backup holds is what the database holds: layers
and every version, apps and their keys, reports with their signatures, the audit log, the
server's signing keys — the secrets sealed under the server key, which lives outside the
database (restore with the same key). Guard backup files as the database.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from planfuse.errors import Conflict, InvalidInput, Unavailable
from planfuse.storage.database import Database, current_revision

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
#: Where Debian and Ubuntu install each PostgreSQL major version's tools.
PG_VERSIONED_BIN = "/usr/lib/postgresql/{major}/bin"
#: Longest a pg_dump or pg_restore may run before it is stopped (a hung server).
PG_TOOL_TIMEOUT_S = 6 * 3600


@dataclass(frozen=True)
class BackupSummary:
    """One backup or restore: which database, which file, how big, how long."""

    database: str
    dialect: str
    path: str
    bytes: int
    revision: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "dialect": self.dialect,
            "path": self.path,
            "bytes": self.bytes,
            "revision": self.revision,
            "seconds": round(self.seconds, 3),
        }


def backup_database(db: Database, target: Path, *, pg_bin_dir: str = "") -> BackupSummary:
    """Copy the database `db` into `target` (replaced atomically when it exists) while other
    processes keep using it. Returns what was copied."""
    started = time.monotonic()
    target = Path(target)
    if not target.parent.is_dir():
        raise InvalidInput(
            f"folder {str(target.parent)!r} does not exist; create it or name another file",
            field="file",
        )
    revision = current_revision(db.engine)
    if revision is None:
        raise InvalidInput(
            f"{_shown(db.url)} holds no PlanFuse database yet; nothing to back up "
            "(run `planfuse db upgrade` or import data first)",
            field="database",
        )
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if db.dialect == "sqlite":
            _sqlite_copy(_sqlite_path(db.url), partial)
        else:
            _pg_dump(db, partial, pg_bin_dir)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(
        _shown(db.url),
        db.dialect,
        str(target),
        target.stat().st_size,
        revision,
        time.monotonic() - started,
    )


def restore_database(
    db: Database, source: Path, *, replace: bool = False, pg_bin_dir: str = ""
) -> BackupSummary:
    """Restore the backup `source` into `db`, then upgrade it to the newest migration.

    `db` must hold no PlanFuse tables unless `replace` is set (then its content is replaced
    in one step: SQLite's backup API into the file, or pg_restore with --clean in one
    transaction). Servers that were using a replaced database keep per-version state in
    memory: restart them after a replace.
    """
    started = time.monotonic()
    source = Path(source)
    kind = backup_kind(source)
    if kind != db.dialect:
        raise InvalidInput(
            f"{source} is a {kind} backup but {_shown(db.url)} is {db.dialect}; restore it into "
            f"a {kind} database (set PLANFUSE_DATABASE_URL)",
            field="file",
        )
    existing = _planfuse_tables(db)
    if existing and not replace:
        raise Conflict(
            f"{_shown(db.url)} already holds a PlanFuse database ({len(existing)} tables, "
            f"revision {current_revision(db.engine) or 'none'}); restore into an empty "
            "database, or pass --replace to overwrite it",
            code="database_not_empty",
        )
    db.dispose()  # no pooled connection of ours holds the old content or a lock
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(db.url))
    else:
        _pg_restore(db, source, pg_bin_dir, clean=bool(existing))
    db.dispose()
    db.upgrade()
    return BackupSummary(
        _shown(db.url),
        db.dialect,
        str(source),
        source.stat().st_size,
        current_revision(db.engine),
        time.monotonic() - started,
    )


def backup_kind(path: Path) -> str:
    """ "sqlite" or "postgresql": what the backup file at `path` is, from its first bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InvalidInput(f"backup file {str(path)!r} does not exist", field="file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{str(path)!r} is a folder; name a backup file", field="file") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise InvalidInput(
        f"{str(path)!r} is neither a SQLite database nor a pg_dump custom-format archive; "
        "name a file written by `planfuse db backup`",
        field="file",
    )


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file::memory:"):
        raise InvalidInput(
            "an in-memory SQLite database cannot be backed up or restored; use a file",
            field="database",
        )
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with the online backup API in one step (pages=-1): one read transaction, so a
    consistent snapshot that never restarts, and in WAL mode writers carry on meanwhile."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dest = sqlite3.connect(target)
    try:
        src.backup(dest, pages=-1)
        # The copy stands alone: one file, no -wal beside it.
        dest.execute("PRAGMA journal_mode=DELETE")
        _check_sqlite(dest, target)
    finally:
        dest.close()
        src.close()


def _sqlite_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check_sqlite(src, source)
        dest = sqlite3.connect(target, timeout=30)
        try:
            # The database's own mode, as PlanFuse opens it; the copy takes the write lock
            # for its one step, so readers see the old content or the new, nothing between.
            dest.execute("PRAGMA journal_mode=WAL")
            src.backup(dest, pages=-1)
        finally:
            dest.close()
    finally:
        src.close()


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise InvalidInput(
            f"{path} fails SQLite's integrity check: {'; '.join(problems[:5])}", field="file"
        )


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_dump(db: Database, target: Path, bin_dir: str) -> None:
    tool = pg_tool(db, "pg_dump", bin_dir)
    args = [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
    schema = search_path_schema(db.url)
    if schema:
        args.append(f"--schema={schema}")
    _run(args, _pg_env(db.url), "pg_dump")


def _pg_restore(db: Database, source: Path, bin_dir: str, *, clean: bool) -> None:
    tool = pg_tool(db, "pg_restore", bin_dir)
    schema = search_path_schema(db.url)
    env = _pg_env(db.url)
    if schema:
        dumped = _dumped_schemas(tool, source, env)
        if dumped and schema not in dumped:
            raise InvalidInput(
                f"{source} holds schema {', '.join(sorted(dumped))} but the database URL "
                f"names schema {schema!r}; set the URL's search_path to the backup's schema",
                field="file",
            )
        # The dump creates its schema; an empty one made in advance would clash.
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}"'))
        db.dispose()
    args = [
        tool,
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={db.url.database}",
    ]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, str(source)], env, "pg_restore")


def _dumped_schemas(tool: str, source: Path, env: Mapping[str, str]) -> set[str]:
    listing = _run([tool, "--list", str(source)], env, "pg_restore --list")
    return set(re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing, flags=re.MULTILINE))


def search_path_schema(url: URL) -> str | None:
    """The schema a URL's `options=-csearch_path=…` names (its first), or None."""
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"search_path\s*=\s*([A-Za-z_][A-Za-z0-9_$]*)", options or "")
    return match.group(1) if match else None


def server_major(db: Database) -> int:
    """The PostgreSQL server's major version, e.g. 15."""
    with db.engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000


def tool_major(tool: str) -> int | None:
    """The major version a PostgreSQL client tool reports (`pg_dump (PostgreSQL) 15.20`)."""
    try:
        out = subprocess.run(  # noqa: S603 - a fixed tool path, no shell
            [tool, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def pg_tool(db: Database, name: str, bin_dir: str = "") -> str:
    """The path of `name` (pg_dump, pg_restore) that can work with this server: from
    `bin_dir` when set, else the server's major version's folder, else PATH; its major
    version must be at least the server's."""
    major = server_major(db)
    candidates = [Path(bin_dir) / name] if bin_dir else []
    candidates.append(Path(PG_VERSIONED_BIN.format(major=major)) / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    tried = []
    for candidate in candidates:
        if not candidate.is_file():
            continue
        version = tool_major(str(candidate))
        if version is not None and version >= major:
            return str(candidate)
        tried.append(f"{candidate} is PostgreSQL {version}")
    detail = "; ".join(tried) or f"no {name} found"
    raise Unavailable(
        f"{name} of PostgreSQL {major} or newer is needed for a server of PostgreSQL {major} "
        f"({detail}); install postgresql-client-{major} or set PLANFUSE_PG_BIN_DIR",
        code="pg_tools_missing",
    )


def _pg_env(url: URL) -> dict[str, str]:
    """libpq's environment for the URL: no password on the command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[key] = str(value)
    for name, key in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        value = url.query.get(name)
        if isinstance(value, str):
            env[key] = value
    return env


def _run(args: list[str], env: Mapping[str, str], what: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed tool path and arguments, no shell
            args, env=dict(env), capture_output=True, text=True, timeout=PG_TOOL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{what} did not finish in {PG_TOOL_TIMEOUT_S} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(
            f"{what} failed (exit {done.returncode}): {' / '.join(message[-5:])}",
            code="database_tool_failed",
        )
    return done.stdout


# --- shared -------------------------------------------------------------------------------


def _planfuse_tables(db: Database) -> list[str]:
    """The tables of a PlanFuse database present in `db` (its schema on PostgreSQL)."""
    with db.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
    return sorted(names & {"alembic_version", "layers", "layer_versions", "features"})


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)
