"""Reading conflicts: the choices a client offers, the list with its filters, one conflict
and its history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.conflicts.analyses import (
    ANALYSES,
    STATUS_TITLES,
    STATUSES,
    TRANSITIONS,
    get_analysis,
)
from planfuse.services.conflicts.detect import sliver_rule
from planfuse.services.conflicts.detection_jobs import job_key
from planfuse.storage.models import Conflict, ConflictEvent

# --- reading -------------------------------------------------------------------------


def conflict_options(ctx: PlanFuse) -> dict[str, Any]:
    """What a client needs to offer choices: analyses with their types and input kinds,
    statuses with the allowed transitions, the districts, the ledgers, the coordinator
    role, and the detection job running per analysis (so a page opened mid-run shows it)."""
    from planfuse.services.conflicts.districts import load_districts
    from planfuse.services.jobs import find_active_job
    from planfuse.services.layers.data import layers_by_kind
    from planfuse.services.ledgers.definitions import ledger_names

    districts = load_districts(ctx)
    loaded = layers_by_kind(ctx)
    return {
        "analyses": [
            {**a.to_dict(), "missing": [k for k in a.kinds if not loaded.get(k)]}
            for a in ANALYSES.values()
        ],
        "statuses": [
            {"code": code, "title": {"zh-CN": zh, "en": en}, "next": list(TRANSITIONS[code])}
            for code, (zh, en) in STATUS_TITLES.items()
        ],
        "districts": []
        if districts is None
        else sorted(
            (
                {"adcode": a, "name": n}
                for a, n in zip(districts.adcodes.tolist(), districts.names.tolist(), strict=True)
            ),
            key=lambda d: d["adcode"],
        ),
        "ledgers": ledger_names(),
        "coordinator_role": ctx.settings.conflict_coordinator_role,
        "sliver": dict(zip(("area_m2", "thinness_m"), sliver_rule(ctx), strict=True)),
        "running": {
            name: job
            for name in ANALYSES
            if (job := find_active_job(ctx, job_key(name))) is not None
        },
    }


@dataclass
class ConflictQuery:
    """Filters and paging of `GET /conflicts` (already validated; see `parse_query`)."""

    analysis: str | None = None
    types: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    min_area_m2: float | None = None
    sliver: bool = False
    current: bool | None = True
    limit: int = 50
    offset: int = 0
    geometry: bool = True


ALL_TYPES = {t.code for a in ANALYSES.values() for t in a.types}


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return [i.strip() for i in items if i.strip()]


def _bool(name: str, value: Any, default: bool | None) -> bool | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise InvalidInput(f"`{name}` must be true or false, not {value!r}", field=name)


def _int(name: str, value: Any, default: int, lo: int, hi: int | None = None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"`{name}` must be an integer, not {value!r}", field=name) from None
    if number < lo or (hi is not None and number > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise InvalidInput(f"`{name}` must be {limit}, not {number}", field=name)
    return number


def parse_query(ctx: PlanFuse, args: Mapping[str, Any]) -> ConflictQuery:
    """Validate list filters from a query string: InvalidInput naming the bad parameter."""
    known = {
        "analysis",
        "type",
        "district",
        "status",
        "min_area",
        "sliver",
        "current",
        "limit",
        "offset",
        "geometry",
    }
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}",
            field=unknown[0],
        )
    analysis = args.get("analysis") or None
    if analysis is not None:
        analysis = get_analysis(analysis).name
    types = _split(args.get("type"))
    valid_types = (
        {t.code for t in ANALYSES[analysis].conflict_types}
        if analysis
        else {t.code for a in ANALYSES.values() for t in a.conflict_types}
    )
    for t in types:
        if t not in valid_types:
            raise InvalidInput(
                f"conflict type {t!r} is unknown"
                + (f" for analysis {analysis!r}" if analysis else "")
                + f"; expected one of {', '.join(sorted(valid_types))}",
                field="type",
                code="unknown_type",
            )
    statuses = _split(args.get("status"))
    for s in statuses:
        if s not in STATUSES:
            raise InvalidInput(
                f"status {s!r} is unknown; expected one of {', '.join(STATUSES)}",
                field="status",
                code="unknown_status",
            )
    min_area = args.get("min_area")
    min_area_m2 = None
    if min_area not in (None, ""):
        try:
            min_area_m2 = float(str(min_area))
        except ValueError:
            raise InvalidInput(
                f"`min_area` must be a number of m², not {min_area!r}", field="min_area"
            ) from None
        if not np.isfinite(min_area_m2) or min_area_m2 < 0:
            raise InvalidInput("`min_area` must be a finite number ≥ 0 (m²)", field="min_area")
    current_raw = args.get("current")
    current = None if current_raw == "all" else _bool("current", current_raw, True)
    districts = _split(args.get("district"))
    if districts:
        from planfuse.services.conflicts.districts import check_district_codes, load_districts

        district_set = load_districts(ctx)
        if district_set is not None:
            districts = check_district_codes(district_set, districts, "district")
    return ConflictQuery(
        analysis=analysis,
        types=tuple(types),
        districts=tuple(districts),
        statuses=tuple(statuses),
        min_area_m2=min_area_m2,
        sliver=bool(_bool("sliver", args.get("sliver"), False)),
        current=current,
        limit=_int("limit", args.get("limit"), 50, 1, int(ctx.settings.conflicts_limit_max)),
        offset=_int("offset", args.get("offset"), 0, 0),
        geometry=bool(_bool("geometry", args.get("geometry"), True)),
    )


def _filters(q: ConflictQuery, *, sliver: bool | None = None) -> list[Any]:
    where = []
    if q.analysis:
        where.append(Conflict.analysis == q.analysis)
    if q.types:
        where.append(Conflict.type.in_(q.types))
    if q.districts:
        where.append(Conflict.district.in_(q.districts))
    if q.statuses:
        where.append(Conflict.status.in_(q.statuses))
    if q.min_area_m2 is not None:
        where.append(Conflict.area_m2 >= q.min_area_m2)
    if q.current is not None:
        where.append(Conflict.current.is_(q.current))
    where.append(Conflict.sliver.is_(q.sliver if sliver is None else sliver))
    return where


def list_conflicts(ctx: PlanFuse, q: ConflictQuery, locale: str = "zh-CN") -> dict[str, Any]:
    """A page of conflicts, area descending then id, with the total matching.

    Slivers are listed only with ``sliver=True`` (and then only slivers); ``sliver_total``
    always says how many slivers the same filters hold. An ``offset`` past the end is a
    InvalidInput naming the total (offset 0 of an empty list is an empty page).
    """
    with ctx.db.session() as session:
        total = session.scalar(select(func.count()).select_from(Conflict).where(*_filters(q)))
        sliver_total = session.scalar(
            select(func.count()).select_from(Conflict).where(*_filters(q, sliver=True))
        )
        if q.offset and q.offset >= total:
            raise InvalidInput(
                f"offset {q.offset} is past the end: {total} conflict(s) match; use an offset "
                f"below {total}",
                field="offset",
                code="offset_out_of_range",
            )
        rows = session.scalars(
            select(Conflict)
            .where(*_filters(q))
            .order_by(Conflict.area_m2.desc(), Conflict.id.asc())
            .limit(q.limit)
            .offset(q.offset)
        ).all()
        items = [conflict_dict(r, geometry=q.geometry, locale=locale) for r in rows]
    return {
        "conflicts": items,
        "total": int(total),
        "sliver_total": int(sliver_total),
        "limit": q.limit,
        "offset": q.offset,
    }


def conflict_dict(row: Conflict, *, geometry: bool = True, locale: str = "zh-CN") -> dict[str, Any]:
    """The API representation of a conflict patch (geometry: GeoJSON in EPSG:4490)."""
    analysis = ANALYSES.get(row.analysis)
    try:
        type_title = analysis.type(row.type).title(locale) if analysis else row.type
    except KeyError:
        type_title = row.type
    status_titles = STATUS_TITLES.get(row.status, (row.status, row.status))
    out: dict[str, Any] = {
        "id": row.id,
        "analysis": row.analysis,
        "type": row.type,
        "type_name": type_title,
        "area_m2": round(float(row.area_m2), 2),
        "thickness_m": round(float(row.thickness_m), 3),
        "sliver": bool(row.sliver),
        "sliver_reason": row.sliver_reason,
        "district": row.district,
        "district_name": row.district_name,
        "status": row.status,
        "status_name": status_titles[1 if locale == "en" else 0],
        "plan_changed": row.plan_changed,
        "reason": row.reason,
        "current": bool(row.current),
        "sources": row.sources or [],
        "layers": row.layers or {},
        "bbox": [row.minx, row.miny, row.maxx, row.maxy],
        "detected_at": _iso(row.detected_at),
        "updated_at": _iso(row.updated_at),
    }
    if geometry:
        out["geometry"] = json.loads(shapely.to_geojson(shapely.from_wkb(row.geom)))
    return out


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def get_conflict(ctx: PlanFuse, conflict_id: int, locale: str = "zh-CN") -> dict[str, Any]:
    with ctx.db.session() as session:
        row = session.get(Conflict, conflict_id)
        if row is None:
            raise NotFound("conflict", conflict_id)
        return conflict_dict(row, locale=locale)


def conflict_scope(ctx: PlanFuse, conflict_id: int) -> tuple[str | None, str]:
    """The district and analysis of a conflict (NotFound if unknown): what a locked
    widget's scope check compares against its `districts` and `analysis` locks."""
    with ctx.db.session() as session:
        row = session.execute(
            select(Conflict.district, Conflict.analysis).where(Conflict.id == conflict_id)
        ).first()
    if row is None:
        raise NotFound("conflict", conflict_id)
    return row.district, row.analysis


def event_dict(e: ConflictEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "note": e.note,
        "district_opinion": e.district_opinion,
        "municipal_opinion": e.municipal_opinion,
        "effective_date": e.effective_date,
        "plan_changed": e.plan_changed,
        "reason": e.reason,
        "details": e.details,
        "by": {"app": e.app_id, "user": e.user, "name": e.user_name, "dept": e.dept},
        "job": e.job_id,
        "at": _iso(e.at),
    }


def conflict_history(ctx: PlanFuse, conflict_id: int) -> list[dict[str, Any]]:
    """The patch's history, oldest first."""
    with ctx.db.session() as session:
        if session.get(Conflict, conflict_id) is None:
            raise NotFound("conflict", conflict_id)
        events = session.scalars(
            select(ConflictEvent)
            .where(ConflictEvent.conflict_id == conflict_id)
            .order_by(ConflictEvent.id)
        ).all()
        return [event_dict(e) for e in events]
