"""WKT input: our own bounded, iterative parser (GEOS's reader is recursive)."""

from __future__ import annotations

import pytest

from planfuse.geo.errors import GeometryInputError
from planfuse.geo.parse import parse_features


def only_problem(text, **kwargs):
    with pytest.raises(GeometryInputError) as info:
        parse_features(text, **kwargs)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


def test_every_type_and_auto_detection():
    text = """
    POINT (106.5 29.5)
    multipoint ((106.5 29.5), (106.6 29.6)); MULTIPOINT (106.5 29.5, 106.6 29.6)
    LINESTRING (106.5 29.5, 106.6 29.6)
    MULTILINESTRING ((106.5 29.5, 106.6 29.6), (106.7 29.5, 106.8 29.6))
    POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 4, 4 4, 4 2, 2 2))
    MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))
    POINT Z (106.5 29.5 310.2)
    """
    fs = parse_features(text)
    assert [f.geometry.geom_type for f in fs] == [
        "Point",
        "MultiPoint",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "Point",
    ]
    assert [f.index for f in fs] == list(range(8))
    assert fs[5].geometry.area == pytest.approx(96.0)
    assert fs[7].geometry.wkt == "POINT (106.5 29.5)"


def test_scientific_and_signed_numbers():
    (f,) = parse_features("LINESTRING (-1.5e2 +2, .5 3.)")
    assert list(f.geometry.coords) == [(-150.0, 2.0), (0.5, 3.0)]


def test_syntax_error_names_line_and_column():
    p = only_problem("POINT (1 2)\nPOLYGON ((0 0, 1 0, 1 1 0 0))")
    assert p.feature == 1
    assert "line 2, column 25" in p.message
    assert "more than 2 numbers" in p.message


def test_missing_parenthesis():
    p = only_problem("POLYGON ((0 0, 1 0, 1 1, 0 0)")
    assert "unexpected end of WKT" in p.message


def test_unclosed_ring_in_wkt():
    p = only_problem("POLYGON ((0 0, 1 0, 1 1, 0 1))")
    assert (p.feature, p.ring, p.vertex) == (0, 0, 3)
    assert p.message.startswith("the ring is not closed")


def test_short_ring_in_wkt():
    p = only_problem("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((0 0, 1 1, 0 0)))")
    assert (p.part, p.ring) == (1, 0)


@pytest.mark.parametrize("word", ["nan", "NaN", "inf", "Infinity"])
def test_non_finite_words_refused(word):
    p = only_problem(f"POINT ({word} 29.5)")
    assert "must be finite numbers" in p.message


def test_overflowing_number_refused():
    p = only_problem("POINT (1e999 29.5)")
    assert "not finite" in p.message


def test_empty_refused():
    assert "empty" in only_problem("POLYGON EMPTY").message
    assert "empty" in only_problem("POINT Z EMPTY").message


def test_geometrycollection_refused():
    p = only_problem("GEOMETRYCOLLECTION (POINT (1 2))")
    assert "GEOMETRYCOLLECTION is not supported" in p.message


def test_ewkt_srid_refused():
    p = only_problem("SRID=4490;POINT (106.5 29.5)")
    assert "pass the CRS separately" in p.message


def test_measures_refused():
    assert "not supported" in only_problem("POINT M (1 2 3)").message


def test_deep_parentheses_refused_without_recursion():
    p = only_problem("MULTIPOLYGON " + "(" * 100_000 + ")" * 100_000)
    assert "nested deeper than 3 levels" in p.message


def test_unknown_type_refused():
    p = only_problem("CIRCLE (1 2)", fmt="wkt")
    assert "unknown geometry type 'CIRCLE'" in p.message


def test_self_intersection_in_wkt_located():
    p = only_problem("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")
    assert p.message.startswith("Self-intersection at (1, 1)")
    assert p.ring == 0


def test_wkt_vertex_cap_stops_while_reading():
    coords = ", ".join(f"{i} 0" for i in range(5000))
    p = only_problem(f"LINESTRING ({coords})", max_vertices=100)
    assert "more than 100 vertices" in p.message


def test_geometry_type_filter_in_wkt():
    p = only_problem("POINT (1 2)", geometry_types={"Polygon"})
    assert p.message == "geometry type Point is not allowed here; expected Polygon"
