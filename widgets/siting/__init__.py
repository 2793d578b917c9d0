"""The `siting` widget (辅助选址): a conditions form, ranked candidate parcels as a list and
on the shared map with the reasons for each, and saved siting plans (选址方案).

It registers the way any third-party widget does (see planfuse.widgets.registry). It talks
only to the siting function service (`/api/v1/siting/*`); parameters locked in the embed
token (`districts`, `land_use`, `output_crs`) are shown as fixed and enforced by the server.
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="siting/widget.html"))
