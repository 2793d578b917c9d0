"""A FeatureCollection of plain polygons checked and built in bulk.

The detailed parser (:mod:`~planfuse.geo.parse.geojson`) checks and builds one feature at
a time, tens of microseconds each: most of a million-feature import. Most files are
well-formed, so this module first checks the whole collection with a few passes of
C-level iteration (sets of types and lengths, numpy over the coordinates) and builds every
geometry with one shapely call per level (rings, polygons, multipolygons).

It answers None whenever anything is not plainly well-formed (a wrong type anywhere, a
short or open ring, a non-finite number, 3D positions, more vertices than allowed, …);
the caller then runs the detailed parser, which names every problem. So the accepted
input, the geometries built and the messages are those of the detailed parser. Reading
the file with GDAL (pyogrio's Arrow interface) was measured too: twice as slow as orjson
plus this on GeoJSON, and its attribute typing (schema inferred across features, absent
keys as nulls) would change the stored properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import shapely

from planfuse.geo.parse.build import checked_feature
from planfuse.geo.parse.geojson import feature_shape
from planfuse.geo.parse.shapes import ParseContext, ParsedFeature

_POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
_ID_TYPES = frozenset({type(None), str, int, float})
_PROPERTY_TYPES = frozenset({type(None), dict})
_NUMBER_TYPES = frozenset({float, int})


@dataclass
class BulkCollection:
    """The features of a well-formed polygon FeatureCollection, geometries built."""

    features: list[dict[str, Any]]
    properties: list[dict[str, Any] | None]
    ids: list[str | int | float | None]
    geometries: np.ndarray
    valid: np.ndarray


def bulk_features(obj: Any, ctx: ParseContext, repair: bool) -> list[ParsedFeature] | None:
    """The features of a plainly well-formed polygon FeatureCollection, or None (then the
    detailed parser must read it). Invalid geometries are handled as the detailed parser
    does (repaired if asked, else reported to ``ctx.problems``); the caller raises."""
    bulk = bulk_polygon_collection(obj, ctx)
    if bulk is None:
        return None
    if not bulk.valid.all():
        return _with_invalid(bulk, ctx, repair)
    # Positional arguments and lists prepared beforehand: this runs once per feature.
    return [
        ParsedFeature(g, {} if p is None else dict(p), i, False, fid)
        for i, (g, p, fid) in enumerate(
            zip(bulk.geometries.tolist(), bulk.properties, bulk.ids, strict=True)
        )
    ]


def _with_invalid(bulk: BulkCollection, ctx: ParseContext, repair: bool) -> list[ParsedFeature]:
    """Invalid geometries go through the detailed parser's checks (which locate the
    problem at its part, ring and vertex, or repair it)."""
    out = []
    for i, (g, ok) in enumerate(zip(bulk.geometries.tolist(), bulk.valid.tolist(), strict=True)):
        if ok:
            props = bulk.properties[i]
            feature = ParsedFeature(g, {} if props is None else dict(props), i, False, bulk.ids[i])
        else:
            shape = feature_shape(bulk.features[i], i, ctx)
            feature = checked_feature(shape, g, False, repair, ctx.problems)
        if feature is not None:
            out.append(feature)
    return out


def bulk_polygon_collection(obj: Any, ctx: ParseContext) -> BulkCollection | None:
    """The collection checked and built in bulk, or None when the detailed parser must
    look at it (anything not plainly well-formed)."""
    plain = _plain_features(obj)
    if plain is None:
        return None
    features, properties, ids = plain
    geometries = [f.get("geometry") for f in features]
    if not _only(geometries, {dict}):
        return None
    gtypes = [g.get("type") for g in geometries]
    kinds = set(gtypes)
    if not kinds <= _POLYGONAL or (ctx.allowed is not None and not kinds <= ctx.allowed):
        return None
    built = _build_polygons([g.get("coordinates") for g in geometries], gtypes, ctx)
    if built is None:
        return None
    return BulkCollection(features, properties, ids, built, shapely.is_valid(built))


def _only(values: list, types: set | frozenset) -> bool:
    """Every value's exact type is one of `types` (bool is no int here, as in JSON)."""
    return set(map(type, values)) <= types


def _plain_features(obj: Any) -> tuple[list[dict], list, list] | None:
    """The features of a FeatureCollection whose members are plain Feature objects with
    object (or null) properties and a string or number id (or none), with their
    properties and ids."""
    if type(obj) is not dict or obj.get("type") != "FeatureCollection":
        return None
    features = obj.get("features")
    if type(features) is not list or not features or not _only(features, {dict}):
        return None
    if {f.get("type") for f in features} != {"Feature"}:
        return None
    properties = [f.get("properties") for f in features]
    ids = [f.get("id") for f in features]
    if not _only(properties, _PROPERTY_TYPES) or not _only(ids, _ID_TYPES):
        return None
    return features, properties, ids


def _build_polygons(coords: list, gtypes: list[str], ctx: ParseContext) -> np.ndarray | None:
    """Polygons and multipolygons from GeoJSON coordinate arrays (None if any is not
    plainly well-formed)."""
    if not _only(coords, {list}):
        return None
    polygons_of = [c if t == "MultiPolygon" else [c] for c, t in zip(coords, gtypes, strict=True)]
    parts_per_feature = _lengths(polygons_of)
    parts = list(chain.from_iterable(polygons_of))
    if parts_per_feature.min() < 1 or not _only(parts, {list}):
        return None
    rings_per_part = _lengths(parts)
    rings = list(chain.from_iterable(parts))
    if rings_per_part.min() < 1 or not _only(rings, {list}):
        return None
    xy, ring_sizes = _ring_coordinates(rings, ctx)
    if xy is None:
        return None
    ring_geoms = shapely.linearrings(xy, indices=_owners(ring_sizes))
    polygons = shapely.polygons(ring_geoms, indices=_owners(rings_per_part))
    return _collect(polygons, parts_per_feature, np.array([t == "MultiPolygon" for t in gtypes]))


def _lengths(lists: list[list]) -> np.ndarray:
    return np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))


def _owners(sizes: np.ndarray) -> np.ndarray:
    """For items grouped in runs of `sizes`, the run each item belongs to."""
    return np.repeat(np.arange(len(sizes)), sizes)


def _ring_coordinates(rings: list, ctx: ParseContext) -> tuple[np.ndarray | None, np.ndarray]:
    """The (n, 2) coordinates of all rings and each ring's size; None unless every ring
    is closed, has at least 4 finite 2D positions, and the vertices are within budget."""
    sizes = _lengths(rings)
    positions = list(chain.from_iterable(rings))
    if sizes.min() < 4 or len(positions) > ctx.max_vertices:
        return None, sizes
    if not _only(positions, {list}) or set(map(len, positions)) != {2}:
        return None, sizes
    numbers = list(chain.from_iterable(positions))
    if not _only(numbers, _NUMBER_TYPES):
        return None, sizes
    try:
        flat = np.array(numbers, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        return None, sizes
    xy = flat.reshape(-1, 2)
    if not np.isfinite(xy).all():
        return None, sizes
    ends = np.cumsum(sizes)
    if not (xy[ends - sizes] == xy[ends - 1]).all():
        return None, sizes
    return xy, sizes


def _collect(polygons: np.ndarray, parts_per_feature: np.ndarray, multi: np.ndarray) -> np.ndarray:
    """One geometry per feature: its polygon, or a MultiPolygon of its parts."""
    if not multi.any():
        return polygons
    owner = _owners(parts_per_feature)
    in_multi = multi[owner]
    # Multipolygon indices must run 0..k-1 without gaps: number the multi features.
    rank = np.cumsum(multi) - 1
    out = np.empty(len(multi), dtype=object)
    out[multi] = shapely.multipolygons(polygons[in_multi], indices=rank[owner[in_multi]])
    first_part = np.cumsum(parts_per_feature) - parts_per_feature
    out[~multi] = polygons[first_part[~multi]]
    return out
