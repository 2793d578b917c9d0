"""Writing an imported layer version's features in bulk: `COPY` on PostgreSQL, prepared
`executemany` on SQLite, inside the caller's transaction.

The ORM's insert is 2–3× slower here, and import speed matters for million-feature layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice, repeat
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy.orm import Session

FEATURE_COLUMNS = (
    "layer_id",
    "version",
    "fid",
    "geom",
    "minx",
    "miny",
    "maxx",
    "maxy",
    "area_m2",
    "length_m",
    "district",
    "properties",
)

# SQLite page cache (KiB, as a negative cache_size) while a layer is written: the bbox
# index is filled in spatial, not key, order, and with the default 2 MiB cache its pages
# are evicted and re-read all the time (measured: 1,000,000 rows twice as fast with it).
SQLITE_IMPORT_CACHE_KIB = 262_144


def feature_rows(
    layer_id: str,
    version: int,
    geoms: np.ndarray,
    bounds: np.ndarray,
    areas: np.ndarray,
    lengths: np.ndarray,
    districts: list[str | None],
    properties: list[dict[str, Any]],
) -> Iterator[tuple]:
    """The feature rows in FEATURE_COLUMNS order, fids from 1, properties as JSON text."""
    n = len(geoms)
    minx, miny, maxx, maxy = np.asarray(bounds, dtype=np.float64).reshape(n, 4).T.tolist()
    return zip(
        repeat(layer_id, n),
        repeat(version, n),
        range(1, n + 1),
        shapely.to_wkb(geoms, output_dimension=2).tolist(),
        minx,
        miny,
        maxx,
        maxy,
        np.asarray(areas, dtype=np.float64).tolist(),
        np.asarray(lengths, dtype=np.float64).tolist(),
        districts,
        (orjson.dumps(p).decode() for p in properties),
        strict=True,
    )


def write_feature_rows(
    session: Session,
    rows: Iterable[tuple],
    *,
    total: int,
    batch: int = 5000,
    progress: Callable[[float], None] = lambda done: None,
) -> None:
    """Bulk-insert feature rows (tuples in FEATURE_COLUMNS order, properties as JSON text)
    inside the session's transaction, calling `progress(fraction done)` after each batch."""
    conn = session.connection()
    cursor = conn.connection.driver_connection.cursor()
    writer = _copy_writer if conn.dialect.name == "postgresql" else _insert_writer
    done = 0
    with writer(cursor) as write:
        for chunk in _batches(rows, max(1, batch)):
            write(chunk)
            done += len(chunk)
            progress(done / total)
    progress(1.0)


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


Write = Callable[[list[tuple]], None]


@contextmanager
def _insert_writer(cursor) -> Iterator[Write]:
    """SQLite: one prepared INSERT run over each batch, with a large page cache for the
    whole write (restored afterwards)."""
    columns = ", ".join(FEATURE_COLUMNS)
    placeholders = ", ".join("?" for _ in FEATURE_COLUMNS)
    sql = f"INSERT INTO features ({columns}) VALUES ({placeholders})"  # noqa: S608
    previous = int(cursor.execute("PRAGMA cache_size").fetchone()[0])
    cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB:d}")
    try:
        yield lambda rows: cursor.executemany(sql, rows)
    finally:
        cursor.execute(f"PRAGMA cache_size = {previous:d}")


@contextmanager
def _copy_writer(cursor) -> Iterator[Write]:
    """PostgreSQL: one COPY in text format, each batch formatted here column by column
    (C-level maps; psycopg's per-value `write_row` costs several times as much)."""
    columns = ", ".join(FEATURE_COLUMNS)
    with cursor.copy(f"COPY features ({columns}) FROM STDIN") as copy:
        yield lambda rows: copy.write(copy_text(rows))


def copy_text(rows: list[tuple]) -> str:
    """Rows (FEATURE_COLUMNS order) as COPY text: tab-separated, NULL as \\N, bytea as
    \\\\x hex, floats as their shortest exact repr."""
    layer_id, version, fid, geom, *floats, district, props = zip(*rows, strict=True)
    fields = [
        map(_copy_text, layer_id),
        map(str, version),
        map(str, fid),
        map("\\\\x".__add__, map(bytes.hex, geom)),
        *(map(repr, column) for column in floats),
        map(_copy_text, district),
        map(_copy_text, props),
    ]
    return "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str | None) -> str:
    """A text value escaped for COPY's text format (most need no escaping at all)."""
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value
