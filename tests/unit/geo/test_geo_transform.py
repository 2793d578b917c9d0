"""Transformations: round trips, GCJ-02 chains, CGCS2000≡WGS 84, and no silent ballpark."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from planfuse.geo import offsets
from planfuse.geo.crs import (
    get_transformer,
    resolve_crs,
    transform_coords,
    transform_geometry,
)
from planfuse.geo.errors import CoordinateRangeError, DatumTransformError

GEOD = Geod(ellps="GRS80")
XIAN_CODES = [
    "EPSG:4610",
    "EPSG:2359",
    "EPSG:2360",
    "EPSG:2361",
    "EPSG:2380",
    "EPSG:2381",
    "EPSG:2382",
]
BEIJING_CODES = [
    "EPSG:4214",
    "EPSG:2411",
    "EPSG:2412",
    "EPSG:2413",
    "EPSG:2432",
    "EPSG:2433",
    "EPSG:2434",
]
# Illustrative 7-parameter sets (position vector; m, arc-seconds, ppm). Real ones are
# published per province; these have realistic magnitudes.
XIAN_SHIFT = [-24.0, 109.0, 57.0, 1.2, -0.8, 2.1, 3.5]
BEIJING_SHIFT = [15.8, -154.4, -82.3, 0.0, 0.0, 0.0, 0.0]


def chongqing_points(n=41):
    lon, lat = np.meshgrid(np.linspace(105.3, 106.49, n), np.linspace(28.2, 32.2, n))
    return lon.ravel(), lat.ravel()


def test_round_trip_4490_4523_4490_within_1e9_degrees():
    lon, lat = chongqing_points()
    x, y = transform_coords(lon, lat, "EPSG:4490", "EPSG:4523")
    assert np.all((x > 35_000_000) & (x < 36_000_000))
    back_lon, back_lat = transform_coords(x, y, "EPSG:4523", "EPSG:4490")
    assert np.abs(back_lon - lon).max() < 1e-9
    assert np.abs(back_lat - lat).max() < 1e-9


def test_known_gk_coordinates_of_the_central_meridian():
    # On the central meridian the easting is the false easting exactly.
    x, y = transform_coords(np.array([105.0]), np.array([30.0]), "EPSG:4490", "EPSG:4523")
    assert x[0] == pytest.approx(35_500_000.0, abs=1e-6)
    # On the central meridian the northing is the meridian arc length from the equator,
    # integrated here independently (Simpson's rule) on the GRS80 ellipsoid.
    a, f = 6378137.0, 1 / 298.257222101
    e2 = f * (2 - f)
    phi = np.linspace(0.0, np.radians(30.0), 20_001)
    m = a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5
    h = phi[1] - phi[0]
    arc = h / 3 * (m[0] + m[-1] + 4 * m[1:-1:2].sum() + 2 * m[2:-1:2].sum())
    assert y[0] == pytest.approx(arc, abs=1e-3)
    x2, y2 = transform_coords(np.array([105.0]), np.array([30.0]), "EPSG:4490", "EPSG:4544")
    assert (x2[0], y2[0]) == pytest.approx((500_000.0, y[0]), abs=1e-6)


def test_gcj02_to_cgcs2000_known_point_within_half_a_metre():
    # eviltransform (googollee/eviltransform, python/test.py): Beijing WGS 84 ↔ GCJ-02.
    wgs = (116.377817, 39.911954)
    gcj = (116.38404722455657, 39.91334545536069)
    lon, lat = transform_coords(np.array([gcj[0]]), np.array([gcj[1]]), "GCJ-02", "EPSG:4490")
    assert GEOD.inv(lon[0], lat[0], *wgs)[2] < 0.5


def test_gcj02_to_gk_zone_chains_offset_and_projection():
    lon, lat = chongqing_points(11)
    glon, glat = offsets.wgs84_to_gcj02(lon, lat)
    x, y = transform_coords(glon, glat, "GCJ-02", "EPSG:4523")
    ex, ey = transform_coords(lon, lat, "EPSG:4490", "EPSG:4523")
    assert np.hypot(x - ex, y - ey).max() < 0.01
    # And back into GCJ-02.
    rlon, rlat = transform_coords(x, y, "EPSG:4523", "GCJ-02")
    assert np.abs(rlon - glon).max() < 1e-8
    assert np.abs(rlat - glat).max() < 1e-8


def test_bd09_gcj02_direct_and_via_wgs84_agree():
    lon, lat = chongqing_points(11)
    blon, blat = offsets.wgs84_to_bd09(lon, lat)
    g1 = transform_coords(blon, blat, "BD-09", "GCJ-02")
    g2 = offsets.wgs84_to_gcj02(lon, lat)
    assert np.abs(g1[0] - g2[0]).max() < 1e-8
    w = transform_coords(blon, blat, "BD-09", "EPSG:4326")
    assert np.abs(w[0] - lon).max() < 1e-8


def test_cgcs2000_and_wgs84_are_treated_as_identical():
    lon, lat = chongqing_points(11)
    for src, dst in [
        ("EPSG:4490", "EPSG:4326"),
        ("EPSG:4326", "EPSG:4490"),
        ("EPSG:4490", "CRS84"),
    ]:
        x, y = transform_coords(lon, lat, src, dst)
        np.testing.assert_allclose(x, lon, rtol=0, atol=1e-12)
        np.testing.assert_allclose(y, lat, rtol=0, atol=1e-12)
    a = transform_coords(lon, lat, "EPSG:4490", "EPSG:3857")
    b = transform_coords(lon, lat, "EPSG:4326", "EPSG:3857")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


PAIRS = [
    ("EPSG:4490", "EPSG:4523"),
    ("EPSG:4523", "EPSG:4546"),
    ("EPSG:4490", "EPSG:4326"),
    ("EPSG:4326", "EPSG:4490"),
    ("OGC:CRS84", "EPSG:4523"),
    ("EPSG:3857", "EPSG:4490"),
    ("EPSG:4523", "EPSG:3857"),
    ("GCJ-02", "EPSG:4523"),
    ("EPSG:3857", "BD-09"),
    ("EPSG:4610", "EPSG:2359"),  # same datum: no shift needed
    ("EPSG:2432", "EPSG:4214"),
]


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_no_transformer_is_a_ballpark(src, dst):
    t = get_transformer(src, dst)
    assert "ballpark" not in t.description.lower()
    assert not t.is_identity


@pytest.mark.parametrize("src", XIAN_CODES + BEIJING_CODES)
@pytest.mark.parametrize("dst", ["EPSG:4490", "EPSG:4523", "EPSG:4326", "GCJ-02", "EPSG:3857"])
def test_old_datums_refused_without_helmert_parameters(src, dst):
    with pytest.raises(DatumTransformError) as info:
        get_transformer(src, dst)
    message = info.value.message
    datum = "Xian 1980" if src in XIAN_CODES else "Beijing 1954"
    assert message.startswith(f"{datum} → CGCS2000 needs a configured 7-parameter (Helmert)")
    assert "ballpark" in message
    assert "PLANFUSE_DATUM_SHIFTS" in message


def test_old_datum_refused_in_the_other_direction_and_between_them():
    with pytest.raises(DatumTransformError):
        get_transformer("EPSG:4490", "EPSG:2360")
    with pytest.raises(DatumTransformError):
        get_transformer("EPSG:4610", "EPSG:4214", {"Xian1980": XIAN_SHIFT})


def geodetic_to_ecef(lon, lat, a, inv_f):
    f = 1 / inv_f
    e2 = f * (2 - f)
    lam, phi = np.radians(lon), np.radians(lat)
    n = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)
    return np.array(
        [n * np.cos(phi) * np.cos(lam), n * np.cos(phi) * np.sin(lam), n * (1 - e2) * np.sin(phi)]
    )


def ecef_to_geodetic(xyz, a, inv_f):
    f = 1 / inv_f
    e2 = f * (2 - f)
    x, y, z = xyz
    p = np.hypot(x, y)
    phi = np.arctan2(z, p * (1 - e2))
    for _ in range(10):
        n = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)
        h = p / np.cos(phi) - n
        phi = np.arctan2(z, p * (1 - e2 * n / (n + h)))
    return np.degrees(np.arctan2(y, x)), np.degrees(phi)


def helmert_position_vector(xyz, params):
    dx, dy, dz, rx, ry, rz, ds = params
    rx, ry, rz = (np.radians(v / 3600.0) for v in (rx, ry, rz))
    r = np.array([[1, -rz, ry], [rz, 1, -rx], [-ry, rx, 1]])
    return np.array([dx, dy, dz]) + (1 + ds * 1e-6) * (r @ xyz)


@pytest.mark.parametrize(
    ("code", "datum", "params", "ellipsoid"),
    [
        ("EPSG:4610", "Xian1980", XIAN_SHIFT, (6378140.0, 298.257)),
        ("EPSG:4214", "Beijing1954", BEIJING_SHIFT, (6378245.0, 298.3)),
    ],
)
def test_helmert_shift_matches_an_independent_computation(code, datum, params, ellipsoid):
    lon, lat = 106.55, 29.56
    t = get_transformer(code, "EPSG:4490", {datum: params})
    assert "ballpark" not in t.description.lower()
    out_lon, out_lat = t(np.array([lon]), np.array([lat]))
    xyz = helmert_position_vector(geodetic_to_ecef(lon, lat, *ellipsoid), params)
    exp_lon, exp_lat = ecef_to_geodetic(xyz, 6378137.0, 298.257222101)
    assert GEOD.inv(out_lon[0], out_lat[0], exp_lon, exp_lat)[2] < 0.001
    shift_m = GEOD.inv(lon, lat, out_lon[0], out_lat[0])[2]
    # Real Xian 1980 / Beijing 1954 → CGCS2000 shifts are tens of metres (up to ~150 m).
    assert 10.0 < shift_m < 300.0


def test_helmert_through_projected_old_datum_matches_geographic_path():
    shifts = {"Xian1980": XIAN_SHIFT}
    lon, lat = np.array([105.8]), np.array([29.9])
    x, y = transform_coords(lon, lat, "EPSG:4610", "EPSG:2359")  # same datum, exact
    via_projected = transform_coords(x, y, "EPSG:2359", "EPSG:4490", shifts)
    via_geographic = transform_coords(lon, lat, "EPSG:4610", "EPSG:4490", shifts)
    np.testing.assert_allclose(via_projected, via_geographic, rtol=0, atol=1e-9)
    # To the CGCS2000 GK zone directly: tens of metres from the unshifted numbers.
    gx, gy = transform_coords(x, y, "EPSG:2359", "EPSG:4523", shifts)
    assert 10 < np.hypot(gx - x, gy - y)[0] < 300


def test_transformers_are_cached_per_relevant_shift():
    assert get_transformer("EPSG:4490", "EPSG:4523") is get_transformer("epsg::4490", "EPSG:4523")
    a = get_transformer("EPSG:4610", "EPSG:4490", {"Xian1980": XIAN_SHIFT})
    b = get_transformer(
        "EPSG:4610", "EPSG:4490", {"Xian1980": XIAN_SHIFT, "Beijing1954": BEIJING_SHIFT}
    )
    assert a is b  # the Beijing shift is irrelevant to this pair
    c = get_transformer("EPSG:4610", "EPSG:4490", {"Xian1980": [0, 0, 0, 0, 0, 0, 1]})
    assert c is not a


def test_transform_coords_refuses_points_outside_the_projection_domain():
    with pytest.raises(CoordinateRangeError) as info:
        transform_coords(
            np.array([35_500_000.0, 1e30]), np.array([3e6, 0.0]), "EPSG:4523", "EPSG:4490"
        )
    assert "vertex 1" in info.value.message


def test_transform_geometry_single_array_identity_and_z():
    src, dst = resolve_crs("EPSG:4490"), resolve_crs("EPSG:4523")
    poly = shapely.Polygon([(105, 29), (105.1, 29), (105.1, 29.1), (105, 29)])
    out = transform_geometry(poly, src, dst)
    assert isinstance(out, shapely.Polygon)
    assert out.bounds[0] == pytest.approx(35_500_000.0, abs=1e-6)
    arr = transform_geometry(np.array([poly, poly.centroid]), src, dst)
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (2,)
    assert transform_geometry(poly, src, src) is poly
    z = shapely.Point(105.0, 30.0, 250.0)
    assert not transform_geometry(z, src, dst).has_z


def test_reprojection_is_vectorised():
    rng = np.random.default_rng(0)
    n = 100_000
    x0 = rng.uniform(105.5, 106.4, n)
    y0 = rng.uniform(28.5, 31.5, n)
    d = 0.001
    rings = np.stack(
        [
            np.stack([x0, y0], 1),
            np.stack([x0 + d, y0], 1),
            np.stack([x0 + d, y0 + d], 1),
            np.stack([x0, y0], 1),
        ],
        1,
    )
    polys = shapely.polygons(rings)
    out = transform_geometry(polys, "EPSG:4490", "EPSG:4523")
    assert out.shape == (n,)
    # The array goes through in one call and comes back element for element (speed is
    # measured in tests/benchmarks/bench_import.py).
    one = transform_geometry(polys[12_345], "EPSG:4490", "EPSG:4523")
    assert shapely.equals_exact(out[12_345], one, tolerance=1e-6)
