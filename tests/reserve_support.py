"""Test support for the project reserve: sessions of the `projects` widget, project bodies
and red lines in several CRSs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from embed_support import session_headers
from pyproj import Transformer

from planfuse.widgets.registry import widget_registry

#: A red line of about 200 m × 150 m in central 九龙坡 (CGCS2000 lon/lat).
LON0, LAT0 = 106.45, 29.50
RED_LINE_4490 = {
    "type": "Polygon",
    "coordinates": [
        [
            [LON0, LAT0],
            [LON0 + 0.002, LAT0],
            [LON0 + 0.002, LAT0 + 0.0015],
            [LON0, LAT0 + 0.0015],
            [LON0, LAT0],
        ]
    ],
}

BODY: dict[str, Any] = {
    "name": "第二实验小学新建工程",
    "type": "urban",
    "dept": "housing_construction",
    "district": "500107",
    "land_use": "0803",
    "area_m2": 20000,
    "funds": {"2026": 500, "2027": 1500},
    "priority": 4,
    "depends_on": [],
    "earliest_year": 2026,
    "latest_year": 2028,
}


def body(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BODY)
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def red_line_in(crs: str) -> dict[str, Any]:
    """RED_LINE_4490 in another projected CRS (PROJ knows it)."""
    t = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    ring = [list(t.transform(x, y)) for x, y in RED_LINE_4490["coordinates"][0]]
    return {"type": "Polygon", "coordinates": [ring]}


def ensure_projects_widget(app, tmp_path: Path) -> None:
    """The `projects` widget is built in: sessions of it can be minted in every app."""
    assert widget_registry(app.extensions["planfuse"]).get("projects") is not None


def projects_session(client, host, *, sub: str = "user-1", params: dict | None = None):
    claims: dict[str, Any] = {"sub": sub}
    if params is not None:
        claims["params"] = params
    return session_headers(client, host, "projects", **claims)
