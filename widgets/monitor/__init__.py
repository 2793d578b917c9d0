"""The `monitor` widget (规划实施监测评估预警): indicator cards coloured by status, a district
map shaded by the status of the chosen indicator, the indicator's series with its target
line, the year's changes linked to the map, the annual evaluation report and export.

It registers the way any third-party widget does (see planfuse.widgets.registry). Its data
comes from the plan-monitoring function service (server/api/plan_monitoring.py); the
parameters a host locks (`district`, `indicators`) are enforced there.
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="monitor/widget.html"))
