"""The ledgers (台账) PlanFuse keeps: their names and titles, what their rows are grouped
by, the items of the comprehensive ledger, and the names of groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from planfuse.services.conflicts.analyses import ANALYSES
from planfuse.services.layers.land_classes import (
    class_name,
    is_city_construction_land,
    urban_plan_major,
)
from planfuse.services.layers.land_use import level1 as land_use_level1


@dataclass(frozen=True)
class LedgerDef:
    name: str
    title_zh: str
    title_en: str
    kind: str | None  # the layer kind, None for conflicts/comprehensive
    attribute: str | None = None  # what rows are grouped by
    groups: Callable[[str | None], str] | None = None
    # Which features count (by the attribute's value); None: every feature.
    keep: Callable[[str | None], bool] | None = None

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh


def group_text(code: str | None) -> str:
    """Rows by the attribute's own text (the TD/T 1024 code, a zone, a type)."""
    return (code or "").strip()


def group_all(code: str | None) -> str:
    return "all"


LEDGERS: dict[str, LedgerDef] = {
    d.name: d
    for d in (
        LedgerDef("conflicts", "多规合一台账（差异图斑）", "Multi-plan conflicts ledger", None),
        LedgerDef(
            "urban_plan", "城乡规划台账", "Urban plan ledger", "urban_plan", "code",
            urban_plan_major,
        ),
        # 城市规划台账: the city master plan's own ledger, 城市建设用地 only (GB 50137-2011
        # Table 3.3, classes R A B M W S U G), beside the 城乡规划台账 of every class.
        LedgerDef(
            "city_plan", "城市规划台账", "City plan ledger", "urban_plan", "code",
            urban_plan_major, is_city_construction_land,
        ),
        LedgerDef(
            "land_plan", "土地利用总体规划台账", "Land plan ledger", "land_plan", "code",
            group_text,
        ),
        LedgerDef(
            "land_use_plan", "国土空间规划用地台账", "Land-use plan ledger", "land_use_plan",
            "code", land_use_level1,
        ),
        LedgerDef(
            "basic_farmland", "永久基本农田台账", "Basic farmland ledger", "basic_farmland",
            None, group_all,
        ),
        LedgerDef(
            "ecological_redline", "生态保护红线台账", "Ecological red line ledger",
            "ecological_redline", None, group_all,
        ),
        LedgerDef(
            "urban_boundary", "城镇开发边界台账", "Urban development boundary ledger",
            "urban_boundary", "zone", group_text,
        ),
        LedgerDef(
            "control_line", "控制线台账", "Control lines ledger", "control_line", "type",
            group_text,
        ),
        LedgerDef(
            "sensitive_zone", "敏感区台账", "Sensitive zones ledger", "sensitive_zone", "type",
            group_text,
        ),
        LedgerDef("comprehensive", "综合台账", "Comprehensive ledger", None),
    )
}  # fmt: skip

COMPREHENSIVE_ITEMS = (
    ("construction_land", "规划建设用地", "Planned construction land"),
    ("basic_farmland", "永久基本农田", "Basic farmland"),
    ("ecological_redline", "生态保护红线", "Ecological red line"),
    ("urban_boundary", "城镇开发边界", "Urban development boundary"),
    ("conflicts:two_plans", "两规差异图斑", "Two-plan conflicts"),
    ("conflicts:three_lines", "三线冲突图斑", "Three-line conflicts"),
    ("conflicts:plan_vs_controls", "规划与管控线冲突图斑", "Plan vs control-line conflicts"),
)


def conflict_group_order(analysis: str | None) -> list[str]:
    return [
        f"{a.name}:{t.code}"
        for a in ANALYSES.values()
        if analysis in (None, a.name)
        for t in a.conflict_types
    ]


def group_name(ledger: str, key: str, locale: str) -> str:
    en = locale == "en"
    if ledger == "conflicts":
        analysis_name, _, code = key.partition(":")
        analysis = ANALYSES.get(analysis_name)
        if analysis is None:
            return key
        try:
            return f"{analysis.title(locale)} · {analysis.type(code).title(locale)}"
        except KeyError:
            return key
    if ledger == "comprehensive":
        for item, zh, english in COMPREHENSIVE_ITEMS:
            if item == key:
                return english if en else zh
        return key
    if key == "":
        return "(no code)" if en else "（无分类）"
    if key == "all":
        return LEDGERS[ledger].title(locale).removesuffix("台账").removesuffix(" ledger")
    return class_name(LEDGERS[ledger].kind or ledger, key, locale) or key


def ledger_names() -> list[dict[str, Any]]:
    """Every ledger with its titles (for the widget and the API description)."""
    return [
        {"name": d.name, "title": {"zh-CN": d.title_zh, "en": d.title_en}, "kind": d.kind}
        for d in LEDGERS.values()
    ]
