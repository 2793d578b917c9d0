"""Writing the demo's layer files: one GeoJSON file per layer in its department's CRS.

Deterministic: the same features give the same bytes (coordinates rounded to a fixed number
of decimals, keys sorted, features in a fixed order). Each feature is checked the way the
import will check it — valid in the file's CRS after rounding, every vertex in the CRS's
area of use (Gauss–Krüger eastings within the zone), still valid once reprojected to
storage and to the working CRS the services measure in — and a random feature that fails
is left out (counted), never "repaired".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

from planfuse.demo.geography import load_districts, to_storage, to_work
from planfuse.demo.layers import DemoLayer
from planfuse.geo import crs as crs_mod
from planfuse.services.layers.kinds import GEOMETRY_TYPES, layer_kind

STORAGE = crs_mod.STORAGE_CRS_KEY


@dataclass
class WrittenLayer:
    layer_id: str
    path: Path
    features: int
    planted: int
    dropped: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer_id,
            "file": self.path.name,
            "features": self.features,
            "planted": self.planted,
            "dropped": self.dropped,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


def to_file_crs(geoms_work: np.ndarray, layer: DemoLayer) -> np.ndarray:
    """Working-CRS geometries → the layer's CRS, rounded like the files."""
    info = crs_mod.resolve_crs(layer.crs)
    storage = to_storage(np.asarray(geoms_work, dtype=object))
    target = crs_mod.transform_geometry(storage, STORAGE, info)
    decimals = layer.decimals
    return shapely.transform(target, lambda c: np.round(c, decimals))


def importable(geoms: np.ndarray, layer: DemoLayer) -> np.ndarray:
    """Which geometries (in the layer's CRS) the import will accept: a boolean mask."""
    info = crs_mod.resolve_crs(layer.crs)
    ok = shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.asarray(crs_mod.check_gk_eastings(coords[:, 0], info), dtype=np.int64)
    bad = np.union1d(
        bad,
        np.asarray(crs_mod.check_area_of_use(coords[:, 0], coords[:, 1], info), dtype=np.int64),
    )
    ok[np.unique(owner[bad])] = False
    back = crs_mod.transform_geometry(geoms, info, STORAGE)
    ok &= shapely.is_valid(back)
    # The services measure in the working CRS: a feature must stay valid there too.
    ok &= shapely.is_valid(to_work(back))
    # The import gives each feature the district its point-on-surface lies within.
    districts = load_districts()
    found = np.zeros(len(back), dtype=bool)
    points = shapely.point_on_surface(back)
    hit, d_idx = districts.storage_tree.query(points)
    within = shapely.contains_properly(districts.storage[d_idx], points[hit])  # prepared
    found[hit[within]] = True
    return ok & found


def _geometry_json(text: str) -> str:
    """GEOS writes {"type":…,"coordinates":…}; the files have sorted keys."""
    head = '{"type":"'
    end = text.index('"', len(head))
    gtype = text[len(head) : end]
    coords = text[end + len('","coordinates":') : -1]
    return '{"coordinates":' + coords + ',"type":"' + gtype + '"}'


def write_layer_file(
    path: Path,
    layer: DemoLayer,
    geoms_work: np.ndarray,
    props: list[dict[str, Any]],
    planted: int,
) -> WrittenLayer:
    """Write `geoms_work` (working CRS; the first `planted` are planted scenario features,
    which must all be importable) with `props` as GeoJSON in `layer.crs`."""
    allowed = GEOMETRY_TYPES[layer_kind(layer.kind).geometry]
    types = {g.geom_type for g in np.asarray(geoms_work, dtype=object)}
    if not types <= set(allowed):
        raise AssertionError(
            f"{layer.id} holds {sorted(types)}; a {layer.kind} layer takes {allowed}"
        )
    geoms = to_file_crs(geoms_work, layer)
    ok = importable(geoms, layer)
    if not ok[:planted].all():
        bad = np.flatnonzero(~ok[:planted]).tolist()
        raise AssertionError(
            f"planted features {[props[i].get('demo_id') for i in bad]} of {layer.id} "
            f"would not import in {layer.crs}"
        )
    keep = np.flatnonzero(ok)
    texts = shapely.to_geojson(geoms[keep])
    sort = orjson.OPT_SORT_KEYS
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    size = 0
    with tmp.open("wb") as fh:

        def put(data: bytes) -> None:
            nonlocal size
            fh.write(data)
            digest.update(data)
            size += len(data)

        crs_name = crs_mod.resolve_crs(layer.crs).uri
        put(
            b'{"crs":{"properties":{"name":'
            + orjson.dumps(crs_name)
            + b'},"type":"name"},"features":[\n'
        )
        chunk: list[bytes] = []
        for n, (i, text) in enumerate(zip(keep.tolist(), texts.tolist(), strict=True)):
            chunk.append(
                b'{"geometry":'
                + _geometry_json(text).encode()
                + b',"properties":'
                + orjson.dumps(props[i], option=sort)
                + b',"type":"Feature"}'
                + (b",\n" if n < len(keep) - 1 else b"\n")
            )
            if len(chunk) >= 10_000:
                put(b"".join(chunk))
                chunk = []
        put(b"".join(chunk))
        put(b'],"name":' + orjson.dumps(layer.id) + b',"type":"FeatureCollection"}\n')
    tmp.replace(path)
    return WrittenLayer(
        layer_id=layer.id,
        path=path,
        features=len(keep),
        planted=planted,
        dropped=len(geoms) - len(keep),
        bytes=size,
        sha256=digest.hexdigest(),
    )
