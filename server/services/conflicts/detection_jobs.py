"""Conflict detection as a background job, and saving a detection: re-detection matches
the new patches to the current ones so coordination history is kept, and records every
change as an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import insert, select, update

from planfuse.context import PlanFuse
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import (
    ConflictRecord,
    Detection,
    check_request,
    merge_detections,
    sliver_rule,
)
from planfuse.services.conflicts.matching import match_patches
from planfuse.services.conflicts.partitions import (
    decode_detection,
    encode_detection,
    partition_count,
    run_partition,
)
from planfuse.services.jobs import JobHandle, PartitionedJob
from planfuse.services.runners import job_runner
from planfuse.storage.models import Conflict, ConflictEvent
from planfuse.storage.models.base import utcnow

JOB_KIND = "conflicts.detect"


#: What a save counts, in the summary's order.
PATCH_COUNTS = ("new", "matched", "updated", "obsolete", "reappeared")
#: Area changes smaller than this (m²) are float noise, not an "updated" event.
AREA_EPSILON_M2 = 0.01
#: New patches inserted per statement.
INSERT_CHUNK = 1000


# --- detection jobs ------------------------------------------------------------------


def job_key(analysis: str) -> str:
    """The job key that allows one detection per analysis at a time."""
    return f"{JOB_KIND}:{analysis}"


def start_detection(
    ctx: PlanFuse, analysis: object, districts: object, actor: Actor
) -> dict[str, Any]:
    """Validate the request and queue a detection job (returned, state `queued`).

    A second detection of the same analysis while one is queued or running is refused
    (a Conflict naming the running job): re-detection replaces the analysis' patches, and two at
    once would race on them.
    """
    checked, selected = check_request(ctx, analysis, districts)
    params = {"analysis": checked.name, "districts": selected, "actor": actor.to_dict()}
    return job_runner(ctx).submit(
        JOB_KIND,
        detection_job,
        params,
        app_id=actor.app_id,
        user=actor.user,
        key=job_key(checked.name),
        shared=True,
    )


def run_detection_now(
    ctx: PlanFuse, analysis: object, districts: object, actor: Actor
) -> dict[str, Any]:
    """Run a detection in the calling thread as a job of its own (the same row, history and
    summary as one started through the API) and return the finished job. For the demo's
    first detections and for scripts; a detection of the same analysis running elsewhere
    is refused as in :func:`start_detection`."""
    import threading

    from planfuse.services.jobs import create_job, get_job, record_outcome, start_job, worker_id

    checked, selected = check_request(ctx, analysis, districts)
    params = {"analysis": checked.name, "districts": selected, "actor": actor.to_dict()}
    job_id = create_job(
        ctx,
        JOB_KIND,
        params,
        app_id=actor.app_id,
        user=actor.user,
        key=job_key(checked.name),
        shared=True,
    )
    started = start_job(ctx, job_id, worker_id())
    if started is not None:
        handle = JobHandle(ctx, job_id, threading.Event())
        record_outcome(ctx, job_id, handle, lambda: detection_job(ctx, handle, started))
    return get_job(ctx, job_id)


def merge_and_save(
    ctx: PlanFuse, handle: JobHandle, params: dict[str, Any], answers: list[Detection]
) -> dict[str, Any]:
    """The job's merge: the partitions' detections as one, matched with the stored patches
    and saved (90–100 %)."""
    detection = merge_detections(answers)
    handle.progress(0.9, "matching with stored patches")
    who = params.get("actor") or {}
    actor = Actor(
        app_id=who.get("app") or "",
        user=who.get("user"),
        name=who.get("name"),
        dept=who.get("dept"),
    )
    return save_detection(ctx, detection, job_id=handle.id, actor=actor, handle=handle)


@dataclass
class _SaveBatch:
    """What saving one detection writes in its one transaction: patch updates, history
    events (each recording who and which job), and the counts of the summary."""

    job_id: str | None
    actor: Actor
    now: datetime
    updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "new": 0,
            "matched": 0,
            "updated": 0,
            "obsolete": 0,
            "reappeared": 0,
        }
    )

    def event(
        self,
        conflict_id: int,
        action: str,
        from_status: str | None,
        to_status: str,
        details: dict[str, Any],
    ) -> None:
        self.events.append(
            {
                "app_id": self.actor.app_id,
                "user": self.actor.user,
                "user_name": self.actor.name,
                "dept": self.actor.dept,
                "job_id": self.job_id,
                "at": self.now,
                "conflict_id": conflict_id,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "details": details,
            }
        )


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
    batch = _SaveBatch(job_id, actor, utcnow())
    records = detection.records
    new_geoms = np.array([r.geom_work for r in records], dtype=object)
    old = _stored_patches(ctx, detection)
    matches = _match(ctx, old, records, new_geoms)
    if handle:
        handle.progress(0.94, "saving")
    stored = _storage_columns(ctx.work, new_geoms)
    _update_matched(batch, old, records, matches, stored, detection.layers)
    _mark_vanished(batch, old, {m.old for m in matches})
    matched_new = {m.new for m in matches}
    fresh = [k for k in range(len(records)) if k not in matched_new]
    batch.counts["new"] = len(fresh)
    _write(ctx, batch, detection, fresh, stored)
    return _summary(detection, batch.counts)


def _stored_patches(ctx: PlanFuse, detection: Detection) -> list:
    """The stored patches of the detection's analysis (and districts), current or not."""
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
    ).where(Conflict.analysis == detection.analysis.name)
    if detection.districts is not None:
        query = query.where(Conflict.district.in_(detection.districts))
    # Read, then write in a separate transaction that starts with a write: SQLite cannot
    # turn a read transaction into a write once another connection (the job's progress
    # and heartbeat) has written. Status changes meanwhile are not lost: detection never
    # writes `status`.
    with ctx.db.session() as session:
        return session.execute(query.order_by(Conflict.id)).all()


def _match(ctx: PlanFuse, old: list, records: Sequence[ConflictRecord], new_geoms: np.ndarray):
    """The stored patch (by position in `old`) each new piece continues, if any."""
    old_geoms = (
        ctx.work.to_work(shapely.from_wkb([r.geom for r in old]))
        if old
        else np.empty(0, dtype=object)
    )
    return match_patches(
        old_geoms,
        np.array([r.type for r in old], dtype=object),
        new_geoms,
        np.array([r.type for r in records], dtype=object),
        min_iou=float(ctx.settings.conflict_match_iou),
        max_symdiff_m2=sliver_rule(ctx)[0],
    )


def _update_matched(
    batch: _SaveBatch,
    old: list,
    records: Sequence[ConflictRecord],
    matches,
    stored: dict[str, np.ndarray],
    layers: dict[str, int],
) -> None:
    """Matched patches take the new geometry and figures; a patch that had vanished
    reappears, one whose area, sliver flag, district or codes changed gets an event."""
    for m in matches:
        row = old[m.old]
        rec = records[m.new]
        batch.updates.append(
            {
                "id": row.id,
                **_record_columns(rec, stored, m.new, layers),
                "current": True,
                "last_job": batch.job_id,
                "updated_at": batch.now,
            }
        )
        batch.counts["matched"] += 1
        changes = _changes(row, rec)
        if not row.current:
            batch.counts["reappeared"] += 1
            action = "reappeared"
        elif changes:
            batch.counts["updated"] += 1
            action = "updated"
        else:
            continue
        details = {"iou": round(m.iou, 4), **changes}
        batch.event(row.id, action, row.status, row.status, details)


def _mark_vanished(batch: _SaveBatch, old: list, matched_old: set[int]) -> None:
    """Current patches no new piece continues become obsolete (kept with their history)."""
    vanished = [old[k] for k in range(len(old)) if k not in matched_old and bool(old[k].current)]
    for row in vanished:
        batch.updates.append(
            {"id": row.id, "current": False, "last_job": batch.job_id, "updated_at": batch.now}
        )
        details = {"area_m2": round(float(row.area_m2), 2)}
        batch.event(row.id, "obsolete", row.status, row.status, details)
    batch.counts["obsolete"] = len(vanished)


def _write(
    ctx: PlanFuse,
    batch: _SaveBatch,
    detection: Detection,
    fresh: list[int],
    stored: dict[str, np.ndarray],
) -> None:
    """Insert the new patches (pending, each with its `detected` event), then the updates and
    events, in one transaction."""
    records = detection.records
    with ctx.db.write_session() as session:
        if fresh:
            rows = [
                {
                    **_record_columns(records[k], stored, k, detection.layers),
                    "analysis": detection.analysis.name,
                    "status": "pending",
                    "current": True,
                    "first_job": batch.job_id,
                    "last_job": batch.job_id,
                    "detected_at": batch.now,
                    "updated_at": batch.now,
                }
                for k in fresh
            ]
            # In chunks: one RETURNING statement over tens of thousands of rows costs
            # quadratic time in SQLAlchemy's result splicing (232 s for 44,608 rows).
            ids = []
            for start in range(0, len(rows), INSERT_CHUNK):
                ids += session.scalars(
                    insert(Conflict).returning(Conflict.id, sort_by_parameter_order=True),
                    rows[start : start + INSERT_CHUNK],
                ).all()
            for conflict_id, k in zip(ids, fresh, strict=True):
                details = {"area_m2": round(records[k].area_m2, 2)}
                batch.event(conflict_id, "detected", None, "pending", details)
        if batch.updates:
            session.execute(update(Conflict), batch.updates)
        if batch.events:
            session.execute(insert(ConflictEvent), batch.events)


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


#: A detection as a job: one partition in a thread of the server process (embedded), or
#: one task per spatial partition on the queue's workers (see `partitions`).
detection_job = PartitionedJob(
    path=f"{__name__}:detection_job",
    parts=partition_count,
    run_part=run_partition,
    encode=encode_detection,
    decode=decode_detection,
    merge=merge_and_save,
)
