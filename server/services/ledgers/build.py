"""A ledger computed and rendered: rows, subtotals, group totals and the grand total in
hectares (2 decimals) reconciled as :mod:`planfuse.services.ledgers.rounding` describes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planfuse.context import PlanFuse
from planfuse.services.conflicts.districts import (
    DistrictSet,
    check_district_codes,
    require_districts,
)
from planfuse.services.ledgers.aggregate import Aggregates, aggregate
from planfuse.services.ledgers.definitions import (
    COMPREHENSIVE_ITEMS,
    LEDGERS,
    LedgerDef,
    conflict_group_order,
    group_all,
    group_name,
    group_text,
)
from planfuse.services.ledgers.pieces import (
    Pieces,
    comprehensive_pieces,
    conflict_pieces,
    layer_pieces,
)
from planfuse.services.ledgers.request import LedgerRequest
from planfuse.services.ledgers.rounding import (
    controlled_round,
    largest_remainder,
    round_total,
)

M2_PER_UNIT = 100.0  # 0.01 ha
M2_PER_HA = 10_000.0
OUTSIDE = "区外"
ROUNDING_NOTE = (
    "grand total = nearest rounding of its own aggregate; rows, subtotals and class totals "
    "controlled-rounded (each its exact value rounded down or up) so that they add up exactly"
)
#: The comprehensive ledger's items overlap, so they are rounded one by one.
OVERLAPPING_ROUNDING_NOTE = (
    "each item's district rows are rounded with the largest-remainder method to add up "
    "to the item's city total (the nearest rounding of its own aggregate); items "
    "overlap, so they have no common total"
)


def build_ledger(ctx: PlanFuse, req: LedgerRequest) -> dict[str, Any]:
    """Compute a ledger (see `planfuse.services.ledgers` for names, grouping and rounding)."""
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
        pieces = conflict_pieces(ctx, districts, req.analysis)
        grouped_by = "type"
        group_order = conflict_group_order(req.analysis)
    elif req.name == "comprehensive":
        pieces, layers, missing = comprehensive_pieces(ctx, districts)
        grouped_by = "item"
        group_order = [item for item, _, _ in COMPREHENSIVE_ITEMS]
        additive = False
    else:
        grouping = definition.groups or group_all
        if req.group == "code":
            grouping = group_text
        pieces, layers = layer_pieces(
            ctx,
            definition.kind,
            grouping,
            definition.attribute,
            districts,
            req.layer,
            feature_filter=definition.keep,
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


def _units(area_m2: float) -> float:
    return area_m2 / M2_PER_UNIT


def _ha(units: int) -> float:
    return round(units / 100.0, 2)


def _share(area_m2: float, of_m2: float | None) -> float | None:
    if not of_m2:
        return None
    return round(100.0 * area_m2 / of_m2, 2)


def _render(
    ctx: PlanFuse,
    req: LedgerRequest,
    definition: LedgerDef,
    agg: Aggregates,
    districts: DistrictSet,
    grouped_by: str,
    additive: bool,
) -> dict[str, Any]:
    """The ledger's JSON: its description, then the rows city-wide or by district."""
    names = {g: group_name(req.name, g, req.locale) for g in agg.groups}
    district_area = {d: (float(districts.areas_m2[d]) if d >= 0 else None) for d in agg.districts}
    # The city, or the selected districts.
    area_of_scope = float(sum(a for a in district_area.values() if a is not None))
    body = _head(req, definition, agg, names, grouped_by, additive, area_of_scope)
    if req.by == "city":
        body.update(_city_rows(agg, names, additive, area_of_scope))
    else:
        body.update(_district_rows(agg, names, districts, district_area, additive, area_of_scope))
    return body


def _head(
    req: LedgerRequest,
    definition: LedgerDef,
    agg: Aggregates,
    names: dict[str, str],
    grouped_by: str,
    additive: bool,
    area_of_scope: float,
) -> dict[str, Any]:
    """What the ledger is: name, grouping, units, how it was rounded, and the unrounded
    sums beside the separately aggregated totals."""
    return {
        "ledger": req.name,
        "title": definition.title(req.locale),
        "by": req.by,
        "grouped_by": grouped_by,
        "additive": additive,
        "unit": {"area": "ha", "share": "%"},
        "districts": list(req.districts) or None,
        "groups": [{"key": g, "name": names[g]} for g in agg.groups],
        "rounding": ROUNDING_NOTE if additive else OVERLAPPING_ROUNDING_NOTE,
        "scope_area_ha": round(area_of_scope / M2_PER_HA, 2),
        # Unrounded: the rows' sum beside the separately aggregated total.
        "exact": {
            "total_m2": round(agg.total_m2, 4),
            "rows_m2": round(float(agg.cell_m2.sum()), 4),
            "total_count": agg.total_count,
            "rows_count": int(agg.cell_count.sum()),
        },
    }


def _city_rows(
    agg: Aggregates, names: dict[str, str], additive: bool, area_of_scope: float
) -> dict[str, Any]:
    """One row per group city-wide (and the total when the groups add up)."""
    if additive:
        total_units = round_total(_units(agg.total_m2))
        group_units = largest_remainder(_units(agg.group_m2), total_units)
    else:
        group_units = np.array([round_total(_units(a)) for a in agg.group_m2], dtype=np.int64)
    out: dict[str, Any] = {"rows": _group_rows(agg, names, group_units, area_of_scope)}
    if additive:
        out["total"] = _total(agg, total_units, area_of_scope)
    return out


def _district_rows(
    agg: Aggregates,
    names: dict[str, str],
    districts: DistrictSet,
    district_area: dict[int, float | None],
    additive: bool,
    area_of_scope: float,
) -> dict[str, Any]:
    """Rows by (district, group), group totals, and — when the groups add up — district
    subtotals and the total, rounded so that printed figures add up."""
    exact = _units(agg.cell_m2)
    if additive:
        total_units = round_total(_units(agg.total_m2))
        cells = controlled_round(exact, total_units)
    else:
        cells = np.zeros_like(agg.cell_count)
        for j in range(len(agg.groups)):
            cells[:, j] = largest_remainder(exact[:, j], round_total(_units(agg.group_m2[j])))

    def district_fields(d: int) -> dict[str, Any]:
        if d < 0:
            return {"district": None, "district_name": OUTSIDE, "district_area_ha": None}
        return {
            "district": districts.adcodes[d],
            "district_name": districts.names[d],
            "district_area_ha": round(float(districts.areas_m2[d]) / M2_PER_HA, 2),
        }

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
    out: dict[str, Any] = {
        "rows": rows,
        "group_totals": _group_rows(agg, names, cells.sum(axis=0), area_of_scope),
    }
    if additive:
        row_units = cells.sum(axis=1)
        out["subtotals"] = [
            {
                **district_fields(d),
                "count": int(agg.district_count[i]),
                "area_ha": _ha(int(row_units[i])),
                "share_pct": _share(float(agg.district_m2[i]), district_area[d]),
            }
            for i, d in enumerate(agg.districts)
        ]
        out["total"] = _total(agg, total_units, area_of_scope)
    return out


def _group_rows(
    agg: Aggregates, names: dict[str, str], units: np.ndarray, area_of_scope: float
) -> list[dict[str, Any]]:
    """One row per group over the whole scope, its area the group's rounded `units`."""
    return [
        {
            "group": g,
            "group_name": names[g],
            "count": int(agg.group_count[j]),
            "area_ha": _ha(int(units[j])),
            "share_pct": _share(float(agg.group_m2[j]), area_of_scope),
        }
        for j, g in enumerate(agg.groups)
    ]


def _total(agg: Aggregates, total_units: int, area_of_scope: float) -> dict[str, Any]:
    return {
        "count": agg.total_count,
        "area_ha": _ha(total_units),
        "share_pct": _share(agg.total_m2, area_of_scope),
    }
