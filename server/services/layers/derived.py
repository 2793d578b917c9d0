"""State derived from a layer version, built once and shared by every process and host.

Some things take long to build from a layer version — which features overlap another of
their layer (tens of seconds on 500,000 features), a layer dissolved into tiles (seconds).
Each server process used to build its own. Now the first process that needs one builds it
and stores it in the `layer_derived` table, keyed by (layer, version, name); every other
process (another gunicorn worker, another host, a process started later) loads it in
milliseconds. A layer version never changes, so a stored entry is never stale; a new
import is a new version with entries of its own.

Entries are bytes; the helpers here pack the shapes they take — a bool array per
feature, geometries (WKB) with a small JSON header, and named numeric arrays.
"""

from __future__ import annotations

import io
import logging
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import orjson
import shapely
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from planfuse.context import PlanFuse
from planfuse.storage.models import LayerDerived

log = logging.getLogger("planfuse.layers.derived")
T = TypeVar("T")
_SIZE = struct.Struct("<Q")


def load(ctx: PlanFuse, layer_id: str, version: int, name: str) -> bytes | None:
    """The stored entry, or None (also when the store cannot be read: the caller builds)."""
    try:
        with ctx.db.session() as session:
            return session.scalar(
                select(LayerDerived.data).where(
                    LayerDerived.layer_id == layer_id,
                    LayerDerived.version == version,
                    LayerDerived.name == name,
                )
            )
    except SQLAlchemyError:
        log.warning("derived state %s/%s/%s could not be read", layer_id, version, name)
        return None


def names(ctx: PlanFuse, layer_id: str, version: int, prefix: str = "") -> list[str]:
    """Names of the entries stored for a layer version (starting with ``prefix``)."""
    try:
        with ctx.db.session() as session:
            found = session.scalars(
                select(LayerDerived.name).where(
                    LayerDerived.layer_id == layer_id, LayerDerived.version == version
                )
            ).all()
    except SQLAlchemyError:
        return []
    return sorted(n for n in found if n.startswith(prefix))


def store(
    ctx: PlanFuse, layer_id: str, version: int, name: str, data: bytes, build_s: float
) -> None:
    """Store an entry once (a second process storing the same entry is ignored)."""
    from planfuse.services.jobs import worker_id

    try:
        with ctx.db.session() as session:
            session.add(
                LayerDerived(
                    layer_id=layer_id,
                    version=version,
                    name=name,
                    data=data,
                    build_s=round(build_s, 3),
                    built_by=worker_id(),
                )
            )
    except IntegrityError:
        return  # built by another process meanwhile: the same bytes
    except SQLAlchemyError:
        log.warning("derived state %s/%s/%s could not be stored", layer_id, version, name)
        return
    log.info(
        "stored %s of %s v%s (%d bytes, built in %.1f s)",
        name,
        layer_id,
        version,
        len(data),
        build_s,
    )


def get_or_build(
    ctx: PlanFuse,
    layer_id: str,
    version: int,
    name: str,
    build: Callable[[], T],
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
) -> T:
    """The entry, loaded if stored, else built, stored and returned."""
    data = load(ctx, layer_id, version, name)
    if data is not None:
        return decode(data)
    started = time.perf_counter()
    value = build()
    seconds = time.perf_counter() - started
    store(ctx, layer_id, version, name, encode(value), seconds)
    return value


# --- packing -----------------------------------------------------------------------------


def pack_mask(mask: np.ndarray) -> bytes:
    """A bool array as bytes (1 bit per feature)."""
    mask = np.asarray(mask, dtype=bool)
    return _SIZE.pack(len(mask)) + np.packbits(mask).tobytes()


def unpack_mask(data: bytes) -> np.ndarray:
    (n,) = _SIZE.unpack_from(data)
    bits = np.frombuffer(data, dtype=np.uint8, offset=_SIZE.size)
    return np.unpackbits(bits, count=n).astype(bool)


def pack_geometries(geoms: np.ndarray, header: dict[str, Any] | None = None) -> bytes:
    """Geometries (WKB, exact) and a JSON header, compressed."""
    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object)).tolist() if len(geoms) else []
    head = orjson.dumps({**(header or {}), "sizes": [len(w) for w in wkb]})
    return zlib.compress(_SIZE.pack(len(head)) + head + b"".join(wkb), 1)


def unpack_geometries(data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
    raw = zlib.decompress(data)
    (n,) = _SIZE.unpack_from(raw)
    header = orjson.loads(raw[_SIZE.size : _SIZE.size + n])
    offset = _SIZE.size + n
    wkb = []
    for size in header.pop("sizes"):
        wkb.append(raw[offset : offset + size])
        offset += size
    geoms = shapely.from_wkb(wkb) if wkb else np.empty(0, dtype=object)
    return np.asarray(geoms, dtype=object), header


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Named numeric arrays (ints, floats, bools; never objects) as bytes, compressed."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: np.asarray(a) for name, a in arrays.items()})
    return buffer.getvalue()


def unpack_arrays(data: bytes) -> dict[str, np.ndarray]:
    # allow_pickle=False: an entry is data, never code, whoever wrote the row.
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}
