"""Text decoding (UTF-8, GB 18030) and format detection: GeoJSON, WKT or a 界址点 list."""

from __future__ import annotations

import re

from planfuse.geo.errors import (
    GeometryInputError,
    InputProblem,
)

# --- text decoding and format detection --------------------------------------------------


def decode_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise GeometryInputError(None, [InputProblem("input must be text, bytes or a dict")])
    raw = bytes(data)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Surveyors' coordinate lists are often saved as GBK/GB18030 by Chinese Windows tools.
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise GeometryInputError(
            None, [InputProblem(f"the input is not UTF-8 or GB18030 text (byte {exc.start})")]
        ) from None


_WKT_START = re.compile(
    r"\s*(?:SRID\s*=\s*\d+\s*;\s*)?(?:POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING"
    r"|MULTIPOLYGON|GEOMETRYCOLLECTION)\s*(?:ZM|Z|M)?\s*(?:\(|EMPTY\b)",
    re.IGNORECASE,
)


_JSON_ARRAY_START = re.compile(r'\[\s*[\[{"\-0-9\]tfn]')


def detect_format(text: str) -> str:
    stripped = text.lstrip()
    # "[" also opens the 国土资源部 exchange format's "[属性描述]" section headers.
    if stripped[:1] == "{" or _JSON_ARRAY_START.match(stripped):
        return "geojson"
    if _WKT_START.match(stripped):
        return "wkt"
    return "coordinates"
