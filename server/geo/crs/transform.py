"""Transformations between supported CRSs: pyproj steps that are never a ballpark, chained
with the GCJ-02 / BD-09 offsets, cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import BoundCRS
from pyproj.crs.coordinate_operation import ToWGS84Transformation
from pyproj.exceptions import ProjError

from planfuse.geo import offsets
from planfuse.geo.crs.datum import DatumShifts, missing_shift, normalize_datum_shifts
from planfuse.geo.crs.info import BD09_KEY, GCJ02_KEY, HUB_DATUMS, STORAGE_CRS_KEY, CRSInfo
from planfuse.geo.crs.names import resolve_crs
from planfuse.geo.crs.registry import info_for_key, pyproj_crs
from planfuse.geo.errors import CoordinateRangeError, DatumTransformError

# --- transformations ---------------------------------------------------------------------

_Step = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class CoordTransform:
    """A chain of steps from one supported CRS to another, on (x, y) numpy arrays.

    Steps are pyproj transformers (always_xy, never ballpark) and the GCJ-02/BD-09 offset
    functions. Instances are immutable and thread-safe (pyproj ≥ 3.1 transformers are).
    """

    def __init__(self, src_key: str, dst_key: str, steps: Sequence[_Step], description: str):
        self.src_key = src_key
        self.dst_key = dst_key
        self._steps = tuple(steps)
        self.description = description

    @property
    def is_identity(self) -> bool:
        return not self._steps

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transform coordinate arrays; returns new float64 arrays (x, y)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        for step in self._steps:
            x, y = step(x, y)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def __repr__(self) -> str:
        return f"<CoordTransform {self.src_key} → {self.dst_key}: {self.description}>"


def _assert_not_ballpark(t: Transformer, src: CRSInfo, dst: CRSInfo) -> None:
    names = [t.description or ""]
    names += [op.name or "" for op in (t.operations or ())]
    if any("ballpark" in n.lower() for n in names):
        raise DatumTransformError(
            f"PROJ offers only a ballpark transformation from {src.key} to {dst.key}; "
            "refused because it would silently ignore the datum shift"
        )


def _bound(info: CRSInfo, params: Sequence[float]) -> BoundCRS:
    crs = pyproj_crs(info.key)
    return BoundCRS(
        source_crs=crs,
        target_crs=CRS.from_epsg(4326),
        transformation=ToWGS84Transformation(crs.geodetic_crs, *params),
    )


def _pyproj_step(src: CRSInfo, dst: CRSInfo, shifts: Mapping[str, tuple]) -> Transformer:
    """A pyproj transformer between two PROJ-known supported CRSs, never a ballpark."""
    if src.datum == dst.datum:
        a, b = pyproj_crs(src.key), pyproj_crs(dst.key)
    else:
        # Different datums: both sides become bound CRSs on the CGCS2000≡WGS 84 hub, with
        # the configured Helmert parameters for Xian 1980/Beijing 1954 and an explicit
        # null shift for CGCS2000/WGS 84, so PROJ composes Helmert steps, not a ballpark.
        params = {}
        for info in (src, dst):
            if info.datum in HUB_DATUMS:
                params[info.datum] = (0.0,) * 7
            elif info.datum in shifts:
                params[info.datum] = shifts[info.datum]
            else:
                raise missing_shift(info.datum)
        a, b = _bound(src, params[src.datum]), _bound(dst, params[dst.datum])
    try:
        t = Transformer.from_crs(a, b, always_xy=True, allow_ballpark=False)
    except ProjError as exc:
        raise DatumTransformError(
            f"no transformation without a ballpark step from {src.key} to {dst.key}"
        ) from exc
    _assert_not_ballpark(t, src, dst)
    return t


def _pyproj_callable(t: Transformer) -> _Step:
    def step(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return t.transform(x, y)

    return step


def _shift_key(datum_shifts, src_key: str, dst_key: str) -> DatumShifts:
    """Hashable, minimal cache key: only the shifts of datums this pair involves."""
    shifts = normalize_datum_shifts(datum_shifts)
    involved = {info_for_key(src_key).datum, info_for_key(dst_key).datum}
    return tuple(sorted((d, v) for d, v in shifts.items() if d in involved))


def get_transformer(
    src_key: str, dst_key: str, datum_shifts: Mapping[str, Sequence[float]] | None = None
) -> CoordTransform:
    """The cached transformation between two supported CRSs (canonical keys or any
    spelling :func:`resolve_crs` accepts).

    Raises :class:`DatumTransformError` when only a ballpark transformation exists (Xian
    1980 / Beijing 1954 without configured shifts).
    """
    src = resolve_crs(src_key)
    dst = resolve_crs(dst_key)
    return _cached_transformer(src.key, dst.key, _shift_key(datum_shifts, src.key, dst.key))


@functools.lru_cache(maxsize=256)
def _cached_transformer(src_key: str, dst_key: str, shift_key: DatumShifts) -> CoordTransform:
    src = info_for_key(src_key)
    dst = info_for_key(dst_key)
    shifts = dict(shift_key)
    if src.key == dst.key:
        return CoordTransform(src.key, dst.key, (), "identity")
    pair = (src.key, dst.key)
    if pair == (GCJ02_KEY, BD09_KEY):
        return CoordTransform(*pair, (offsets.gcj02_to_bd09,), "GCJ-02 → BD-09 offset")
    if pair == (BD09_KEY, GCJ02_KEY):
        return CoordTransform(*pair, (offsets.bd09_to_gcj02,), "BD-09 → GCJ-02 offset")
    steps: list[_Step] = []
    labels: list[str] = []
    storage = info_for_key(STORAGE_CRS_KEY)
    mid_src, mid_dst = src, dst
    if src.is_offset:
        steps.append(offsets.gcj02_to_wgs84 if src.key == GCJ02_KEY else offsets.bd09_to_wgs84)
        labels.append(f"{src.key} → WGS 84≡CGCS2000 (iterated inverse offset)")
        mid_src = storage
    if dst.is_offset:
        mid_dst = storage
    if mid_src.key != mid_dst.key:
        t = _pyproj_step(mid_src, mid_dst, shifts)
        steps.append(_pyproj_callable(t))
        labels.append(t.description)
    if dst.is_offset:
        steps.append(offsets.wgs84_to_gcj02 if dst.key == GCJ02_KEY else offsets.wgs84_to_bd09)
        labels.append(f"WGS 84≡CGCS2000 → {dst.key} (offset)")
    return CoordTransform(src.key, dst.key, steps, " + ".join(labels))


def _as_info(crs: CRSInfo | str) -> CRSInfo:
    return crs if isinstance(crs, CRSInfo) else resolve_crs(crs)


def transform_coords(
    x: np.ndarray,
    y: np.ndarray,
    src: CRSInfo | str,
    dst: CRSInfo | str,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (x=easting/longitude, y=northing/latitude) from ``src``
    to ``dst``; units are those of each CRS (degrees or metres).

    Raises :class:`CoordinateRangeError` if finite input gives non-finite output (a point
    outside the projection's domain) and :class:`DatumTransformError` for refused datum
    changes.
    """
    src, dst = _as_info(src), _as_info(dst)
    t = get_transformer(src.key, dst.key, datum_shifts)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ox, oy = t(x, y)
    _check_finite_output(x, y, ox, oy, src, dst)
    return ox, oy


def _check_finite_output(x, y, ox, oy, src: CRSInfo, dst: CRSInfo) -> None:
    bad = np.isfinite(x) & np.isfinite(y) & ~(np.isfinite(ox) & np.isfinite(oy))
    if bad.any():
        idx = np.flatnonzero(bad.ravel())
        raise CoordinateRangeError(
            f"{idx.size} coordinate(s) cannot be transformed from {src.key} to {dst.key} "
            f"(outside the projection's domain), first at vertex {int(idx[0])}"
        )


def transform_geometry(
    geometry,
    src: CRSInfo | str,
    dst: CRSInfo | str,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
):
    """Reproject a shapely geometry or a numpy array of them (vectorised: one pass over all
    coordinates of the array). Z is dropped; the result is 2D. Returns the same shape of
    input (geometry → geometry, array → new array); identity transforms return the input.
    """
    src, dst = _as_info(src), _as_info(dst)
    t = get_transformer(src.key, dst.key, datum_shifts)
    if t.is_identity:
        return geometry

    def apply(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ox, oy = t(x, y)
        _check_finite_output(x, y, ox, oy, src, dst)
        return ox, oy

    return shapely.transform(geometry, apply, include_z=False, interleaved=False)
