"""The `conflicts` widget: the conflict viewer (冲突检测与协调) — a filterable list of the
conflict patches beside the map, each patch's sources, area, district and coordination
history, status changes with a note for coordinators, the ledgers (台账) with a chart and
CSV/XLSX export, and a progress bar while a detection runs.

It registers the way any third-party widget does (see planfuse.widgets.registry). Its data
comes from the conflicts, jobs and ledgers function services (server/api/conflicts.py);
the parameters a host locks (`districts`, `analysis`, `readonly`) are enforced there.
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="conflicts/widget.html"))
