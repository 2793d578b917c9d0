"""GCJ-02 / BD-09 offsets: known answers from public implementations, round trips, and
the iterated inverse's residual over Chongqing."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from planfuse.geo import offsets

GEOD = Geod(ellps="GRS80")

# googollee/eviltransform, python/test.py and go/transform_test.go (MIT):
# (wgsLat, wgsLng, gcjLat, gcjLng)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]

# wandergis/coordtransform README (MIT), input (116.404, 39.915):
WANDERGIS_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# Baidu's closed-form (approximate) inverse as published there:
WANDERGIS_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)


def distance_m(lon1, lat1, lon2, lat2):
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(wlat, wlon, glat, glon):
    lon, lat = offsets.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_gcj02_to_wgs84_recovers_the_known_point_within_half_a_metre(wlat, wlon, glat, glon):
    lon, lat = offsets.gcj02_to_wgs84(glon, glat)
    assert distance_m(lon, lat, wlon, wlat) < 0.5
    # In fact to a millimetre: the inverse is iterated to 1e-8 degrees.
    assert distance_m(lon, lat, wlon, wlat) < 0.005


def test_wandergis_known_answers():
    assert offsets.wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        WANDERGIS_WGS84_TO_GCJ02, abs=1e-12
    )
    assert offsets.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        WANDERGIS_GCJ02_TO_BD09, abs=1e-12
    )
    # Our inverse is iterated; Baidu's closed form is off by a few centimetres.
    lon, lat = offsets.bd09_to_gcj02(116.404, 39.915)
    assert distance_m(lon, lat, *WANDERGIS_BD09_TO_GCJ02) < 0.1
    assert offsets.gcj02_to_bd09(lon, lat) == pytest.approx((116.404, 39.915), abs=1e-9)


def test_offset_in_chongqing_is_a_few_hundred_metres():
    # Jiefangbei, central Chongqing.
    lon, lat = 106.5770, 29.5570
    glon, glat = offsets.wgs84_to_gcj02(lon, lat)
    shift = float(distance_m(lon, lat, glon, glat))
    assert 300 < shift < 700
    blon, blat = offsets.wgs84_to_bd09(lon, lat)
    # BD-09 adds roughly another 0.0065°/0.006° (~ 900 m) on top of GCJ-02.
    assert 700 < float(distance_m(lon, lat, blon, blat)) < 2000


def chongqing_grid(n=201):
    lon, lat = np.meshgrid(np.linspace(105.2, 110.3, n), np.linspace(28.1, 32.3, n))
    return lon.ravel(), lat.ravel()


def test_gcj02_inverse_residual_over_chongqing_grid():
    lon, lat = chongqing_grid()
    glon, glat = offsets.wgs84_to_gcj02(lon, lat)
    rlon, rlat = offsets.gcj02_to_wgs84(glon, glat)
    residual = distance_m(rlon, rlat, lon, lat)
    assert residual.max() < 0.5
    assert residual.max() < 0.01  # measured: well under a millimetre
    # Forward image of the inverse reproduces the GCJ-02 input to 1e-8°.
    flon, flat = offsets.wgs84_to_gcj02(rlon, rlat)
    assert np.abs(flon - glon).max() <= 1e-8
    assert np.abs(flat - glat).max() <= 1e-8


def test_bd09_round_trip_over_chongqing_grid():
    lon, lat = chongqing_grid(101)
    blon, blat = offsets.wgs84_to_bd09(lon, lat)
    rlon, rlat = offsets.bd09_to_wgs84(blon, blat)
    assert distance_m(rlon, rlat, lon, lat).max() < 0.01


def test_outside_china_is_unchanged():
    lon = np.array([2.35, -74.0, 139.7, 106.5])
    lat = np.array([48.85, 40.7, 35.7, 60.0])
    for fn in (
        offsets.wgs84_to_gcj02,
        offsets.gcj02_to_wgs84,
        offsets.gcj02_to_bd09,
        offsets.bd09_to_gcj02,
    ):
        x, y = fn(lon, lat)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)


def test_shapes_and_scalars_are_preserved():
    x, y = offsets.wgs84_to_gcj02(np.full((3, 4), 106.5), np.full((3, 4), 29.5))
    assert x.shape == (3, 4)
    assert y.shape == (3, 4)
    lon, lat = offsets.gcj02_to_wgs84(106.5, 29.5)
    assert isinstance(lon, float)
    assert isinstance(lat, float)


def test_chunked_evaluation_equals_single_pass():
    lon, lat = chongqing_grid(301)  # 90,601 points: more than one chunk
    assert lon.size > offsets.CHUNK_POINTS
    glon, glat = offsets.wgs84_to_gcj02(lon, lat)
    dlon, dlat = offsets._gcj_delta(lon, lat)
    np.testing.assert_array_equal(glon, lon + dlon)
    np.testing.assert_array_equal(glat, lat + dlat)


def test_trig_identities_match_the_textbook_formula():
    lon, lat = chongqing_grid(51)
    x = lon - 105.0
    y = lat - 35.0
    ref_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ref_lon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ref_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ref_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - offsets.KRASOVSKY_EE * np.sin(radlat) ** 2
    ref_dlon = (ref_lon * 180.0) / (offsets.KRASOVSKY_A_M / np.sqrt(magic) * np.cos(radlat) * np.pi)
    dlon, _ = offsets._gcj_delta(lon, lat)
    np.testing.assert_allclose(dlon, ref_dlon, rtol=0, atol=1e-13)


def test_nan_input_stays_nan_and_terminates():
    lon, _lat = offsets.gcj02_to_wgs84(np.array([np.nan, 106.5]), np.array([29.5, 29.5]))
    assert np.isnan(lon[0])
    assert np.isfinite(lon[1])
