"""The three conflict analyses of DOMAIN.md ("Conflict detection"), their conflict types
and the layer kinds each one reads."""

from __future__ import annotations

from dataclasses import dataclass

from planfuse.errors import InvalidInput
from planfuse.services.layers.kinds import LAYER_KINDS


@dataclass(frozen=True)
class ConflictType:
    code: str
    title_zh: str
    title_en: str
    #: Kinds of the two source features, in the order `sources` lists them.
    kinds: tuple[str, str]
    #: Only a conflict when True; two_plans types 01/02 are consistent (counted, not kept).
    conflict: bool = True

    def title(self, locale: str = "zh-CN") -> str:
        return self.title_en if locale == "en" else self.title_zh

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "title": {"zh-CN": self.title_zh, "en": self.title_en},
            "kinds": list(self.kinds),
            "conflict": self.conflict,
        }


@dataclass(frozen=True)
class Analysis:
    name: str
    title_zh: str
    title_en: str
    #: Layer kinds the analysis reads; `district` splits patches by district.
    kinds: tuple[str, ...]
    types: tuple[ConflictType, ...]

    def type(self, code: str) -> ConflictType:
        for t in self.types:
            if t.code == code:
                return t
        raise KeyError(code)

    @property
    def conflict_types(self) -> tuple[ConflictType, ...]:
        return tuple(t for t in self.types if t.conflict)

    def title(self, locale: str = "zh-CN") -> str:
        return self.title_en if locale == "en" else self.title_zh

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "title": {"zh-CN": self.title_zh, "en": self.title_en},
            "kinds": list(self.kinds),
            "types": [t.to_dict() for t in self.types],
        }


TWO_PLANS = Analysis(
    "two_plans",
    "两规差异（城乡规划与土地利用总体规划）",
    "Two plans (urban plan vs land plan)",
    ("urban_plan", "land_plan", "district"),
    (
        ConflictType(
            "01", "两规均为非建设用地", "Both non-construction", ("urban_plan", "land_plan"), False
        ),
        ConflictType(
            "02", "两规均为建设用地", "Both construction", ("urban_plan", "land_plan"), False
        ),
        ConflictType(
            "03",
            "土规建设、城规非建设",
            "Land plan construction, urban plan not",
            ("urban_plan", "land_plan"),
        ),
        ConflictType(
            "04",
            "城规建设、土规非建设",
            "Urban plan construction, land plan not",
            ("urban_plan", "land_plan"),
        ),
    ),
)

THREE_LINES = Analysis(
    "three_lines",
    "三线冲突（永久基本农田、生态保护红线、城镇开发边界）",
    "Three control lines overlapping",
    ("basic_farmland", "ecological_redline", "urban_boundary", "district"),
    (
        ConflictType(
            "farmland_redline",
            "永久基本农田与生态保护红线重叠",
            "Basic farmland overlaps the ecological red line",
            ("basic_farmland", "ecological_redline"),
        ),
        ConflictType(
            "farmland_boundary",
            "永久基本农田与城镇开发边界重叠",
            "Basic farmland overlaps the urban development boundary",
            ("basic_farmland", "urban_boundary"),
        ),
        ConflictType(
            "redline_boundary",
            "生态保护红线与城镇开发边界重叠",
            "Ecological red line overlaps the urban development boundary",
            ("ecological_redline", "urban_boundary"),
        ),
    ),
)

PLAN_VS_CONTROLS = Analysis(
    "plan_vs_controls",
    "规划与管控线冲突",
    "Land-use plan vs control lines",
    ("land_use_plan", "basic_farmland", "ecological_redline", "urban_boundary", "district"),
    (
        ConflictType(
            "construction_on_farmland",
            "建设用地占用永久基本农田",
            "Construction land on basic farmland",
            ("land_use_plan", "basic_farmland"),
        ),
        ConflictType(
            "construction_on_redline",
            "建设用地占用生态保护红线",
            "Construction land on the ecological red line",
            ("land_use_plan", "ecological_redline"),
        ),
        ConflictType(
            "urban_outside_boundary",
            "城镇建设用地位于城镇开发边界外",
            "Urban construction land outside the urban development boundary",
            ("land_use_plan", "urban_boundary"),
        ),
    ),
)

ANALYSES: dict[str, Analysis] = {a.name: a for a in (TWO_PLANS, THREE_LINES, PLAN_VS_CONTROLS)}

STATUSES = ("pending", "coordinating", "adjusted", "kept")
STATUS_TITLES = {
    "pending": ("待协调", "Pending"),
    "coordinating": ("协调中", "Coordinating"),
    "adjusted": ("已调整", "Adjusted"),
    "kept": ("保留", "Kept"),
}
# The coordination workflow's allowed status changes (DOMAIN.md).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("coordinating",),
    "coordinating": ("adjusted", "kept"),
    "adjusted": (),
    "kept": (),
}


def get_analysis(name: object, field: str = "analysis") -> Analysis:
    """The analysis named ``name``; InvalidInput listing the analyses otherwise."""
    if isinstance(name, str) and name in ANALYSES:
        return ANALYSES[name]
    choices = ", ".join(ANALYSES)
    raise InvalidInput(
        f"analysis {name!r} is unknown; expected one of {choices}",
        code="unknown_analysis",
        errors=[{"field": field, "message": f"expected one of {choices}"}],
        title="Unknown analysis",
    )


def kind_title(kind: str, locale: str = "zh-CN") -> str:
    entry = LAYER_KINDS.get(kind)
    if entry is None:
        return kind
    return entry.title_en if locale == "en" else entry.title_zh
