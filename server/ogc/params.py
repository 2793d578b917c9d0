"""Query parameters of OGC API – Features, parsed and checked before any query runs.

Every bad value is a 400 problem naming the parameter and saying what is accepted; nothing
here touches the database, so these functions are tested on their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from planfuse.geo.crs import CRSInfo
from planfuse.http.problems import ProblemError
from planfuse.ogc.crs import offered_crs

# Parameters with a meaning of their own; every other parameter filters on a property.
RESERVED = frozenset(
    {
        "bbox",
        "bbox-crs",
        "limit",
        "offset",
        "crs",
        "f",
        "datetime",
        # OGC API – Features Part 3 (planfuse.ogc.cql) and sorting.
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        # OGC API – Features Part 7 (draft): geometries simplified for a map zoom level.
        "zoom-level",
    }
)
# Response formats: GeoJSON is served as application/geo+json, or as application/json when
# the client asks for `f=json`.
FORMATS = {"geojson": "application/geo+json", "json": "application/json"}
# Properties a filter may also name although they are columns, not source attributes.
COLUMN_FILTERS = ("district",)

MAX_FILTER_VALUE_CHARS = 200
MAX_FILTER_VALUES = 100
# Offsets past this are refused outright (no layer holds that many features, and it keeps
# the number inside every database's integer range).
MAX_OFFSET = 2**31 - 1
#: The deepest zoom level of WebMercatorQuad that `zoom-level` accepts.
MAX_ZOOM_LEVEL = 24
_INTEGER = re.compile(r"^\+?[0-9]{1,12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bad(parameter: str, detail: str, code: str = "invalid_parameter") -> ProblemError:
    return ProblemError(
        400,
        code,
        detail,
        title="Invalid request",
        errors=[{"field": parameter, "message": detail}],
    )


@dataclass(frozen=True)
class ItemsQuery:
    """A checked `/items` request.

    `bbox` is in `bbox_crs` and its axis order; `filters` maps a property name to the
    values it may equal (several values: any of them).
    """

    limit: int
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: CRSInfo | None = None
    crs: CRSInfo | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    media_type: str = "application/geo+json"
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    sortby: str | None = None
    zoom_level: int | None = None


def parse_integer(parameter: str, raw: str, minimum: int, maximum: int) -> int:
    text = raw.strip()
    if not _INTEGER.match(text):
        raise _bad(parameter, f"{parameter} must be a whole number from {minimum} to {maximum}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise _bad(
            parameter,
            f"{parameter} {value} is out of range; use a whole number from {minimum} to {maximum}",
        )
    return value


def parse_bbox(raw: str, crs: CRSInfo) -> tuple[float, float, float, float]:
    """`minA,minB,maxA,maxB` (or 6 numbers with heights, which are ignored) in `crs` axis order.

    Each minimum must not exceed its maximum; geographic coordinates must lie on the globe
    (longitude −180…180, latitude −90…90).
    """
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) not in (4, 6):
        raise _bad("bbox", "bbox must be 4 numbers: minx,miny,maxx,maxy (or 6 with heights)")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise _bad("bbox", "bbox must be 4 comma-separated numbers") from None
    if not all(math.isfinite(n) for n in numbers):
        raise _bad("bbox", "bbox numbers must be finite")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a0, b0, a1, b1 = numbers
    if a0 > a1 or b0 > b1:
        raise _bad(
            "bbox",
            f"bbox {raw!r} has a minimum above its maximum; write the lower corner first: "
            "minx,miny,maxx,maxy in the axis order of bbox-crs",
        )
    if crs.degrees:
        lat_first = crs.first_axis_north
        lons = (b0, b1) if lat_first else (a0, a1)
        lats = (a0, a1) if lat_first else (b0, b1)
        if not all(-180 <= v <= 180 for v in lons) or not all(-90 <= v <= 90 for v in lats):
            order = "lat,lon" if lat_first else "lon,lat"
            raise _bad(
                "bbox",
                f"bbox {raw!r} is outside the world for {crs.key} (axis order {order}): "
                "longitude must be within −180…180 and latitude within −90…90",
            )
    return a0, b0, a1, b1


def parse_items_query(
    args: Iterable[tuple[str, str]],
    *,
    fields: Sequence[str],
    limit_default: int,
    limit_max: int,
) -> ItemsQuery:
    """Check the query parameters of an `/items` request.

    `args` are (name, value) pairs in request order; `fields` are the property names the
    layer version holds (the only names a property filter may use, besides `district`).
    """
    values: dict[str, list[str]] = {}
    for name, value in args:
        values.setdefault(name, []).append(value)
    for name in sorted(RESERVED):
        if len(values.get(name, ())) > 1:
            raise _bad(name, f"give {name} once")

    def one(name: str) -> str | None:
        got = values.get(name)
        return got[0] if got else None

    media_type = parse_format(one("f"))
    if one("datetime") is not None:
        raise _bad(
            "datetime",
            "the planning layers have no time property, so datetime cannot filter them; "
            "leave it out",
        )
    limit = limit_default
    if (raw := one("limit")) is not None:
        text = raw.strip().lstrip("+")
        if text.isascii() and text.isdigit() and int(text) > limit_max:
            limit = limit_max  # a limit above the maximum is capped, not refused (Part 1)
        else:
            limit = parse_integer("limit", raw, 1, limit_max)
    offset = 0
    if (raw := one("offset")) is not None:
        offset = parse_integer("offset", raw, 0, MAX_OFFSET)
    crs = offered_crs(raw, "crs") if (raw := one("crs")) is not None else None
    bbox_crs = None
    if (raw := one("bbox-crs")) is not None:
        if one("bbox") is None:
            raise _bad("bbox-crs", "bbox-crs names the CRS of bbox; it needs a bbox")
        bbox_crs = offered_crs(raw, "bbox-crs")
    bbox = None
    if (raw := one("bbox")) is not None:
        bbox_crs = bbox_crs or offered_crs("OGC:CRS84", "bbox-crs")
        bbox = parse_bbox(raw, bbox_crs)
    filters = parse_filters(
        {name: got for name, got in values.items() if name not in RESERVED}, fields
    )
    for name in ("filter-lang", "filter-crs"):
        if one(name) is not None and one("filter") is None:
            raise _bad(name, f"{name} describes filter; it needs a filter")
    return ItemsQuery(
        limit=limit,
        offset=offset,
        bbox=bbox,
        bbox_crs=bbox_crs if bbox is not None else None,
        crs=crs,
        filters=filters,
        media_type=media_type,
        filter=one("filter"),
        filter_lang=one("filter-lang"),
        filter_crs=one("filter-crs"),
        sortby=one("sortby"),
        zoom_level=(
            parse_integer("zoom-level", raw, 0, MAX_ZOOM_LEVEL)
            if (raw := one("zoom-level")) is not None
            else None
        ),
    )


def parse_format(raw: str | None) -> str:
    if raw is None:
        return FORMATS["geojson"]
    media_type = FORMATS.get(raw.strip().lower())
    if media_type is None:
        raise _bad("f", f"f {raw!r} is not offered; use f=json or f=geojson")
    return media_type


def parse_filters(
    values: Mapping[str, Sequence[str]], fields: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Property filters: each name must be one of `fields` (or `district`); values are kept
    as text and later bound as parameters, never spliced into SQL."""
    known = set(fields) | set(COLUMN_FILTERS)
    filters: dict[str, tuple[str, ...]] = {}
    for name, got in values.items():
        if name not in known:
            listed = ", ".join(sorted(known)) or "(none)"
            raise _bad(
                name,
                f"unknown parameter or property {name[:64]!r}; filter on one of the layer's "
                f"properties: {listed} (or use bbox, bbox-crs, crs, limit, offset, zoom-level, f)",
                code="unknown_property",
            )
        if len(got) > MAX_FILTER_VALUES:
            raise _bad(name, f"at most {MAX_FILTER_VALUES} values per property filter")
        for value in got:
            if len(value) > MAX_FILTER_VALUE_CHARS:
                raise _bad(name, f"filter values are at most {MAX_FILTER_VALUE_CHARS} characters")
            if _CONTROL.search(value):
                # No stored attribute holds one, and PostgreSQL text cannot hold NUL.
                raise _bad(name, "filter values cannot contain control characters")
        filters[name] = tuple(dict.fromkeys(got))
    return filters
