"""The `projects` widget (项目生成): the project reserve with its pre-study outcomes, a
project's page (reasons, candidate sites, map) and the construction schedule as a Gantt
chart with quota use and idle funds.

It registers the way any third-party widget does (see planfuse.widgets.registry). Its data
comes from the project-generation function service (server/api/reserve.py); the parameters
a host locks (`dept`, `district`) are enforced there.
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="projects/widget.html"))
