"""CQL2 filters and sorting of OGC API – Features Part 3 (`filter`, `filter-lang`,
`filter-crs`, `sortby`), as plain functions.

A filter is parsed by pygeofilter (`cql2-text`, or `cql2-json` after a structural check of
our own that names the JSON path of what is wrong), then **compiled into a Python
predicate** over a feature's properties, id, district and geometry — it never becomes SQL.
What the database is asked stays the store's own bound query (`query_features`): the
top-level `AND` terms that are an equality of a property with a text (`code = '0701'`,
`code IN ('0701', '0702')`) and a spatial term (its geometry, exactly) narrow the rows it
reads; every candidate is then tested with the full predicate.

Supported (the conformance classes `filter_conformance` lists): `AND`, `OR`, `NOT`; `=`,
`<>`, `<`, `<=`, `>`, `>=` between properties and literals (a number compares numerically
with a property holding a number as text); `LIKE` (`%` any run, `_` one character), `IN`,
`BETWEEN`, `IS NULL`; `CASEI(…)`/`LOWER(…)`; `S_INTERSECTS`, `S_DISJOINT`, `S_WITHIN`,
`S_CONTAINS`, `S_TOUCHES`, `S_OVERLAPS`, `S_CROSSES`, `S_EQUALS` against a WKT or GeoJSON
geometry or a `BBOX(…)` in `filter-crs` (default CRS84, in that CRS's axis order).
Temporal operators, arithmetic and other functions are refused with a 400 naming them.

The compiling and sorting live in `planfuse.services.features.filters`, shared with WFS's
FES 2.0 filters; this module reads the CQL2 encodings and the OGC API's parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pygeofilter import ast
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from planfuse.errors import InvalidInput
from planfuse.http.problems import ProblemError, problem_from_domain_error
from planfuse.ogc.crs import offered_crs
from planfuse.services.features import filters
from planfuse.services.features.filters import (
    GEOMETRY_NAMES,
    MAX_DEPTH,
    MAX_SCANNED,
    MAX_SORT_KEYS,
    Filter,
    _like_regex,
    compile_filter,
    sort_rows,
)

LANGUAGES = ("cql2-text", "cql2-json")
# GDAL 3.6 and older clients name the text encoding by its draft name.
LANGUAGE_ALIASES = {"cql-text": "cql2-text"}
MAX_FILTER_CHARS = 20_000

CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
FILTER_CONFORMANCE = (
    FEATURES_3 + "queryables",
    FEATURES_3 + "queryables-query-parameters",
    FEATURES_3 + "filter",
    FEATURES_3 + "features-filter",
    CQL2 + "cql2-text",
    CQL2 + "cql2-json",
    CQL2 + "basic-cql2",
    CQL2 + "advanced-comparison-operators",
    CQL2 + "case-insensitive-comparison",
    CQL2 + "basic-spatial-functions",
    CQL2 + "basic-spatial-functions-plus",
    CQL2 + "spatial-functions",
    CQL2 + "property-property",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
)

_JSON_OPS = {
    "and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "in", "between", "isnull",
    "casei", "lower", "s_intersects", "s_disjoint", "s_within", "s_contains", "s_touches",
    "s_overlaps", "s_crosses", "s_equals",
}  # fmt: skip

__all__ = [
    "FILTER_CONFORMANCE",
    "GEOMETRY_NAMES",
    "MAX_SCANNED",
    "MAX_SORT_KEYS",
    "Filter",
    "_like_regex",
    "parse_filter",
    "parse_sortby",
    "sort_rows",
]


def _bad(parameter: str, detail: str, code: str = "invalid_filter", **where: Any) -> ProblemError:
    return ProblemError(
        400,
        code,
        detail,
        title="Invalid filter" if parameter.startswith("filter") else "Invalid request",
        errors=[{"field": parameter, "message": detail, **where}],
    )


# --- parsing -------------------------------------------------------------------------------


def parse_filter(
    text: str, language: str | None, crs_text: str | None, known: Sequence[str]
) -> Filter:
    """Parse and compile `filter` in `filter-lang` (default cql2-text) whose geometries are
    in `filter-crs` (default CRS84); `known` are the property names it may use (besides
    the geometry, `fid` and `district`). Every mistake is a 400 problem saying where."""
    lang = (language or "cql2-text").strip().lower()
    lang = LANGUAGE_ALIASES.get(lang, lang)
    if lang not in LANGUAGES:
        raise _bad("filter-lang", f"filter-lang {lang[:32]!r} is not offered; use cql2-text or "
                   "cql2-json")  # fmt: skip
    if len(text) > MAX_FILTER_CHARS:
        raise _bad("filter", f"the filter is longer than {MAX_FILTER_CHARS} characters")
    if not text.strip():
        raise _bad("filter", "the filter is empty")
    crs = offered_crs(crs_text, "filter-crs") if crs_text else offered_crs("OGC:CRS84", "crs")
    node = _parse_text(text) if lang == "cql2-text" else _parse_json(text)
    try:
        return compile_filter(node, known, crs)
    except InvalidInput as exc:
        raise problem_from_domain_error(exc) from None


def parse_sortby(raw: str, known: Sequence[str]) -> list[tuple[str, bool]]:
    """`sortby=+code,-fid` → [(name, descending)]; a mistake is a 400 problem."""
    try:
        return filters.parse_sortby(raw, known)
    except InvalidInput as exc:
        raise problem_from_domain_error(exc) from None


def _parse_text(text: str) -> ast.Node:
    try:
        return parse_cql2_text(text)
    except Exception as exc:  # lark's errors carry the place; anything else is still a 400
        column = getattr(exc, "column", None)
        line = getattr(exc, "line", None)
        if isinstance(column, int) and column > 0:
            pos = _offset(text, line or 1, column)
            shown = text[max(0, pos - 20) : pos + 20]
            raise _bad(
                "filter",
                f"the cql2-text filter cannot be read at character {pos + 1} (line {line}, "
                f"column {column}), near {shown!r}; see the CQL2 text grammar",
                position=pos + 1,
            ) from None
        raise _bad("filter", f"the cql2-text filter cannot be read: {str(exc)[:200]}") from None


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1


def _parse_json(text: str) -> ast.Node:
    try:
        document = json.loads(text)
    except RecursionError:
        raise _bad("filter", f"the filter nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        pos = getattr(exc, "pos", 0)
        raise _bad(
            "filter",
            f"the cql2-json filter is not JSON: {getattr(exc, 'msg', 'invalid')} at character "
            f"{pos + 1}",
            position=pos + 1,
        ) from None
    document = _check_json(document, "", 0)
    try:
        return parse_cql2_json(document)
    except Exception as exc:
        raise _bad("filter", f"the cql2-json filter cannot be read: {str(exc)[:200]}") from None


def _check_json(node: Any, path: str, depth: int) -> Any:
    """Check a CQL2-JSON expression's structure, naming the JSON pointer of what is wrong;
    returns it normalised for pygeofilter (BETWEEN's bounds as one list)."""
    if depth > MAX_DEPTH:
        raise _bad("filter", f"the filter nests deeper than {MAX_DEPTH} levels", pointer=path)
    if isinstance(node, dict):
        if "op" in node:
            op = node.get("op")
            args = node.get("args")
            if not isinstance(op, str) or op.lower() not in _JSON_OPS:
                raise _bad("filter", f"unknown or unsupported operator {str(op)[:32]!r} at "
                           f"{path or '/'}", pointer=f"{path}/op")  # fmt: skip
            if not isinstance(args, list):
                raise _bad("filter", f"operator {op!r} at {path or '/'} needs an args array",
                           pointer=f"{path}/args")  # fmt: skip
            checked = [_check_json(a, f"{path}/args/{i}", depth + 1) for i, a in enumerate(args)]
            if op.lower() == "between" and len(checked) == 3:
                checked = [checked[0], [checked[1], checked[2]]]
            if op.lower() == "isnull":
                op = "isNull"
            return {"op": op.lower() if op != "isNull" else op, "args": checked}
        if "property" in node:
            if not isinstance(node["property"], str):
                raise _bad("filter", f"property at {path} must be a name", pointer=path)
            return node
        if "bbox" in node or ("type" in node and "coordinates" in node):
            return node
        if "type" in node and node.get("type") == "GeometryCollection":
            return node
        raise _bad("filter", f"the object at {path or '/'} is neither an operation, a property, "
                   "a geometry nor a bbox", pointer=path or "/")  # fmt: skip
    if isinstance(node, list):
        return [_check_json(a, f"{path}/{i}", depth + 1) for i, a in enumerate(node)]
    return node
