"""Legends drawn by the server (WMS GetLegendGraphic, the ArcGIS MapServer's `legend`): one
row per style class of a layer kind — its swatch drawn by the same code and styles as the
map (`planfuse.services.maps.render`), then its name — so a desktop GIS shows the legend the
map widget shows.

Names are Chinese first; they need a font with CJK glyphs. The first of
`planfuse.services.maps.labels.CJK_FONTS` found is used (`./bootstrap` installs Debian's
fonts-wqy-microhei); without one, labels fall back to the English names in Pillow's own
font rather than drawing empty boxes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import shapely
from PIL import Image, ImageDraw

from planfuse.services.maps.labels import label_font
from planfuse.services.maps.render import Canvas
from planfuse.services.maps.styles import kind_entry

LOCALES = ("zh-CN", "en")
DEFAULT_SYMBOL_PX = 20
MAX_SYMBOL_PX = 128
TEXT_PX = 13
PADDING_PX = 4
TEXT_COLOUR = (33, 33, 33, 255)
OTHER = {"zh-CN": "其他", "en": "Other"}
STRONG = {"zh-CN": "（高等级）", "en": " (high level)"}


@dataclass(frozen=True)
class LegendEntry:
    """One row: the class code (None for the kind's fallback), its name and drawing spec."""

    code: str | None
    label: str
    style: dict[str, Any]


def legend_entries(kind: str, layer_name: str, locale: str = "zh-CN") -> list[LegendEntry]:
    """The rows of a layer kind's legend in the map widget's order, in `locale`.

    A kind drawn by class lists every class and then the fallback (其他 · Other); a kind
    drawn in one style is one row named after the layer.
    """
    entry = kind_entry(kind)
    classes = entry.get("classes") or []
    if not classes:
        return [LegendEntry(None, layer_name, entry["fallback"])]
    rows = []
    for item in classes:
        rows.append(LegendEntry(item["code"], item[locale], item["style"]))
        if item.get("strong"):
            rows.append(LegendEntry(item["code"], item[locale] + STRONG[locale], item["strong"]))
    rows.append(LegendEntry(None, OTHER[locale], entry["fallback"]))
    return rows


def symbol_image(style: dict[str, Any], width: int, height: int) -> Image.Image:
    """One swatch: a polygon, a line or a point symbol, as the map draws that style."""
    canvas = Canvas(width, height)
    inset = max(1.0, float(style.get("width") or 1) / 2 + 0.5)
    if style.get("point"):
        radius = min(width, height) / 2 - 1
        point = {**style["point"], "radius": min(float(style["point"].get("radius", 8)), radius)}
        canvas.point(width / 2, height / 2, {**style, "point": point})
    elif style.get("fill") is None:
        line = shapely.LineString([(inset, height * 0.7), (width - inset, height * 0.3)])
        canvas.feature(line, style)
    else:
        canvas.feature(shapely.box(inset, inset, width - inset, height - inset), style)
    return canvas.image()


def _layout(
    entries: list[LegendEntry], english: list[LegendEntry] | None, symbol_px: tuple[int, int]
) -> tuple[list[LegendEntry], Any, int, int, int]:
    """(the rows in the language the font can draw, the font, width, height, row height)."""
    sw, sh = symbol_px
    font, cjk = label_font(TEXT_PX)
    if not cjk and english is not None:
        entries = english
    row_h = max(sh, TEXT_PX + 2) + PADDING_PX
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text_w = max((probe.textlength(e.label, font=font) for e in entries), default=0)
    width = int(PADDING_PX * 4 + sw + text_w + 0.999)
    height = int(PADDING_PX + row_h * len(entries))
    return entries, font, width, height, row_h


def legend_size(
    entries: list[LegendEntry],
    english: list[LegendEntry] | None = None,
    symbol_px: tuple[int, int] = (DEFAULT_SYMBOL_PX, DEFAULT_SYMBOL_PX),
) -> tuple[int, int]:
    """(width, height) in pixels of `legend_png` of the same rows (for capabilities)."""
    _, _, width, height, _ = _layout(entries, english, symbol_px)
    return width, height


def legend_png(
    entries: list[LegendEntry],
    english: list[LegendEntry] | None = None,
    symbol_px: tuple[int, int] = (DEFAULT_SYMBOL_PX, DEFAULT_SYMBOL_PX),
) -> bytes:
    """The legend as a transparent PNG: a swatch per row, its label beside it.

    `english` holds the same rows in English, used when no CJK font is installed.
    """
    sw, sh = symbol_px
    entries, font, width, height, row_h = _layout(entries, english, symbol_px)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for i, entry in enumerate(entries):
        top = PADDING_PX + i * row_h
        image.alpha_composite(symbol_image(entry.style, sw, sh), (PADDING_PX, top))
        x = PADDING_PX * 3 + sw
        draw.text((x, top + sh / 2), entry.label, font=font, fill=TEXT_COLOUR, anchor="lm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def swatch_png(style: dict[str, Any], width: int, height: int) -> bytes:
    """One swatch alone as a PNG (an ArcGIS legend's `imageData`, a WMS `RULE`)."""
    out = io.BytesIO()
    symbol_image(style, width, height).save(out, "PNG", optimize=True)
    return out.getvalue()
