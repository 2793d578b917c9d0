"""GeoJSON input: every bad case is its own test and names where the problem is."""

from __future__ import annotations

import json

import orjson
import pytest

from planfuse.geo.errors import MAX_PROBLEMS, GeometryInputError
from planfuse.geo.parse import MAX_NESTING_DEPTH, parse_features

SQUARE = [[106.50, 29.50], [106.51, 29.50], [106.51, 29.51], [106.50, 29.51], [106.50, 29.50]]
HOLE = [
    [106.502, 29.502],
    [106.502, 29.504],
    [106.504, 29.504],
    [106.504, 29.502],
    [106.502, 29.502],
]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def problems(data, **kwargs):
    with pytest.raises(GeometryInputError) as info:
        parse_features(data, **kwargs)
    return info.value.errors


def only_problem(data, **kwargs):
    found = problems(data, **kwargs)
    assert len(found) == 1, found
    return found[0]


# --- what is accepted --------------------------------------------------------------------


def test_polygon_geometry_text_bytes_and_dict():
    text = json.dumps(polygon(SQUARE, HOLE))
    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode(), json.loads(text)):
        (f,) = parse_features(data)
        assert f.geometry.geom_type == "Polygon"
        assert len(f.geometry.interiors) == 1
        assert f.index == 0
        assert f.properties == {}
        assert f.repaired is False


def test_feature_collection_keeps_properties_ids_and_indices():
    data = collection(
        feature(polygon(SQUARE), name="红线", code="0701"),
        {"type": "Feature", "id": "A-7", "properties": None, "geometry": polygon(SQUARE)},
        feature({"type": "Point", "coordinates": [106.5, 29.5, 300.0]}),
    )
    fs = parse_features(data)
    assert [f.index for f in fs] == [0, 1, 2]
    assert fs[0].properties == {"name": "红线", "code": "0701"}
    assert fs[1].properties == {}
    assert fs[1].feature_id == "A-7"
    assert fs[2].geometry.wkt == "POINT (106.5 29.5)"  # z dropped


def test_script_property_is_kept_verbatim():
    payload = '<script>alert("x")</script>&amp;'
    (f,) = parse_features(json.dumps(feature(polygon(SQUARE), name=payload, nested={"a": [1]})))
    assert f.properties["name"] == payload
    assert f.properties["nested"] == {"a": [1]}


def test_all_simple_geometry_types():
    geoms = [
        {"type": "Point", "coordinates": [106.5, 29.5]},
        {"type": "MultiPoint", "coordinates": [[106.5, 29.5], [106.6, 29.6]]},
        {"type": "LineString", "coordinates": [[106.5, 29.5], [106.6, 29.6]]},
        {"type": "MultiLineString", "coordinates": [[[106.5, 29.5], [106.6, 29.6]]]},
        polygon(SQUARE),
        {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[p[0] + 1, p[1]] for p in SQUARE]]]},
    ]
    fs = parse_features(collection(*[feature(g) for g in geoms]))
    assert [f.geometry.geom_type for f in fs] == [g["type"] for g in geoms]


def test_geometry_types_filter():
    fs = parse_features(polygon(SQUARE), geometry_types={"Polygon", "MultiPolygon"})
    assert len(fs) == 1
    p = only_problem(
        collection(feature(polygon(SQUARE)), feature({"type": "Point", "coordinates": [1, 2]})),
        geometry_types={"Polygon", "MultiPolygon"},
    )
    assert p.feature == 1
    assert p.message == "geometry type Point is not allowed here; expected Polygon or MultiPolygon"


# --- bad JSON -----------------------------------------------------------------------------


def test_bad_json_names_line_and_column():
    p = only_problem('{"type": "Polygon",\n  "coordinates": [[[1, 2],, [3, 4]]]}')
    assert p.line == 2
    assert "line 2, column" in p.message
    assert p.message.startswith("invalid JSON")


def test_nan_literal_refused():
    p = only_problem('{"type": "Point", "coordinates": [NaN, 29.5]}')
    assert "NaN and Infinity are not valid JSON numbers" in p.message
    assert "line 1, column 35" in p.message  # where NaN starts


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity"])
def test_infinity_literal_refused(literal):
    p = only_problem('{"type": "Point",\n"coordinates": [106.5, ' + literal + "]}")
    assert "NaN and Infinity" in p.message
    assert p.line == 2


def test_overflowing_number_refused():
    p = only_problem('{"type": "Point", "coordinates": [1e400, 29.5]}')
    assert "too large" in p.message


def test_nan_in_an_already_decoded_dict_refused_with_vertex():
    # Flask's request.get_json() (stdlib json) accepts NaN, so dict input is checked too.
    ring = [list(p) for p in SQUARE]
    ring[2][1] = float("nan")
    p = only_problem(polygon(ring))
    assert (p.feature, p.ring, p.vertex) == (0, 0, 2)
    assert "not a finite number" in p.message


def test_infinity_in_dict_refused():
    p = only_problem({"type": "LineString", "coordinates": [[1, 2], [float("inf"), 3]]})
    assert (p.feature, p.vertex) == (0, 1)


def test_huge_integer_in_dict_refused():
    p = only_problem({"type": "LineString", "coordinates": [[1, 2], [10**400, 3]]})
    assert (p.feature, p.vertex) == (0, 1)
    assert "not a finite number" in p.message


def test_not_utf8_bytes_refused_for_json():
    p = only_problem(
        b'{"type": "Point", "coordinates": [1, 2], "x": "\xff\xfe\xfd"}', fmt="geojson"
    )
    assert "invalid JSON" in p.message or "UTF-8" in p.message


# --- wrong structure ------------------------------------------------------------------------


def test_top_level_array_refused():
    p = only_problem("[[106.5, 29.5]]")
    assert p.message.startswith("expected a GeoJSON object")


def test_unknown_type_refused():
    p = only_problem({"type": "Polygonn", "coordinates": [SQUARE]})
    assert p.field == "type"
    assert "'Polygonn' is not a GeoJSON geometry type" in p.message


def test_type_names_are_case_sensitive():
    p = only_problem({"type": "polygon", "coordinates": [SQUARE]})
    assert "case-sensitive" in p.message


def test_geometry_collection_refused():
    p = only_problem(
        feature({"type": "GeometryCollection", "geometries": [polygon(SQUARE)]}, name="x")
    )
    assert p.feature == 0
    assert p.message.startswith("GeometryCollection is not supported")


def test_null_geometry_refused_naming_the_feature():
    p = only_problem(collection(feature(polygon(SQUARE)), {"type": "Feature", "geometry": None}))
    assert (p.feature, p.field) == (1, "geometry")


def test_properties_must_be_an_object():
    p = only_problem(
        collection({"type": "Feature", "properties": [1], "geometry": polygon(SQUARE)})
    )
    assert (p.feature, p.field) == (0, "properties")


def test_features_must_be_an_array():
    p = only_problem({"type": "FeatureCollection", "features": {"0": 1}})
    assert p.field == "features"


def test_empty_feature_collection_refused():
    p = only_problem({"type": "FeatureCollection", "features": []})
    assert p.message == "the input contains no features"


def test_missing_coordinates_refused():
    p = only_problem({"type": "Polygon"})
    assert p.field == "coordinates"


def test_empty_geometry_refused():
    p = only_problem({"type": "Polygon", "coordinates": []})
    assert p.message == "the Polygon is empty"


def test_empty_ring_refused():
    p = only_problem(polygon([]))
    assert p.ring == 0
    assert "0 position(s)" in p.message


def test_wrong_nesting_level_refused():
    p = only_problem({"type": "Polygon", "coordinates": SQUARE})
    assert "must be nested 3 level(s) deep" in p.message
    assert "found 2" in p.message


def test_non_numeric_coordinate_refused_with_vertex():
    ring = [list(p) for p in SQUARE]
    ring[3][0] = "106.5"
    p = only_problem(polygon(ring))
    assert (p.feature, p.ring, p.vertex) == (0, 0, 3)
    assert p.message == "a coordinate must be a number; found the string '106.5'"


@pytest.mark.parametrize(("value", "found"), [(True, "true/false"), (None, "null"), ({}, "dict")])
def test_other_non_numbers_refused(value, found):
    ring = [list(p) for p in SQUARE]
    ring[1][1] = value
    p = only_problem(polygon(ring))
    assert p.vertex == 1
    assert p.message.endswith(found)


def test_position_with_wrong_arity_refused():
    ring = [list(p) for p in SQUARE]
    ring[2] = [106.51]
    p = only_problem(polygon(ring))
    assert p.vertex == 2
    assert "2 or 3 numbers" in p.message


def test_unclosed_ring_refused_with_ring_and_last_vertex():
    p = only_problem(polygon(SQUARE, HOLE[:-1]))
    assert (p.feature, p.ring, p.vertex) == (0, 1, 3)
    assert p.message.startswith("the ring is not closed")


def test_ring_with_fewer_than_four_positions_refused():
    p = only_problem(polygon([*SQUARE[:2], SQUARE[0]]))
    assert (p.feature, p.ring) == (0, 0)
    assert "has 3 position(s)" in p.message


def test_multipolygon_problem_names_the_part():
    bad = [[p[0] + 1, p[1]] for p in SQUARE][:-1]
    p = only_problem({"type": "MultiPolygon", "coordinates": [[SQUARE], [bad]]})
    assert (p.feature, p.part, p.ring) == (0, 1, 0)


def test_linestring_needs_two_positions():
    p = only_problem({"type": "LineString", "coordinates": [[1.0, 2.0]]})
    assert "at least 2" in p.message


def test_many_problems_collected_into_one_error():
    data = collection(
        feature(polygon(SQUARE[:-1])),
        feature(polygon(SQUARE)),
        feature({"type": "Point", "coordinates": ["a", 1]}),
        {"type": "Feature", "geometry": None},
    )
    found = problems(data)
    assert [p.feature for p in found] == [0, 2, 3]


def test_problem_list_is_capped():
    data = collection(*[feature(polygon(SQUARE[:-1])) for _ in range(250)])
    with pytest.raises(GeometryInputError) as info:
        parse_features(data)
    assert len(info.value.errors) == MAX_PROBLEMS
    assert info.value.more == 150
    assert "and 247 more" in info.value.message
    assert info.value.to_dict()["more"] == 150


# --- validity -----------------------------------------------------------------------------

BOWTIE = [[106.50, 29.50], [106.51, 29.51], [106.51, 29.50], [106.50, 29.51], [106.50, 29.50]]


def test_self_intersection_refused_with_location():
    p = only_problem(collection(feature(polygon(SQUARE)), feature(polygon(BOWTIE))))
    assert (p.feature, p.ring) == (1, 0)
    assert p.vertex in (0, 2)  # the crossing segments are 0→1 and 2→3
    assert p.message.startswith("Self-intersection at (106.505, 29.505)")
    assert "repair" in p.message


def test_hole_outside_shell_refused_naming_the_hole():
    far_hole = [[p[0] + 0.1, p[1]] for p in HOLE]
    p = only_problem(polygon(SQUARE, far_hole))
    assert p.message.startswith("Hole lies outside shell")
    assert p.ring == 1


def test_overlapping_multipolygon_parts_refused():
    shifted = [[p[0] + 0.005, p[1]] for p in SQUARE]
    p = only_problem({"type": "MultiPolygon", "coordinates": [[SQUARE], [shifted]]})
    assert p.message.startswith("Self-intersection")
    assert p.part in (0, 1)


def test_repair_applies_make_valid_and_marks_the_feature():
    (f,) = parse_features(polygon(BOWTIE), repair=True)
    assert f.repaired is True
    assert f.geometry.is_valid
    assert f.geometry.geom_type == "MultiPolygon"
    assert f.geometry.area == pytest.approx(0.01 * 0.01 / 2)
    assert f.notes[0].startswith("repaired with make_valid: Self-intersection")


def test_repair_keeps_only_polygonal_parts():
    # A spike (zero-area appendix) would become a line in "linework" repair.
    spike = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0], [-1, -1], [0, 0]]
    (f,) = parse_features(polygon(spike), repair=True)
    assert f.geometry.geom_type in ("Polygon", "MultiPolygon")
    assert f.geometry.area == pytest.approx(4.0)


def test_valid_features_are_not_marked_repaired():
    fs = parse_features(collection(feature(polygon(SQUARE)), feature(polygon(BOWTIE))), repair=True)
    assert [f.repaired for f in fs] == [False, True]


# --- hostile input --------------------------------------------------------------------------


def deep_list(depth):
    root = []
    current = root
    for _ in range(depth - 1):
        child = []
        current.append(child)
        current = child
    return root


def test_100000_deep_array_as_text_refused():
    text = '{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}"
    p = only_problem(text)
    assert "nested too deeply" in p.message


def test_100000_deep_array_as_dict_refused_quickly_without_recursion():
    data = {"type": "Polygon", "coordinates": deep_list(100_000)}
    p = only_problem(data)
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in p.message


def test_deep_array_hidden_in_a_later_vertex_refused():
    ring = [list(p) for p in SQUARE]
    ring[2] = [106.51, deep_list(100_000)]
    p = only_problem(polygon(ring))
    assert p.vertex == 2
    assert "nested too deeply" in p.message


def test_deep_nesting_in_properties_is_a_json_error_not_a_crash():
    text = (
        '{"type": "Feature", "properties": {"a": '
        + "[" * 5000
        + "]" * 5000
        + '}, "geometry": null}'
    )
    p = only_problem(text)
    assert "nested too deeply" in p.message


def test_max_vertices_counted_before_building():
    ring = [[106.5 + i * 1e-5, 29.5] for i in range(600)] + [[106.5, 29.6], [106.5, 29.5]]
    data = collection(*[feature(polygon(ring)) for _ in range(5)])
    p = only_problem(data, max_vertices=1000)
    assert p.message.startswith("the input has more than 1000 vertices")
    assert len(parse_features(data, max_vertices=5 * 602)) == 5


def test_large_input_parses_every_feature():
    ring = [[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.6], [106.5, 29.5]]
    features = [
        feature(polygon([[p[0] + k * 0.2, p[1]] for p in ring]), k=k) for k in range(20_000)
    ]
    data = orjson.dumps(collection(*features))
    fs = parse_features(data)
    assert len(fs) == 20_000
    assert fs[-1].geometry.bounds[0] == 106.5 + 19_999 * 0.2


def test_structural_and_validity_problems_reported_together():
    data = collection(
        feature(polygon(SQUARE)),
        feature(polygon(BOWTIE)),
        feature(polygon(SQUARE)),
        feature(polygon(SQUARE[:-1])),
    )
    found = problems(data)
    assert [(p.feature, p.message.split(" ")[0]) for p in found] == [
        (1, "Self-intersection"),
        (3, "the"),
    ]
