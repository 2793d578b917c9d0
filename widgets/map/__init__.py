"""The `map` widget: the 一张图 viewer — every planning layer on one map, with a layer list
and legend grouped by kind, identify, and distance and area measuring.

It registers the way any third-party widget does (see planfuse.widgets.registry). Its page
is the shared widget shell; the shared map (widgets/common/map.js) draws the layers from the
layer catalogue (`GET /api/v1/layers`) through the vector tiles. A `layers` list locked in
the embed token limits what the session may read (planfuse.ogc.access).
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="map/widget.html"))
