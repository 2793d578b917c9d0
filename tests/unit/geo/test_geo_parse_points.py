"""界址点坐标 (boundary-point lists) as surveyors deliver them."""

from __future__ import annotations

import pytest

from planfuse.geo.errors import GeometryInputError
from planfuse.geo.parse import parse_boundary_points, parse_features

# Surveying order: X = northing (7 digits), Y = easting with zone prefix 35 (8 digits).
PARCEL = """# 宗地 A 界址点 (CGCS2000, 3° zone 35)
点号,X,Y
J1,3300000.000,35500000.000
J2,3300000.000,35500100.000
J3,3300100.000,35500100.000
J4,3300100.000,35500000.000
J1,3300000.000,35500000.000
"""

HOLE = """
J5,3300020.000,35500020.000
J6,3300020.000,35500040.000
J7,3300040.000,35500040.000
J8,3300040.000,35500020.000
J5,3300020.000,35500020.000
"""

SECOND_PART = """
K1,3310000,35510000
K2,3310000,35510100
K3,3310100,35510100
K1,3310000,35510000
"""


def only_problem(text, **kwargs):
    with pytest.raises(GeometryInputError) as info:
        parse_features(text, **kwargs)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


def test_single_ring_swapped_into_easting_northing():
    (f,) = parse_features(PARCEL)
    g = f.geometry
    assert g.geom_type == "Polygon"
    assert g.bounds == (35_500_000.0, 3_300_000.0, 35_500_100.0, 3_300_100.0)
    assert g.area == pytest.approx(10_000.0)
    assert "surveying convention" in f.notes[0]
    assert "swapped" in f.notes[0]


def test_auto_detection_and_explicit_format_agree():
    assert parse_boundary_points(PARCEL)[0].geometry.equals(parse_features(PARCEL)[0].geometry)


def test_hole_inside_previous_ring():
    (f,) = parse_features(PARCEL + HOLE)
    assert f.geometry.geom_type == "Polygon"
    assert len(f.geometry.interiors) == 1
    assert f.geometry.area == pytest.approx(10_000.0 - 400.0)


def test_ring_outside_starts_a_new_part():
    (f,) = parse_features(PARCEL + HOLE + SECOND_PART)
    g = f.geometry
    assert g.geom_type == "MultiPolygon"
    assert len(g.geoms) == 2
    assert len(g.geoms[0].interiors) == 1
    assert g.area == pytest.approx(10_000.0 - 400.0 + 5_000.0)


def test_ring_numbers_separate_rings_without_blank_lines():
    text = """point,ring,x,y
J1,1,3300000,35500000
J2,1,3300000,35500100
J3,1,3300100,35500100
J4,1,3300100,35500000
J1,1,3300000,35500000
J5,2,3300020,35500020
J6,2,3300020,35500040
J7,2,3300040,35500040
J5,2,3300020,35500020
"""
    (f,) = parse_features(text)
    assert len(f.geometry.interiors) == 1


@pytest.mark.parametrize("sep", [",", "，", "\t", "  ", " , ", "；"])
def test_separators(sep):
    lines = [line.split(",") for line in PARCEL.splitlines()[2:]]
    text = "\n".join(sep.join(fields) for fields in lines)
    (f,) = parse_features(text, fmt="coordinates")
    assert f.geometry.area == pytest.approx(10_000.0)


def test_easting_first_accepted_when_unambiguous():
    # 6-digit eastings first, 7-digit northings second: (easting, northing) as given.
    text = """1 500000 3300000
2 500100 3300000
3 500100 3300100
4 500000 3300000
"""
    (f,) = parse_features(text)
    assert f.geometry.bounds == (500_000.0, 3_300_000.0, 500_100.0, 3_300_100.0)
    assert "(easting, northing)" in f.notes[0]


def test_zone_prefixed_easting_first_accepted():
    text = "\n".join(
        f"J{i},{e},{n}"
        for i, (e, n) in enumerate(
            [(35500000, 3300000), (35500100, 3300000), (35500100, 3300100), (35500000, 3300000)]
        )
    )
    (f,) = parse_features(text)
    assert f.geometry.bounds[0] == 35_500_000.0


def test_mixed_axis_order_refused():
    text = """J1,3300000,500000
J2,3300000,500100
J3,500100,3300100
J1,3300000,500000
"""
    p = only_problem(text)
    assert "axis order is mixed" in p.message
    assert p.line == 3


def test_degrees_latitude_first_swapped():
    text = "1,29.50,106.50\n2,29.50,106.51\n3,29.51,106.51\n4,29.50,106.50\n"
    (f,) = parse_features(text)
    assert f.geometry.bounds == (106.50, 29.50, 106.51, 29.51)
    assert "latitude, longitude" in f.notes[0]


def test_degrees_longitude_first_kept():
    text = "1,106.50,29.50\n2,106.51,29.50\n3,106.51,29.51\n4,106.50,29.50\n"
    (f,) = parse_features(text)
    assert f.geometry.bounds == (106.50, 29.50, 106.51, 29.51)


def test_unclosed_ring_names_ring_points_and_line():
    text = PARCEL.replace("J1,3300000.000,35500000.000\n", "", 2).replace(
        "点号,X,Y\n", "点号,X,Y\nJ1,3300000.000,35500000.000\n"
    )
    p = only_problem(text)
    assert p.line == 6
    assert p.message == (
        "ring 1 (lines 3–6) is not closed: it starts at J1 and ends at J4; "
        "repeat J1 as the last point"
    )


def test_closing_point_with_different_coordinates():
    text = (
        PARCEL.replace("J1,3300000.000,35500000.000\n\n", "").rstrip("\n").rsplit("\n", 1)[0]
        + "\nJ1,3300000.000,35500000.500\n"
    )
    p = only_problem(text)
    assert "ends at J1 with coordinates that differ from its first point J1 (line 3)" in p.message
    assert p.line == 7


def test_ring_with_too_few_points():
    p = only_problem("J1,3300000,35500000\nJ2,3300000,35500100\nJ1,3300000,35500000\n")
    assert "has 3 point(s)" in p.message
    assert p.line == 1


def test_bad_line_named():
    text = PARCEL.replace("J3,3300100.000,35500100.000", "J3,3300100.000,abc")
    p = only_problem(text)
    assert p.line == 5
    assert p.message.startswith("expected 'point_no, x, y' or 'point_no, ring_no, x, y'")


def test_nan_refused_in_point_lists():
    p = only_problem(PARCEL.replace("J2,3300000.000,35500100.000", "J2,nan,35500100.000"))
    assert p.line == 4


def test_self_intersection_names_the_line():
    text = """J1,3300000,35500000
J2,3300100,35500100
J3,3300000,35500100
J4,3300100,35500000
J1,3300000,35500000
"""
    p = only_problem(text)
    assert p.message.startswith("Self-intersection at (35500050, 3300050)")
    assert p.line in (1, 3)


def test_exchange_format_with_attribute_lines():
    text = """[属性描述]
格式版本号=1.01版本
坐标系=2000国家大地坐标系
带号=35
[地块坐标]
5,1.0000,A-01,宗地一,面,,工业用地,0601,@
J1,1,3300000.000,35500000.000
J2,1,3300000.000,35500100.000
J3,1,3300100.000,35500100.000
J4,1,3300100.000,35500000.000
J1,1,3300000.000,35500000.000
4,0.5000,A-02,宗地二,面,,,,@
K1,1,3310000,35510000
K2,1,3310000,35510100
K3,1,3310100,35510100
K1,1,3310000,35510000
"""
    a, b = parse_features(text.encode("gb18030"))
    assert a.index == 0
    assert b.index == 1
    assert a.properties == {
        "界址点数": "5",
        "地块面积": "1.0000",
        "地块编号": "A-01",
        "地块名称": "宗地一",
        "记录图形属性": "面",
        "地块用途": "工业用地",
        "地类编码": "0601",
    }
    assert b.properties["地块名称"] == "宗地二"
    assert a.geometry.area == pytest.approx(10_000.0)
    assert b.geometry.area == pytest.approx(5_000.0)


def test_no_points_at_all():
    p = only_problem("# nothing here\n\n", fmt="coordinates")
    assert p.message.startswith("no boundary points found")


def test_vertex_cap_applies_to_point_lists():
    text = "\n".join(f"P{i},{3300000 + i},{35500000 + i}" for i in range(2000))
    p = only_problem(text, max_vertices=500)
    assert "more than 500 vertices" in p.message
