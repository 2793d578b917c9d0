"""CQL2 filters compiled to predicates (planfuse.ogc.cql), without a database: what narrows
the store's query, LIKE and sorting rules, and where a malformed filter is refused."""

from __future__ import annotations

import json

import pytest
import shapely

from planfuse.http.problems import ProblemError
from planfuse.ogc import cql
from planfuse.services.features.store import FeatureRow

FIELDS = ("code", "name", "rank")


def row(fid, geom=None, district=None, **props) -> FeatureRow:
    geom = geom if geom is not None else shapely.Point(106.5, 29.5)
    return FeatureRow(fid, shapely.to_wkb(geom), props, district)


def compile_(text, lang="cql2-text", crs=None):
    return cql.parse_filter(text, lang, crs, FIELDS)


def test_top_level_equalities_and_geometry_narrow_the_store_query():
    compiled = compile_(
        "code = '0701' AND name IN ('a', 'b') AND rank = 1 "
        "AND S_INTERSECTS(geometry, BBOX(106, 29, 107, 30))"
    )
    # Only texts are bound: a number is compared in Python (the store compares as text).
    assert compiled.equalities == {"code": ("0701",), "name": ("a", "b")}
    assert compiled.spatial is not None and compiled.spatial.outer == (106, 29, 107, 30)
    # Under OR or NOT nothing narrows: every row must be tested.
    loose = compile_("code = '0701' OR S_INTERSECTS(geometry, BBOX(106, 29, 107, 30))")
    assert loose.equalities == {} and loose.spatial is None
    assert compile_("S_DISJOINT(geometry, POINT(1 2))").spatial is None


def test_predicates():
    rows = [
        row(1, code="0701", rank=2, name="地块1"),
        row(2, code="0702", rank="1"),
        row(3, code="1401", name="L形绿地", geom=shapely.box(106.61, 29.61, 106.62, 29.62)),
    ]

    def fids(text, lang="cql2-text"):
        compiled = compile_(text, lang)
        return [r.fid for r in rows if compiled.predicate(r)]

    assert fids("code LIKE '07_1'") == [1]
    assert fids("code LIKE '07%'") == [1, 2]
    assert fids("code NOT LIKE '07%'") == [3]
    assert fids("rank >= 1") == [1, 2]  # "1" (text) compares as a number with 1
    assert fids("rank < 1") == []  # a missing value matches no comparison
    assert fids("name IS NULL") == [2]
    assert fids("name = code") == []
    assert fids("S_WITHIN(geometry, BBOX(106.6, 29.6, 106.7, 29.7))") == [3]
    assert fids("S_CONTAINS(BBOX(106.6, 29.6, 106.7, 29.7), geometry)") == [3]
    document = {"op": "not", "args": [{"op": "like", "args": [{"property": "code"}, "07%"]}]}
    assert fids(json.dumps(document), "cql2-json") == [3]


def test_like_escapes_and_regex_characters():
    regex = cql._like_regex(r"a.b\%c_", nocase=False)
    assert regex.fullmatch("a.b%cX") and not regex.fullmatch("aXb%cX")


def test_sort_rows_missing_last_and_stable():
    rows = [row(1, rank=2), row(2), row(3, rank=10), row(4, rank=2)]
    keys = cql.parse_sortby("-rank", FIELDS)
    assert [r.fid for r in cql.sort_rows(rows, keys)] == [3, 1, 4, 2]
    keys = cql.parse_sortby("rank,-fid", FIELDS)
    assert [r.fid for r in cql.sort_rows(rows, keys)] == [4, 1, 3, 2]


@pytest.mark.parametrize(
    "text, lang, where",
    [
        ("code = = '1'", "cql2-text", {"position": 8}),
        ('{"op": "and", "args": [{"op": "=", "args": []}, {"nothing": 1}]}', "cql2-json",
         {"pointer": "/args/1"}),
        ('{"op": "=", "args": 3}', "cql2-json", {"pointer": "/args"}),
        ("other = '1'", "cql2-text", {"property": "other"}),
    ],
)  # fmt: skip
def test_refusals_say_where(text, lang, where):
    with pytest.raises(ProblemError) as caught:
        compile_(text, lang)
    assert caught.value.status == 400
    error = caught.value.errors[0]
    assert error["field"] == "filter"
    assert {k: error.get(k) for k in where} == where
