"""WKT → checked shapes: a bounded tokenizer, one or more geometries separated by
whitespace or ``;``.
"""

from __future__ import annotations

import math
import re

from planfuse.geo.errors import (
    shown,
)
from planfuse.geo.parse.coordinates import check_coordinates
from planfuse.geo.parse.shapes import GEOMETRY_TYPES, ParseContext, Shape

# --- WKT ---------------------------------------------------------------------------------

_WKT_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z_]+)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<punct>[(),;=])|(?P<other>\S))"
)
# Parenthesis depth of each WKT type's coordinates (MULTIPOLYGON (((x y, ...))) is 3).
_WKT_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
}
_WKT_MAX_PAREN_DEPTH = 3


class _WKTError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Tokens:
    """Lazy WKT tokenizer with one token of lookahead (memory stays bounded by progress)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._peeked: tuple[str, str, int] | None = None

    def peek(self) -> tuple[str, str, int] | None:
        if self._peeked is None:
            m = _WKT_TOKEN.match(self.text, self.pos)
            if m is None:  # only whitespace is left
                return None
            kind = m.lastgroup
            self._peeked = (kind, m.group(kind), m.start(kind))
            self.pos = m.end()
        return self._peeked

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _WKTError("unexpected end of WKT", len(self.text))
        self._peeked = None
        return token


def wkt_shapes(text: str, ctx: ParseContext) -> list[Shape]:
    """Parse one or more WKT geometries (separated by whitespace or ';')."""
    # Positions are separated by commas, rings and parts by "),(": the commas not before a
    # "(" are a lower bound of the vertices, so an oversized text is refused unparsed.
    ctx.check_total(text.count(",") - text.count("("))
    shapes: list[Shape] = []
    tokens = _Tokens(text)
    index = 0
    while True:
        token = tokens.peek()
        if token is None:
            break
        if token[1] == ";":
            tokens.next()
            continue
        try:
            gtype, coords = _wkt_geometry(tokens, ctx)
        except _WKTError as exc:
            line = text.count("\n", 0, exc.pos) + 1
            col = exc.pos - (text.rfind("\n", 0, exc.pos) + 1) + 1
            ctx.add(f"invalid WKT at line {line}, column {col}: {exc.message}", feature=index)
            return shapes
        if ctx.allowed is not None and gtype not in ctx.allowed:
            ctx.add(
                f"geometry type {gtype} is not allowed here; expected "
                + " or ".join(t for t in GEOMETRY_TYPES if t in ctx.allowed),
                feature=index,
            )
        else:
            parts = check_coordinates(gtype, coords, index, ctx)
            if parts is not None:
                shapes.append(Shape(gtype, parts, index, {}))
        index += 1
    return shapes


def _wkt_geometry(tokens: _Tokens, ctx: ParseContext) -> tuple[str, list]:
    kind, value, pos = tokens.next()
    if kind != "word":
        raise _WKTError(f"expected a geometry type, found '{shown(value, 20)}'", pos)
    upper = value.upper()
    if upper == "SRID":
        raise _WKTError(
            "EWKT 'SRID=…;' prefixes are not accepted; pass the CRS separately (e.g. EPSG:4490)",
            pos,
        )
    if upper == "GEOMETRYCOLLECTION":
        raise _WKTError(
            "GEOMETRYCOLLECTION is not supported; send one geometry per feature or a MULTI* "
            "geometry",
            pos,
        )
    if upper not in _WKT_TYPES:
        raise _WKTError(f"unknown geometry type '{shown(value, 30)}'", pos)
    gtype = _WKT_TYPES[upper]
    dims = 2
    kind, value, pos = tokens.next()
    if kind == "word" and value.upper() == "Z":
        dims = 3
        kind, value, pos = tokens.next()
    elif kind == "word" and value.upper() in ("M", "ZM"):
        raise _WKTError(f"{value.upper()} coordinates are not supported; send x y or x y z", pos)
    if kind == "word" and value.upper() == "EMPTY":
        raise _WKTError(f"the {gtype} is empty", pos)
    if value != "(":
        raise _WKTError(f"expected '(' after {upper}", pos)
    # Iterative parse of nested parentheses into nested lists; the depth is bounded, and
    # positions are counted as they are read so huge input stops at max_vertices.
    root: list = [[]]
    stack: list[list] = [root, root[0]]
    position: list[float] | None = None
    while len(stack) > 1:
        kind, value, pos = tokens.next()
        if value == "(":
            if position is not None:
                raise _WKTError("expected ',' or ')' before '('", pos)
            if len(stack) > _WKT_MAX_PAREN_DEPTH:
                raise _WKTError(
                    f"parentheses are nested deeper than {_WKT_MAX_PAREN_DEPTH} levels", pos
                )
            child: list = []
            stack[-1].append(child)
            stack.append(child)
        elif kind == "num":
            if position is None:
                position = []
                stack[-1].append(position)
                ctx.count(1)
            if len(position) >= dims:
                raise _WKTError(f"a position has more than {dims} numbers (missing ',')", pos)
            number = float(value)
            if not math.isfinite(number):
                raise _WKTError(f"number {shown(value, 30)} is not finite", pos)
            position.append(number)
        elif value in (",", ")"):
            if position is not None and len(position) < 2:
                raise _WKTError("a position needs x and y", pos)
            position = None
            if value == ")":
                stack.pop()
        elif kind == "word":
            raise _WKTError(
                f"unexpected '{shown(value, 20)}' (coordinates must be finite numbers)",
                pos,
            )
        else:
            raise _WKTError(f"unexpected '{shown(value, 20)}'", pos)
    coords = root[0]
    # WKT wraps points in one more level than GeoJSON; MULTIPOINT allows both forms.
    if gtype == "Point":
        if len(coords) != 1 or not isinstance(coords[0], list):
            raise _WKTError("a POINT has exactly one position", pos)
        coords = coords[0]
    elif gtype == "MultiPoint":
        coords = [
            c[0] if len(c) == 1 and isinstance(c[0], list) and isinstance(c[0][0], float) else c
            for c in coords
        ]
    return gtype, coords
