"""What a siting form can offer, read from the current layers: the districts (from the
district layer), the 用地用海 classes, which control layers are loaded (with their zone or
type values), road classes, facility types, sensitive-zone types and levels, the score's
criteria with their default weights, and the server's limits."""

from __future__ import annotations

from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import Conflict
from planfuse.services.layers.data import layer_index, layers_by_kind
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.layers.land_use import LAND_USE_CLASSES
from planfuse.services.siting.plan import parcel_layer
from planfuse.services.siting.query import (
    CONTROL_FILTERS,
    CONTROL_KINDS,
    CRITERIA,
    DEFAULT_LIMIT,
    DEFAULT_WEIGHTS,
)
from planfuse.services.siting.relations import siting_cache
from planfuse.services.siting.search import thresholds

CRITERION_LABELS = {
    "area_fit": ("面积适配度", "Area fit"),
    "road_distance": ("道路可达性", "Road access"),
    "facility_distance": ("设施邻近度", "Facility access"),
    "compactness": ("地块紧凑度", "Compactness"),
    "urban_share": ("城镇开发边界内占比", "Share inside the urban boundary"),
    "centre_distance": ("距区中心距离", "Closeness to the district centre"),
}


def _values(ctx: PlanFuse, refs, attribute: str) -> dict[str, list[str]]:
    merged: dict[str, set[str]] = {}
    cache = siting_cache(ctx)
    for ref in refs:
        for value, levels in cache.values(ctx, ref, attribute).items():
            merged.setdefault(value, set()).update(levels)
    return {k: sorted(v) for k, v in sorted(merged.items())}


def siting_options(ctx: PlanFuse) -> dict[str, Any]:
    """The choices and defaults of the siting form (see the module docstring)."""
    layers = layers_by_kind(ctx)
    districts = []
    for ref in layers.get("district", [])[:1]:
        index = layer_index(ctx, ref)
        codes = index.attributes.get("adcode")
        names = index.attributes.get("name")
        seen = set()
        for i in range(len(index)):
            code = codes[i] if codes is not None else None
            if code is None or code in seen:
                continue
            seen.add(code)
            districts.append({"adcode": code, "name": names[i] if names is not None else code})
        districts.sort(key=lambda d: d["adcode"])
    controls = []
    for kind in CONTROL_KINDS:
        refs = layers.get(kind, [])
        info = LAYER_KINDS[kind]
        entry: dict[str, Any] = {
            "kind": kind,
            "name": {"zh-CN": info.title_zh, "en": info.title_en},
            "loaded": bool(refs),
            "filters": {},
        }
        for attr in CONTROL_FILTERS.get(kind, ()):
            if attr != "level":
                entry["filters"][attr] = list(_values(ctx, refs, attr))
        controls.append(entry)
    sensitive = _values(ctx, layers.get("sensitive_zone", []), "type")
    settings = ctx.settings
    limits = thresholds(ctx)
    try:
        parcels = parcel_layer(ctx, layers).to_dict()
    except Conflict:  # no parcel layer yet: the options say so
        parcels = None
    return {
        "districts": districts,
        "land_use_classes": [c.to_dict(parent=True) for c in LAND_USE_CLASSES.values()],
        "controls": controls,
        "road_classes": list(_values(ctx, layers.get("road", []), "class")),
        "facility_types": list(_values(ctx, layers.get("facility", []), "type")),
        # Types present in the data, each with its levels.
        "sensitive_zones": {k: sensitive[k] for k in sorted(sensitive)},
        "criteria": [
            {
                "name": name,
                "label": {"zh-CN": CRITERION_LABELS[name][0], "en": CRITERION_LABELS[name][1]},
                "default_weight": DEFAULT_WEIGHTS[name],
            }
            for name in CRITERIA
        ],
        "limits": {
            "limit_default": DEFAULT_LIMIT,
            "limit_max": int(settings.siting_limit_max),
            "max_area_m2": float(settings.max_project_area_m2),
            "tolerance_m2": limits.tolerance_m2,
            "inside_share": limits.inside_share,
            "reach_m": float(settings.siting_reach_m),
        },
        "parcel_layer": parcels,
    }
