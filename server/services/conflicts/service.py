"""Conflict patches as a shared case list: detection jobs, re-detection that keeps
coordination history, listing and the coordination workflow.

Conflicts and their history are shared by every host app (departments coordinating with
each other is the point); every change records the app and the user who made it.

Workflow (DOMAIN.md): pending 待协调 → coordinating 协调中 → adjusted 已调整 (which plan is
changed) or kept 保留 (with a reason). Any other transition is refused (409). A change
without a new status adds a note or opinions. History is append-only: this module has
no path that updates or deletes it, and the database refuses to (triggers).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, insert, select, update

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError, bad_request, not_found
from planfuse.services.conflicts.analyses import (
    ANALYSES,
    STATUS_TITLES,
    STATUSES,
    get_analysis,
)
from planfuse.services.conflicts.detect import ConflictRecord, Detection, check_request, detect
from planfuse.services.conflicts.matching import match_patches
from planfuse.services.jobs import JobHandle, job_runner
from planfuse.storage.models import Conflict, ConflictEvent
from planfuse.storage.models.base import utcnow

JOB_KIND = "conflicts.detect"

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("coordinating",),
    "coordinating": ("adjusted", "kept"),
    "adjusted": (),
    "kept": (),
}
TEXT_MAX = 2000
#: Area changes smaller than this (m²) are float noise, not an "updated" event.
AREA_EPSILON_M2 = 0.01


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the host app and its user (from the caller)."""

    app_id: str
    user: str | None = None
    name: str | None = None
    dept: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"app": self.app_id, "user": self.user, "name": self.name, "dept": self.dept}


# --- detection jobs ------------------------------------------------------------------


def job_key(analysis: str) -> str:
    """The job key that allows one detection per analysis at a time."""
    return f"{JOB_KIND}:{analysis}"


def start_detection(
    ctx: PlanFuse, analysis: object, districts: object, actor: Actor
) -> dict[str, Any]:
    """Validate the request and queue a detection job (returned, state `queued`).

    A second detection of the same analysis while one is queued or running is refused
    (409 naming the running job): re-detection replaces the analysis' patches, and two at
    once would race on them.
    """
    checked, selected = check_request(ctx, analysis, districts)
    params = {"analysis": checked.name, "districts": selected, "actor": actor.to_dict()}
    return job_runner(ctx).submit(
        JOB_KIND,
        run_detection_job,
        params,
        app_id=actor.app_id,
        user=actor.user,
        key=job_key(checked.name),
        shared=True,
    )


def run_detection_job(ctx: PlanFuse, handle: JobHandle, params: dict[str, Any]) -> dict[str, Any]:
    """The job body: detect (0–90 %), match and save (90–100 %); returns the summary."""
    detection = detect(
        ctx,
        params["analysis"],
        params.get("districts"),
        progress=lambda f, stage: handle.progress(0.9 * f, stage),
        check=handle.check,
    )
    handle.progress(0.9, "matching with stored patches")
    who = params.get("actor") or {}
    actor = Actor(
        app_id=who.get("app") or "",
        user=who.get("user"),
        name=who.get("name"),
        dept=who.get("dept"),
    )
    return save_detection(ctx, detection, job_id=handle.id, actor=actor, handle=handle)


def save_detection(
    ctx: PlanFuse,
    detection: Detection,
    *,
    job_id: str | None,
    actor: Actor,
    handle: JobHandle | None = None,
) -> dict[str, Any]:
    """Store a detection: match its pieces with the stored patches of the same analysis in
    the same districts (see `matching`), update matched ones (status and history kept),
    insert new ones (pending), mark vanished ones obsolete. One transaction."""
    analysis = detection.analysis.name
    work = ctx.work
    records = detection.records
    new_geoms = np.array([r.geom_work for r in records], dtype=object)
    new_types = np.array([r.type for r in records], dtype=object)
    counts = {"new": 0, "matched": 0, "updated": 0, "obsolete": 0, "reappeared": 0}
    now = utcnow()
    query = select(
        Conflict.id,
        Conflict.type,
        Conflict.geom,
        Conflict.current,
        Conflict.status,
        Conflict.area_m2,
        Conflict.sliver,
        Conflict.district,
        Conflict.sources,
    ).where(Conflict.analysis == analysis)
    if detection.districts is not None:
        query = query.where(Conflict.district.in_(detection.districts))
    # Read, then write in a separate transaction that starts with a write: SQLite cannot
    # turn a read transaction into a write once another connection (the job's progress
    # and heartbeat) has written. Status changes meanwhile are not lost: detection never
    # writes `status`.
    with ctx.db.session() as session:
        old = session.execute(query.order_by(Conflict.id)).all()
    old_geoms = (
        work.to_work(shapely.from_wkb([r.geom for r in old])) if old else np.empty(0, dtype=object)
    )
    matches = match_patches(
        old_geoms,
        np.array([r.type for r in old], dtype=object),
        new_geoms,
        new_types,
        min_iou=float(ctx.settings.conflict_match_iou),
        max_symdiff_m2=float(ctx.settings.conflict_sliver_area_m2),
    )
    if handle:
        handle.progress(0.94, "saving")
    stored = _storage_columns(work, new_geoms)
    matched_new = {m.new for m in matches}
    matched_old = {m.old for m in matches}
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    base_event = {
        "app_id": actor.app_id,
        "user": actor.user,
        "user_name": actor.name,
        "dept": actor.dept,
        "job_id": job_id,
        "at": now,
    }
    for m in matches:
        row = old[m.old]
        rec = records[m.new]
        updates.append(
            {
                "id": row.id,
                **_record_columns(rec, stored, m.new, detection.layers),
                "current": True,
                "last_job": job_id,
                "updated_at": now,
            }
        )
        counts["matched"] += 1
        changes = _changes(row, rec)
        if not row.current:
            counts["reappeared"] += 1
            events.append(
                {
                    **base_event,
                    "conflict_id": row.id,
                    "action": "reappeared",
                    "from_status": row.status,
                    "to_status": row.status,
                    "details": {"iou": round(m.iou, 4), **changes},
                }
            )
        elif changes:
            counts["updated"] += 1
            events.append(
                {
                    **base_event,
                    "conflict_id": row.id,
                    "action": "updated",
                    "from_status": row.status,
                    "to_status": row.status,
                    "details": {"iou": round(m.iou, 4), **changes},
                }
            )
    vanished = [old[k] for k in range(len(old)) if k not in matched_old and bool(old[k].current)]
    for row in vanished:
        updates.append({"id": row.id, "current": False, "last_job": job_id, "updated_at": now})
        events.append(
            {
                **base_event,
                "conflict_id": row.id,
                "action": "obsolete",
                "from_status": row.status,
                "to_status": row.status,
                "details": {"area_m2": round(float(row.area_m2), 2)},
            }
        )
    counts["obsolete"] = len(vanished)
    fresh = [k for k in range(len(records)) if k not in matched_new]
    counts["new"] = len(fresh)
    with ctx.db.session() as session:
        if fresh:
            rows = [
                {
                    **_record_columns(records[k], stored, k, detection.layers),
                    "analysis": analysis,
                    "status": "pending",
                    "current": True,
                    "first_job": job_id,
                    "last_job": job_id,
                    "detected_at": now,
                    "updated_at": now,
                }
                for k in fresh
            ]
            ids = session.scalars(
                insert(Conflict).returning(Conflict.id, sort_by_parameter_order=True), rows
            ).all()
            for conflict_id, k in zip(ids, fresh, strict=True):
                events.append(
                    {
                        **base_event,
                        "conflict_id": conflict_id,
                        "action": "detected",
                        "from_status": None,
                        "to_status": "pending",
                        "details": {"area_m2": round(records[k].area_m2, 2)},
                    }
                )
        if updates:
            session.execute(update(Conflict), updates)
        if events:
            session.execute(insert(ConflictEvent), events)
    return _summary(detection, counts)


def _storage_columns(work, geoms_work: np.ndarray) -> dict[str, np.ndarray]:
    if len(geoms_work) == 0:
        return {"wkb": np.empty(0, dtype=object), "bounds": np.empty((0, 4))}
    stored = work.to_storage(geoms_work)
    return {"wkb": shapely.to_wkb(stored, output_dimension=2), "bounds": shapely.bounds(stored)}


def _record_columns(
    rec: ConflictRecord, stored: dict[str, np.ndarray], k: int, layers: dict[str, int]
) -> dict[str, Any]:
    minx, miny, maxx, maxy = (float(v) for v in stored["bounds"][k])
    return {
        "type": rec.type,
        # Stored as shown (0.01 m²), so the list order (area, then id) is the order a reader
        # sees; the ledger's 0.01 ha is 10,000 times coarser.
        "area_m2": round(rec.area_m2, 2),
        "thickness_m": round(rec.thickness_m, 3),
        "sliver": rec.sliver,
        "sliver_reason": rec.sliver_reason,
        "district": rec.district,
        "district_name": rec.district_name,
        "sources": rec.sources,
        "layers": layers,
        "geom": stored["wkb"][k],
        "minx": minx,
        "miny": miny,
        "maxx": maxx,
        "maxy": maxy,
    }


def _codes(sources: Sequence[Mapping[str, Any]] | None) -> list[tuple[Any, Any]]:
    return [(s.get("kind"), s.get("code")) for s in sources or []]


def _changes(row, rec: ConflictRecord) -> dict[str, Any]:
    """What a re-detection changed in a matched patch (empty: nothing worth an event)."""
    changes: dict[str, Any] = {}
    if abs(float(row.area_m2) - rec.area_m2) >= AREA_EPSILON_M2:
        changes["area_m2"] = [round(float(row.area_m2), 2), round(rec.area_m2, 2)]
    if bool(row.sliver) != rec.sliver:
        changes["sliver"] = [bool(row.sliver), rec.sliver]
    if row.district != rec.district:
        changes["district"] = [row.district, rec.district]
    if _codes(row.sources) != _codes(rec.sources):
        changes["codes"] = [
            [c for _, c in _codes(row.sources)],
            [c for _, c in _codes(rec.sources)],
        ]
    return changes


def _summary(detection: Detection, counts: dict[str, int]) -> dict[str, Any]:
    stats = detection.type_stats
    conflict_types = [t.code for t in detection.analysis.conflict_types]
    conflicts = {
        "count": int(sum(stats[c]["count"] for c in conflict_types)),
        "area_m2": round(sum(stats[c]["area_m2"] for c in conflict_types), 2),
    }
    slivers = {
        "count": int(sum(stats[c]["sliver_count"] for c in conflict_types)),
        "area_m2": round(sum(stats[c]["sliver_area_m2"] for c in conflict_types), 2),
    }
    return {
        "analysis": detection.analysis.name,
        "districts": detection.districts,
        "layers": detection.layers,
        "conflicts": conflicts,
        "slivers": slivers,
        "by_type": {
            code: {k: (round(v, 2) if isinstance(v, float) else int(v)) for k, v in s.items()}
            for code, s in stats.items()
        },
        "patches": counts,
        "seconds": detection.seconds,
    }


# --- reading -------------------------------------------------------------------------


def conflict_options(ctx: PlanFuse) -> dict[str, Any]:
    """What a client needs to offer choices: analyses with their types and input kinds,
    statuses with the allowed transitions, the districts, the ledgers, the coordinator
    role, and the detection job running per analysis (so a page opened mid-run shows it)."""
    from planfuse.services.conflicts.districts import load_districts
    from planfuse.services.jobs import find_active_job
    from planfuse.services.layer_data import layers_by_kind
    from planfuse.services.ledgers import ledger_names

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
        "sliver": {
            "area_m2": float(ctx.settings.conflict_sliver_area_m2),
            "thinness_m": float(ctx.settings.conflict_sliver_thinness_m),
        },
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
    raise bad_request(f"`{name}` must be true or false, not {value!r}", field=name)


def _int(name: str, value: Any, default: int, lo: int, hi: int | None = None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise bad_request(f"`{name}` must be an integer, not {value!r}", field=name) from None
    if number < lo or (hi is not None and number > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad_request(f"`{name}` must be {limit}, not {number}", field=name)
    return number


def parse_query(ctx: PlanFuse, args: Mapping[str, Any]) -> ConflictQuery:
    """Validate list filters from a query string: 400 naming the bad parameter."""
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
        raise bad_request(
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
            raise bad_request(
                f"conflict type {t!r} is unknown"
                + (f" for analysis {analysis!r}" if analysis else "")
                + f"; expected one of {', '.join(sorted(valid_types))}",
                field="type",
                code="unknown_type",
            )
    statuses = _split(args.get("status"))
    for s in statuses:
        if s not in STATUSES:
            raise bad_request(
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
            raise bad_request(
                f"`min_area` must be a number of m², not {min_area!r}", field="min_area"
            ) from None
        if not np.isfinite(min_area_m2) or min_area_m2 < 0:
            raise bad_request("`min_area` must be a finite number ≥ 0 (m²)", field="min_area")
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
    400 problem naming the total (offset 0 of an empty list is an empty page).
    """
    with ctx.db.session() as session:
        total = session.scalar(select(func.count()).select_from(Conflict).where(*_filters(q)))
        sliver_total = session.scalar(
            select(func.count()).select_from(Conflict).where(*_filters(q, sliver=True))
        )
        if q.offset and q.offset >= total:
            raise bad_request(
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
            raise not_found("conflict", conflict_id)
        return conflict_dict(row, locale=locale)


def conflict_district(ctx: PlanFuse, conflict_id: int) -> str | None:
    """The district of a conflict (404 if unknown): for locked-district checks."""
    with ctx.db.session() as session:
        row = session.execute(
            select(Conflict.id, Conflict.district).where(Conflict.id == conflict_id)
        ).first()
    if row is None:
        raise not_found("conflict", conflict_id)
    return row.district


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
            raise not_found("conflict", conflict_id)
        events = session.scalars(
            select(ConflictEvent)
            .where(ConflictEvent.conflict_id == conflict_id)
            .order_by(ConflictEvent.id)
        ).all()
        return [event_dict(e) for e in events]


# --- the workflow --------------------------------------------------------------------

CHANGE_FIELDS = (
    "status",
    "note",
    "district_opinion",
    "municipal_opinion",
    "effective_date",
    "plan_changed",
    "reason",
    "user",
)


@dataclass(frozen=True)
class StatusChange:
    status: str | None
    note: str | None
    district_opinion: str | None
    municipal_opinion: str | None
    effective_date: str | None
    plan_changed: str | None
    reason: str | None


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"`{name}` must be text", field=name)
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise bad_request(f"`{name}` is longer than {TEXT_MAX} characters", field=name)
    return value or None


def parse_change(body: Any) -> StatusChange:
    """Validate a PATCH body (400 naming the bad field)."""
    if not isinstance(body, dict):
        raise bad_request('send a JSON object, e.g. {"status": "coordinating", "note": …}')
    unknown = sorted(set(body) - set(CHANGE_FIELDS))
    if unknown:
        raise bad_request(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(CHANGE_FIELDS)}",
            field=unknown[0],
        )
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise bad_request(
            f"status {status!r} is unknown; expected one of {', '.join(STATUSES)}",
            field="status",
            code="unknown_status",
        )
    effective = _text(body, "effective_date")
    if effective is not None:
        try:
            effective = dt.date.fromisoformat(effective).isoformat()
        except ValueError:
            raise bad_request(
                f"`effective_date` must be a date YYYY-MM-DD, not {effective!r}",
                field="effective_date",
            ) from None
    change = StatusChange(
        status=status,
        note=_text(body, "note"),
        district_opinion=_text(body, "district_opinion"),
        municipal_opinion=_text(body, "municipal_opinion"),
        effective_date=effective,
        plan_changed=_text(body, "plan_changed"),
        reason=_text(body, "reason"),
    )
    if status is None and not any(
        (change.note, change.district_opinion, change.municipal_opinion, change.effective_date)
    ):
        raise bad_request(
            "nothing to change: send a `status` with a `note`, or a `note` / opinion to add",
            field="status",
        )
    return change


def _lock_conflict(session, conflict_id: int) -> None:
    """Take the write lock before reading: the row on PostgreSQL (SELECT … FOR UPDATE),
    the database on SQLite (a no-op UPDATE; a SQLite read transaction cannot become a
    write once another connection has written)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Conflict)
            .where(Conflict.id == conflict_id)
            .values(updated_at=Conflict.updated_at)
        )
    else:
        session.execute(select(Conflict.id).where(Conflict.id == conflict_id).with_for_update())


def change_status(
    ctx: PlanFuse, conflict_id: int, change: StatusChange, actor: Actor, locale: str = "zh-CN"
) -> dict[str, Any]:
    """Apply a workflow step (or add a note) and append it to the history.

    Refused: an illegal transition (409 naming the allowed ones), a patch that no longer
    exists in the newest detection (409), a status change without a note, `adjusted`
    without `plan_changed` (one of the patch's source kinds), `kept` without `reason`
    (400). A concurrent change of the same patch makes the later one 409.
    """
    with ctx.db.session() as session:
        _lock_conflict(session, conflict_id)
        row = session.get(Conflict, conflict_id)
        if row is None:
            raise not_found("conflict", conflict_id)
        current_status = row.status
        new_status = change.status
        if new_status is not None:
            if not row.current:
                raise ProblemError(
                    409,
                    "conflict_obsolete",
                    f"conflict {conflict_id} no longer exists in the newest detection "
                    "(obsolete); its status cannot change",
                    title="Conflict obsolete",
                )
            allowed = TRANSITIONS.get(current_status, ())
            if new_status not in allowed:
                nexts = ", ".join(allowed) or "none (the decision is final)"
                raise ProblemError(
                    409,
                    "illegal_transition",
                    f"conflict {conflict_id} is {current_status!r}; it cannot become "
                    f"{new_status!r}. Allowed next: {nexts}",
                    title="Illegal status transition",
                    errors=[{"field": "status", "message": f"allowed next: {nexts}"}],
                )
            if not change.note:
                raise bad_request(
                    "a status change needs a `note` saying why", field="note", code="note_required"
                )
        values: dict[str, Any] = {"updated_at": utcnow()}
        if new_status == "adjusted":
            kinds = [s.get("kind") for s in row.sources or [] if s.get("kind")]
            if change.plan_changed not in kinds:
                raise bad_request(
                    "`adjusted` needs `plan_changed`: the plan that changes, one of "
                    f"{', '.join(kinds)}",
                    field="plan_changed",
                    code="plan_changed_required",
                )
            values["plan_changed"] = change.plan_changed
        elif change.plan_changed is not None:
            raise bad_request(
                "`plan_changed` is only given with status `adjusted`", field="plan_changed"
            )
        if new_status == "kept":
            if not change.reason:
                raise bad_request(
                    "`kept` needs a `reason` why the difference stays",
                    field="reason",
                    code="reason_required",
                )
            values["reason"] = change.reason
        elif change.reason is not None:
            raise bad_request("`reason` is only given with status `kept`", field="reason")
        if new_status is not None:
            values["status"] = new_status
            # Compare-and-set: a concurrent change of the same patch loses, not overwrites.
            done = session.execute(
                update(Conflict)
                .where(Conflict.id == conflict_id, Conflict.status == current_status)
                .values(**values)
            ).rowcount
            if not done:
                raise ProblemError(
                    409,
                    "concurrent_change",
                    f"conflict {conflict_id} changed meanwhile; reload it and try again",
                    title="Changed meanwhile",
                )
        session.execute(
            insert(ConflictEvent).values(
                conflict_id=conflict_id,
                action="status" if new_status is not None else "note",
                from_status=current_status,
                to_status=new_status or current_status,
                note=change.note,
                district_opinion=change.district_opinion,
                municipal_opinion=change.municipal_opinion,
                effective_date=change.effective_date,
                plan_changed=change.plan_changed,
                reason=change.reason,
                app_id=actor.app_id,
                user=actor.user,
                user_name=actor.name,
                dept=actor.dept,
                at=utcnow(),
            )
        )
    return get_conflict(ctx, conflict_id, locale)
