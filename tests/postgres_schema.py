"""A private schema in the PostgreSQL test database, dropped afterwards: for tests and
benchmarks that need empty tables of their own beside others' runs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, text


def private_schema_url(admin_url: str, prefix: str = "pf_") -> Iterator[str]:
    """Yield a database URL whose search_path is a new schema; drop it when done."""
    schema = prefix + secrets.token_hex(6)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
