"""What one siting query reads: the candidate parcel layer and the layers its conditions
need, resolved against the current layers (their versions recorded), and the checks of
condition values against what the layers hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput
from planfuse.services.layers.data import LayerRef, layers_by_kind
from planfuse.services.siting.query import SitingQuery
from planfuse.services.siting.relations import SitingCache, Source

PARCEL_KIND = "land_use_plan"


def missing_layer(kind: str, why: str) -> Conflict:
    return Conflict(
        f"no layer of kind {kind!r} is loaded, so {why} cannot be evaluated; import one "
        f"(planfuse layers import --kind {kind} …) or drop the condition",
        code="layer_missing",
        errors=[{"field": kind, "message": f"no {kind} layer"}],
        title="Layer missing",
    )


def parcel_layer(ctx: PlanFuse, layers: Mapping[str, list[LayerRef]]) -> LayerRef:
    """The candidate parcel layer: `siting_parcel_layer`, else the land-use plan layer (the
    first by id when there are several)."""
    wanted = ctx.settings.siting_parcel_layer
    if wanted:
        for refs in layers.values():
            for ref in refs:
                if ref.layer_id == wanted:
                    return ref
        raise Conflict(
            f"the parcel layer {wanted!r} (setting siting_parcel_layer) has no data; import it "
            "or change the setting",
            code="layer_missing",
            title="Layer missing",
        )
    refs = layers.get(PARCEL_KIND) or []
    if not refs:
        raise missing_layer(PARCEL_KIND, "the candidate parcels")
    return refs[0]


class QueryPlan:
    """What one query reads, resolved against the current layers and checked."""

    def __init__(self, ctx: PlanFuse, query: SitingQuery, cache: SitingCache):
        self.ctx = ctx
        self.query = query
        self.cache = cache
        self.layers = layers_by_kind(ctx)
        self.current = frozenset(
            (r.layer_id, r.version) for refs in self.layers.values() for r in refs
        )
        cache.prune(self.current)
        self.parcel_ref = parcel_layer(ctx, self.layers)
        self.read: dict[str, int] = {self.parcel_ref.layer_id: self.parcel_ref.version}
        self.table = cache.table(ctx, self.parcel_ref)
        self.districts = None
        district_refs = self.layers.get("district") or []
        if district_refs:
            self.districts = cache.districts(ctx, district_refs[0])
            self.district_ref = district_refs[0]
        self.errors: list[dict[str, Any]] = []

    def refs(self, kind: str, why: str) -> tuple[LayerRef, ...]:
        refs = tuple(self.layers.get(kind) or ())
        if not refs:
            raise missing_layer(kind, why)
        return refs

    def source(self, kind: str, refs, where=()) -> Source:
        for ref in refs:
            self.read[ref.layer_id] = ref.version
        return Source(kind, tuple(refs), tuple(where))

    def known_values(self, refs, attribute: str) -> dict[str, frozenset]:
        merged: dict[str, set] = {}
        for ref in refs:
            for value, levels in self.cache.values(self.ctx, ref, attribute).items():
                merged.setdefault(value, set()).update(levels)
        return {k: frozenset(v) for k, v in merged.items()}

    def error(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def check_value(self, field: str, refs, attribute: str, value: str, kind: str) -> None:
        known = self.known_values(refs, attribute)
        if value not in known:
            listed = ", ".join(sorted(known)[:20]) or "none"
            self.error(field, f"no {kind} feature has {attribute} {value!r}; present: {listed}")

    def raise_if_errors(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors[:5])
            raise InvalidInput(detail, code="invalid_siting_request", errors=self.errors)

    def district_name(self, adcode: str | None) -> str | None:
        if adcode is None or self.districts is None:
            return None
        return self.districts.names.get(adcode)
