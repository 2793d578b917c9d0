"""The partitions of a detection job: how many, one partition's detection, and its answer
as bytes — spatial partitions that run as separate tasks on every `planfuse worker` at
once, each answer stored once, merged into the detection a single process gives
(`detect_partition`, `merge_detections`; the job itself is
`planfuse.services.conflicts.detection_jobs.detection_job`).

How many partitions: about one per ``detect_partition_features`` features of the
analysis' first layer (the left side of its overlays); the in-process runner always runs
one. A partition's answer travels through the database as bytes (`encode_detection`):
JSON for the records' fields and statistics, WKB for their geometries, zlib-compressed.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.services.conflicts.analyses import get_analysis
from planfuse.services.conflicts.detect import (
    ConflictRecord,
    Detection,
    detect_partition,
)
from planfuse.services.jobs import JobHandle
from planfuse.storage.models import Layer, LayerVersion

#: The kind whose features are split into partitions, per analysis (its overlays' left).
PARTITIONED_KIND = {
    "two_plans": "urban_plan",
    "three_lines": "basic_farmland",
    "plan_vs_controls": "land_use_plan",
}
#: Most partitions of one detection (each costs one task and one load of the layers).
MAX_PARTITIONS = 64
_HEADER = struct.Struct("<I")


def partition_count(ctx: PlanFuse, params: dict[str, Any]) -> int:
    """Partitions of a detection: one per ``detect_partition_features`` features of its
    first layer (current versions), at least 1, at most :data:`MAX_PARTITIONS`."""
    per_part = int(ctx.settings.detect_partition_features)
    if per_part <= 0:
        return 1
    kind = PARTITIONED_KIND.get(get_analysis(params["analysis"]).name)
    with ctx.db.session() as session:
        features = session.scalar(
            select(func.coalesce(func.sum(LayerVersion.feature_count), 0))
            .join(Layer, Layer.id == LayerVersion.layer_id)
            .where(Layer.kind == kind, LayerVersion.version == Layer.current_version)
        )
    return max(1, min(MAX_PARTITIONS, math.ceil(int(features or 0) / per_part)))


def run_partition(
    ctx: PlanFuse, handle: JobHandle, params: dict[str, Any], part: int, parts: int
) -> Detection:
    return detect_partition(
        ctx,
        params["analysis"],
        params.get("districts"),
        part,
        parts,
        progress=lambda f, stage: handle.progress(f, stage),
        check=handle.check,
    )


# --- a partition's answer as bytes -------------------------------------------------------

_FIELDS = (
    "type",
    "area_m2",
    "thickness_m",
    "sliver",
    "sliver_reason",
    "district",
    "district_name",
    "sources",
)


def encode_detection(detection: Detection) -> bytes:
    """A partition's detection as bytes (lossless: areas and geometries exact)."""
    records = detection.records
    wkb = shapely.to_wkb(np.array([r.geom_work for r in records], dtype=object), output_dimension=2)
    meta = {
        "analysis": detection.analysis.name,
        "districts": detection.districts,
        "layers": detection.layers,
        "type_stats": detection.type_stats,
        "seconds": detection.seconds,
        "records": [[getattr(r, f) for f in _FIELDS] for r in records],
        "wkb_sizes": [len(w) for w in wkb.tolist()],
    }
    head = orjson.dumps(meta)
    return zlib.compress(_HEADER.pack(len(head)) + head + b"".join(wkb.tolist()), 1)


def decode_detection(blob: bytes) -> Detection:
    raw = zlib.decompress(blob)
    (size,) = _HEADER.unpack_from(raw)
    meta = orjson.loads(raw[_HEADER.size : _HEADER.size + size])
    offset = _HEADER.size + size
    wkb = []
    for n in meta["wkb_sizes"]:
        wkb.append(raw[offset : offset + n])
        offset += n
    geoms = shapely.from_wkb(wkb) if wkb else np.empty(0, dtype=object)
    analysis = get_analysis(meta["analysis"])
    records = [
        ConflictRecord(analysis.name, *values[:1], geoms[k], *values[1:])
        for k, values in enumerate(meta["records"])
    ]
    return Detection(
        analysis=analysis,
        districts=meta["districts"],
        layers=meta["layers"],
        records=records,
        type_stats=meta["type_stats"],
        seconds=meta["seconds"],
    )
