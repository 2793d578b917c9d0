"""The canonical layer kinds of the planning database (DOMAIN.md, "Layer kinds").

Features keep their source attributes; `attributes` are the ones services read, which
import maps source field names onto (`--map DLBM=code`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerKind:
    name: str
    title_zh: str
    title_en: str
    geometry: str  # "polygon", "line" or "point"
    attributes: tuple[str, ...] = ()
    required: tuple[str, ...] = ()


LAYER_KINDS: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind(
            "district", "行政区", "District", "polygon", ("adcode", "name"), ("adcode", "name")
        ),
        LayerKind(
            "ecological_redline", "生态保护红线", "Ecological red line", "polygon", ("name",)
        ),
        LayerKind("basic_farmland", "永久基本农田", "Permanent basic farmland", "polygon"),
        LayerKind(
            "urban_boundary", "城镇开发边界", "Urban development boundary", "polygon", ("zone",)
        ),
        LayerKind(
            "land_use_plan", "国土空间规划用地", "Land-use plan", "polygon", ("code",), ("code",)
        ),
        LayerKind(
            "land_use_status",
            "土地利用现状",
            "Land-use status (annual land survey)",
            "polygon",
            ("code",),
            ("code",),
        ),
        LayerKind("urban_plan", "城乡规划", "Urban plan (legacy)", "polygon", ("code",), ("code",)),
        LayerKind(
            "land_plan", "土地利用总体规划", "Land plan (legacy)", "polygon", ("code",), ("code",)
        ),
        LayerKind("control_line", "控制线", "Control lines", "polygon", ("type",), ("type",)),
        LayerKind(
            "sensitive_zone", "敏感区", "Sensitive zones", "polygon", ("type", "level"), ("type",)
        ),
        LayerKind("road", "道路", "Roads", "line", ("class",), ("class",)),
        LayerKind("facility", "设施", "Facilities", "point", ("type",), ("type",)),
    )
}

GEOMETRY_TYPES = {
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point": ("Point", "MultiPoint"),
}


def layer_kind(name: str) -> LayerKind:
    """The kind named `name`; a ValueError says which kinds exist."""
    try:
        return LAYER_KINDS[name]
    except KeyError:
        raise ValueError(
            f"layer kind {name!r} is unknown; expected one of {', '.join(LAYER_KINDS)}"
        ) from None
