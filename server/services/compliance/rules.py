"""The rules of DOMAIN.md "Compliance review", evaluated on overlays of the red line with
the control layers. Plain functions over arrays: no database, no HTTP.

Areas are m² in the equal-area working CRS. Where features of a layer (or of two layers of
one kind) overlap each other, the overlapped m² count once: see `PieceSet.area_m2`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.geo.index import LayerIndex
from planfuse.geo.measure import thinness_m
from planfuse.services.compliance.overlaps import DISSOLVE_MIN_PIECES
from planfuse.services.compliance.rulesets import TITLES, Ruleset
from planfuse.services.layers.data import LayerRef
from planfuse.services.layers.land_use import nearest_class

#: Order of severity for the overall verdict (DOMAIN.md item 7): fail, then the two kinds
#: of referral, then warn, then pass. needs_approval (a higher authority must approve)
#: outranks needs_review.
SEVERITY = {"pass": 0, "info": 0, "warn": 1, "needs_review": 2, "needs_approval": 3, "fail": 4}
VERDICTS = ("pass", "warn", "fail", "needs_review", "needs_approval")

SENSITIVE_TYPE_NAMES = {
    "geohazard": {"zh-CN": "地质灾害", "en": "Geohazard"},
    "water_source": {"zh-CN": "饮用水水源保护区", "en": "Drinking-water source protection"},
    "heritage": {"zh-CN": "文物保护", "en": "Heritage protection"},
    "mineral": {"zh-CN": "压覆矿产", "en": "Mineral resources"},
}
CONTROL_LINE_NAMES = {
    "blue": {"zh-CN": "蓝线", "en": "Blue line (water)"},
    "green": {"zh-CN": "绿线", "en": "Green line (green space)"},
    "purple": {"zh-CN": "紫线", "en": "Purple line (historic)"},
    "yellow": {"zh-CN": "黄线", "en": "Yellow line (infrastructure)"},
    "road": {"zh-CN": "道路红线", "en": "Road red line"},
}
URBAN_ZONE_NAMES = {
    "01": {"zh-CN": "集中建设区", "en": "Concentrated construction zone"},
    "02": {"zh-CN": "弹性发展区", "en": "Flexible development zone"},
    "03": {"zh-CN": "特别用途区", "en": "Special-use zone"},
}
STATUS_NAMES = {
    "pass": {"zh-CN": "通过", "en": "Pass"},
    "warn": {"zh-CN": "注意", "en": "Warning"},
    "fail": {"zh-CN": "不通过", "en": "Fail"},
    "needs_review": {"zh-CN": "需论证", "en": "Needs review"},
    "needs_approval": {"zh-CN": "需报批", "en": "Needs approval"},
    "not_checked": {"zh-CN": "未检查（无数据）", "en": "Not checked (no data)"},
    "info": {"zh-CN": "提示", "en": "For information"},
}


@dataclass
class PieceSet:
    """The overlap pieces of one layer kind: project ∩ feature, for every layer of the kind.

    Arrays are aligned: `layers[i]` is the index into `refs` of piece i, `fids` its feature
    id, `pieces` the overlap polygon (working CRS), `areas` its area in m², `attrs` the
    feature's attributes (name → value as text).
    """

    refs: list[LayerRef]
    layers: np.ndarray
    fids: np.ndarray
    pieces: np.ndarray
    areas: np.ndarray
    feature_areas: np.ndarray
    attrs: dict[str, np.ndarray]
    districts: np.ndarray
    # Pieces that may overlap another piece (see `_overlap_group`); computed lazily.
    _group: np.ndarray | None = field(default=None, repr=False)
    # The project (working CRS), and for a single-layer kind a function giving the layer's
    # dissolved union restricted to an attribute filter, if it is built (overlaps.py).
    project: BaseGeometry | None = field(default=None, repr=False)
    dissolver: Callable[[str | None, frozenset | None], LayerIndex | None] | None = field(
        default=None, repr=False
    )

    @classmethod
    def build(
        cls,
        refs: Sequence[LayerRef],
        indexes: Sequence[LayerIndex],
        project_work: BaseGeometry,
        masks: Sequence[np.ndarray | None] | None = None,
    ) -> PieceSet:
        """Overlay `project_work` on every layer of a kind. `masks` (one per index, from
        `overlaps.self_overlap_mask`) say which features may overlap another of their
        layer; with one layer and its mask, no per-query overlap detection is needed."""
        layers, fids, pieces, areas, feature_areas, districts = ([] for _ in range(6))
        groups: list[np.ndarray] = []
        names: set[str] = set()
        for index in indexes:
            names.update(n for n in index.attributes if n != "district")
        attrs: dict[str, list[np.ndarray]] = {n: [] for n in sorted(names)}
        for i, index in enumerate(indexes):
            result = index.overlaps(project_work)
            n = len(result)
            if n == 0:
                continue
            layers.append(np.full(n, i, dtype=np.int64))
            fids.append(result.ids)
            pieces.append(result.geometries)
            areas.append(result.areas_m2)
            feature_areas.append(index.areas_m2[result.positions])
            if masks is not None and len(indexes) == 1 and masks[0] is not None:
                groups.append(masks[0][result.positions])
            district = index.attributes.get("district")
            districts.append(
                district[result.positions] if district is not None else np.full(n, None, object)
            )
            for name in attrs:
                column = index.attributes.get(name)
                attrs[name].append(
                    column[result.positions] if column is not None else np.full(n, None, object)
                )

        def cat(parts, dtype):
            return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

        n = sum(len(f) for f in fids)
        group = None
        if len(indexes) == 1 and masks is not None and masks[0] is not None:
            group = np.concatenate(groups) if groups else np.zeros(0, dtype=bool)
        elif n == 0:
            group = np.zeros(0, dtype=bool)
        return cls(
            refs=list(refs),
            layers=cat(layers, np.int64),
            fids=cat(fids, np.int64),
            pieces=cat(pieces, object),
            areas=cat(areas, np.float64),
            feature_areas=cat(feature_areas, np.float64),
            attrs={n: cat(v, object) for n, v in attrs.items()},
            districts=cat(districts, object),
            _group=group,
        )

    def __len__(self) -> int:
        return len(self.fids)

    def attr(self, name: str) -> np.ndarray:
        column = self.attrs.get(name)
        return column if column is not None else np.full(len(self), None, dtype=object)

    def _overlap_group(self) -> np.ndarray:
        """Mask of pieces that may overlap another piece; all others overlap nothing.

        From the layer's self-overlap mask (see `overlaps.py`); without one (still being
        built, or several layers of one kind) every piece may overlap any other.
        """
        if self._group is None:
            self._group = np.ones(len(self), dtype=bool)
        return self._group

    def area_m2(self, mask: np.ndarray | None = None) -> float:
        """Area in m² of the union of the (masked) pieces: each m² once. Pieces outside the
        overlap group are summed; only those that may overlap are unioned."""
        if mask is None:
            mask = np.ones(len(self), dtype=bool)
        if not mask.any():
            return 0.0
        group = self._overlap_group()
        members = mask & group
        total = float(self.areas[mask & ~group].sum())
        if members.any():
            total += float(shapely.area(shapely.union_all(self.pieces[members])))
        return total

    def area_where(self, attribute: str | None = None, values: Iterable[str] = ()) -> float:
        """Union area in m² of the pieces whose feature has `attribute` in `values` (every
        piece when `attribute` is None).

        When many of those pieces overlap each other (dense road red lines), the area comes
        from the layer's dissolved union — the same m², without a per-query union — once
        it is built; until then (and for few pieces) from the pieces themselves.
        """
        wanted = frozenset(str(v) for v in values) if attribute is not None else None
        if attribute is None:
            mask = np.ones(len(self), dtype=bool)
        else:
            mask = np.isin(self.attr(attribute).astype(str), sorted(wanted))
        if not mask.any():
            return 0.0
        # Only with the layer's mask is "many overlapping pieces" known, not assumed.
        known = self._group is not None
        heavy = known and int((mask & self._overlap_group()).sum()) >= DISSOLVE_MIN_PIECES
        if heavy and self.dissolver is not None and self.project is not None:
            layer = self.dissolver(attribute, wanted)
            if layer is not None:
                return float(layer.overlaps(self.project).total_area_m2)
        return self.area_m2(mask)

    def union(self, mask: np.ndarray | None = None) -> BaseGeometry:
        """The union of the (masked) pieces (working CRS)."""
        geoms = self.pieces if mask is None else self.pieces[mask]
        if len(geoms) == 0:
            return shapely.Polygon()
        return shapely.union_all(geoms)


@dataclass
class ItemResult:
    """One checklist item before serialisation."""

    rule: str
    status: str
    overlap_area_m2: float
    reason: dict[str, str]
    pieces: PieceSet | None = None
    counted: np.ndarray | None = None
    piece_notes: dict[str, np.ndarray] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    extra_geometries: dict[str, BaseGeometry] = field(default_factory=dict)

    @property
    def title(self) -> dict[str, str]:
        return TITLES[self.rule]


def _fmt(area: float) -> str:
    return f"{area:,.2f}"


def not_checked(rule: str) -> ItemResult:
    return ItemResult(
        rule,
        "not_checked",
        0.0,
        {
            "zh-CN": f"未加载“{TITLES[rule]['zh-CN']}”图层数据，本项未检查。",
            "en": f"No {TITLES[rule]['en'].lower()} data is loaded: this item was not checked.",
        },
    )


def _override(rule_cfg: dict[str, Any], status: str, project_type: str) -> str:
    return (rule_cfg.get("by_project_type") or {}).get(project_type, status)


def evaluate_protected(
    rule: str, pieces: PieceSet, ruleset: Ruleset, project_type: str
) -> ItemResult:
    """Items 1 and 2 (basic farmland, ecological red line): pass iff I ≤ tol, else the
    rule's status, overridden by project type (major on farmland → needs_approval, linear
    across the red line → needs_review)."""
    cfg = ruleset.rules[rule]
    tol = ruleset.tolerance_m2
    area = pieces.area_where()
    name_zh, name_en = TITLES[rule]["zh-CN"], TITLES[rule]["en"].lower()
    if area <= tol:
        status = "pass"
        if area > 0:
            reason = {
                "zh-CN": f"与{name_zh}仅边界重合 {_fmt(area)} m²，不超过容差 {tol:g} m²。",
                "en": f"Touches {name_en} by {_fmt(area)} m² only, within the {tol:g} m² "
                "tolerance.",
            }
        else:
            reason = {"zh-CN": f"不占用{name_zh}。", "en": f"Does not overlap {name_en}."}
    else:
        status = _override(cfg, cfg["on_overlap"], project_type)
        reason = {
            "zh-CN": f"占用{name_zh} {_fmt(area)} m²（{len(pieces)} 个图斑），"
            f"超过容差 {tol:g} m²。",
            "en": f"Overlaps {name_en} by {_fmt(area)} m² ({len(pieces)} features), over the "
            f"{tol:g} m² tolerance.",
        }
        if status != cfg["on_overlap"]:
            reason["zh-CN"] += _TYPE_NOTE_ZH[status].format(type=_TYPE_ZH[project_type])
            reason["en"] += _TYPE_NOTE_EN[status].format(type=project_type)
    return ItemResult(rule, status, area, reason, pieces, np.ones(len(pieces), dtype=bool))


_TYPE_ZH = {"urban": "城镇建设", "linear": "线性工程", "major": "重大项目", "other": "其他"}
_TYPE_NOTE_ZH = {
    "needs_approval": "{type}项目：需按程序报批。",
    "needs_review": "{type}项目：需专题论证。",
    "fail": "",
    "warn": "",
    "info": "",
}
_TYPE_NOTE_EN = {
    "needs_approval": " A {type} project: needs approval through the formal procedure.",
    "needs_review": " A {type} project: needs a dedicated review.",
    "fail": "",
    "warn": "",
    "info": "",
}


def evaluate_urban_boundary(
    pieces: PieceSet, ruleset: Ruleset, project_type: str, project_work: BaseGeometry, area: float
) -> ItemResult:
    """Item 3: for the configured project types (urban), pass iff I/A ≥ pass_ratio (or the
    part outside is within the tolerance), warn if ≥ warn_ratio, else fail; others: info."""
    cfg = ruleset.rules["urban_boundary"]
    tol = ruleset.tolerance_m2
    inside = pieces.area_where()
    ratio = inside / area if area > 0 else 0.0
    outside_area = max(0.0, area - inside)
    zones = pieces.attr("zone")
    by_zone = []
    for zone in sorted({str(z) for z in zones if z is not None}):
        by_zone.append(
            {
                "zone": zone,
                "name": URBAN_ZONE_NAMES.get(zone, {"zh-CN": zone, "en": zone}),
                "area_m2": round(pieces.area_where("zone", [zone]), 2),
            }
        )
    applies = project_type in cfg["project_types"]
    pct = f"{ratio * 100:.2f}%"
    if not applies:
        status = cfg["otherwise"]
        reason = {
            "zh-CN": f"位于城镇开发边界内 {pct}（非城镇建设项目，仅供参考）。",
            "en": f"{pct} inside the urban development boundary (for information: not an urban "
            "project).",
        }
    elif ratio >= cfg["pass_ratio"] or outside_area <= tol:
        status = "pass"
        reason = {
            "zh-CN": f"位于城镇开发边界内 {pct}。",
            "en": f"{pct} inside the urban development boundary.",
        }
    elif ratio >= cfg["warn_ratio"]:
        status = "warn"
        reason = {
            "zh-CN": f"仅 {pct} 位于城镇开发边界内，边界外 {_fmt(outside_area)} m²。",
            "en": f"Only {pct} inside the urban development boundary; {_fmt(outside_area)} m² "
            "outside.",
        }
    else:
        status = "fail"
        reason = {
            "zh-CN": f"仅 {pct} 位于城镇开发边界内（低于 {cfg['warn_ratio'] * 100:g}%），边界外 "
            f"{_fmt(outside_area)} m²。",
            "en": f"Only {pct} inside the urban development boundary (under "
            f"{cfg['warn_ratio'] * 100:g}%); {_fmt(outside_area)} m² outside.",
        }
    item = ItemResult(
        "urban_boundary",
        status,
        inside,
        reason,
        pieces,
        np.ones(len(pieces), dtype=bool),
        details={
            "inside_area_m2": round(inside, 2),
            "outside_area_m2": round(outside_area, 2),
            "applies": applies,
            "by_zone": by_zone,
        },
    )
    if outside_area > tol:
        outside = shapely.difference(project_work, pieces.union()) if len(pieces) else project_work
        item.extra_geometries["outside"] = outside
    return item


def allowed_classes(ruleset: Ruleset, requested: str) -> tuple[str, list[str]]:
    """(table key used, allowed planned-class prefixes) for a requested 用地用海 code: the
    longest key of the compatibility table that is a prefix of the code; without one, the
    code's own level-1 class."""
    table = ruleset.rules["land_use_plan"]["compatibility"]
    for length in (6, 4, 2):
        key = requested[:length]
        if len(requested) >= length and key in table:
            return key, list(table[key])
    return "", [requested[:2]]


def evaluate_land_use(pieces: PieceSet, ruleset: Ruleset, requested: str) -> ItemResult:
    """Item 4: the area on planned classes the compatibility table does not allow for the
    requested use, ignoring slivers (pieces under `sliver_m2` or thinner than
    `sliver_width_m`), must be 0."""
    cfg = ruleset.rules["land_use_plan"]
    sliver_m2 = float(ruleset.settings["sliver_m2"])
    sliver_w = float(ruleset.settings["sliver_width_m"])
    key, allowed = allowed_classes(ruleset, requested)
    prefixes = tuple(allowed)
    codes = pieces.attr("code")
    n = len(pieces)
    ok = np.fromiter(
        (c is not None and str(c).startswith(prefixes) for c in codes), dtype=bool, count=n
    )
    widths = thinness_m(pieces.pieces) if n else np.empty(0)
    sliver = (pieces.areas < sliver_m2) | (np.asarray(widths) < sliver_w)
    bad = ~ok & ~sliver
    bad_area = pieces.area_m2(bad)
    classes = []
    for code in sorted({str(c) for c in codes if c is not None}):
        mask = codes == code
        cls = nearest_class(code)
        classes.append(
            {
                "code": code,
                "name": cls.name() if cls else {"zh-CN": code, "en": code},
                "area_m2": round(pieces.area_m2(mask), 2),
                "allowed": bool(code.startswith(prefixes)),
                "sliver_area_m2": round(pieces.area_m2(mask & sliver), 2),
            }
        )
    classes.sort(key=lambda c: (-c["area_m2"], c["code"]))
    sliver_count = int((~ok & sliver).sum())
    sliver_area = pieces.area_m2(~ok & sliver)
    if bad_area > 0:
        status = cfg["on_incompatible"]
        bad_codes = sorted({str(c) for c in codes[bad]})
        reason = {
            "zh-CN": f"{_fmt(bad_area)} m² 位于不允许的规划用途上（{'、'.join(bad_codes)}）。",
            "en": f"{_fmt(bad_area)} m² lies on planned classes not allowed for {requested} "
            f"({', '.join(bad_codes)}).",
        }
    else:
        status = "pass"
        reason = {
            "zh-CN": "规划用途符合所申请用途。",
            "en": f"The planned land use allows {requested}.",
        }
        if sliver_count:
            reason["zh-CN"] += f"已忽略 {sliver_count} 个碎图斑（{_fmt(sliver_area)} m²）。"
            reason["en"] += f" {sliver_count} sliver(s) ignored ({_fmt(sliver_area)} m²)."
    covered = pieces.area_m2()
    return ItemResult(
        "land_use_plan",
        status,
        bad_area,
        reason,
        pieces,
        bad,
        piece_notes={"allowed": ok, "sliver": sliver},
        details={
            "requested": requested,
            "compatibility_key": key,
            "allowed_classes": allowed,
            "classes": classes,
            "sliver_count": sliver_count,
            "sliver_area_m2": round(sliver_area, 2),
            "planned_area_m2": round(covered, 2),
        },
    )


def _sensitive_classes(ruleset: Ruleset, types: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Status of each sensitive-zone piece by the ruleset's classes (first match wins;
    an empty `levels` list matches any level; levels compare case-insensitively)."""
    cfg = ruleset.rules["sensitive_zone"]
    out = np.full(len(types), cfg["otherwise"], dtype=object)
    decided = np.zeros(len(types), dtype=bool)
    lowered = np.array([None if v is None else str(v).strip().lower() for v in levels], object)
    for entry in cfg["classes"]:
        wanted = {str(v).strip().lower() for v in entry.get("levels") or []}
        for i in range(len(types)):
            if decided[i] or types[i] != entry["type"]:
                continue
            if not wanted or lowered[i] in wanted:
                out[i] = entry["status"]
                decided[i] = True
    return out


def evaluate_sensitive(pieces: PieceSet, ruleset: Ruleset) -> ItemResult:
    """Item 5: geohazard high, water source level 1, heritage protection range fail iff
    I > tol; geohazard medium, water source level 2, heritage control zone, mineral warn
    (all configurable in the ruleset's `classes`)."""
    tol = ruleset.tolerance_m2
    types = pieces.attr("type")
    levels = pieces.attr("level")
    statuses = _sensitive_classes(ruleset, types, levels)
    status = "pass"
    for candidate in ("fail", "needs_approval", "needs_review", "warn"):
        mask = statuses == candidate
        if mask.any() and pieces.area_m2(mask) > tol:
            status = candidate
            break
    groups = []
    keys = sorted(
        {(str(t), "" if lv is None else str(lv)) for t, lv in zip(types, levels, strict=True)}
    )
    for t, lv in keys:
        mask = (types == t) & np.array([("" if v is None else str(v)) == lv for v in levels], bool)
        groups.append(
            {
                "type": t,
                "level": lv or None,
                "name": SENSITIVE_TYPE_NAMES.get(t, {"zh-CN": t, "en": t}),
                "status": str(statuses[mask][0]),
                "area_m2": round(pieces.area_m2(mask), 2),
            }
        )
    area = pieces.area_m2()
    if status == "pass":
        reason = (
            {"zh-CN": "不涉及敏感区。", "en": "No sensitive zone is affected."}
            if area <= tol
            else {
                "zh-CN": f"涉及敏感区 {_fmt(area)} m²，均为提示级别。",
                "en": f"Touches sensitive zones ({_fmt(area)} m²), all for information only.",
            }
        )
    else:
        worst = [g for g in groups if g["status"] == status]
        names_zh = "、".join(
            f"{g['name']['zh-CN']}{'（' + g['level'] + '）' if g['level'] else ''}" for g in worst
        )
        names_en = ", ".join(
            f"{g['name']['en']}{' (' + g['level'] + ')' if g['level'] else ''}" for g in worst
        )
        reason = {
            "zh-CN": f"涉及{names_zh}，共 {_fmt(sum(g['area_m2'] for g in worst))} m²。",
            "en": f"Affects {names_en}: {_fmt(sum(g['area_m2'] for g in worst))} m².",
        }
    counted = statuses != "info"
    return ItemResult(
        "sensitive_zone",
        status,
        area,
        reason,
        pieces,
        counted,
        piece_notes={"class_status": statuses},
        details={"by_class": groups},
    )


def evaluate_control_lines(pieces: PieceSet, ruleset: Ruleset) -> ItemResult:
    """Item 6: any of the configured line types (blue/green/purple/yellow/road): fail iff
    I > tol."""
    cfg = ruleset.rules["control_line"]
    tol = ruleset.tolerance_m2
    types = pieces.attr("type")
    counted = np.isin(types.astype(str), cfg["types"]) if len(pieces) else np.zeros(0, bool)
    area = pieces.area_where("type", cfg["types"])
    by_type = []
    for t in sorted({str(v) for v in types if v is not None}):
        by_type.append(
            {
                "type": t,
                "name": CONTROL_LINE_NAMES.get(t, {"zh-CN": t, "en": t}),
                "area_m2": round(pieces.area_where("type", [t]), 2),
                "counted": t in cfg["types"],
            }
        )
    if area > tol:
        status = cfg["on_overlap"]
        hit = [b for b in by_type if b["counted"] and b["area_m2"] > 0]
        reason = {
            "zh-CN": "占用"
            + "、".join(f"{b['name']['zh-CN']} {_fmt(b['area_m2'])} m²" for b in hit)
            + "。",
            "en": "Overlaps "
            + ", ".join(f"{b['name']['en']} by {_fmt(b['area_m2'])} m²" for b in hit)
            + ".",
        }
    else:
        status = "pass"
        reason = {"zh-CN": "不占用控制线。", "en": "Does not overlap any control line."}
    return ItemResult(
        "control_line",
        status,
        area,
        reason,
        pieces,
        counted,
        details={"by_type": by_type},
    )


def overall_verdict(statuses: Sequence[str]) -> str:
    """DOMAIN.md item 7: fail if any fail; else needs_approval / needs_review if any; else
    warn if any (a `not_checked` item counts as warn: a missing layer never passes
    silently); else pass."""
    worst = "pass"
    for status in statuses:
        effective = "warn" if status == "not_checked" else status
        if SEVERITY.get(effective, 0) > SEVERITY[worst]:
            worst = effective
    return worst if worst != "info" else "pass"
