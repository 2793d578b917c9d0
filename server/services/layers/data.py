"""Reading layers for the function services: current versions by kind, and the spatial
index of a layer version (geometries in the working CRS, the attributes services read).

Indexes are cached per (layer id, version) in the context (`layer_indexes`); a new import
makes a new version, so a service asking for the current version never sees a stale index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.geo.index import IndexCache, LayerIndex
from planfuse.geo.parse import polygonal_part
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.storage.models import Feature, Layer

# Attributes every index carries besides the kind's own (DOMAIN.md layer kinds).
BASE_COLUMNS = ("district",)
#: Where the context keeps the index cache (`PlanFuse.shared`).
INDEX_CACHE_KEY = "layer_indexes"


@dataclass(frozen=True)
class LayerRef:
    """One layer at one version."""

    layer_id: str
    version: int
    kind: str
    name: str
    department: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer_id,
            "version": self.version,
            "kind": self.kind,
            "name": self.name,
            "department": self.department,
        }


def current_layers(ctx: PlanFuse, kinds: Iterable[str] | None = None) -> list[LayerRef]:
    """Layers with data (current version ≥ 1), optionally only of `kinds`, by id."""
    columns = (Layer.id, Layer.current_version, Layer.kind, Layer.name, Layer.department)
    query = select(*columns).where(Layer.current_version > 0).order_by(Layer.id)
    if kinds is not None:
        query = query.where(Layer.kind.in_(list(kinds)))
    # Five columns on a plain connection, no ORM objects: every compliance check asks.
    with ctx.db.engine.connect() as conn:
        return [LayerRef(*row) for row in conn.execute(query)]


def layers_by_kind(ctx: PlanFuse) -> dict[str, list[LayerRef]]:
    """Every current layer grouped by kind."""
    grouped: dict[str, list[LayerRef]] = {}
    for ref in current_layers(ctx):
        grouped.setdefault(ref.kind, []).append(ref)
    return grouped


def layer_indexes(ctx: PlanFuse) -> IndexCache:
    """The context's cache of layer-version indexes (`index_cache_size` entries), made on
    first use."""
    return ctx.shared(
        INDEX_CACHE_KEY,
        lambda: IndexCache(
            lambda layer_id, version: build_layer_index(ctx, layer_id, version),
            max_entries=ctx.settings.index_cache_size,
        ),
    )


def layer_index(ctx: PlanFuse, ref: LayerRef) -> LayerIndex:
    """The spatial index of `ref` (cached; built on first use)."""
    return layer_indexes(ctx).get(ref.layer_id, ref.version)


def build_layer_index(ctx: PlanFuse, layer_id: str, version: int) -> LayerIndex:
    """Load one layer version into a `LayerIndex`: ids are the feature fids, geometries are
    in the working CRS, attribute columns are `district` plus the kind's attributes."""
    with ctx.db.session() as session:
        layer = session.get(Layer, layer_id)
        kind = LAYER_KINDS.get(layer.kind) if layer else None
        names = list(BASE_COLUMNS) + list(kind.attributes if kind else ())
        columns = [Feature.fid, Feature.geom, Feature.district]
        columns += [Feature.properties[name].as_string().label(name) for name in names[1:]]
        rows = session.execute(
            select(*columns)
            .where(Feature.layer_id == layer_id, Feature.version == version)
            .order_by(Feature.fid)
        ).all()
    fids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    geoms = valid_in_work_crs(ctx.work.to_work(shapely.from_wkb([r[1] for r in rows])))
    # Attribute values as text on both databases (SQLite's json_extract keeps numbers).
    attributes = {
        name: np.array([None if r[2 + i] is None else str(r[2 + i]) for r in rows], dtype=object)
        for i, name in enumerate(names)
    }
    return LayerIndex(fids, geoms, attributes)


def valid_in_work_crs(geoms: np.ndarray) -> np.ndarray:
    """Repair the rare geometry that reprojection made invalid (a ring valid in the source
    CRS can touch itself after the change of projection); overlays on it would fail.

    Polygons stay polygonal (make_valid may add lower-dimensional parts; they are dropped).
    """
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        for i in np.flatnonzero(invalid):
            fixed = polygonal_part(shapely.make_valid(geoms[i]))
            geoms[i] = fixed if fixed is not None else shapely.make_valid(geoms[i])
    return geoms


def feature_records(
    ctx: PlanFuse, layer_id: str, version: int, fids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Properties, district and area of the given features, by fid."""
    if len(fids) == 0:
        return {}
    out: dict[int, dict[str, Any]] = {}
    wanted = [int(f) for f in fids]
    with ctx.db.session() as session:
        # Chunked: IN lists stay well under every database's parameter limit.
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for fid, props, district, area in session.execute(
                select(Feature.fid, Feature.properties, Feature.district, Feature.area_m2).where(
                    Feature.layer_id == layer_id,
                    Feature.version == version,
                    Feature.fid.in_(chunk),
                )
            ):
                out[fid] = {"properties": props, "district": district, "area_m2": area}
    return out


def data_versions(ctx: PlanFuse, refs: Iterable[LayerRef]) -> dict[str, int]:
    """`{layer id: version}` of the layers an analysis read, for its report."""
    return {ref.layer_id: ref.version for ref in refs}
