"""Datum shifts (Helmert, 7 parameters) from Xian 1980 and Beijing 1954 to CGCS2000: their
configuration, checked, and the error when one is missing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

from planfuse.geo.crs.info import SHIFTED_DATUMS
from planfuse.geo.crs.registry import DATUM_LABEL
from planfuse.geo.errors import DatumTransformError, shown

# --- datum shifts ------------------------------------------------------------------------

# Loose sanity bounds on Helmert parameters (translations m, rotations ″, scale ppm). Real
# regional Xian 1980/Beijing 1954 → CGCS2000 sets have translations of up to a few hundred
# metres and rotations of a few arc-seconds; these bounds only catch unit mistakes.
_MAX_TRANSLATION_M = 10_000.0
_MAX_ROTATION_ARCSEC = 1_000.0
_MAX_SCALE_PPM = 10_000.0

DatumShifts = tuple[tuple[str, tuple[float, ...]], ...]


def missing_shift(datum: str) -> DatumTransformError:
    label = DATUM_LABEL[datum]
    return DatumTransformError(
        f"{label} → CGCS2000 needs a configured 7-parameter (Helmert) transformation; "
        f"PROJ only knows a 'ballpark' one that silently moves nothing while the real shift "
        f"is tens of metres. Set PLANFUSE_DATUM_SHIFTS, e.g. "
        f'{{"{datum}": [dx, dy, dz, rx, ry, rz, ds]}} with translations in metres, '
        f"rotations in arc-seconds (position-vector convention) and scale in ppm, or convert "
        f"the data to CGCS2000 (EPSG:4490 or a CGCS2000 Gauss–Krüger zone) first."
    )


def normalize_datum_shifts(datum_shifts: Mapping[str, Sequence[float]] | None) -> dict:
    """Validate datum-shift configuration: ``{"Xian1980"|"Beijing1954": [7 numbers]}``.

    Parameters are [dx, dy, dz] in metres, [rx, ry, rz] in arc-seconds and ds in ppm, in
    the position-vector convention (EPSG method 9606, PROJ ``+towgs84``), transforming the
    old datum to CGCS2000. Parameters published in the coordinate-frame convention (EPSG
    9607, often labelled "Coordinate Frame" in ArcGIS) have the rotations' signs reversed.
    Returns a dict of datum → tuple of 7 floats; raises :class:`DatumTransformError`.
    """
    if not datum_shifts:
        return {}
    out: dict[str, tuple[float, ...]] = {}
    for datum, params in datum_shifts.items():
        if datum not in SHIFTED_DATUMS:
            raise DatumTransformError(
                f"datum shift for '{shown(str(datum))}' is not understood; "
                f"the keys are {' and '.join(SHIFTED_DATUMS)}"
            )
        try:
            values = tuple(float(v) for v in params)
        except (TypeError, ValueError) as exc:
            raise DatumTransformError(
                f"datum shift for {datum} must be 7 numbers [dx, dy, dz, rx, ry, rz, ds]"
            ) from exc
        if len(values) != 7 or not all(math.isfinite(v) for v in values):
            raise DatumTransformError(
                f"datum shift for {datum} must be 7 finite numbers "
                "[dx, dy, dz (m), rx, ry, rz (arc-seconds), ds (ppm)]"
            )
        if (
            max(abs(v) for v in values[:3]) > _MAX_TRANSLATION_M
            or max(abs(v) for v in values[3:6]) > _MAX_ROTATION_ARCSEC
            or abs(values[6]) > _MAX_SCALE_PPM
        ):
            raise DatumTransformError(
                f"datum shift for {datum} is implausibly large; check the units: "
                "translations in metres, rotations in arc-seconds, scale in ppm"
            )
        out[datum] = values
    return out


def parse_datum_shifts(text: str | None) -> dict:
    """Parse the ``PLANFUSE_DATUM_SHIFTS`` setting.

    Accepts JSON (``{"Xian1980": [dx, dy, dz, rx, ry, rz, ds]}``) or the short form
    ``Xian1980=dx,dy,dz,rx,ry,rz,ds;Beijing1954=...``. Returns the validated dict (see
    :func:`normalize_datum_shifts`); empty text gives {}.
    """
    if text is None or not text.strip():
        return {}
    text = text.strip()
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise DatumTransformError(f"PLANFUSE_DATUM_SHIFTS is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise DatumTransformError("PLANFUSE_DATUM_SHIFTS must be a JSON object")
        return normalize_datum_shifts(raw)
    raw = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, values = item.partition("=")
        if not sep:
            raise DatumTransformError(
                "PLANFUSE_DATUM_SHIFTS items look like Xian1980=dx,dy,dz,rx,ry,rz,ds"
            )
        raw[key.strip()] = [v for v in values.split(",")]
    return normalize_datum_shifts(raw)
