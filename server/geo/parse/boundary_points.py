"""界址点坐标 (boundary-point coordinate lists, as surveyors deliver them) → checked shapes:
one point per line, ``point_no, x, y`` or ``point_no, ring_no, x, y``, parcels, rings and
the axis order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import shapely

from planfuse.geo.errors import (
    shown,
)
from planfuse.geo.parse.shapes import ParseContext, Shape

# --- 界址点坐标 (boundary-point lists) ------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"\d{1,6}")
# Attribute-line fields of the 国土资源部 coordinate exchange format ("…,@" lines).
_PARCEL_FIELDS = (
    "界址点数",
    "地块面积",
    "地块编号",
    "地块名称",
    "记录图形属性",
    "图幅号",
    "地块用途",
    "地类编码",
)


@dataclass
class _Point:
    name: str
    a: float
    b: float
    line: int


@dataclass
class _Ring:
    points: list[_Point]
    ring_no: str | None


@dataclass
class _Parcel:
    rings: list[_Ring] = field(default_factory=list)
    properties: dict = field(default_factory=dict)
    line: int = 0


# A line that can hold a boundary point: a digit before any comment, and no '=' (metadata)
# or '@' (a parcel's attribute line). Counted by the regex engine in one pass over the text.
_POINT_LINE = re.compile(r"^[^#\n=@]*\d[^\n=@]*$", re.MULTILINE)


def count_point_lines(text: str) -> int:
    """An upper bound of the boundary points in ``text``, without parsing a line."""
    return sum(1 for _ in _POINT_LINE.finditer(text))


def _split_fields(line: str) -> list[str]:
    line = line.replace("，", ",").replace("；", ",").replace(";", ",")
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def boundary_point_shapes(text: str, ctx: ParseContext) -> list[Shape]:
    # Only a text with more lines than the cap can be over it; such a text is counted at
    # C speed first, so a 500,000-line list is refused before any line is parsed.
    if text.count("\n") >= ctx.max_vertices:
        ctx.check_total(count_point_lines(text))
    parcels: list[_Parcel] = []
    parcel: _Parcel | None = None
    ring: _Ring | None = None
    header_seen = False
    data_seen = False
    in_metadata = False

    def close_ring() -> None:
        nonlocal ring, parcel
        if ring is not None and ring.points:
            if parcel is None:
                parcel = _Parcel()
                parcels.append(parcel)
            parcel.rings.append(ring)
        ring = None

    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            close_ring()
            continue
        if line.startswith("[") and line.endswith("]"):
            close_ring()
            in_metadata = line == "[属性描述]"
            continue
        if in_metadata:
            continue
        fields = _split_fields(line)
        if fields[-1] == "@":
            close_ring()
            parcel = _Parcel(line=line_no)
            parcels.append(parcel)
            attrs = fields[:-1]
            for key, value in zip(_PARCEL_FIELDS, attrs, strict=False):
                if value != "":
                    parcel.properties[key] = value
            if len(attrs) > len(_PARCEL_FIELDS):
                parcel.properties["其他"] = attrs[len(_PARCEL_FIELDS) :]
            data_seen = True
            continue
        if (
            len(fields) in (3, 4)
            and _NUMBER.fullmatch(fields[-1])
            and _NUMBER.fullmatch(fields[-2])
        ):
            ring_no = fields[1] if len(fields) == 4 else None
            if ring_no is not None and not _INTEGER.fullmatch(ring_no):
                ctx.add(f"ring number '{shown(ring_no, 20)}' is not an integer", line=line_no)
                continue
            a, b = float(fields[-2]), float(fields[-1])
            if not (math.isfinite(a) and math.isfinite(b)):
                ctx.add("coordinates must be finite numbers", line=line_no)
                continue
            if not fields[0]:
                ctx.add("the point number is missing", line=line_no)
                continue
            if ring is not None and ring_no != ring.ring_no:
                close_ring()
            if ring is None:
                ring = _Ring([], ring_no)
            ctx.count(1)
            ring.points.append(_Point(fields[0], a, b, line_no))
            data_seen = True
            continue
        if not data_seen and not header_seen and "=" not in line:
            header_seen = True
            continue
        if not data_seen and "=" in line:
            continue  # key=value metadata outside a [属性描述] section
        ctx.add(
            "expected 'point_no, x, y' or 'point_no, ring_no, x, y' with numeric x and y; "
            f"found {len(fields)} field(s): '{shown(line, 60)}'",
            line=line_no,
        )
    close_ring()
    parcels = [p for p in parcels if p.rings]
    if ctx.problems or not parcels:
        if not parcels and not ctx.problems:
            ctx.add("no boundary points found; expected lines 'point_no, x, y'")
        return []
    swap, note = _axis_order(parcels, ctx)
    if ctx.problems:
        return []
    shapes = []
    for index, parcel in enumerate(parcels):
        shape = _parcel_shape(parcel, index, swap, ctx)
        if shape is not None:
            shape.notes.append(note)
            shapes.append(shape)
    return shapes


def _looks_easting(v: float) -> bool:
    if 100_000 <= v < 1_000_000:
        return True
    return 13_000_000 <= v < 46_000_000 and 100_000 <= v % 1_000_000 < 900_000


def _looks_northing(v: float) -> bool:
    return 1_000_000 <= v < 10_000_000


def _axis_order(parcels: list[_Parcel], ctx: ParseContext) -> tuple[bool, str]:
    """Decide whether (a, b) is (northing, easting) — swap — or (easting, northing)."""
    first_en: _Point | None = None
    first_ne: _Point | None = None
    degrees = True
    for parcel in parcels:
        for ring in parcel.rings:
            for p in ring.points:
                if abs(p.a) > 180 or abs(p.b) > 180:
                    degrees = False
    for parcel in parcels:
        for ring in parcel.rings:
            for p in ring.points:
                if degrees:
                    en = p.a > p.b  # longitude > latitude everywhere in China
                    ne = p.a < p.b
                else:
                    en = _looks_easting(p.a) and _looks_northing(p.b)
                    ne = _looks_northing(p.a) and _looks_easting(p.b)
                if en and not ne and first_en is None:
                    first_en = p
                if ne and not en and first_ne is None:
                    first_ne = p
    if first_en is not None and first_ne is not None:
        ctx.add(
            f"the axis order is mixed: line {first_ne.line} lists X (northing) first but line "
            f"{first_en.line} lists the easting first; use one order for the whole list",
            line=first_en.line,
        )
        return False, ""
    if first_en is not None:
        what = "longitude, latitude" if degrees else "easting, northing"
        first = what.split(",")[0]
        return False, f"coordinates read as ({what}): the magnitudes show the first is the {first}"
    what = "latitude, longitude" if degrees else "X = northing, Y = easting"
    return True, f"coordinates read as ({what}) (surveying convention) and swapped to x, y"


def _parcel_shape(parcel: _Parcel, index: int, swap: bool, ctx: ParseContext) -> Shape | None:
    ok = True
    arrays: list[tuple[np.ndarray, _Ring]] = []
    for r, ring in enumerate(parcel.rings):
        pts = ring.points
        first, last = pts[0], pts[-1]
        label = f"ring {ring.ring_no}" if ring.ring_no is not None else f"ring {r + 1}"
        span = f"lines {first.line}–{last.line}"
        if len(pts) < 4:
            ctx.add(
                f"{label} ({span}) has {len(pts)} point(s); a closed ring needs at least 4, "
                f"the first point ({first.name}) repeated at the end",
                feature=index,
                line=first.line,
            )
            ok = False
            continue
        if (first.a, first.b) != (last.a, last.b):
            if first.name == last.name:
                message = (
                    f"{label} ({span}) ends at {last.name} with coordinates that differ from "
                    f"its first point {first.name} (line {first.line})"
                )
            else:
                message = (
                    f"{label} ({span}) is not closed: it starts at {first.name} and ends at "
                    f"{last.name}; repeat {first.name} as the last point"
                )
            ctx.add(message, feature=index, line=last.line)
            ok = False
            continue
        coords = np.array([(p.b, p.a) if swap else (p.a, p.b) for p in pts], dtype=np.float64)
        arrays.append((coords, ring))
    if not ok:
        return None
    # Group rings: a ring inside the current part's shell is a hole, else a new part.
    parts: list[list[np.ndarray]] = []
    lines: dict[tuple[int, int], list[int]] = {}
    shell_polygon = None
    for coords, ring in arrays:
        candidate = shapely.Polygon(coords)
        if shell_polygon is not None and _covers(shell_polygon, candidate):
            parts[-1].append(coords)
        else:
            parts.append([coords])
            shell_polygon = candidate
            shapely.prepare(shell_polygon)
        lines[(len(parts) - 1, len(parts[-1]) - 1)] = [p.line for p in ring.points]
    gtype = "MultiPolygon" if len(parts) > 1 else "Polygon"
    return Shape(gtype, parts, index, dict(parcel.properties), lines=lines)


def _covers(shell, ring_polygon) -> bool:
    try:
        return bool(shapely.covers(shell, ring_polygon))
    except shapely.errors.GEOSException:
        return False
