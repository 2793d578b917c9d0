"""Ledgers (台账): counts, areas (ha, 2 decimals) and shares of district area, per district
and city-wide, for the conflict patches and for any polygon layer.

Ledger names (the `{name}` of `GET /api/v1/ledgers/{name}`):

=====================  ==============================  ========================================
name                   中文                             rows grouped by
=====================  ==============================  ========================================
``conflicts``          多规合一台账（差异图斑）          analysis and conflict type
``urban_plan``         城乡规划台账                      GB 50137 major class (``group=code``: code)
``land_plan``          土地利用总体规划台账              TD/T 1024 code
``land_use_plan``      国土空间规划用地台账              用地用海 level-1 (``group=code``: code)
``basic_farmland`` …   one per polygon layer kind        the kind's attribute (zone, type) or —
``comprehensive``      综合台账                          item: construction land, the three
                                                         control lines, conflicts per analysis
=====================  ==============================  ========================================

Layer ledgers read every current layer of the kind (``layer=<id>`` for one layer). A
feature crossing a district boundary is cut there (its parts count in each district);
territory outside every district is a row with district null.

Totals are separate aggregates of the same pieces, not sums of rows; a test checks that
unrounded rows add up to them. Printed figures are reconciled as described in
:mod:`planfuse.services.ledgers.rounding`: the grand total is the nearest rounding of its
aggregate and rows, subtotals and class totals add up exactly (each within 0.01 ha of
its exact value). Shares (% of the district's area, or of the city's for totals) are
computed from unrounded areas and are not forced to add up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError, bad_request
from planfuse.services.conflicts.analyses import ANALYSES
from planfuse.services.conflicts.districts import (
    DistrictSet,
    check_district_codes,
    missing_layers,
    require_districts,
    split_by_district,
)
from planfuse.services.land_classes import class_name, urban_plan_major
from planfuse.services.land_use import level1 as land_use_level1
from planfuse.services.land_use import matches_prefix
from planfuse.services.layer_data import LayerRef, current_layers, layer_index
from planfuse.services.ledgers.rounding import (
    controlled_round,
    largest_remainder,
    round_total,
)
from planfuse.storage.models import Conflict

M2_PER_UNIT = 100.0  # 0.01 ha
M2_PER_HA = 10_000.0
OUTSIDE = "区外"
ROUNDING_NOTE = (
    "grand total = nearest rounding of its own aggregate; rows, subtotals and class totals "
    "controlled-rounded (each its exact value rounded down or up) so that they add up exactly"
)


@dataclass(frozen=True)
class LedgerDef:
    name: str
    title_zh: str
    title_en: str
    kind: str | None  # the layer kind, None for conflicts/comprehensive
    attribute: str | None = None  # what rows are grouped by
    groups: Callable[[str | None], str] | None = None

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh


def _group_land_plan(code: str | None) -> str:
    return (code or "").strip()


def _group_text(code: str | None) -> str:
    return (code or "").strip()


def _group_all(code: str | None) -> str:
    return "all"


LEDGERS: dict[str, LedgerDef] = {
    d.name: d
    for d in (
        LedgerDef("conflicts", "多规合一台账（差异图斑）", "Multi-plan conflicts ledger", None),
        LedgerDef(
            "urban_plan", "城乡规划台账", "Urban plan ledger", "urban_plan", "code",
            urban_plan_major,
        ),
        LedgerDef(
            "land_plan", "土地利用总体规划台账", "Land plan ledger", "land_plan", "code",
            _group_land_plan,
        ),
        LedgerDef(
            "land_use_plan", "国土空间规划用地台账", "Land-use plan ledger", "land_use_plan",
            "code", land_use_level1,
        ),
        LedgerDef(
            "basic_farmland", "永久基本农田台账", "Basic farmland ledger", "basic_farmland",
            None, _group_all,
        ),
        LedgerDef(
            "ecological_redline", "生态保护红线台账", "Ecological red line ledger",
            "ecological_redline", None, _group_all,
        ),
        LedgerDef(
            "urban_boundary", "城镇开发边界台账", "Urban development boundary ledger",
            "urban_boundary", "zone", _group_text,
        ),
        LedgerDef(
            "control_line", "控制线台账", "Control lines ledger", "control_line", "type",
            _group_text,
        ),
        LedgerDef(
            "sensitive_zone", "敏感区台账", "Sensitive zones ledger", "sensitive_zone", "type",
            _group_text,
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


@dataclass
class Pieces:
    """Aggregation input: one entry per piece — district position (-1 outside), group
    key, area in m²."""

    district: np.ndarray
    group: np.ndarray
    area_m2: np.ndarray


# --- layer pieces, cached per layer version -------------------------------------------

_CACHE_KEY = "ledger_parts"
_CACHE_SIZE = 16
_cache_lock = threading.Lock()


def _layer_parts(ctx: PlanFuse, ref: LayerRef, districts: DistrictSet):
    """(owner feature positions, district positions, areas m²) of a layer version cut at
    district boundaries; cached per (layer, version, district layer version)."""
    key = (ref.layer_id, ref.version, districts.ref.layer_id, districts.ref.version)
    with _cache_lock:
        cache = ctx.extras.setdefault(_CACHE_KEY, OrderedDict())
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            return hit
    index = layer_index(ctx, ref)
    parts = split_by_district(index.geometries, districts)
    value = (parts.owner, parts.district, parts.areas_m2)
    with _cache_lock:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def _refs(ctx: PlanFuse, kind: str, layer_id: str | None) -> list[LayerRef]:
    refs = current_layers(ctx, [kind])
    if layer_id is not None:
        refs = [r for r in refs if r.layer_id == layer_id]
        if not refs:
            raise ProblemError(
                404,
                "not_found",
                f"layer {layer_id!r} does not exist or is not a current {kind} layer",
                title="Not found",
            )
    if not refs:
        raise missing_layers([kind])
    return refs


def layer_pieces(
    ctx: PlanFuse,
    kind: str,
    grouping: Callable[[str | None], str],
    attribute: str | None,
    districts: DistrictSet,
    layer_id: str | None = None,
    feature_filter: Callable[[str | None], bool] | None = None,
) -> tuple[Pieces, dict[str, int]]:
    """The pieces of every current layer of ``kind`` (or one layer), grouped."""
    refs = _refs(ctx, kind, layer_id)
    d_all, g_all, a_all = [], [], []
    for ref in refs:
        owner, district, areas = _layer_parts(ctx, ref, districts)
        index = layer_index(ctx, ref)
        column = index.attributes.get(attribute) if attribute else None
        values = column[owner] if column is not None else np.full(len(owner), None, object)
        keep = np.ones(len(owner), dtype=bool)
        if feature_filter is not None:
            keep = np.fromiter((feature_filter(v) for v in values), dtype=bool, count=len(owner))
        d_all.append(district[keep])
        g_all.append(np.array([grouping(v) for v in values[keep]], dtype=object))
        a_all.append(areas[keep])
    pieces = Pieces(
        np.concatenate(d_all) if d_all else np.empty(0, dtype=np.int64),
        np.concatenate(g_all) if g_all else np.empty(0, dtype=object),
        np.concatenate(a_all) if a_all else np.empty(0),
    )
    return pieces, {r.layer_id: r.version for r in refs}


# --- naming groups --------------------------------------------------------------------


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
    return class_name(ledger, key, locale) or key


# --- aggregation ----------------------------------------------------------------------


def _units(area_m2: float) -> float:
    return area_m2 / M2_PER_UNIT


def _ha(units: int) -> float:
    return round(units / 100.0, 2)


def _share(area_m2: float, of_m2: float | None) -> float | None:
    if not of_m2:
        return None
    return round(100.0 * area_m2 / of_m2, 2)


@dataclass
class Aggregates:
    """Unrounded rows and independently aggregated totals of one ledger."""

    districts: list[int]  # district positions in row order (-1: outside)
    groups: list[str]
    cell_count: np.ndarray  # districts × groups
    cell_m2: np.ndarray
    district_count: np.ndarray
    district_m2: np.ndarray
    group_count: np.ndarray
    group_m2: np.ndarray
    total_count: int
    total_m2: float


def aggregate(pieces: Pieces, district_order: Sequence[int], groups: Sequence[str]) -> Aggregates:
    """Rows by (district, group) and, separately, totals by district, by group and overall."""
    d_index = {d: i for i, d in enumerate(district_order)}
    g_index = {g: j for j, g in enumerate(groups)}
    di = np.array([d_index[int(d)] for d in pieces.district], dtype=np.int64)
    gj = np.array([g_index[g] for g in pieces.group], dtype=np.int64)
    shape = (len(district_order), len(groups))
    flat = di * len(groups) + gj if len(groups) else di
    size = shape[0] * shape[1]
    cell_count = np.bincount(flat, minlength=size).reshape(shape)
    cell_m2 = np.bincount(flat, weights=pieces.area_m2, minlength=size).reshape(shape)
    return Aggregates(
        districts=list(district_order),
        groups=list(groups),
        cell_count=cell_count,
        cell_m2=cell_m2,
        # Totals from the pieces again, not from the cells.
        district_count=np.bincount(di, minlength=shape[0]),
        district_m2=np.bincount(di, weights=pieces.area_m2, minlength=shape[0]),
        group_count=np.bincount(gj, minlength=shape[1]),
        group_m2=np.bincount(gj, weights=pieces.area_m2, minlength=shape[1]),
        total_count=len(pieces.area_m2),
        total_m2=float(np.sum(pieces.area_m2)),
    )


# --- the ledger -----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRequest:
    name: str
    by: str = "district"
    group: str = "class"
    layer: str | None = None
    analysis: str | None = None
    districts: tuple[str, ...] = ()
    locale: str = "zh-CN"


def parse_request(name: str, args: dict[str, Any]) -> LedgerRequest:
    """Validate `GET /ledgers/{name}` parameters (400 naming the bad one)."""
    if name not in LEDGERS:
        raise ProblemError(
            404,
            "unknown_ledger",
            f"ledger {name!r} does not exist; ledgers: {', '.join(LEDGERS)}",
            title="Unknown ledger",
        )
    known = {"by", "group", "layer", "analysis", "district", "format", "locale"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise bad_request(
            f"unknown query parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}",
            field=unknown[0],
        )
    by = args.get("by") or "district"
    if by not in ("district", "city"):
        raise bad_request(f"`by` must be district or city, not {by!r}", field="by")
    group = args.get("group") or "class"
    if group not in ("class", "code"):
        raise bad_request(f"`group` must be class or code, not {group!r}", field="group")
    if group == "code" and name not in ("urban_plan", "land_use_plan", "land_plan"):
        raise bad_request(
            "`group=code` is for urban_plan, land_use_plan and land_plan", field="group"
        )
    layer = args.get("layer") or None
    if layer is not None and LEDGERS[name].kind is None:
        raise bad_request(f"ledger {name!r} is not of one layer kind; drop `layer`", field="layer")
    analysis = args.get("analysis") or None
    if analysis is not None:
        if name != "conflicts":
            raise bad_request("`analysis` applies to the conflicts ledger", field="analysis")
        if analysis not in ANALYSES:
            raise ProblemError(
                400,
                "unknown_analysis",
                f"analysis {analysis!r} is unknown; expected one of {', '.join(ANALYSES)}",
                errors=[{"field": "analysis", "message": "unknown analysis"}],
            )
    raw = args.get("district") or ""
    districts = tuple(d.strip() for d in str(raw).split(",") if d.strip())
    locale = args.get("locale") or "zh-CN"
    if locale not in ("zh-CN", "en"):
        raise bad_request(f"`locale` must be zh-CN or en, not {locale!r}", field="locale")
    return LedgerRequest(name, by, group, layer, analysis, districts, locale)


def build_ledger(ctx: PlanFuse, req: LedgerRequest) -> dict[str, Any]:
    """Compute a ledger (see the module docstring for names, grouping and rounding)."""
    districts = require_districts(ctx)
    selected = None
    if req.districts:
        codes = check_district_codes(districts, list(req.districts), "district")
        selected = {districts.position(c) for c in codes}
    definition = LEDGERS[req.name]
    layers: dict[str, int] = {}
    missing: list[str] = []
    additive = True
    if req.name == "conflicts":
        pieces = _conflict_pieces(ctx, districts, req.analysis)
        grouped_by = "type"
        group_order = _conflict_group_order(req.analysis)
    elif req.name == "comprehensive":
        pieces, layers, missing = _comprehensive_pieces(ctx, districts)
        grouped_by = "item"
        group_order = [item for item, _, _ in COMPREHENSIVE_ITEMS]
        additive = False
    else:
        grouping = definition.groups or _group_all
        if req.group == "code":
            grouping = _group_text
        pieces, layers = layer_pieces(
            ctx, definition.kind, grouping, definition.attribute, districts, req.layer
        )
        grouped_by = req.group if definition.attribute else "all"
        group_order = []
    layers[districts.ref.layer_id] = districts.ref.version
    if selected is not None:
        keep = np.isin(pieces.district, list(selected))
        pieces = Pieces(pieces.district[keep], pieces.group[keep], pieces.area_m2[keep])
    present = sorted(set(pieces.group.tolist()))
    groups = [g for g in group_order if g in present or req.name == "comprehensive"]
    groups += [g for g in present if g not in groups]
    if req.name == "comprehensive":
        groups = [g for g in groups if g.split(":")[0] not in missing and g not in missing]
    district_order = (
        sorted(selected, key=lambda d: districts.adcodes[d])
        if selected is not None
        else sorted(range(len(districts)), key=lambda d: districts.adcodes[d])
    )
    if (pieces.district < 0).any():
        district_order.append(-1)
    agg = aggregate(pieces, district_order, groups)
    body = _render(ctx, req, definition, agg, districts, grouped_by, additive)
    body["layers"] = dict(sorted(layers.items()))
    if missing:
        body["missing"] = missing
    return body


def _conflict_group_order(analysis: str | None) -> list[str]:
    return [
        f"{a.name}:{t.code}"
        for a in ANALYSES.values()
        if analysis in (None, a.name)
        for t in a.conflict_types
    ]


def _conflict_pieces(ctx: PlanFuse, districts: DistrictSet, analysis: str | None) -> Pieces:
    query = select(Conflict.district, Conflict.analysis, Conflict.type, Conflict.area_m2).where(
        Conflict.current.is_(True), Conflict.sliver.is_(False)
    )
    if analysis:
        query = query.where(Conflict.analysis == analysis)
    with ctx.db.session() as session:
        rows = session.execute(query).all()
    lookup = {code: i for i, code in enumerate(districts.adcodes.tolist())}
    return Pieces(
        np.array([lookup.get(r.district, -1) for r in rows], dtype=np.int64),
        np.array([f"{r.analysis}:{r.type}" for r in rows], dtype=object),
        np.array([float(r.area_m2) for r in rows], dtype=np.float64),
    )


def conflict_totals_sql(ctx: PlanFuse, analysis: str | None = None) -> tuple[int, float]:
    """(count, area m²) of the current non-sliver conflicts by one SQL aggregate: a check
    that is independent of the ledger's own aggregation."""
    query = select(func.count(), func.coalesce(func.sum(Conflict.area_m2), 0.0)).where(
        Conflict.current.is_(True), Conflict.sliver.is_(False)
    )
    if analysis:
        query = query.where(Conflict.analysis == analysis)
    with ctx.db.session() as session:
        count, area = session.execute(query).one()
    return int(count), float(area)


def _comprehensive_pieces(
    ctx: PlanFuse, districts: DistrictSet
) -> tuple[Pieces, dict[str, int], list[str]]:
    parts: list[Pieces] = []
    layers: dict[str, int] = {}
    missing: list[str] = []
    codes = ctx.settings.construction_land_codes

    def add(kind: str, item: str, attribute: str | None = None, keep=None) -> None:
        try:
            pieces, versions = layer_pieces(
                ctx, kind, lambda _v: item, attribute, districts, feature_filter=keep
            )
        except ProblemError as exc:
            if exc.code != "missing_layers":
                raise
            missing.append(item)
            return
        parts.append(pieces)
        layers.update(versions)

    add("land_use_plan", "construction_land", "code", lambda c: matches_prefix(c, codes))
    add("basic_farmland", "basic_farmland")
    add("ecological_redline", "ecological_redline")
    add("urban_boundary", "urban_boundary")
    conflicts = _conflict_pieces(ctx, districts, None)
    conflicts.group = np.array(
        ["conflicts:" + g.split(":")[0] for g in conflicts.group], dtype=object
    )
    parts.append(conflicts)
    return (
        Pieces(
            np.concatenate([p.district for p in parts]),
            np.concatenate([p.group for p in parts]),
            np.concatenate([p.area_m2 for p in parts]),
        ),
        layers,
        missing,
    )


def _render(
    ctx: PlanFuse,
    req: LedgerRequest,
    definition: LedgerDef,
    agg: Aggregates,
    districts: DistrictSet,
    grouped_by: str,
    additive: bool,
) -> dict[str, Any]:
    locale = req.locale
    names = {g: group_name(req.name, g, locale) for g in agg.groups}
    district_area = {d: (float(districts.areas_m2[d]) if d >= 0 else None) for d in agg.districts}
    area_of_scope = float(
        sum(a for d, a in district_area.items() if a is not None)
    )  # the city, or the selected districts
    body: dict[str, Any] = {
        "ledger": req.name,
        "title": definition.title(locale),
        "by": req.by,
        "grouped_by": grouped_by,
        "additive": additive,
        "unit": {"area": "ha", "share": "%"},
        "districts": list(req.districts) or None,
        "groups": [{"key": g, "name": names[g]} for g in agg.groups],
        "rounding": ROUNDING_NOTE
        if additive
        else (
            "each item's district rows are rounded with the largest-remainder method to add up "
            "to the item's city total (the nearest rounding of its own aggregate); items "
            "overlap, so they have no common total"
        ),
        "scope_area_ha": round(area_of_scope / M2_PER_HA, 2),
        # Unrounded: the rows' sum beside the separately aggregated total.
        "exact": {
            "total_m2": round(agg.total_m2, 4),
            "rows_m2": round(float(agg.cell_m2.sum()), 4),
            "total_count": agg.total_count,
            "rows_count": int(agg.cell_count.sum()),
        },
    }
    if req.by == "city":
        rows = []
        if additive:
            total_units = round_total(_units(agg.total_m2))
            group_units = largest_remainder(_units(agg.group_m2), total_units)
        else:
            group_units = np.array([round_total(_units(a)) for a in agg.group_m2], dtype=np.int64)
        for j, g in enumerate(agg.groups):
            rows.append(
                {
                    "group": g,
                    "group_name": names[g],
                    "count": int(agg.group_count[j]),
                    "area_ha": _ha(int(group_units[j])),
                    "share_pct": _share(float(agg.group_m2[j]), area_of_scope),
                }
            )
        body["rows"] = rows
        if additive:
            body["total"] = {
                "count": agg.total_count,
                "area_ha": _ha(total_units),
                "share_pct": _share(agg.total_m2, area_of_scope),
            }
        return body

    def district_fields(d: int) -> dict[str, Any]:
        if d < 0:
            return {"district": None, "district_name": OUTSIDE, "district_area_ha": None}
        return {
            "district": districts.adcodes[d],
            "district_name": districts.names[d],
            "district_area_ha": round(float(districts.areas_m2[d]) / M2_PER_HA, 2),
        }

    exact = _units(agg.cell_m2)
    if additive:
        total_units = round_total(_units(agg.total_m2))
        cells = controlled_round(exact, total_units)
    else:
        cells = np.zeros_like(agg.cell_count)
        for j in range(len(agg.groups)):
            cells[:, j] = largest_remainder(exact[:, j], round_total(_units(agg.group_m2[j])))
    rows = []
    for i, d in enumerate(agg.districts):
        for j, g in enumerate(agg.groups):
            if agg.cell_count[i, j] == 0:
                continue
            rows.append(
                {
                    **district_fields(d),
                    "group": g,
                    "group_name": names[g],
                    "count": int(agg.cell_count[i, j]),
                    "area_ha": _ha(int(cells[i, j])),
                    "share_pct": _share(float(agg.cell_m2[i, j]), district_area[d]),
                }
            )
    body["rows"] = rows
    column_units = cells.sum(axis=0)
    body["group_totals"] = [
        {
            "group": g,
            "group_name": names[g],
            "count": int(agg.group_count[j]),
            "area_ha": _ha(int(column_units[j])),
            "share_pct": _share(float(agg.group_m2[j]), area_of_scope),
        }
        for j, g in enumerate(agg.groups)
    ]
    if additive:
        row_units = cells.sum(axis=1)
        body["subtotals"] = [
            {
                **district_fields(d),
                "count": int(agg.district_count[i]),
                "area_ha": _ha(int(row_units[i])),
                "share_pct": _share(float(agg.district_m2[i]), district_area[d]),
            }
            for i, d in enumerate(agg.districts)
        ]
        body["total"] = {
            "count": agg.total_count,
            "area_ha": _ha(total_units),
            "share_pct": _share(agg.total_m2, area_of_scope),
        }
    return body


def ledger_names() -> list[dict[str, Any]]:
    """Every ledger with its titles (for the widget and the API description)."""
    return [
        {"name": d.name, "title": {"zh-CN": d.title_zh, "en": d.title_en}, "kind": d.kind}
        for d in LEDGERS.values()
    ]


__all__ = [
    "LEDGERS",
    "LedgerRequest",
    "build_ledger",
    "conflict_totals_sql",
    "ledger_names",
    "parse_request",
]
