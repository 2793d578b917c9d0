"""Stored features as GeoJSON, in any CRS the data services offer (its axis order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import shapely

from planfuse.geo.crs import CRSInfo
from planfuse.geo.generalise import simplify_for_zoom
from planfuse.geo.measure import WorkProjection
from planfuse.services.features.crs import to_output
from planfuse.services.features.store import FeatureRow


def geojson_features(
    rows: Sequence[FeatureRow],
    crs: CRSInfo,
    id_prefix: str | None = None,
    *,
    zoom_level: int | None = None,
    work: WorkProjection | None = None,
) -> list[dict[str, Any]]:
    """GeoJSON Feature objects of `rows` in `crs`; ids are the fids, or "PREFIX.fid".

    With `zoom_level` (and the `work` projection to measure in), geometries are simplified
    for a map at that WebMercatorQuad zoom (planfuse.geo.generalise)."""
    if not rows:
        return []
    geoms = shapely.from_wkb([row.geom for row in rows])
    if zoom_level is not None:
        if work is None:
            raise ValueError("simplifying for a zoom level needs the work projection")
        geoms = simplify_for_zoom(geoms, zoom_level, work)
    geoms = to_output(geoms, crs)
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
