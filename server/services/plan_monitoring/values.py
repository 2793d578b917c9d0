"""Indicator values per district and for the city, their status against the targets, the
series over years with the yearly change and, at the current rate, the year the target
is reached (DOMAIN.md, "Monitoring" and "Evaluation")."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.plan_monitoring import measure as M
from planfuse.services.plan_monitoring.indicators import (
    AREA_UNITS,
    CITY,
    get_indicator,
    list_indicators,
)
from planfuse.services.plan_monitoring.status import ratio_of, target_for, value_status
from planfuse.services.plan_monitoring.years import (
    require_year,
    status_years,
    versions_at_year_end,
)

BY = ("district", "city")
CITY_NAMES = {"zh-CN": "全市", "en": "City"}
DECIMALS = {"m2": 2, "ha": 4, "km2": 6, "mu": 2, "percent": 4, "count": 0}
MAX_SERIES_YEARS = 50


def _refs(ctx: PlanFuse, kind: str, year: int) -> tuple[M.LayerRef, ...]:
    return versions_at_year_end(ctx, kind, year)


def base_by_district(ctx: PlanFuse, measure: Mapping[str, Any], year: int) -> np.ndarray:
    """A base measure (area m² or count) per district for `year`."""
    if "count_of" in measure:
        return M.count_by_district(ctx, _refs(ctx, measure["count_of"], year), measure.get("codes"))
    refs = _refs(ctx, measure["area_of"], year)
    if "inside" in measure:
        return M.area_inside_by_district(
            ctx, refs, measure.get("codes"), _refs(ctx, measure["inside"], year)
        )
    return M.area_by_district(ctx, refs, measure.get("codes"))


def _population(table: Mapping[str, Mapping[str, float]], area: str, year: int) -> float | None:
    """Persons in `area` in `year`: that year's figure, else the latest earlier one."""
    row = table.get(area) or {}
    years = [int(y) for y in row if int(y) <= year]
    return float(row[str(max(years))]) if years else None


def measure_values(
    ctx: PlanFuse, indicator: Mapping[str, Any], year: int
) -> tuple[dict[str, float | None], float | None]:
    """The indicator's value per district adcode and for the city, in its unit."""
    table = M.districts(ctx)
    measure, unit = indicator["measure"], indicator["unit"]
    if "ratio" in measure:
        num = base_by_district(ctx, measure["ratio"]["numerator"], year)
        den = base_by_district(ctx, measure["ratio"]["denominator"], year)
        per = {
            a: (100.0 * n / d if d else None)
            for a, n, d in zip(table.adcodes, num.tolist(), den.tolist(), strict=True)
        }
        return per, (100.0 * float(num.sum()) / float(den.sum()) if den.sum() else None)
    if "per_person" in measure:
        area = base_by_district(ctx, measure["per_person"], year)
        people = measure["population"]
        per = {}
        for a, m2 in zip(table.adcodes, area.tolist(), strict=True):
            persons = _population(people, a, year)
            per[a] = m2 / persons if persons else None
        city_people = _population(people, CITY, year)
        if city_people is None:
            known = [_population(people, a, year) for a in table.adcodes]
            city_people = sum(p for p in known if p) or None
        return per, (float(area.sum()) / city_people if city_people else None)
    values = base_by_district(ctx, measure, year)
    scale = AREA_UNITS.get(unit, 1.0)
    per = {a: v / scale for a, v in zip(table.adcodes, values.tolist(), strict=True)}
    return per, float(values.sum()) / scale


def _round(value: float | None, unit: str) -> float | int | None:
    if value is None:
        return None
    if unit == "count":
        return round(value)
    return round(value, DECIMALS.get(unit, 4))


def _check_by(by: str) -> None:
    if by not in BY:
        raise InvalidInput(f"`by` is district or city, not {by!r}", field="by")


def _areas(
    ctx: PlanFuse, by: str, districts: Sequence[str] | None, locale: str
) -> list[tuple[str, str]]:
    """(area, name) rows asked for: the city, or the districts (all or those named)."""
    if by == CITY:
        return [(CITY, CITY_NAMES.get(locale, CITY_NAMES["zh-CN"]))]
    table = M.districts(ctx)
    names = dict(zip(table.adcodes, table.names, strict=True))
    if districts is None:
        return list(names.items())
    for adcode in districts:
        if adcode not in names:
            raise NotFound(
                "district",
                adcode,
                code="unknown_district",
                hint="districts are named by adcode, e.g. 500112",
            )
    return [(a, names[a]) for a in sorted(set(districts))]


def _row(
    indicator: Mapping[str, Any], area: str, name: str, value: float | None, year: int
) -> dict[str, Any]:
    unit = indicator["unit"]
    target = target_for(indicator["targets"], area, year)
    target_value, target_year = target if target else (None, None)
    return {
        "area": area,
        "name": name,
        "value": _round(value, unit),
        "unit": unit,
        "target": target_value,
        "target_year": target_year,
        "ratio": ratio_of(value, target_value),
        "status": value_status(
            indicator["direction"],
            value,
            target_value,
            indicator.get("warning_ratio", 0.9),
        ),
    }


def indicator_head(indicator: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": indicator["id"],
        "version": indicator["version"],
        "name": indicator["name"],
        "unit": indicator["unit"],
        "direction": indicator["direction"],
    }


def indicator_values(
    ctx: PlanFuse,
    indicator_id: str,
    year: int,
    *,
    by: str = "district",
    districts: Sequence[str] | None = None,
    locale: str = "zh-CN",
) -> dict[str, Any]:
    """`{"indicator", "year", "by", "values": [{"area", "name", "value", "unit", "target",
    "target_year", "ratio", "status"}]}` for one monitoring year."""
    _check_by(by)
    indicator = get_indicator(ctx, indicator_id)
    require_year(ctx, year)
    return _values_answer(ctx, indicator, year, by, _areas(ctx, by, districts, locale))


def _values_answer(
    ctx: PlanFuse,
    indicator: Mapping[str, Any],
    year: int,
    by: str,
    areas: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    per, city = measure_values(ctx, indicator, year)
    rows = [
        _row(indicator, area, name, city if area == CITY else per.get(area), year)
        for area, name in areas
    ]
    return {"indicator": indicator_head(indicator), "year": year, "by": by, "values": rows}


#: Most indicators one batched values call answers.
MAX_BATCH = 50


def indicators_values(
    ctx: PlanFuse,
    indicator_ids: Sequence[str],
    year: int,
    *,
    by: str = "district",
    districts: Sequence[str] | None = None,
    locale: str = "zh-CN",
) -> dict[str, Any]:
    """`{"year", "by", "results": [indicator_values(…) of each id]}`: several indicators'
    values for one year in one answer (the monitor widget's cards ask for all at once).
    Refused as a whole where one indicator alone would be (an unknown id, a missing year)."""
    ids = list(dict.fromkeys(indicator_ids))
    if not ids:
        raise InvalidInput("`indicators` lists no indicator id", field="indicators")
    if len(ids) > MAX_BATCH:
        raise InvalidInput(
            f"`indicators` lists {len(ids)} ids; at most {MAX_BATCH} per call",
            field="indicators",
        )
    _check_by(by)
    # Checked and read once for all of them (each alone would ask the database again).
    found = {indicator["id"]: indicator for indicator in list_indicators(ctx, ids)}
    for indicator_id in ids:
        if indicator_id not in found:
            get_indicator(ctx, indicator_id)  # raises NotFound naming the ones there are
    require_year(ctx, year)
    areas = _areas(ctx, by, districts, locale)
    results = [_values_answer(ctx, found[i], year, by, areas) for i in ids]
    return {"year": year, "by": by, "results": results}


def projection(
    direction: str,
    points: Sequence[tuple[int, float | None]],
    targets: Sequence[dict[str, Any]],
    area: str,
) -> dict[str, Any] | None:
    """At the current rate — the average yearly change over the series — the year the
    value reaches (or crosses) the plan's last target: `{"target", "target_year",
    "rate_per_year", "year"}`; `year` None when the value moves away from the target or
    stands still. None without two values or without a target at or after the series."""
    known = [(y, v) for y, v in points if v is not None]
    if len(known) < 2:
        return None
    (first_year, first), (last_year, last) = known[0], known[-1]
    ahead = [t for t in targets if t["area"] == area and t["year"] >= last_year]
    if not ahead:
        return None
    goal = max(ahead, key=lambda t: t["year"])
    rate = (last - first) / (last_year - first_year)
    gap = float(goal["value"]) - last
    reached: int | None
    if gap == 0:
        reached = last_year
    elif rate == 0 or (gap > 0) != (rate > 0):
        reached = None
    else:
        reached = last_year + math.ceil(gap / rate - 1e-9)
    return {
        "target": goal["value"],
        "target_year": goal["year"],
        "rate_per_year": rate,
        "year": reached,
        "before_target_year": reached is not None and reached <= goal["year"],
        "direction": direction,
    }


def indicator_series(
    ctx: PlanFuse,
    indicator_id: str,
    from_year: int,
    to_year: int,
    *,
    by: str = "district",
    districts: Sequence[str] | None = None,
    locale: str = "zh-CN",
) -> dict[str, Any]:
    """The values of the monitoring years from `from_year` to `to_year`, per area, with
    the yearly change and the projection (see `projection`)."""
    _check_by(by)
    if from_year > to_year or to_year - from_year > MAX_SERIES_YEARS:
        raise InvalidInput(
            f"`from` ({from_year}) must not be after `to` ({to_year}), at most "
            f"{MAX_SERIES_YEARS} years apart",
            field="from",
        )
    indicator = get_indicator(ctx, indicator_id)
    years = [y for y in status_years(ctx) if from_year <= y <= to_year]
    if not years:
        there = ", ".join(str(y) for y in status_years(ctx)) or "none"
        raise NotFound(
            "status version",
            f"{from_year}–{to_year}",
            code="year_not_found",
            message=f"no land-use status version describes {from_year}–{to_year}; "
            f"there are versions for {there}",
        )
    areas = _areas(ctx, by, districts, locale)
    measured = {year: measure_values(ctx, indicator, year) for year in years}
    unit = indicator["unit"]
    series = []
    for area, name in areas:
        points = []
        previous: float | None = None
        raw: list[tuple[int, float | None]] = []
        for year in years:
            per, city = measured[year]
            value = city if area == CITY else per.get(area)
            row = _row(indicator, area, name, value, year)
            row.pop("area"), row.pop("name"), row.pop("unit")
            row["change"] = (
                _round(value - previous, unit)
                if value is not None and previous is not None
                else None
            )
            points.append({"year": year, **row})
            raw.append((year, value))
            previous = value
        proj = projection(indicator["direction"], raw, indicator["targets"], area)
        if proj is not None:
            proj["rate_per_year"] = _round(proj["rate_per_year"], unit)
        series.append(
            {"area": area, "name": name, "unit": unit, "points": points, "projection": proj}
        )
    return {
        "indicator": indicator_head(indicator),
        "from": from_year,
        "to": to_year,
        "years": years,
        "by": by,
        "series": series,
    }
