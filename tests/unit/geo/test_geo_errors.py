"""The error types' shape: messages, locations, JSON form, caps."""

from __future__ import annotations

from planfuse.geo.errors import (
    MAX_PROBLEMS,
    CoordinateRangeError,
    DatumTransformError,
    GeoError,
    GeometryInputError,
    InputProblem,
    ProblemCollector,
    UnknownCRSError,
)


def test_where_and_to_dict():
    p = InputProblem("ring is not closed", feature=3, ring=0, vertex=17)
    assert p.where() == "feature 3, ring 0, vertex 17"
    assert p.to_dict() == {
        "message": "ring is not closed",
        "feature": 3,
        "ring": 0,
        "vertex": 17,
        "where": "feature 3, ring 0, vertex 17",
    }
    assert str(p) == "feature 3, ring 0, vertex 17: ring is not closed"
    line = InputProblem("bad number", line=12, field="x")
    assert line.where() == "line 12, field 'x'"
    assert InputProblem("x").to_dict() == {"message": "x"}
    assert InputProblem("x", part=0).where() == "part 0"  # 0 is a location, not "unset"


def test_hierarchy_and_codes():
    assert issubclass(CoordinateRangeError, GeometryInputError)
    for cls in (UnknownCRSError, GeometryInputError, DatumTransformError, CoordinateRangeError):
        assert issubclass(cls, GeoError)
    codes = {
        c.code
        for c in (UnknownCRSError, GeometryInputError, DatumTransformError, CoordinateRangeError)
    }
    assert len(codes) == 4


def test_geometry_input_error_summary_and_cap():
    problems = [InputProblem(f"problem {i}", feature=i) for i in range(130)]
    err = GeometryInputError(None, problems)
    assert len(err.errors) == MAX_PROBLEMS
    assert err.more == 30
    assert err.message.startswith("130 problems in the geometry input: feature 0: problem 0;")
    assert err.message.endswith("and 127 more")
    body = err.to_dict()
    assert body["code"] == "invalid_geometry"
    assert body["more"] == 30
    assert len(body["errors"]) == MAX_PROBLEMS
    single = GeometryInputError(None, [InputProblem("empty", feature=2)])
    assert single.message == "1 problem in the geometry input: feature 2: empty"
    assert str(single) == single.message


def test_explicit_message_is_kept():
    err = GeometryInputError("3 feature(s) of x.shp are empty", [InputProblem("empty", feature=1)])
    assert err.message == "3 feature(s) of x.shp are empty"
    assert err.errors[0].feature == 1


def test_collector_counts_beyond_the_limit():
    c = ProblemCollector(limit=2)
    assert not c
    for i in range(5):
        c.add("x", vertex=i)
    assert c.full
    assert len(c) == 5
    assert [p.vertex for p in c.problems] == [0, 1]
    try:
        c.raise_if_any(CoordinateRangeError)
    except CoordinateRangeError as exc:
        assert exc.more == 3
    else:  # pragma: no cover
        raise AssertionError("expected CoordinateRangeError")
