"""The `compliance` widget (项目合规审查): a reviewer's inline checklist of a project red line
against basic farmland, the ecological red line, the urban development boundary, the
planned land use, sensitive zones and control lines."""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

HERE = Path(__file__).resolve().parent


def register(registry) -> None:
    registry.add(Widget.from_manifest(HERE / "manifest.json", template="compliance/widget.html"))
