"""Parsed features against their declared CRS, and reprojection to storage."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from planfuse.geo import crs as crs_mod
from planfuse.geo import offsets
from planfuse.geo.crs import resolve_crs, transform_coords
from planfuse.geo.errors import CoordinateRangeError, DatumTransformError, GeometryInputError
from planfuse.geo.parse import locate_vertex, parse_features, to_storage, validate_in_crs

GEOD = Geod(ellps="GRS80")


def gk_square(e0, n0, side=100.0):
    return [[e0, n0], [e0 + side, n0], [e0 + side, n0 + side], [e0, n0 + side], [e0, n0]]


def fc(*geometries):
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries],
    }


def poly(ring, *holes):
    return {"type": "Polygon", "coordinates": [ring, *holes]}


def test_right_zone_passes():
    fs = parse_features(fc(poly(gk_square(35_512_345.0, 3_300_000.0))))
    validate_in_crs(fs, resolve_crs("EPSG:4523"))


def test_wrong_zone_prefix_names_feature_vertex_and_fix():
    fs = parse_features(
        fc(poly(gk_square(35_512_345.0, 3_300_000.0)), poly(gk_square(36_512_345.6, 3_300_000.0)))
    )
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4523"))
    (p,) = info.value.errors
    assert (p.feature, p.ring, p.vertex) == (1, 0, 0)
    assert p.message == (
        "easting 36512345.6 has zone prefix 36 but EPSG:4523 is zone 35; use EPSG:4524 "
        "(and 4 more vertices of this feature)"
    )
    assert isinstance(info.value, GeometryInputError)


def test_prefixed_eastings_under_unprefixed_crs():
    fs = parse_features(poly(gk_square(36_512_345.6, 3_300_000.0)))
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4545"))
    assert "looks zone-prefixed (zone 36) but EPSG:4545 has no zone prefix; use EPSG:4524" in (
        info.value.errors[0].message
    )


def test_unprefixed_eastings_under_prefixed_crs():
    fs = parse_features(poly(gk_square(512_345.6, 3_300_000.0)))
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4524"))
    assert "has no zone prefix but EPSG:4524 (zone 36)" in info.value.errors[0].message
    assert "use EPSG:4545" in info.value.errors[0].message


def test_only_the_bad_vertex_is_named():
    ring = gk_square(35_512_345.0, 3_300_000.0)
    ring[2][0] = 36_512_445.0  # a typo in one vertex
    fs = parse_features(poly(ring), repair=True)
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4523"))
    (p,) = info.value.errors
    assert p.message.startswith("easting 36512445.0 has zone prefix 36")
    assert "more vertices" not in p.message


def test_outside_the_zone_band():
    # Right zone prefix, but 5.8° east of the central meridian at 45°N (458 km, still a
    # zone-35 easting) and a northing at 63°N: both outside the zone's area of use.
    info = resolve_crs("EPSG:4523")
    x, y = transform_coords(np.array([110.8, 105.0]), np.array([45.0, 63.0]), "EPSG:4490", info)
    assert crs_mod.check_gk_eastings(x, info) == []
    fs = parse_features(
        fc(
            poly(gk_square(35_512_345.0, 3_300_000.0)),
            poly(gk_square(float(x[0]), float(y[0]))),
            poly(gk_square(float(x[1]), float(y[1]))),
        )
    )
    with pytest.raises(CoordinateRangeError) as info_:
        validate_in_crs(fs, info)
    first, second = info_.value.errors
    assert (first.feature, second.feature) == (1, 2)
    assert "outside the area of use of EPSG:4523" in first.message
    assert "it lies at 110.800°E, use EPSG:4525" in first.message


def test_degrees_declared_as_projected():
    fs = parse_features(poly([[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]))
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4523"))
    assert any(
        "look like degrees" in p.message or "easting" in p.message for p in info.value.errors
    )


def test_swapped_lat_lon_in_geographic_crs():
    fs = parse_features(poly([[29.5, 106.5], [29.5, 106.6], [29.6, 106.6], [29.5, 106.5]]))
    with pytest.raises(CoordinateRangeError) as info:
        validate_in_crs(fs, resolve_crs("EPSG:4490"))
    (p,) = info.value.errors
    assert "longitude and latitude look swapped" in p.message
    assert (p.feature, p.ring, p.vertex) == (0, 0, 0)
    assert "(and 3 more vertices of this feature)" in p.message


def test_locate_vertex_walks_parts_and_rings():
    g = shapely.MultiPolygon(
        [
            shapely.Polygon([(0, 0), (9, 0), (9, 9), (0, 0)], [[(1, 1), (2, 1), (2, 2), (1, 1)]]),
            shapely.Polygon([(20, 0), (29, 0), (29, 9), (20, 0)]),
        ]
    )
    assert locate_vertex(g, 0) == (0, 0, 0)
    assert locate_vertex(g, 5) == (0, 1, 1)
    assert locate_vertex(g, 9) == (1, 0, 1)
    assert locate_vertex(shapely.LineString([(0, 0), (1, 1)]), 1) == (None, None, 1)


def test_to_storage_from_gk_zone():
    lon, lat = 105.9, 29.7
    x, y = transform_coords(np.array([lon]), np.array([lat]), "EPSG:4490", "EPSG:4523")
    fs = parse_features(poly(gk_square(float(x[0]), float(y[0]))))
    (g,) = to_storage(fs, resolve_crs("EPSG:4523"))
    x0, y0 = shapely.get_coordinates(g)[0]
    assert (x0, y0) == pytest.approx((lon, lat), abs=1e-9)


def test_to_storage_from_gcj02_moves_by_the_offset():
    wgs = [[106.55, 29.55], [106.56, 29.55], [106.56, 29.56], [106.55, 29.56], [106.55, 29.55]]
    gcj = [list(offsets.wgs84_to_gcj02(*p)) for p in wgs]
    fs = parse_features(poly(gcj))
    (g,) = to_storage(fs, resolve_crs("GCJ-02"))
    got = shapely.get_coordinates(g)
    dist = GEOD.inv(got[:, 0], got[:, 1], np.array(wgs)[:, 0], np.array(wgs)[:, 1])[2]
    assert np.max(dist) < 0.5
    moved = GEOD.inv(np.array(gcj)[:, 0], np.array(gcj)[:, 1], got[:, 0], got[:, 1])[2]
    assert np.all((moved > 300) & (moved < 700))


def test_to_storage_refuses_old_datum_without_shift():
    fs = parse_features(poly(gk_square(35_512_345.0, 3_300_000.0)))
    with pytest.raises(DatumTransformError):
        to_storage(fs, resolve_crs("EPSG:2359"))
    (g,) = to_storage(
        fs, resolve_crs("EPSG:2359"), {"Xian1980": [-24.0, 109.0, 57.0, 1.2, -0.8, 2.1, 3.5]}
    )
    assert g.is_valid


def test_to_storage_validates_first():
    fs = parse_features(poly(gk_square(36_512_345.6, 3_300_000.0)))
    with pytest.raises(CoordinateRangeError):
        to_storage(fs, resolve_crs("EPSG:4523"))
    # validate=False skips the range check (the caller already did it).
    assert to_storage(fs, resolve_crs("EPSG:4524"), validate=False)


def test_to_storage_identity_returns_equal_geometries():
    fs = parse_features(poly([[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]))
    (g,) = to_storage(fs, resolve_crs("EPSG:4490"))
    assert g.equals(fs[0].geometry)


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[106.5, 29.5], [106.6, 29.6], [106.6, 29.5], [106.5, 29.6], [106.5, 29.5]]],
}


def test_to_storage_rechecks_validity_after_transformation(monkeypatch):
    fs = parse_features(poly([[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]))
    invalid = shapely.from_geojson(str(BOWTIE).replace("'", '"'))

    def broken_transform(geoms, src, dst, datum_shifts=None):
        return np.array([invalid], dtype=object)

    monkeypatch.setattr(crs_mod, "transform_geometry", broken_transform)
    with pytest.raises(GeometryInputError) as info:
        to_storage(fs, resolve_crs("EPSG:4490"))
    (p,) = info.value.errors
    assert p.feature == 0
    assert "becomes invalid when reprojected to EPSG:4490: Self-intersection" in p.message
    # A feature the caller asked to repair is repaired again instead.
    fs[0].repaired = True
    (g,) = to_storage(fs, resolve_crs("EPSG:4490"))
    assert g.is_valid
    assert g.geom_type == "MultiPolygon"
