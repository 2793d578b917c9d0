"""The protobuf wire format, written directly (no generated classes, no schema compiler).

The formats written with it are small and fixed — Mapbox vector tiles
(`services.maps.mvt`), Esri's FeatureCollection PBF (`ows.esri_pbf`) — and building one
protobuf object per feature costs microseconds in Python that a tile of thousands of
features cannot spare, so their encoders place bytes themselves: varints one at a time
(`varint`, `field`) or all at once with numpy (`varints`).
"""

from __future__ import annotations

import struct

import numpy as np

WIRE_VARINT, WIRE_FIXED64, WIRE_LEN = 0, 1, 2


def key(field_number: int, wire: int) -> int:
    """The tag of a field: its number and wire type."""
    return (field_number << 3) | wire


def varint(value: int) -> bytes:
    """A base-128 varint (negative int64 as two's complement, as protobuf has it)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes, message, packed array) with its tag."""
    return varint(tag) + varint(len(payload)) + payload


def varint_field(field_number: int, value: int) -> bytes:
    return varint(key(field_number, WIRE_VARINT)) + varint(value)


def string_field(field_number: int, text: str) -> bytes:
    return field(key(field_number, WIRE_LEN), text.encode())


def double_field(field_number: int, value: float) -> bytes:
    return varint(key(field_number, WIRE_FIXED64)) + struct.pack("<d", value)


def zigzag(values: np.ndarray) -> np.ndarray:
    """Signed int64 → unsigned, small magnitudes small (sint32/sint64 encoding)."""
    values = np.asarray(values, dtype=np.int64)
    return (values << 1) ^ (values >> 63)


def varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of every value (concatenated) and the byte count of each."""
    v = np.asarray(values).astype(np.int64).view(np.uint64)
    lengths = np.ones(len(v), dtype=np.int64)
    # Only as many passes as the largest value needs (tile coordinates: two or three).
    widest = int(v.max()) if len(v) else 0
    for k in range(1, 10):
        if widest < 1 << (7 * k):
            break
        lengths += v >= np.uint64(1 << (7 * k))
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    out[starts] = (v & np.uint64(0x7F)).astype(np.uint8)
    for k in range(1, int(lengths.max(initial=1))):
        has = np.flatnonzero(lengths > k)
        out[starts[has] + k - 1] |= 0x80  # the byte before has a successor
        out[starts[has] + k] = ((v[has] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
    return out, lengths


def packed(field_number: int, values: np.ndarray) -> bytes:
    """A packed repeated varint field (the values already zigzagged where signed)."""
    data, _ = varints(values)
    return field(key(field_number, WIRE_LEN), data.tobytes())
