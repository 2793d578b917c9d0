"""A raster overview of a large layer version, for maps too coarse to draw it feature by
feature.

A city-scale map of a million-parcel layer shows some 170,000 parcels, most of them a pixel
or two wide: reading and drawing each one took seconds. Such a layer (at least
`MIN_FEATURES` features) gets an overview instead: the whole version drawn once, with the
same styles and the same painter as a map (`planfuse.services.maps.draw.paint_overview`),
into an image of `SIZE` pixels on its long side over the layer's bbox in storage
coordinates (EPSG:4490 longitude/latitude). It is built by the first process that needs
it, in a thread (maps are drawn feature by feature until it is there), and stored per
layer version with the other derived state (`planfuse.services.layers.derived`), so other
processes load it; a new import is a new version with an overview of its own. A process
holds the overviews it uses in memory (about 4 bytes per overview pixel, 60 MB for a
layer as wide as it is high).

A map uses the overview when each of its pixels spans at least `MIN_REDUCTION` overview
pixels both ways, in a CRS with storage coordinates (EPSG:4490, EPSG:4326, CRS84): the
map is then the overview's area average over each pixel (a supersampled drawing of the
same features). Finer maps — district and street scale — are drawn feature by feature as
before; so are maps that write names (the overview has none) and maps in other CRSs.
"""

from __future__ import annotations

import logging
import math
import struct
import threading
import time
import zlib
from collections.abc import Callable

import numpy as np
import orjson
from PIL import Image

from planfuse.context import PlanFuse
from planfuse.geo.crs import CRSInfo
from planfuse.geo.crs.transform import get_transformer
from planfuse.services.features.layers import CollectionRef
from planfuse.services.layers import derived
from planfuse.services.maps.styles import kind_entry

#: Layers with fewer features are always drawn feature by feature.
MIN_FEATURES = 100_000
#: The overview's long side, pixels (4096 × 4096 RGBA: 64 MB held per layer version).
SIZE = 4096
#: A map uses the overview when each map pixel covers at least this many overview pixels.
MIN_REDUCTION = 1.5

log = logging.getLogger("planfuse.maps.overview")
_HEAD = struct.Struct("<Q")
_lock = threading.Lock()


def _name() -> str:
    return f"map-overview-{SIZE}"


def overview_box(
    bbox: tuple[float, float, float, float],
) -> tuple[tuple[float, float, float, float], int, int]:
    """(the box the overview covers, its width, its height): `bbox` widened to whole
    pixels of the overview's (square) pixel size."""
    west, south, east, north = bbox
    pixel = max(east - west, north - south, 1e-9) / SIZE
    width = max(1, math.ceil((east - west) / pixel))
    height = max(1, math.ceil((north - south) / pixel))
    return (west, north - height * pixel, west + width * pixel, north), width, height


def usable(ref: CollectionRef, info: CRSInfo, box, width: int, height: int, names: bool) -> bool:
    """Whether a map of `ref` in `info` over `box` (easting first) at `width`×`height`
    pixels is drawn from the overview. `names`: whether the map writes feature names."""
    if ref.feature_count < MIN_FEATURES or ref.bbox is None:
        return False
    if names and _labels(ref.kind):
        return False
    if not get_transformer("EPSG:4490", info.key).is_identity:
        return False
    (west, _, east, _), over_w, _ = overview_box(ref.bbox)
    pixel = (east - west) / over_w
    x0, y0, x1, y1 = box
    return min((x1 - x0) / width, (y1 - y0) / height) >= MIN_REDUCTION * pixel


def _labels(kind: str) -> bool:
    entry = kind_entry(kind)
    styles = [entry.get("fallback") or {}, entry.get("fallback_strong") or {}]
    for item in entry.get("classes") or ():
        styles += [item.get("style") or {}, item.get("strong") or {}]
    return any(style.get("label") for style in styles)


def _encode(image: Image.Image) -> bytes:
    head = orjson.dumps({"size": list(image.size), "mode": image.mode})
    return _HEAD.pack(len(head)) + head + zlib.compress(image.tobytes(), 1)


def _decode(data: bytes) -> Image.Image:
    (n,) = _HEAD.unpack_from(data)
    head = orjson.loads(data[_HEAD.size : _HEAD.size + n])
    raw = zlib.decompress(data[_HEAD.size + n :])
    return Image.frombytes(head["mode"], tuple(head["size"]), raw)


def _state(ctx: PlanFuse) -> dict:
    return ctx.extras.setdefault("map_overviews", {"held": {}, "pending": {}, "failed": set()})


#: painter(ref, box, width, height): every feature of the layer's version drawn onto one
#: image of `width`×`height` pixels over `box` (storage coordinates), premultiplied RGBA.
Painter = Callable[[CollectionRef, tuple[float, float, float, float], int, int], Image.Image]


def overview(ctx: PlanFuse, ref: CollectionRef, painter: Painter) -> Image.Image | None:
    """The overview of `ref`'s current version (premultiplied RGBA) when this process holds
    it or the database has it; else None, and a build starts in a thread of this process
    (maps are drawn feature by feature meanwhile: building one of a million features takes
    about a minute) with `painter` — `planfuse.services.maps.draw`'s, passed in as this
    module sits below it."""
    state = _state(ctx)
    key = (ref.id, ref.version)
    image = state["held"].get(key)
    if image is not None or key in state["failed"]:
        return image
    with _lock:
        image = state["held"].get(key)
        if image is not None or key in state["pending"]:
            return image
        data = derived.load(ctx, ref.id, ref.version, _name())
        if data is not None:
            image = _decode(data)
            _hold(state, key, image)
            return image
        thread = threading.Thread(
            target=_build_and_store, args=(ctx, ref, painter), name="map-overview", daemon=True
        )
        state["pending"][key] = thread
        thread.start()
    return None


def _hold(state: dict, key: tuple[str, int], image: Image.Image) -> None:
    held = state["held"]
    for old in [k for k in held if k[0] == key[0]]:
        del held[old]  # an earlier version's
    held[key] = image


def _build_and_store(ctx: PlanFuse, ref: CollectionRef, painter: Painter) -> None:
    state = _state(ctx)
    key = (ref.id, ref.version)
    started = time.perf_counter()
    try:
        assert ref.bbox is not None
        box, width, height = overview_box(ref.bbox)
        image = painter(ref, box, width, height)
        seconds = time.perf_counter() - started
        derived.store(ctx, ref.id, ref.version, _name(), _encode(image), seconds)
    except Exception:  # maps stay drawn feature by feature; log and carry on
        log.exception("map overview of %s v%s could not be built", ref.id, ref.version)
        with _lock:
            state["failed"].add(key)
            state["pending"].pop(key, None)
        return
    with _lock:
        _hold(state, key, image)
        state["pending"].pop(key, None)
    log.info("map overview of %s v%s built in %.1f s", ref.id, ref.version, seconds)


def wait(ctx: PlanFuse, timeout_s: float | None = None) -> None:
    """Wait for the overview builds under way in this process."""
    with _lock:
        threads = list(_state(ctx)["pending"].values())
    for thread in threads:
        thread.join(timeout_s)


def draw(image: Image.Image, ref: CollectionRef, box, width: int, height: int) -> np.ndarray | None:
    """The map of `ref` over `box` (storage coordinates, easting first) at `width`×`height`
    from its overview `image`: premultiplied RGBA pixels (height, width, 4), or None when
    the map misses the layer."""
    assert ref.bbox is not None
    (west, south, east, north), over_w, over_h = overview_box(ref.bbox)
    pixel = (east - west) / over_w
    x0, y0, x1, y1 = box
    # The part of the map over the overview, in map pixels (whole pixels) …
    sx, sy = width / (x1 - x0), height / (y1 - y0)
    left = max(0, math.floor((west - x0) * sx))
    right = min(width, math.ceil((east - x0) * sx))
    top = max(0, math.floor((y1 - north) * sy))
    bottom = min(height, math.ceil((y1 - south) * sy))
    if right <= left or bottom <= top:
        return None
    # … and the same part in overview pixels (clamped to the image: the map pixels along
    # the layer's edge may reach a little past it).
    crop = (
        min(max((x0 + left / sx - west) / pixel, 0.0), over_w),
        min(max((north - (y1 - top / sy)) / pixel, 0.0), over_h),
        min(max((x0 + right / sx - west) / pixel, 0.0), over_w),
        min(max((north - (y1 - bottom / sy)) / pixel, 0.0), over_h),
    )
    part = image.resize((right - left, bottom - top), Image.Resampling.BOX, box=crop)
    out = np.zeros((height, width, 4), dtype=np.uint8)
    out[top:bottom, left:right] = np.asarray(part)
    return out
