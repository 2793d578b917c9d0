"""Coordinate arrays of GeoJSON and WKT geometries checked: nesting depth, positions,
finite numbers, ring closure and size, counted against the vertex budget.
"""

from __future__ import annotations

import math

import numpy as np

from planfuse.geo.errors import (
    shown,
)
from planfuse.geo.parse.shapes import (
    COORDINATE_DEPTH,
    COORDINATE_EXAMPLE,
    MAX_NESTING_DEPTH,
    ParseContext,
)

# --- GeoJSON -----------------------------------------------------------------------------


def _nesting_depth(obj, limit: int) -> int:
    """Depth of nested lists along the first elements, counting at most to ``limit + 1``.

    Iterative, so a 100,000-deep array costs ``limit`` steps and no recursion.
    """
    depth = 0
    while isinstance(obj, list):
        depth += 1
        if depth > limit or not obj:
            break
        obj = obj[0]
    return depth


def check_coordinates(
    gtype: str, coords, index: int, ctx: ParseContext
) -> list[list[np.ndarray]] | None:
    """Check a GeoJSON ``coordinates`` value for ``gtype``; return parts → rings → arrays."""
    if not isinstance(coords, list):
        ctx.add(f"'coordinates' must be an array {COORDINATE_EXAMPLE[gtype]}", feature=index)
        return None
    if not coords:
        ctx.add(f"the {gtype} is empty", feature=index)
        return None
    expected = COORDINATE_DEPTH[gtype]
    depth = _nesting_depth(coords, MAX_NESTING_DEPTH)
    if depth > MAX_NESTING_DEPTH:
        ctx.add(
            f"coordinates are nested deeper than {MAX_NESTING_DEPTH} levels; a {gtype} "
            f"needs {expected}: {COORDINATE_EXAMPLE[gtype]}",
            feature=index,
        )
        return None
    if depth != expected and not (depth < expected and _has_empty_leaf(coords, depth)):
        ctx.add(
            f"coordinates of a {gtype} must be nested {expected} level(s) deep, "
            f"{COORDINATE_EXAMPLE[gtype]}; found {depth}",
            feature=index,
        )
        return None
    ok = True
    if gtype == "Point":
        arr = _positions([coords], index, None, None, ctx, single=True)
        return None if arr is None else [[arr]]
    if gtype in ("LineString", "MultiPoint"):
        arr = _positions(coords, index, None, None, ctx)
        if arr is None:
            return None
        if gtype == "MultiPoint":
            return [[arr[i : i + 1]] for i in range(len(arr))]
        if len(arr) < 2:
            ctx.add("a LineString needs at least 2 positions", feature=index)
            return None
        return [[arr]]
    if gtype == "MultiLineString":
        parts = []
        for p, line in enumerate(coords):
            arr = _positions(line, index, p, None, ctx)
            if arr is None:
                ok = False
            elif len(arr) < 2:
                ctx.add("a LineString needs at least 2 positions", feature=index, part=p)
                ok = False
            else:
                parts.append([arr])
        return parts if ok else None
    if gtype == "Polygon":
        rings = _rings(coords, index, None, ctx)
        return None if rings is None else [rings]
    parts = []
    for p, polygon in enumerate(coords):
        if not isinstance(polygon, list):
            ctx.add("a polygon must be an array of rings", feature=index, part=p)
            ok = False
            continue
        rings = _rings(polygon, index, p, ctx)
        if rings is None:
            ok = False
        else:
            parts.append(rings)
    return parts if ok else None


def _has_empty_leaf(coords, depth: int) -> bool:
    """True when the first-element chain ends in an empty list (depth was cut short)."""
    obj = coords
    for _ in range(depth - 1):
        obj = obj[0]
    return isinstance(obj, list) and not obj


def _rings(rings, index: int, part: int | None, ctx: ParseContext) -> list[np.ndarray] | None:
    if not rings:
        ctx.add("the polygon has no rings", feature=index, part=part)
        return None
    out = []
    ok = True
    for r, ring in enumerate(rings):
        arr = _positions(ring, index, part, r, ctx)
        if arr is None:
            ok = False
            continue
        n = len(arr)
        if n < 4:
            ctx.add(
                f"the ring has {n} position(s); a closed ring needs at least 4 (the first "
                "position repeated at the end)",
                feature=index,
                part=part,
                ring=r,
            )
            ok = False
            continue
        if not (arr[0, 0] == arr[-1, 0] and arr[0, 1] == arr[-1, 1]):
            ctx.add(
                f"the ring is not closed: it starts at ({arr[0, 0]:.10g}, {arr[0, 1]:.10g}) "
                f"and ends at ({arr[-1, 0]:.10g}, {arr[-1, 1]:.10g}); repeat the first "
                "position at the end",
                feature=index,
                part=part,
                ring=r,
                vertex=n - 1,
            )
            ok = False
            continue
        out.append(arr)
    return out if ok else None


def _is_number(v) -> bool:
    t = type(v)
    return t is float or t is int


def _ok_position(p) -> bool:
    # type() rather than isinstance(): bool is an int subclass and JSON true is no number.
    if type(p) is not list:
        return False
    n = len(p)
    if n == 2:
        return _is_number(p[0]) and _is_number(p[1])
    return n == 3 and _is_number(p[0]) and _is_number(p[1]) and _is_number(p[2])


def _positions(
    seq,
    index: int,
    part: int | None,
    ring: int | None,
    ctx: ParseContext,
    *,
    single: bool = False,
) -> np.ndarray | None:
    """Check a list of positions ([x, y] or [x, y, z] numbers); return an (n, 2) array.

    Fast path: one pass of type checks in Python, then numpy for finiteness. Only when
    that fails is each position examined to name the bad vertex.
    """
    where = {"feature": index, "part": part, "ring": ring}
    if not isinstance(seq, list):
        ctx.add("expected an array of positions [[x, y], ...]", **where)
        return None
    ctx.count(len(seq))
    if all(map(_ok_position, seq)):
        try:
            arr = np.array([p[:2] for p in seq], dtype=np.float64).reshape(-1, 2)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all():
            return arr
    # Slow path: name every bad vertex.
    bad = False
    for v, p in enumerate(seq):
        vertex = None if single else v
        if not isinstance(p, list):
            ctx.add("a position must be an array [x, y]", vertex=vertex, **where)
            bad = True
            continue
        if not 2 <= len(p) <= 3:
            ctx.add(
                f"a position must have 2 or 3 numbers [x, y(, z)]; found {len(p)}",
                vertex=vertex,
                **where,
            )
            bad = True
            continue
        for value in p:
            if isinstance(value, list):
                message = "a coordinate must be a number; found an array (nested too deeply)"
            elif not _is_number(value):
                found = "true/false" if isinstance(value, bool) else type(value).__name__
                if isinstance(value, str):
                    found = f"the string '{shown(value, 20)}'"
                elif value is None:
                    found = "null"
                message = f"a coordinate must be a number; found {found}"
            elif not _finite(value):
                message = (
                    f"coordinate {value} is not a finite number (NaN and Infinity are refused)"
                )
            else:
                continue
            ctx.add(message, vertex=vertex, **where)
            bad = True
            break
    if bad:
        return None
    return np.array([p[:2] for p in seq], dtype=np.float64).reshape(-1, 2)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
