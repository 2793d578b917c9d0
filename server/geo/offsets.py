"""GCJ-02 and BD-09: the offsets of Chinese web maps, which PROJ does not know.

GCJ-02 ("Mars coordinates", AMap/高德, Tencent/腾讯, Google China) is WGS 84 longitude and
latitude moved by a deterministic, non-linear offset of a few hundred metres inside China.
BD-09 (Baidu/百度) is a further offset of GCJ-02. The formulas here are the public
algorithm as published in many open implementations (eviltransform, coordtransform): the
Krasovsky 1940 ellipsoid constants below and the ``out_of_china`` box outside of which
GCJ-02 equals WGS 84.

CGCS2000 is treated as identical to WGS 84 for these offsets: the two realisations differ
by a few centimetres in China, far below the offset algorithm's own reproducibility
(~0.5 m is the accuracy the public inverse is usually quoted with), so the offsets map
CGCS2000 longitude/latitude onto GCJ-02 just as they do WGS 84.

All functions take longitude and latitude in degrees as scalars or numpy arrays (any
shape) and return float64 numpy arrays of the same shape (Python floats for scalar input).
"""

from __future__ import annotations

import numpy as np

# Krasovsky 1940 semi-major axis (m) and first eccentricity squared, as in the algorithm.
KRASOVSKY_A_M = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323

# Bounding box outside of which GCJ-02 and BD-09 are plain WGS 84 (degrees).
# (west, south, east, north) — the box every public implementation uses.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)

# The inverse is iterated until the forward image of the estimate is this close to the
# input, in degrees (1e-8° ≈ 1 mm, far below the 0.5 m the API promises).
INVERSE_TOLERANCE_DEG = 1e-8
# Fixed-point iteration gains 2–3 digits per step (the offset's derivative is ~1e-3), so
# 4–6 steps suffice; the bound guarantees termination for pathological input.
MAX_INVERSE_ITERATIONS = 30

_X_PI = np.pi * 3000.0 / 180.0


# Arrays are processed in chunks of this many points: the offset formulas create ~40
# temporaries, and at cache-sized chunks they run ~2.5x faster than on 5M points at once.
CHUNK_POINTS = 65_536


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape:
        x, y = np.broadcast_arrays(x, y)
    return x, y, x.ndim == 0


def _apply(kernel, lon, lat):
    """Run ``kernel(x, y) -> (x, y)`` over 1-D chunks; same shape out (floats for scalars)."""
    x, y, scalar = _as_arrays(lon, lat)
    fx = x.ravel()
    fy = y.ravel()
    if fx.size <= CHUNK_POINTS:
        ox, oy = kernel(fx, fy)
    else:
        ox = np.empty_like(fx)
        oy = np.empty_like(fy)
        for i in range(0, fx.size, CHUNK_POINTS):
            j = i + CHUNK_POINTS
            ox[i:j], oy[i:j] = kernel(fx[i:j], fy[i:j])
    if scalar:
        return float(ox[0]), float(oy[0])
    return ox.reshape(x.shape), oy.reshape(y.shape)


def out_of_china(lon, lat) -> np.ndarray:
    """Boolean mask: True where (lon, lat) in degrees is outside the GCJ-02 box."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    west, south, east, north = CHINA_BOX
    return ~((x >= west) & (x <= east) & (y >= south) & (y <= north))


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS 84 (lon, lat) in degrees."""
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * np.pi
    ypi = y * np.pi
    sqrt_abs_x = np.sqrt(np.abs(x))
    # sin(2xπ) and sin(6xπ) from sin/cos(xπ) by the double- and triple-angle identities:
    # the trigonometric calls dominate the cost on millions of vertices, and the identities
    # agree with direct evaluation to ~1e-15 (tested against the textbook form).
    s1 = np.sin(xpi)
    s2 = 2.0 * s1 * np.cos(xpi)
    s6 = s2 * (3.0 - 4.0 * s2 * s2)
    common = (20.0 * s6 + 20.0 * s2) * (2.0 / 3.0)
    xy = x * y
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(ypi) + 40.0 * np.sin(ypi / 3.0)) * (2.0 / 3.0)
    dlat += (160.0 * np.sin(ypi / 12.0) + 320.0 * np.sin(ypi / 30.0)) * (2.0 / 3.0)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * s1 + 40.0 * np.sin(xpi / 3.0)) * (2.0 / 3.0)
    dlon += (150.0 * np.sin(xpi / 12.0) + 300.0 * np.sin(xpi / 30.0)) * (2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A_M * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A_M / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(x, y)
    outside = out_of_china(x, y)
    return np.where(outside, x, x + dlon), np.where(outside, y, y + dlat)


def wgs84_to_gcj02(lon, lat):
    """WGS 84 (≡ CGCS2000) longitude/latitude in degrees → GCJ-02 degrees."""
    return _apply(_wgs_to_gcj, lon, lat)


def _iterate_inverse(forward, gx: np.ndarray, gy: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Fixed-point iteration x ← x − (forward(x) − g) until within the tolerance.

    Converges because the offsets vary slowly (their derivative is ~1e-3 per degree), so
    each step gains about three digits; the bound guarantees termination (NaN input never
    converges and stays NaN).
    """
    for _ in range(MAX_INVERSE_ITERATIONS):
        fx, fy = forward(x, y)
        ex = fx - gx
        ey = fy - gy
        x = x - ex
        y = y - ey
        if not np.any((np.abs(ex) > INVERSE_TOLERANCE_DEG) | (np.abs(ey) > INVERSE_TOLERANCE_DEG)):
            break
    return x, y


def _gcj_to_wgs(gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(gx, gy)
    x, y = _iterate_inverse(_wgs_to_gcj, gx, gy, gx - dlon, gy - dlat)
    outside = out_of_china(gx, gy)
    return np.where(outside, gx, x), np.where(outside, gy, y)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 longitude/latitude in degrees → WGS 84 (≡ CGCS2000) degrees.

    The public algorithm has no closed-form inverse; starting from ``g − delta(g)`` (the
    usual 1–2 m approximation) the estimate is refined by fixed-point iteration until its
    forward image is within :data:`INVERSE_TOLERANCE_DEG` (about 1 mm) of the input.
    """
    return _apply(_gcj_to_wgs, lon, lat)


def _gcj_to_bd(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    bx = z * np.cos(theta) + 0.0065
    by = z * np.sin(theta) + 0.006
    # Outside China Baidu's own maps use WGS 84 (= GCJ-02 there), as eviltransform does.
    outside = out_of_china(x, y)
    return np.where(outside, x, bx), np.where(outside, y, by)


def _bd_to_gcj(bx: np.ndarray, by: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = bx - 0.0065
    y = by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = _iterate_inverse(_gcj_to_bd, bx, by, z * np.cos(theta), z * np.sin(theta))
    outside = out_of_china(bx, by)
    return np.where(outside, bx, gx), np.where(outside, by, gy)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 longitude/latitude in degrees → BD-09 degrees."""
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 longitude/latitude in degrees → GCJ-02 degrees.

    Baidu's published inverse is approximate (errors of a few centimetres); it is used as
    the start and refined by the same fixed-point iteration as :func:`gcj02_to_wgs84`.
    """
    return _apply(_bd_to_gcj, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS 84 (≡ CGCS2000) longitude/latitude in degrees → BD-09 degrees."""
    return _apply(lambda x, y: _gcj_to_bd(*_wgs_to_gcj(x, y)), lon, lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 longitude/latitude in degrees → WGS 84 (≡ CGCS2000) degrees."""
    return _apply(lambda x, y: _gcj_to_wgs(*_bd_to_gcj(x, y)), lon, lat)
