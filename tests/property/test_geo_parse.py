"""Property tests of the input parser: hostile input only ever raises GeometryInputError;
valid polygons survive every input format unchanged."""

from __future__ import annotations

import json

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planfuse.geo.errors import GeometryInputError
from planfuse.geo.parse import parse_features

json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=40,
)
geometry_types = st.sampled_from(
    [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
        "polygon",
    ]
)


def assert_parses_or_refuses(data, **kwargs):
    try:
        features = parse_features(data, **kwargs)
    except GeometryInputError as exc:
        assert exc.errors
        for problem in exc.errors:
            assert problem.message
        return
    for f in features:
        assert f.geometry.is_valid
        assert not f.geometry.is_empty
        assert np.isfinite(shapely.get_coordinates(f.geometry)).all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gtype=geometry_types, coordinates=json_values, extra=json_values)
def test_arbitrary_geojson_shapes(gtype, coordinates, extra):
    data = {"type": gtype, "coordinates": coordinates, "features": extra, "geometry": extra}
    assert_parses_or_refuses(data)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text(text):
    for fmt in ("auto", "geojson", "wkt", "coordinates"):
        assert_parses_or_refuses(text, fmt=fmt)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(data):
    assert_parses_or_refuses(data)


wkt_tokens = st.sampled_from(
    [
        "POLYGON",
        "MULTIPOLYGON",
        "POINT",
        "Z",
        "EMPTY",
        "(",
        ")",
        ",",
        "1",
        "-2.5",
        "1e3",
        "nan",
        ";",
    ]
)


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(wkt_tokens, max_size=40))
def test_wkt_token_soup(tokens):
    assert_parses_or_refuses(" ".join(tokens), fmt="wkt")


@st.composite
def star_rings(draw):
    cx = draw(st.floats(105.5, 109.5))
    cy = draw(st.floats(28.5, 31.5))
    n = draw(st.integers(3, 30))
    radii = draw(st.lists(st.floats(0.0005, 0.05), min_size=n, max_size=n))
    jitter = draw(st.lists(st.floats(0.05, 0.95), min_size=n, max_size=n))
    angles = (np.arange(n) + np.array(jitter)) * (2 * np.pi / n)
    r = np.array(radii)
    ring = np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])
    return np.vstack([ring, ring[:1]])


@settings(max_examples=200, deadline=None)
@given(ring=star_rings())
def test_valid_polygon_round_trips_through_every_format(ring):
    polygon = shapely.Polygon(ring)
    geojson = json.dumps({"type": "Polygon", "coordinates": [ring.tolist()]})
    (a,) = parse_features(geojson)
    (b,) = parse_features(shapely.to_wkt(polygon, rounding_precision=-1))
    points = "\n".join(f"J{i},{y!r},{x!r}" for i, (x, y) in enumerate(ring.tolist()))
    (c,) = parse_features(points, fmt="coordinates")  # latitude first: swapped back
    for f in (a, b, c):
        assert f.geometry.equals_exact(polygon, tolerance=0)
