"""The layer catalogue (图层目录): every layer with its current version's metadata, and one
layer with all its versions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.storage.models import CURRENT_VERSION, Layer, LayerVersion


def list_layers(ctx: PlanFuse) -> list[dict[str, Any]]:
    """The layer catalogue: one entry per layer with its current version's metadata."""
    with ctx.db.session() as session:
        rows = session.execute(
            select(Layer, LayerVersion).join(LayerVersion, CURRENT_VERSION).order_by(Layer.id)
        ).all()
    return [layer_entry(layer, version) for layer, version in rows]


def layer_detail(ctx: PlanFuse, layer_id: str) -> dict[str, Any] | None:
    """One layer's catalogue entry with all its versions, newest first (None if unknown).

    Older versions stay readable: each keeps its source CRS and file name, feature count,
    bbox, who loaded it and when.
    """
    with ctx.db.session() as session:
        layer = session.get(Layer, layer_id)
        if layer is None:
            return None
        versions = session.scalars(
            select(LayerVersion)
            .where(LayerVersion.layer_id == layer_id)
            .order_by(LayerVersion.version.desc())
        ).all()
        current = next(v for v in versions if v.version == layer.current_version)
        entry = layer_entry(layer, current)
        entry["versions"] = [
            {
                "version": v.version,
                "crs": v.source_crs,
                "source_name": v.source_name,
                "feature_count": v.feature_count,
                "total_area_m2": round(v.total_area_m2, 2),
                "bbox": v.bbox,
                "as_of": v.as_of.isoformat() if v.as_of else None,
                "created_by": v.created_by,
                "created": v.created_at.isoformat(),
            }
            for v in versions
        ]
    return entry


def layer_entry(layer: Layer, version: LayerVersion) -> dict[str, Any]:
    return {
        "id": layer.id,
        "name": layer.name,
        "kind": layer.kind,
        "department": layer.department,
        "crs": version.source_crs,
        "version": version.version,
        "feature_count": version.feature_count,
        "bbox": version.bbox,
        "geometry_type": version.geometry_type,
        "total_area_m2": round(version.total_area_m2, 2),
        "restricted": layer.restricted,
        "as_of": version.as_of.isoformat() if version.as_of else None,
        "updated": layer.updated_at.isoformat() if layer.updated_at else None,
    }
