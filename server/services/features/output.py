"""Stored features as GeoJSON, in any CRS the data services offer (its axis order)."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
import shapely

from planfuse.context import PlanFuse
from planfuse.geo.crs import CRSInfo
from planfuse.geo.generalise import simplify_for_zoom
from planfuse.services.features.crs import to_output
from planfuse.services.features.store import FeatureRow


def geojson_features(
    rows: Sequence[FeatureRow], crs: CRSInfo, id_prefix: str | None = None
) -> list[dict[str, Any]]:
    """GeoJSON Feature objects of `rows` in `crs`; ids are the fids, or "PREFIX.fid"
    (geometries simplified for a map zoom first: `simplified_rows`)."""
    if not rows:
        return []
    geoms = to_output(shapely.from_wkb([row.geom for row in rows]), crs)
    texts = shapely.to_geojson(geoms)
    features = []
    for row, text in zip(rows, texts, strict=True):
        properties = dict(row.properties)
        if row.district is not None:
            properties.setdefault("district", row.district)
        features.append(
            {
                "type": "Feature",
                "id": row.fid if id_prefix is None else f"{id_prefix}.{row.fid}",
                "geometry": orjson.loads(text),
                "properties": properties,
            }
        )
    return features


#: Simplified geometries kept per server process (one district map at zoom 10 is ~0.2 MB).
SIMPLIFIED_CACHE_ENTRIES = 50_000
_CACHE_KEY = "features.simplified"


class _SimplifiedCache:
    """(layer, version, zoom, fid) → simplified WKB, least recently used dropped first. A
    layer version never changes, so an entry never goes stale."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: list[tuple]) -> list[bytes | None]:
        with self._lock:
            found = [self._items.get(k) for k in keys]
            for key, value in zip(keys, found, strict=True):
                if value is not None:
                    self._items.move_to_end(key)
            return found

    def put_many(self, pairs: list[tuple[tuple, bytes]]) -> None:
        with self._lock:
            for key, value in pairs:
                self._items[key] = value
            while len(self._items) > self._entries:
                self._items.popitem(last=False)


def simplified_rows(
    ctx: PlanFuse, layer_id: str, version: int, rows: Sequence[FeatureRow], zoom_level: int
) -> list[FeatureRow]:
    """`rows` with their geometries simplified for `zoom_level` (planfuse.geo.generalise),
    each simplified once per server process."""
    cache = ctx.shared(_CACHE_KEY, lambda: _SimplifiedCache(SIMPLIFIED_CACHE_ENTRIES))
    keys = [(layer_id, version, zoom_level, row.fid) for row in rows]
    found = cache.get_many(keys)
    missing = [i for i, wkb in enumerate(found) if wkb is None]
    if missing:
        geoms = shapely.from_wkb([rows[i].geom for i in missing])
        made = shapely.to_wkb(simplify_for_zoom(geoms, zoom_level, ctx.work))
        cache.put_many([(keys[i], wkb) for i, wkb in zip(missing, made, strict=True)])
        for i, wkb in zip(missing, made, strict=True):
            found[i] = wkb
    return [dataclasses.replace(row, geom=wkb) for row, wkb in zip(rows, found, strict=True)]
