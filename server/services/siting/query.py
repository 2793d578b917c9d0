"""The siting request: parsed, checked and put in canonical form.

Everything that can be checked without reading layers is checked here, and every problem
is reported at once (one InvalidInput listing each field). What needs the data — does
district 500199 exist, is there a layer of kind `urban_boundary`, which road classes are
there — is checked by :mod:`planfuse.services.siting.search` against the layer versions it
reads.

The canonical form (:meth:`SitingQuery.to_dict`) is what a siting plan stores and re-runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from planfuse.errors import InvalidInput
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.layers.land_use import CODE_PATTERN

#: Layer kinds a parcel may be required to lie inside or outside of (DOMAIN.md layer kinds).
CONTROL_KINDS = (
    "urban_boundary",
    "ecological_redline",
    "basic_farmland",
    "control_line",
    "sensitive_zone",
)
#: Optional attribute filters a control may carry, by kind (`type` of a control line, …).
CONTROL_FILTERS = {
    "urban_boundary": ("zone",),
    "control_line": ("type",),
    "sensitive_zone": ("type", "level"),
}
PROXIMITY_KINDS = {"road": "class", "facility": "type"}
EXCLUDE_KINDS = ("sensitive_zone",)
#: Sensitive-zone types named in DOMAIN.md; data may add more.
SENSITIVE_TYPES = ("geohazard", "water_source", "heritage", "mineral")

#: The score's criteria, each normalised to 0…1 (1 is best); see scoring.py.
CRITERIA = (
    "area_fit",
    "road_distance",
    "facility_distance",
    "compactness",
    "urban_share",
    "centre_distance",
)
DEFAULT_WEIGHTS = {
    "area_fit": 0.25,
    "road_distance": 0.25,
    "facility_distance": 0.15,
    "compactness": 0.15,
    "urban_share": 0.10,
    "centre_distance": 0.10,
}
#: |Σ weights − 1| above this is refused (not silently normalised).
WEIGHT_SUM_TOLERANCE = 1e-6

DEFAULT_LIMIT = 50
MAX_DISTRICTS = 50
MAX_CONTROLS = 20
MAX_PROXIMITY = 10
MAX_EXCLUDE = 20
#: A `within_m` beyond this (100 km) is not a proximity condition.
MAX_WITHIN_M = 100_000.0
ADCODE = re.compile(r"^\d{6}$")
ATTRIBUTE_VALUE = re.compile(r"^[\w\-.]{1,64}$")

QUERY_FIELDS = (
    "scope",
    "land_use",
    "area_min_m2",
    "area_max_m2",
    "target_area_m2",
    "controls",
    "proximity",
    "exclude",
    "weights",
    "limit",
    "output_crs",
)


@dataclass(frozen=True)
class Scope:
    """Districts (6-digit adcodes, sorted) or one polygon (GeoJSON as sent, with its CRS)."""

    districts: tuple[str, ...] = ()
    geometry: Mapping[str, Any] | None = None
    crs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.geometry is not None:
            return {"geometry": dict(self.geometry), "crs": self.crs}
        return {"districts": list(self.districts)}


@dataclass(frozen=True)
class Control:
    """The parcel must lie `inside` (share ≥ 99.9 %) or `outside` (overlap ≤ tolerance) the
    features of `kind`, optionally only those whose attributes match `where`."""

    kind: str
    mode: str
    where: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "mode": self.mode, **dict(self.where)}


@dataclass(frozen=True)
class Proximity:
    """Distance from the parcel to the nearest road of `value` class (or facility of `value`
    type; None: any). `required`: within `within_m` metres or the parcel is dropped;
    otherwise it only scores."""

    kind: str
    value: str | None
    within_m: float | None
    required: bool

    @property
    def attribute(self) -> str:
        return PROXIMITY_KINDS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.value is not None:
            out[self.attribute] = self.value
        out["within_m"] = self.within_m
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class Exclusion:
    """Drop parcels overlapping (more than the tolerance) sensitive zones of `type`
    (and `level`, when given)."""

    kind: str
    type: str
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "type": self.type}
        if self.level is not None:
            out["level"] = self.level
        return out


@dataclass(frozen=True)
class SitingQuery:
    """One siting search in canonical form (see the module docstring)."""

    scope: Scope
    land_use: str | None = None
    area_min_m2: float | None = None
    area_max_m2: float | None = None
    target_area_m2: float | None = None
    controls: tuple[Control, ...] = ()
    proximity: tuple[Proximity, ...] = ()
    exclude: tuple[Exclusion, ...] = ()
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    limit: int = DEFAULT_LIMIT
    output_crs: str = "EPSG:4490"

    def conditions(self) -> dict[str, Any]:
        """The basic and advanced conditions (everything but scope, weights and output)."""
        return {
            "land_use": self.land_use,
            "area_min_m2": self.area_min_m2,
            "area_max_m2": self.area_max_m2,
            "target_area_m2": self.target_area_m2,
            "controls": [c.to_dict() for c in self.controls],
            "proximity": [p.to_dict() for p in self.proximity],
            "exclude": [e.to_dict() for e in self.exclude],
        }

    def to_dict(self) -> dict[str, Any]:
        """The request body that reproduces this query (flat, as `POST /siting/search`)."""
        return {
            "scope": self.scope.to_dict(),
            **self.conditions(),
            "weights": dict(self.weights),
            "limit": self.limit,
            "output_crs": self.output_crs,
        }


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, message: str) -> None:
        self.items.append({"field": field_name, "message": message})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            detail = f"{self.items[0]['field']}: {self.items[0]['message']}"
        else:
            detail = f"{len(self.items)} problems with the siting request: " + "; ".join(
                f"{e['field']}: {e['message']}" for e in self.items[:5]
            )
        raise InvalidInput(detail, code="invalid_siting_request", errors=self.items)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A JSON number that is a finite float (JSON integers may be too large for one)."""
    if not _number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _area(errors: _Errors, body: Mapping[str, Any], name: str, max_area_m2: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if not _finite(value):
        errors.add(name, "must be a number of square metres")
        return None
    if value < 0:
        errors.add(name, f"must not be negative (got {value})")
        return None
    if value > max_area_m2:
        errors.add(
            name,
            f"{value:g} m² is larger than any parcel a siting search can return "
            f"(at most {max_area_m2:g} m², setting max_project_area_m2)",
        )
        return None
    return float(value)


def _attribute_value(errors: _Errors, where: str, value: Any) -> str | None:
    if _finite(value) and float(value).is_integer():
        value = str(int(value))
    if not isinstance(value, str) or not ATTRIBUTE_VALUE.match(value):
        errors.add(where, "must be a short code such as 'provincial' or 'geohazard'")
        return None
    return value


def _list(errors: _Errors, body: Mapping[str, Any], name: str, most: int) -> list:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(name, "must be a list")
        return []
    if len(value) > most:
        errors.add(name, f"at most {most} entries (got {len(value)})")
        return []
    return value


def _scope(errors: _Errors, value: Any) -> Scope:
    if value is None:
        errors.add("scope", 'is required: {"districts": ["500112"]} or {"geometry": …, "crs": …}')
        return Scope()
    if not isinstance(value, Mapping):
        errors.add(
            "scope", 'must be an object: {"districts": [...]} or {"geometry": ..., "crs": ...}'
        )
        return Scope()
    unknown = sorted(set(value) - {"districts", "geometry", "crs"})
    if unknown:
        errors.add("scope", f"unknown field(s) {', '.join(unknown)}; use districts or geometry+crs")
    has_districts = value.get("districts") is not None
    has_geometry = value.get("geometry") is not None
    if has_districts == has_geometry:
        errors.add("scope", "give either districts or a geometry (with its crs), not both or none")
        return Scope()
    if has_districts:
        districts = value["districts"]
        if not isinstance(districts, list) or not districts:
            errors.add("scope.districts", "must be a non-empty list of 6-digit adcodes")
            return Scope()
        if len(districts) > MAX_DISTRICTS:
            errors.add("scope.districts", f"at most {MAX_DISTRICTS} districts")
            return Scope()
        bad = [d for d in districts if not isinstance(d, str) or not ADCODE.match(d)]
        if bad:
            errors.add("scope.districts", f"{bad[0]!r} is not a 6-digit adcode such as '500112'")
            return Scope()
        return Scope(districts=tuple(sorted(set(districts))))
    geometry = value["geometry"]
    if not isinstance(geometry, Mapping):
        errors.add("scope.geometry", "must be a GeoJSON Polygon or MultiPolygon object")
        return Scope()
    crs = value.get("crs", "EPSG:4490")
    if not isinstance(crs, str) or not crs.strip():
        errors.add("scope.crs", "must name the polygon's CRS, e.g. EPSG:4490 or EPSG:4523")
        return Scope()
    return Scope(geometry=geometry, crs=crs.strip())


def _controls(errors: _Errors, body: Mapping[str, Any]) -> tuple[Control, ...]:
    out = []
    for i, item in enumerate(_list(errors, body, "controls", MAX_CONTROLS)):
        where = f"controls[{i}]"
        if not isinstance(item, Mapping):
            errors.add(
                where, 'must be an object such as {"kind": "urban_boundary", "mode": "inside"}'
            )
            continue
        kind, mode = item.get("kind"), item.get("mode")
        if kind not in CONTROL_KINDS:
            hint = ""
            if kind in PROXIMITY_KINDS:
                hint = f" ({kind} layers are conditions under `proximity`)"
            elif kind in LAYER_KINDS:
                hint = f" ({kind} is not a control layer)"
            errors.add(
                f"{where}.kind",
                f"layer kind {kind!r} is unknown for controls{hint}; expected one of "
                + ", ".join(CONTROL_KINDS),
            )
            continue
        if mode not in ("inside", "outside"):
            errors.add(f"{where}.mode", f"must be 'inside' or 'outside', not {mode!r}")
            continue
        allowed = CONTROL_FILTERS.get(kind, ())
        extra = sorted(set(item) - {"kind", "mode", *allowed})
        if extra:
            errors.add(
                where,
                f"unknown field(s) {', '.join(extra)} for kind {kind}"
                + (f"; it may filter by {', '.join(allowed)}" if allowed else ""),
            )
            continue
        filters = []
        for attr in allowed:
            if item.get(attr) is not None:
                value = _attribute_value(errors, f"{where}.{attr}", item[attr])
                if value is not None:
                    filters.append((attr, value))
        out.append(Control(kind, mode, tuple(filters)))
    return tuple(out)


def _proximity(errors: _Errors, body: Mapping[str, Any]) -> tuple[Proximity, ...]:
    out = []
    for i, item in enumerate(_list(errors, body, "proximity", MAX_PROXIMITY)):
        where = f"proximity[{i}]"
        if not isinstance(item, Mapping):
            errors.add(
                where,
                'must be an object such as {"kind": "road", "class": "provincial", '
                '"within_m": 2000}',
            )
            continue
        kind = item.get("kind")
        if kind not in PROXIMITY_KINDS:
            errors.add(f"{where}.kind", f"must be 'road' or 'facility', not {kind!r}")
            continue
        attr = PROXIMITY_KINDS[kind]
        extra = sorted(set(item) - {"kind", attr, "within_m", "required"})
        if extra:
            errors.add(
                where,
                f"unknown field(s) {', '.join(extra)}; a {kind} condition has {attr}, "
                "within_m, required",
            )
            continue
        value = None
        if item.get(attr) is not None:
            value = _attribute_value(errors, f"{where}.{attr}", item[attr])
            if value is None:
                continue
        within = item.get("within_m")
        if within is not None:
            if not _finite(within) or not 0 < within <= MAX_WITHIN_M:
                errors.add(
                    f"{where}.within_m",
                    f"must be a distance in metres, 0 < within_m ≤ {MAX_WITHIN_M:g}",
                )
                continue
            within = float(within)
        required = item.get("required", within is not None)
        if not isinstance(required, bool):
            errors.add(f"{where}.required", "must be true or false")
            continue
        if required and within is None:
            errors.add(f"{where}.within_m", "a required proximity condition needs within_m")
            continue
        out.append(Proximity(kind, value, within, required))
    return tuple(out)


def _exclude(errors: _Errors, body: Mapping[str, Any]) -> tuple[Exclusion, ...]:
    out = []
    for i, item in enumerate(_list(errors, body, "exclude", MAX_EXCLUDE)):
        where = f"exclude[{i}]"
        if not isinstance(item, Mapping):
            errors.add(
                where,
                'must be an object such as {"kind": "sensitive_zone", "type": "geohazard", '
                '"level": "high"}',
            )
            continue
        kind = item.get("kind", "sensitive_zone")
        if kind not in EXCLUDE_KINDS:
            errors.add(
                f"{where}.kind",
                f"only sensitive_zone can be excluded by type, not {kind!r}; use controls "
                "with mode 'outside' for other layers",
            )
            continue
        extra = sorted(set(item) - {"kind", "type", "level"})
        if extra:
            errors.add(where, f"unknown field(s) {', '.join(extra)}; use type and level")
            continue
        if item.get("type") is None:
            errors.add(f"{where}.type", "is required, e.g. " + ", ".join(SENSITIVE_TYPES))
            continue
        ztype = _attribute_value(errors, f"{where}.type", item["type"])
        level = None
        if item.get("level") is not None:
            level = _attribute_value(errors, f"{where}.level", item["level"])
            if level is None:
                continue
        if ztype is not None:
            out.append(Exclusion(kind, ztype, level))
    return tuple(out)


def _weights(errors: _Errors, value: Any) -> dict[str, float]:
    if value is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(value, Mapping) or not value:
        errors.add("weights", "must be an object of criterion → weight, e.g. " + _example())
        return dict(DEFAULT_WEIGHTS)
    unknown = sorted(set(value) - set(CRITERIA))
    if unknown:
        errors.add(
            "weights",
            f"unknown criterion {unknown[0]!r}; criteria are {', '.join(CRITERIA)}",
        )
        return dict(DEFAULT_WEIGHTS)
    weights = {}
    out_of_range = False
    for name in CRITERIA:
        w = value.get(name, 0.0)
        # Each weight is a share of 1, so larger numbers are refused before they are summed;
        # every bad weight is named, not only the first.
        if not _finite(w) or not 0 <= w <= 1:
            errors.add(f"weights.{name}", "must be a number from 0 to 1")
            out_of_range = True
            continue
        weights[name] = float(w)
    if out_of_range:
        return dict(DEFAULT_WEIGHTS)
    total = math.fsum(weights.values())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        if total > 0:
            scaled = ", ".join(f'"{k}": {v / total:.4g}' for k, v in weights.items() if v)
            hint = f"; normalised they would be {{{scaled}}}"
        else:
            hint = ""
        errors.add(
            "weights",
            f"weights must sum to 1 (they sum to {total:g}); they are not rescaled silently, "
            f"send weights that sum to 1{hint}",
        )
    return weights


def _example() -> str:
    return "{" + ", ".join(f'"{k}": {v}' for k, v in DEFAULT_WEIGHTS.items()) + "}"


def parse_query(
    body: Any, *, max_area_m2: float, limit_max: int, default_crs: str = "EPSG:4490"
) -> SitingQuery:
    """A :class:`SitingQuery` from a request body (the flat JSON of `POST /siting/search`);
    one InvalidInput lists every field in error.

    ``max_area_m2``: largest accepted area bound (m²); ``limit_max``: largest `limit`.
    Weights are refused unless they sum to 1 (± 1e-6): a silent rescale would hide a typo.
    """
    if not isinstance(body, Mapping):
        raise InvalidInput(
            'send a JSON object: {"scope": {"districts": ["500112"]}, "land_use": "1001", …}',
            code="invalid_siting_request",
        )
    errors = _Errors()
    unknown = sorted(set(body) - set(QUERY_FIELDS))
    for name in unknown:
        errors.add(str(name)[:64], "unknown field; expected one of " + ", ".join(QUERY_FIELDS))
    scope = _scope(errors, body.get("scope"))
    if scope.geometry is not None and scope.crs is None:
        scope = Scope(geometry=scope.geometry, crs=default_crs)

    land_use = body.get("land_use")
    if land_use in ("", None):
        land_use = None
    elif not isinstance(land_use, str) or not CODE_PATTERN.match(land_use):
        errors.add(
            "land_use",
            f"{land_use!r} is not a 用地用海 code: 2, 4 or 6 digits such as '10', '1001' or "
            "'100101'",
        )
        land_use = None

    area_min = _area(errors, body, "area_min_m2", max_area_m2)
    area_max = _area(errors, body, "area_max_m2", max_area_m2)
    if area_min is not None and area_max is not None and area_min > area_max:
        errors.add(
            "area_min_m2",
            f"the minimum area ({area_min:g} m²) is above the maximum ({area_max:g} m²)",
        )
    target = _area(errors, body, "target_area_m2", max_area_m2)
    if target is not None and (
        (area_min is not None and target < area_min) or (area_max is not None and target > area_max)
    ):
        errors.add("target_area_m2", "must lie between area_min_m2 and area_max_m2")

    controls = _controls(errors, body)
    proximity = _proximity(errors, body)
    exclude = _exclude(errors, body)
    weights = _weights(errors, body.get("weights"))

    limit = body.get("limit", DEFAULT_LIMIT)
    if limit is None:
        limit = DEFAULT_LIMIT
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= limit_max:
        errors.add("limit", f"must be an integer from 1 to {limit_max}")
        limit = DEFAULT_LIMIT

    output_crs = body.get("output_crs") or "EPSG:4490"
    if not isinstance(output_crs, str) or len(output_crs) > 200:
        errors.add("output_crs", "must name a CRS such as EPSG:4490 or EPSG:4523")
        output_crs = "EPSG:4490"

    errors.raise_if_any()
    return SitingQuery(
        scope=scope,
        land_use=land_use,
        area_min_m2=area_min,
        area_max_m2=area_max,
        target_area_m2=target,
        controls=controls,
        proximity=proximity,
        exclude=exclude,
        weights=weights,
        limit=limit,
        output_crs=output_crs.strip(),
    )
