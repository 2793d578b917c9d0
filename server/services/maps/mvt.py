"""Mapbox Vector Tile encoding with the geometry commands computed by numpy.

mapbox-vector-tile's `encode` walks every vertex in Python (about 14 µs a polygon), which is
most of the time of a dense tile. This module writes the same tile (the vector-tile
protobuf schema, version 2) but computes everything for all features of a tile at once:
coordinates come out of shapely as one ragged array, deltas and zig-zag encoding are array
operations, and the protobuf varints and message framing are numpy arrays too, so Python
does not touch each feature. tests/unit/ogc/test_ogc_mvt.py checks that tiles decode to
exactly what `mapbox_vector_tile.encode` produces for the same input.

Input geometries must already be in tile grid coordinates (integers, y down), valid, with
polygon rings oriented as the MVT spec requires (see `planfuse.services.maps.vector`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from planfuse.services.protobuf import WIRE_FIXED64 as _WIRE_FIXED64
from planfuse.services.protobuf import WIRE_LEN as _WIRE_LEN
from planfuse.services.protobuf import WIRE_VARINT as _WIRE_VARINT
from planfuse.services.protobuf import field as _field
from planfuse.services.protobuf import key as _key
from planfuse.services.protobuf import varint as _varint
from planfuse.services.protobuf import varints as _varints
from planfuse.services.protobuf import zigzag as _zigzag

MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
CLOSE_PATH_CMD = (1 << 3) | CLOSE_PATH
MOVE_TO_ONE = (1 << 3) | MOVE_TO

# GeomType values of the MVT schema.
POINT, LINESTRING, POLYGON = 1, 2, 3
# GeomType by shapely type id + 1 (−1: missing, 0 Point, 1 LineString, 2 LinearRing,
# 3 Polygon, 4 MultiPoint, 5 MultiLineString, 6 MultiPolygon, 7 GeometryCollection).
_FAMILY_OF_TYPE = np.array([0, POINT, LINESTRING, 0, POLYGON, POINT, LINESTRING, POLYGON, 0])


def _command(cmd: int, count: np.ndarray | int) -> np.ndarray | int:
    return (np.asarray(count, dtype=np.int64) << 3) | cmd


def _deltas(vertices: np.ndarray, feature_of_vertex: np.ndarray) -> np.ndarray:
    """Zig-zag deltas of emitted vertices; the cursor restarts at (0, 0) for each feature."""
    deltas = np.empty_like(vertices)
    deltas[0] = vertices[0]
    deltas[1:] = vertices[1:] - vertices[:-1]
    starts = np.flatnonzero(np.diff(feature_of_vertex)) + 1
    deltas[starts] = vertices[starts]
    return _zigzag(deltas)


def _path_commands(
    coords: np.ndarray, path_off: np.ndarray, path_geom: np.ndarray, n_geoms: int, closed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Commands of rings (`closed`) or line parts: MoveTo x y, LineTo (x y)*(n−1) and, for
    rings, ClosePath. Repeated vertices are skipped (a zero step carries nothing) and paths
    left with too few vertices (rings < 3, lines < 2) are dropped, as mapbox-vector-tile
    does. `path_geom` is the geometry of each path (non-decreasing)."""
    coords = coords.astype(np.int64)
    path_len = np.diff(path_off)
    vertex_path = np.repeat(np.arange(len(path_len)), path_len)
    keep = np.ones(len(coords), dtype=bool)
    if closed:
        keep[path_off[1:] - 1] = False  # the closing vertex: ClosePath implies it
    same_path = np.zeros(len(coords), dtype=bool)
    same_path[1:] = vertex_path[1:] == vertex_path[:-1]
    repeated = np.zeros(len(coords), dtype=bool)
    repeated[1:] = (coords[1:] == coords[:-1]).all(axis=1)
    keep &= ~(same_path & repeated)
    counts = np.bincount(vertex_path[keep], minlength=len(path_len))
    enough = counts >= (3 if closed else 2)
    keep &= enough[vertex_path]
    vertices = coords[keep]
    vertex_path = vertex_path[keep]
    paths = np.flatnonzero(enough)
    emitted = counts[paths]
    geom_of_path = path_geom[paths]
    zz = _deltas(vertices, path_geom[vertex_path]) if len(vertices) else vertices
    size = 2 * emitted + (3 if closed else 2)
    path_start = np.concatenate([[0], np.cumsum(size)])
    out = np.empty(path_start[-1], dtype=np.int64)
    starts = path_start[:-1]
    out[starts] = MOVE_TO_ONE
    out[starts + 3] = _command(LINE_TO, emitted - 1)
    if closed:
        out[path_start[1:] - 1] = CLOSE_PATH_CMD
    first_vertex = np.concatenate([[0], np.cumsum(emitted)])[:-1]
    j = np.arange(len(vertices)) - np.repeat(first_vertex, emitted)
    pos = np.repeat(starts, emitted) + np.where(j == 0, 1, 2 + 2 * j)
    out[pos] = zz[:, 0]
    out[pos + 1] = zz[:, 1]
    geom_paths = np.searchsorted(geom_of_path, np.arange(n_geoms + 1), side="left")
    return out, path_start[geom_paths]


def polygon_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Commands of (multi)polygons: (one int64 array for all, start offset of each
    geometry's commands, length n + 1)."""
    _, coords, offsets = shapely.to_ragged_array(geoms)
    if len(offsets) == 2:  # Polygons only: one polygon per geometry
        ring_off, poly_off = offsets
        geom_off = np.arange(len(poly_off))
    else:
        ring_off, poly_off, geom_off = offsets
    poly_geom = np.repeat(np.arange(len(geom_off) - 1), np.diff(geom_off))
    ring_geom = np.repeat(poly_geom, np.diff(poly_off))
    return _path_commands(coords, ring_off, ring_geom, len(geoms), closed=True)


def line_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Commands of (multi)linestrings (see `polygon_commands`)."""
    _, coords, offsets = shapely.to_ragged_array(geoms)
    if len(offsets) == 1:  # LineStrings only: one part per geometry
        (part_off,) = offsets
        geom_off = np.arange(len(part_off))
    else:
        part_off, geom_off = offsets
    part_geom = np.repeat(np.arange(len(geom_off) - 1), np.diff(geom_off))
    return _path_commands(coords, part_off, part_geom, len(geoms), closed=False)


def point_commands(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Commands of (multi)points: MoveTo(count) then every point (see `polygon_commands`)."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    vertices = coords.astype(np.int64)
    counts = np.bincount(index, minlength=len(geoms))
    zz = _deltas(vertices, index)
    size = 2 * counts + 1
    start = np.concatenate([[0], np.cumsum(size)])
    out = np.empty(start[-1], dtype=np.int64)
    out[start[:-1]] = _command(MOVE_TO, counts)
    first = np.concatenate([[0], np.cumsum(counts)])[:-1]
    j = np.arange(len(vertices)) - np.repeat(first, counts)
    pos = np.repeat(start[:-1], counts) + 1 + 2 * j
    out[pos] = zz[:, 0]
    out[pos + 1] = zz[:, 1]
    return out, start


_COMMANDS = {POINT: point_commands, LINESTRING: line_commands, POLYGON: polygon_commands}

# --- protobuf wire format, written with numpy --------------------------------------------------
#
# Building one protobuf object per feature costs ~4 µs in Python, which at 8,000 features was
# half of a dense tile's time. The vector-tile schema is small and fixed, so the messages are
# written here directly (`planfuse.services.protobuf`): varints for all command and tag
# integers at once, and each feature's bytes placed by offset arithmetic. Field numbers and
# wire types are those of vector_tile.proto (version 2); decoders read fields in any order.

# Tile.layers = 3; Layer: name 1, features 2, keys 3, values 4, extent 5, version 15;
# Feature: id 1, tags 2 (packed), type 3, geometry 4 (packed);
# Value: string 1, double 3, int 4, bool 7.
_TILE_LAYER = _key(3, _WIRE_LEN)
_LAYER_NAME, _LAYER_FEATURE = _key(1, _WIRE_LEN), _key(2, _WIRE_LEN)
_LAYER_KEY, _LAYER_VALUE = _key(3, _WIRE_LEN), _key(4, _WIRE_LEN)
_LAYER_EXTENT, _LAYER_VERSION = _key(5, _WIRE_VARINT), _key(15, _WIRE_VARINT)
_FEATURE_ID, _FEATURE_TAGS = _key(1, _WIRE_VARINT), _key(2, _WIRE_LEN)
_FEATURE_TYPE, _FEATURE_GEOMETRY = _key(3, _WIRE_VARINT), _key(4, _WIRE_LEN)
_VALUE_STRING, _VALUE_DOUBLE = _key(1, _WIRE_LEN), _key(3, _WIRE_FIXED64)
_VALUE_INT, _VALUE_BOOL = _key(4, _WIRE_VARINT), _key(7, _WIRE_VARINT)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated aranges: starts[i] … starts[i] + lengths[i] − 1 for every i."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def _per_item(pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Interleave byte pieces item by item: each piece is (its bytes for all items,
    concatenated; its byte count per item). Returns (the bytes, the byte count per item)."""
    sizes = np.sum([lengths for _, lengths in pieces], axis=0)
    item_start = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    cursor = item_start.copy()
    for data, lengths in pieces:
        if len(data) == np.count_nonzero(lengths):  # at most one byte per item: no ranges
            out[cursor[lengths > 0]] = data
        else:
            out[_ranges(cursor, lengths)] = data
        cursor += lengths
    return out, sizes


def _constant(byte: int, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lengths = present.astype(np.int64)
    return np.full(int(lengths.sum()), byte, dtype=np.uint8), lengths


def _factorize(column: Sequence[Any]) -> tuple[np.ndarray, list[Any] | np.ndarray]:
    """Codes (−1 for None) and the distinct values (their order defines the codes); 1, 1.0
    and True stay distinct, as they are distinct tile values. An integer column without
    None (fid) comes back with its values as an int64 array."""
    types = set(map(type, column))
    if types == {int}:
        uniques, codes = np.unique(np.asarray(column, dtype=np.int64), return_inverse=True)
        return codes.astype(np.int64), uniques
    table: dict[Any, int] = {}
    if len(types - {type(None)}) <= 1:  # one type: the values themselves are the keys
        values = (-1 if v is None else table.setdefault(v, len(table)) for v in column)
        codes = np.fromiter(values, dtype=np.int64, count=len(column))
        return codes, list(table)
    tokens = (-1 if v is None else table.setdefault((v.__class__, v), len(table)) for v in column)
    codes = np.fromiter(tokens, dtype=np.int64, count=len(column))
    return codes, [value for _, value in table]


def _values_bytes(values: list[Any] | np.ndarray) -> bytes:
    """Layer `values` entries (one Value message each), in order."""
    if isinstance(values, np.ndarray) and len(values):
        # An integer column can hold one value per feature: written as arrays.
        data, lengths = _varints(values)
        message_len = lengths + 1  # ≤ 11: its own length is one byte
        ones = np.ones(len(values), dtype=bool)
        out, _ = _per_item(
            [
                _constant(_LAYER_VALUE, ones),
                (message_len.astype(np.uint8), ones.astype(np.int64)),
                _constant(_VALUE_INT, ones),
                (data, lengths),
            ]
        )
        return out.tobytes()
    return b"".join(_field(_LAYER_VALUE, _value_message(v)) for v in values)


def _value_message(value: Any) -> bytes:
    if isinstance(value, bool | np.bool_):
        return _varint(_VALUE_BOOL) + _varint(int(value))
    if isinstance(value, int | np.integer):
        return _varint(_VALUE_INT) + _varint(int(value))
    if isinstance(value, float | np.floating):
        return _varint(_VALUE_DOUBLE) + np.float64(value).astype("<f8").tobytes()
    return _field(_VALUE_STRING, str(value).encode())


def encode_layer(
    name: str,
    geoms: np.ndarray,
    ids: Sequence[int],
    properties: Mapping[str, Sequence[Any]],
    *,
    extent: int = 4096,
) -> bytes:
    """One MVT layer as a tile: `geoms` in grid coordinates, `ids` the feature ids and
    `properties` attribute columns (None values are left out). Features keep their order;
    a feature whose geometry leaves no command (a collapsed ring) is left out.
    """
    body = [_field(_LAYER_NAME, name.encode())]
    if len(geoms):
        # Each column's distinct values, in column order, make the layer's value table.
        columns = [_factorize(column) for column in properties.values()]
        body.append(_features_bytes(geoms, ids, [codes for codes, _ in columns]))
        body.append(b"".join(_field(_LAYER_KEY, key.encode()) for key in properties))
        body.extend(_values_bytes(uniques) for _, uniques in columns)
    body.append(_varint(_LAYER_EXTENT) + _varint(extent))
    body.append(_varint(_LAYER_VERSION) + _varint(2))
    return _field(_TILE_LAYER, b"".join(body))


def _features_bytes(geoms: np.ndarray, ids: Sequence[int], codes: list[np.ndarray]) -> bytes:
    """The layer's `features` entries; `codes` holds each column's value codes (−1: None)."""
    n = len(geoms)
    family = _FAMILY_OF_TYPE[shapely.get_type_id(geoms) + 1]
    # Every feature's geometry commands, in feature order.
    parts, cmd_start, cmd_len, offset = [], np.zeros(n, np.int64), np.zeros(n, np.int64), 0
    for kind, build in _COMMANDS.items():
        which = np.flatnonzero(family == kind)
        if which.size:
            out, start = build(geoms[which])
            cmd_start[which] = offset + start[:-1]
            cmd_len[which] = np.diff(start)
            parts.append(out)
            offset += len(out)
    commands = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    kept = np.flatnonzero(cmd_len > 0)
    commands = commands[_ranges(cmd_start[kept], cmd_len[kept])]
    cmd_len = cmd_len[kept]
    # Tags: (key index, value index) pairs, None values left out; a column's value indices
    # follow those of the columns before it in the value table.
    if codes:
        shifted, base = [], 0
        for column_codes in codes:
            shifted.append(np.where(column_codes >= 0, column_codes + base, -1)[kept])
            base += int(column_codes.max(initial=-1)) + 1
        value_index = np.column_stack(shifted)
        present = value_index >= 0
        key_index = np.broadcast_to(np.arange(len(codes)), value_index.shape)
        pairs = np.stack([key_index, value_index], axis=2)[present]
        tags = pairs.reshape(-1)
        tag_len = 2 * present.sum(axis=1)
    else:
        tags, tag_len = np.zeros(0, np.int64), np.zeros(len(kept), np.int64)
    geom_bytes, geom_value_len = _varints(commands)
    geom_len = _sum_per_item(geom_value_len, cmd_len)
    tag_bytes, tag_value_len = _varints(tags)
    tags_len = _sum_per_item(tag_value_len, tag_len)
    has_tags = tags_len > 0
    always = np.ones(len(kept), dtype=bool)
    id_bytes, id_len = _varints(np.asarray(ids, dtype=np.int64)[kept])
    tags_len_bytes, tags_len_len = _varints(tags_len[has_tags])
    tags_len_lengths = np.zeros(len(kept), np.int64)
    tags_len_lengths[has_tags] = tags_len_len
    type_bytes = family[kept].astype(np.uint8)
    geom_len_bytes, geom_len_len = _varints(geom_len)
    feature_bytes, feature_len = _per_item(
        [
            _constant(_FEATURE_ID, always),
            (id_bytes, id_len),
            _constant(_FEATURE_TAGS, has_tags),
            (tags_len_bytes, tags_len_lengths),
            (tag_bytes, tags_len),
            _constant(_FEATURE_TYPE, always),
            (type_bytes, np.ones(len(kept), np.int64)),
            _constant(_FEATURE_GEOMETRY, always),
            (geom_len_bytes, geom_len_len),
            (geom_bytes, geom_len),
        ]
    )
    feature_len_bytes, feature_len_len = _varints(feature_len)
    out, _ = _per_item(
        [
            _constant(_LAYER_FEATURE, always),
            (feature_len_bytes, feature_len_len),
            (feature_bytes, feature_len),
        ]
    )
    return out.tobytes()


def _sum_per_item(value_lengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Byte count of each item's run of `counts[i]` consecutive values."""
    ends = np.cumsum(value_lengths)
    last = np.cumsum(counts)
    total = np.concatenate([[0], ends])[last]
    return total - np.concatenate([[0], total[:-1]])
