"""The layer styles of the map widget, for maps the server draws (WMS GetMap, legends).

`map_styles.json` is exported from the widget's own style code
(widgets/common/map-model.js, by scripts/export_map_styles.mjs; a test keeps the two
identical), so a WMS map and the map widget draw every class with the same fill, stroke,
width, dash and hatch. `style_for` picks a feature's class the way the widget does.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

STYLES_FILE = Path(__file__).resolve().parent / "map_styles.json"
_RGBA = re.compile(r"^rgba?\(\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*([0-9]+)\s*(?:,\s*([0-9.]+)\s*)?\)$")

Colour = tuple[int, int, int, int]


@functools.cache
def _table() -> dict[str, Any]:
    return json.loads(STYLES_FILE.read_text("utf-8"))


def kind_entry(kind: str) -> dict[str, Any]:
    kinds = _table()["kinds"]
    return kinds.get(kind) or kinds["other"]


def kind_order() -> list[str]:
    return list(_table()["order"])


def _strong(props: dict[str, Any]) -> bool:
    level = str(props.get("level") if props.get("level") is not None else "").lower()
    return level in {"high", "1", "protection", "i", "一级", "高"}


def style_for(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    """The drawing spec of a feature of `kind` with attributes `props` (as the widget's
    `styleSpec`): fill, stroke, width, dash, hatch, casing, point, label."""
    entry = kind_entry(kind)
    match = entry.get("match")
    if not match:
        return entry["fallback"]
    raw = props.get(match["attr"])
    text = "" if raw is None else str(raw).strip()
    found = None
    classes = entry["classes"]
    if "prefix" in match:
        upper = text.upper()
        for length in match["prefix"]:
            found = next((c for c in classes if c["code"] == upper[:length]), None)
            if found:
                break
    else:
        if "pad" in match:
            text = text.rjust(match["pad"], "0")
        found = next((c for c in classes if c["code"] == text), None)
        if found is None and match.get("fallback"):
            found = next(c for c in classes if c["code"] == match["fallback"])
    strong = bool(match.get("strong")) and _strong(props)
    if found is None:
        return entry["fallback_strong"] if strong else entry["fallback"]
    return found["strong"] if strong else found["style"]


def legend(kind: str, locale: str = "zh-CN") -> list[tuple[str, dict[str, Any]]]:
    """(label, style) of each legend entry of a kind, as the widget's legend lists them."""
    entry = kind_entry(kind)
    if not entry.get("match"):
        return [(entry["title"].get(locale) or entry["title"]["zh-CN"], entry["fallback"])]
    return [(c.get(locale) or c["zh-CN"], c["style"]) for c in entry["classes"]]


@functools.cache
def colour(text: str | None) -> Colour | None:
    """A CSS colour of the style table (#RGB, #RRGGBB, rgb(), rgba()) as RGBA bytes."""
    if not text:
        return None
    value = text.strip()
    if value.startswith("#"):
        hexa = value[1:]
        if len(hexa) == 3:
            hexa = "".join(ch * 2 for ch in hexa)
        return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16), 255
    m = _RGBA.match(value)
    if not m:
        raise ValueError(f"unsupported colour {text!r} in map_styles.json")
    alpha = float(m.group(4)) if m.group(4) is not None else 1.0
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), round(alpha * 255)
