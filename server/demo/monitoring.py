"""The demo's monitoring data: the land-use status versions imported with their as-of
dates, and the binding indicator set (约束性指标) with targets for 2025 and 2035.

Targets are what a bureau's plan would say; here they are set from the demo's own
figures so that every status occurs: the planted ratios of `status.PLANTED_RATIOS` come
from the generator's own measure of the cells (a known answer the service must find),
the other districts sit at plausible ratios drawn from their adcode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from planfuse.context import PlanFuse
from planfuse.demo.status import (
    CONSTRUCTION_PREFIXES,
    FARMLAND_PREFIXES,
    PLANTED_RATIOS,
    STATUS_LAYER,
    YEARS,
    StatusVersions,
)
from planfuse.services.layers.importer import ImportOptions, ImportSummary, import_layer
from planfuse.services.plan_monitoring.indicators import CITY, load_indicators
from planfuse.services.plan_monitoring.measure import districts
from planfuse.services.plan_monitoring.values import base_by_district, measure_values

URBAN_RURAL_PREFIXES = ("07", "08", "09", "10", "11", "1207", "13", "14")
TARGET_YEAR = YEARS[-1]
PLAN_YEAR = 2035
# Plan growth 2025 → 2035 of the ceilings; floors hold (耕地、红线只能增不能减).
UPPER_GROWTH_TO_2035 = 1.12
DECIMALS = {"m2": 0, "ha": 4, "km2": 6, "mu": 2, "percent": 2, "count": 0}

Echo = Callable[[str], None]


def status_filename(year: int) -> str:
    return f"{STATUS_LAYER.id}-{year}.geojson"


def _area(kind: str, codes: tuple[str, ...] | None = None, **extra: Any) -> dict[str, Any]:
    measure: dict[str, Any] = {"area_of": kind, **extra}
    if codes:
        measure["codes"] = list(codes)
    return measure


def indicator_skeletons(population: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """The demo's indicator documents without their targets."""

    def doc(ident, zh, en, unit, direction, measure):
        return {
            "id": ident,
            "name": {"zh-CN": zh, "en": en},
            "unit": unit,
            "direction": direction,
            "measure": measure,
        }

    status = STATUS_LAYER.kind
    return [
        doc("farmland", "耕地保有量", "Farmland", "ha", "lower", _area(status, FARMLAND_PREFIXES)),
        doc(
            "basic_farmland_area",
            "永久基本农田保护面积",
            "Permanent basic farmland",
            "ha",
            "lower",
            _area("basic_farmland"),
        ),
        doc(
            "ecological_redline_area",
            "生态保护红线面积",
            "Ecological red line",
            "km2",
            "lower",
            _area("ecological_redline"),
        ),
        doc(
            "urban_boundary_area",
            "城镇开发边界面积",
            "Urban development boundary",
            "km2",
            "upper",
            _area("urban_boundary"),
        ),
        doc(
            "construction_land",
            "建设用地总规模",
            "Construction land",
            "m2",
            "upper",
            _area(status, CONSTRUCTION_PREFIXES),
        ),
        doc(
            "urban_rural_construction_land",
            "城乡建设用地规模",
            "Urban and rural construction land",
            "ha",
            "upper",
            _area(status, URBAN_RURAL_PREFIXES),
        ),
        doc(
            "urban_construction_per_person",
            "人均城镇建设用地",
            "Urban construction land per person",
            "m2",
            "upper",
            {
                "per_person": _area(status, URBAN_RURAL_PREFIXES, inside="urban_boundary"),
                "population": population,
            },
        ),
        doc("forest_land", "林地保有量", "Forest land", "ha", "lower", _area(status, ("03",))),
        doc("wetland_area", "湿地面积", "Wetland", "ha", "lower", _area(status, ("05",))),
        doc(
            "construction_in_boundary_share",
            "城镇开发边界内城乡建设用地占比",
            "Share of urban and rural construction land inside the urban boundary",
            "percent",
            "lower",
            {
                "ratio": {
                    "numerator": _area(status, URBAN_RURAL_PREFIXES, inside="urban_boundary"),
                    "denominator": _area(status, URBAN_RURAL_PREFIXES),
                }
            },
        ),
    ]


def _draw(*parts: str) -> float:
    """A number in [0, 1) from its key (stable across runs and platforms)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _ratio(indicator: dict[str, Any], area: str) -> float:
    planted = PLANTED_RATIOS.get((indicator["id"], area))
    if planted is not None:
        return planted
    if indicator["direction"] == "upper":
        return 0.80 if area == CITY else 0.62 + 0.26 * _draw(indicator["id"], area)
    return 1.03 if area == CITY else 1.0 + 0.08 * _draw(indicator["id"], area)


def population_table(ctx: PlanFuse) -> dict[str, dict[str, int]]:
    """Urban residents (城镇常住人口) per district and year: between 95 and 125 m² of urban
    construction land (inside the urban boundary) per person in 2025, growing 1.2 % a
    year."""
    table = districts(ctx)
    urban = base_by_district(
        ctx, _area(STATUS_LAYER.kind, URBAN_RURAL_PREFIXES, inside="urban_boundary"), TARGET_YEAR
    )
    out: dict[str, dict[str, int]] = {}
    for adcode, m2 in zip(table.adcodes, urban.tolist(), strict=True):
        if m2 <= 0:
            continue
        base = m2 / (95.0 + 30.0 * _draw("population", adcode))
        out[adcode] = {str(y): round(base * (1.0 + 0.012 * (y - TARGET_YEAR))) for y in YEARS}
    return out


def with_targets(
    indicator: dict[str, Any], values_2025: dict[str, float | None], city_2025: float | None
) -> dict[str, Any]:
    """The indicator with targets for 2025 and 2035 per district and for the city."""
    decimals = DECIMALS[indicator["unit"]]
    growth = UPPER_GROWTH_TO_2035 if indicator["direction"] == "upper" else 1.0
    targets = []
    for area, value in [(CITY, city_2025), *sorted(values_2025.items())]:
        if not value:
            continue
        target = round(value / _ratio(indicator, area), decimals)
        targets.append({"area": area, "year": TARGET_YEAR, "value": target})
        targets.append({"area": area, "year": PLAN_YEAR, "value": round(target * growth, decimals)})
    return {**indicator, "targets": targets}


def planted_values(versions: StatusVersions, indicator_id: str) -> dict[str, float] | None:
    """The generator's own 2025 figures of the planted indicators, in their units."""
    if indicator_id == "construction_land":
        return versions.area_by_district(TARGET_YEAR, CONSTRUCTION_PREFIXES)
    if indicator_id == "farmland":
        m2 = versions.area_by_district(TARGET_YEAR, FARMLAND_PREFIXES)
        return {a: v / 1e4 for a, v in m2.items()}
    return None


def import_status(ctx: PlanFuse, folder: Path, echo: Echo) -> list[ImportSummary]:
    """Import the status files of `folder`, one version per year, dated 31 December."""
    summaries = []
    for year in YEARS:
        summary = import_layer(
            ctx,
            folder / status_filename(year),
            ImportOptions(
                layer_id=STATUS_LAYER.id,
                kind=STATUS_LAYER.kind,
                crs=STATUS_LAYER.crs,
                name=STATUS_LAYER.name,
                department=STATUS_LAYER.department,
                created_by="planfuse demo",
                as_of=date(year, 12, 31),
            ),
        )
        summaries.append(summary)
        echo(
            f"  imported {STATUS_LAYER.id:<20} as of {year}-12-31  "
            f"{summary.feature_count:>9,} features  {summary.seconds:6.2f} s"
        )
    return summaries


def load_indicator_set(ctx: PlanFuse, versions: StatusVersions, echo: Echo) -> None:
    """Measure 2025 and load the indicator set with its targets."""
    documents = []
    for skeleton in indicator_skeletons(population_table(ctx)):
        per, city = measure_values(ctx, skeleton, TARGET_YEAR)
        planted = planted_values(versions, skeleton["id"])
        if planted is not None:
            per = {a: planted.get(a, v) for a, v in per.items()}
            city = sum(v for v in planted.values() if v)
        documents.append(with_targets(skeleton, per, city))
    entries = load_indicators(ctx, documents, created_by="planfuse demo")
    echo(f"  loaded {len(entries)} monitoring indicators with targets for 2025 and 2035")
