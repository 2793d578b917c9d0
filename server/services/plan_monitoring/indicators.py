"""Indicator documents (约束性指标): data, versioned, loaded by admins.

    {"id": "construction_land",
     "name": {"zh-CN": "建设用地总规模", "en": "Construction land"},
     "unit": "m2", "direction": "upper",
     "measure": {"area_of": "land_use_status", "codes": ["07", "08", …]},
     "targets": [{"area": "500112", "year": 2035, "value": 120000000},
                 {"area": "city", "year": 2035, "value": 2100000000}]}

Measures: the area of a layer kind (`area_of`, optionally limited to 用地用海 code
prefixes `codes`, optionally only where it lies `inside` another kind), the number of its
features (`count_of`), a ratio of two measures in percent (`ratio`: `numerator`,
`denominator`) and an area per person (`per_person`, with a `population` table
{adcode: {year: persons}}). Loading a document adds a version; versions never change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.storage.models import MonitoringIndicator

INDICATOR_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ADCODE = re.compile(r"^\d{6}$")
CODE_PREFIX = re.compile(r"^\d{2}(\d{2}(\d{2})?)?$")
CITY = "city"
DIRECTIONS = ("upper", "lower")
#: Units and how many square metres one of them is (area units).
AREA_UNITS: dict[str, float] = {"m2": 1.0, "ha": 1e4, "km2": 1e6, "mu": 10_000.0 / 15.0}
UNITS = (*AREA_UNITS, "percent", "count")
MEMBERS = {"id", "name", "description", "unit", "direction", "measure", "targets", "warning_ratio"}
YEARS = range(1990, 2101)
MAX_TARGETS = 2000


def _bad(message: str, field: str, code: str = "invalid_indicator") -> InvalidInput:
    return InvalidInput(
        message, code=code, errors=[{"field": field, "message": message}], title="Invalid indicator"
    )


def validate_indicator(
    document: Any, *, indicator_id: str | None = None, adcodes: Iterable[str] | None = None
) -> dict[str, Any]:
    """Check an indicator document and return it normalised (codes as text, targets
    sorted). `adcodes`: the districts a target may name (None: any six-digit adcode)."""
    if not isinstance(document, Mapping):
        raise _bad("an indicator is a JSON object with id, name, unit, direction, …", "$")
    unknown = sorted(set(document) - MEMBERS)
    if unknown:
        raise _bad(
            f"unknown member(s) {', '.join(unknown)}; "
            f"an indicator has {', '.join(sorted(MEMBERS))}",
            unknown[0],
        )
    doc_id = document.get("id", indicator_id)
    if indicator_id is not None and doc_id != indicator_id:
        raise _bad(f"the document's id {doc_id!r} is not {indicator_id!r} of the URL", "id")
    if not isinstance(doc_id, str) or not INDICATOR_ID.match(doc_id):
        raise _bad(
            f"id {doc_id!r} is not valid; use 1–64 lower-case letters, digits, '_' or '-'", "id"
        )
    name = _names(document.get("name"), "name", required=True)
    description = _names(document.get("description"), "description", required=False)
    unit = document.get("unit")
    if unit not in UNITS:
        raise _bad(f"unit {unit!r} is unknown; expected one of {', '.join(UNITS)}", "unit")
    direction = document.get("direction")
    if direction not in DIRECTIONS:
        raise _bad(
            f"direction {direction!r} is unknown; `upper` (a ceiling, e.g. construction land) "
            "or `lower` (a floor, e.g. farmland)",
            "direction",
        )
    measure = _measure(document.get("measure"), "measure")
    _check_unit(measure, unit)
    out: dict[str, Any] = {
        "id": doc_id,
        "name": name,
        "unit": unit,
        "direction": direction,
        "measure": measure,
        "targets": _targets(document.get("targets"), unit, adcodes),
    }
    if description:
        out["description"] = description
    if "warning_ratio" in document:
        ratio = document["warning_ratio"]
        if (
            direction != "upper"
            or isinstance(ratio, bool)
            or not isinstance(ratio, int | float)
            or not 0 < ratio < 1
        ):
            raise _bad(
                "warning_ratio is a share of an upper target between 0 and 1", "warning_ratio"
            )
        out["warning_ratio"] = float(ratio)
    return out


def _names(value: Any, field: str, *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("zh-CN"), str)
        or not value["zh-CN"].strip()
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        raise _bad(f'{field} is {{"zh-CN": …, "en": …}} with at least zh-CN', field)
    return {k: v.strip() for k, v in value.items()}


def _kind(value: Any, field: str) -> str:
    if value not in LAYER_KINDS:
        raise _bad(
            f"layer kind {value!r} is unknown; expected one of {', '.join(LAYER_KINDS)}",
            field,
            code="unknown_layer_kind",
        )
    if LAYER_KINDS[value].geometry != "polygon":
        raise _bad(f"layer kind {value!r} holds no areas; measure a polygon kind", field)
    return value


def _codes(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _bad(
            'codes is a non-empty list of 用地用海 code prefixes, e.g. ["07", "1207"]', field
        )
    codes = []
    for i, code in enumerate(value):
        text = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else ""
        if isinstance(code, int) and len(text) % 2:
            text = "0" + text
        if not CODE_PREFIX.match(text):
            raise _bad(
                f"code {code!r} is not a 用地用海 code prefix (2, 4 or 6 digits)", f"{field}[{i}]"
            )
        codes.append(text)
    return codes


BASE_KEYS = {"area_of": {"area_of", "codes", "inside"}, "count_of": {"count_of", "codes"}}


def _measure(value: Any, field: str, *, composite: bool = True) -> dict[str, Any]:
    """A measure, normalised; composites (`ratio`, `per_person`) hold base measures."""
    if not isinstance(value, Mapping):
        raise _bad(
            'measure is an object: {"area_of": KIND, "codes": [...]}, {"count_of": KIND}, '
            '{"ratio": {"numerator": …, "denominator": …}} or {"per_person": …, '
            '"population": {adcode: {year: persons}}}',
            field,
        )
    for base, allowed in BASE_KEYS.items():
        if base in value:
            extra = sorted(set(value) - allowed)
            if extra:
                raise _bad(
                    f"a {base} measure takes {', '.join(sorted(allowed))}, not {extra[0]}", field
                )
            out: dict[str, Any] = {base: _kind(value[base], f"{field}.{base}")}
            if "codes" in value:
                out["codes"] = _codes(value["codes"], f"{field}.codes")
            if "inside" in value:
                out["inside"] = _kind(value["inside"], f"{field}.inside")
            return out
    if composite and "ratio" in value:
        ratio = value["ratio"]
        if not isinstance(ratio, Mapping) or set(value) != {"ratio"}:
            raise _bad('ratio is {"numerator": measure, "denominator": measure}', field)
        return {
            "ratio": {
                "numerator": _measure(
                    ratio.get("numerator"), f"{field}.ratio.numerator", composite=False
                ),
                "denominator": _measure(
                    ratio.get("denominator"), f"{field}.ratio.denominator", composite=False
                ),
            }
        }
    if composite and "per_person" in value:
        if set(value) != {"per_person", "population"}:
            raise _bad('a per_person measure is {"per_person": measure, "population": {…}}', field)
        inner = _measure(value["per_person"], f"{field}.per_person", composite=False)
        if "area_of" not in inner:
            raise _bad(
                "per_person divides an area (area_of) by the population", f"{field}.per_person"
            )
        return {
            "per_person": inner,
            "population": _population(value["population"], f"{field}.population"),
        }
    raise _bad(
        "measure names none of area_of, count_of"
        + (
            ", ratio, per_person"
            if composite
            else " (a ratio or per-person measure holds base measures)"
        ),
        field,
    )


def _population(value: Any, field: str) -> dict[str, dict[str, int]]:
    if not isinstance(value, Mapping) or not value:
        raise _bad("population is {adcode: {year: persons}}", field)
    out: dict[str, dict[str, int]] = {}
    for adcode, years in value.items():
        if not ADCODE.match(str(adcode)) or not isinstance(years, Mapping):
            raise _bad(
                f"population of {adcode!r}: a six-digit adcode with {{year: persons}}", field
            )
        row = {}
        for year, persons in years.items():
            if (
                not str(year).isdigit()
                or int(year) not in YEARS
                or isinstance(persons, bool)
                or not isinstance(persons, int | float)
                or persons <= 0
            ):
                raise _bad(f"population of {adcode} in {year!r} must be a positive number", field)
            row[str(int(year))] = persons
        out[str(adcode)] = row
    return out


def measure_unit_kind(measure: Mapping[str, Any]) -> str:
    """What a measure yields: "area", "count", "percent" or "per_person"."""
    if "ratio" in measure:
        return "percent"
    if "per_person" in measure:
        return "per_person"
    return "count" if "count_of" in measure else "area"


def _check_unit(measure: Mapping[str, Any], unit: str) -> None:
    yields = measure_unit_kind(measure)
    allowed = {
        "area": tuple(AREA_UNITS),
        "count": ("count",),
        "percent": ("percent",),
        "per_person": ("m2",),
    }[yields]
    if unit not in allowed:
        raise _bad(
            f"unit {unit!r} does not fit a measure of {yields.replace('_', ' ')}; "
            f"use {' or '.join(allowed)}",
            "unit",
            code="unit_mismatch",
        )


def _targets(value: Any, unit: str, adcodes: Iterable[str] | None) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _bad("targets is a non-empty list of {area, year, value}", "targets")
    if len(value) > MAX_TARGETS:
        raise _bad(f"at most {MAX_TARGETS} targets", "targets")
    known = set(adcodes) if adcodes is not None else None
    seen: set[tuple[str, int]] = set()
    out = []
    for i, target in enumerate(value):
        where = f"targets[{i}]"
        if not isinstance(target, Mapping) or set(target) - {"area", "year", "value", "unit"}:
            raise _bad("a target is {area, year, value} (and optionally its unit)", where)
        area = str(target.get("area", ""))
        if area != CITY and not ADCODE.match(area):
            raise _bad(
                f"area {area!r} is `city` or a district adcode such as 500112", f"{where}.area"
            )
        if known is not None and area != CITY and area not in known:
            raise _bad(
                f"district {area} is not in the district layer",
                f"{where}.area",
                code="unknown_district",
            )
        year = target.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or year not in YEARS:
            raise _bad(f"year {year!r} is not a target year such as 2035", f"{where}.year")
        number = target.get("value")
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or number < 0
            or number != number
        ):
            raise _bad("value is a number ≥ 0 in the indicator's unit", f"{where}.value")
        if "unit" in target and target["unit"] != unit:
            raise _bad(
                f"the target is in {target['unit']!r} but the indicator is measured in {unit!r}; "
                f"convert the value to {unit} (or change the indicator's unit)",
                f"{where}.unit",
                code="unit_mismatch",
            )
        if (area, year) in seen:
            raise _bad(f"two targets for {area} in {year}", where)
        seen.add((area, year))
        out.append({"area": area, "year": year, "value": number})
    out.sort(key=lambda t: (t["area"] != CITY, t["area"], t["year"]))
    return out


# --- storage -------------------------------------------------------------------------------


def save_indicator(
    ctx: PlanFuse,
    document: Any,
    *,
    indicator_id: str | None = None,
    created_by: str = "",
    adcodes: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Validate and store `document` as the indicator's next version; the stored entry."""
    doc = validate_indicator(document, indicator_id=indicator_id, adcodes=adcodes)
    with ctx.db.write_session() as session:
        latest = session.scalar(
            select(func.max(MonitoringIndicator.version)).where(MonitoringIndicator.id == doc["id"])
        )
        row = MonitoringIndicator(
            id=doc["id"], version=(latest or 0) + 1, document=doc, created_by=created_by[:200]
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                f"indicator {doc['id']!r} was saved by someone else at the same moment; "
                "load it again",
                code="indicator_conflict",
            ) from None
        return _entry(row)


def _entry(row: MonitoringIndicator) -> dict[str, Any]:
    return {
        **row.document,
        "version": row.version,
        "created_by": row.created_by,
        "created": row.created_at.isoformat() if row.created_at else None,
    }


def list_indicators(ctx: PlanFuse, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The newest version of every indicator (or of those in `ids`), by id."""
    newest = (
        select(MonitoringIndicator.id, func.max(MonitoringIndicator.version).label("version"))
        .group_by(MonitoringIndicator.id)
        .subquery()
    )
    query = select(MonitoringIndicator).join(
        newest,
        (MonitoringIndicator.id == newest.c.id) & (MonitoringIndicator.version == newest.c.version),
    )
    if ids is not None:
        query = query.where(MonitoringIndicator.id.in_(list(ids)))
    with ctx.db.session() as session:
        rows = session.scalars(query.order_by(MonitoringIndicator.id)).all()
        return [_entry(r) for r in rows]


def get_indicator(ctx: PlanFuse, indicator_id: str, version: int | None = None) -> dict[str, Any]:
    """One indicator (its newest version, or `version`); NotFound naming the ones there are."""
    query = select(MonitoringIndicator).where(MonitoringIndicator.id == indicator_id)
    if version is not None:
        query = query.where(MonitoringIndicator.version == version)
    with ctx.db.session() as session:
        row = session.scalars(query.order_by(MonitoringIndicator.version.desc()).limit(1)).first()
        if row is not None:
            return _entry(row)
        ids = session.scalars(
            select(MonitoringIndicator.id).distinct().order_by(MonitoringIndicator.id)
        ).all()
    raise NotFound(
        "indicator",
        indicator_id,
        hint=f"there are {', '.join(ids)}" if ids else "load some with `planfuse monitoring load`",
    )


def read_indicator_file(path: Path) -> list[Any]:
    """The indicator documents of a JSON file: one document, a list, or {"indicators": [...]}."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(
            f"{Path(path).name} is not readable JSON: {exc}", code="invalid_json"
        ) from None
    if isinstance(data, Mapping) and "indicators" in data:
        data = data["indicators"]
    return data if isinstance(data, list) else [data]


def load_indicators(
    ctx: PlanFuse,
    documents: list[Any],
    *,
    created_by: str = "",
    adcodes: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Validate every document first, then store them all (a bad one stores nothing)."""
    known = list(adcodes) if adcodes is not None else None
    checked = []
    for i, document in enumerate(documents):
        try:
            checked.append(validate_indicator(document, adcodes=known))
        except InvalidInput as exc:
            where = document.get("id", i) if isinstance(document, Mapping) else i
            raise InvalidInput(
                f"indicator {where}: {exc.message}",
                code=exc.code,
                errors=exc.errors,
                title=exc.title,
            ) from None
    return [save_indicator(ctx, doc, created_by=created_by, adcodes=known) for doc in checked]
