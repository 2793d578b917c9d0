"""The `approval` widget: the approval portal's inline opinions panel (协同审批) — a case's
departments with their states, opinions, conditions and overdue marks, the evidence frozen
at opening with its map, the opinion form of the user's own department, closing by the
portal, and the print layout of a 联合审查意见书.

It registers the way any third-party widget does (see planfuse.widgets.registry). Its data
comes from the approval function service (server/api/approvals.py); the parameters a host
locks (`case`, `department`) are enforced there.
"""

from __future__ import annotations

from pathlib import Path

from planfuse.widgets.registry import Widget

MANIFEST = Path(__file__).resolve().parent / "manifest.json"


def register(registry) -> None:
    registry.add(Widget.from_manifest(MANIFEST, template="approval/widget.html"))
