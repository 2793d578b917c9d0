"""Pre-study (预研预控): can a reserve project land, and what would it take?

With a red line: the compliance check (stored, so its report id is evidence), the plan
conflicts that touch it, and on today's land-use status (`land_use_status`) how much of it
is new construction land (it consumes the district's yearly 新增建设用地指标) and how much
is farmland (耕地, 占补平衡). Without one: a siting search from the project's type, class,
size and district, then the pre-study of the best candidates.

The outcome is `landable` (可落地), `needs_adjustment` (需调整: each reason says which change —
a smaller red line, a plan revision, an approval — and by how many m²) or `not_landable`
(不可落地). Every reason names its layer(s), the features and the measured figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import Conflict as ConflictError
from planfuse.services.compliance.check import check
from planfuse.services.compliance.redline import parse_red_line
from planfuse.services.compliance.rulesets import get_ruleset
from planfuse.services.layers.data import current_layers, data_versions, layer_index
from planfuse.services.layers.land_use import is_construction
from planfuse.services.siting.query import MAX_EXCLUDE
from planfuse.services.siting.search import search
from planfuse.storage.models import Conflict

OUTCOMES = ("landable", "needs_adjustment", "not_landable")
OUTCOME_NAMES = {
    "landable": {"zh-CN": "可落地", "en": "Landable"},
    "needs_adjustment": {"zh-CN": "需调整", "en": "Needs adjustment"},
    "not_landable": {"zh-CN": "不可落地", "en": "Not landable"},
}
STATUS_KIND = "land_use_status"
#: 耕地 (cultivated land) in the 用地用海 classification: what 占补平衡 balances.
FARMLAND_PREFIX = "01"
#: Unresolved conflict statuses: such a patch must be coordinated before the project.
OPEN_CONFLICTS = ("pending", "coordinating")
RULE_LAYERS = {
    "basic_farmland": "永久基本农田",
    "ecological_redline": "生态保护红线",
    "urban_boundary": "城镇开发边界",
    "land_use_plan": "国土空间规划",
    "sensitive_zone": "敏感区",
    "control_line": "控制线",
}


@dataclass(frozen=True)
class StudySubject:
    """What a pre-study reads of a project."""

    name: str
    project_type: str
    land_use: str
    district: str
    area_m2: float
    geometry: Any = None
    crs: str | None = None
    project_ref: str | None = None


def worst(outcomes: list[str]) -> str:
    """The most restrictive outcome (landable when there is none)."""
    return max(outcomes, key=OUTCOMES.index, default="landable")


def _m2(value: float) -> str:
    return f"{value:,.2f}"


def _reason(
    code: str,
    outcome: str,
    item: dict[str, Any] | None,
    layers: list[str],
    measured: dict[str, Any],
    zh: str,
    en: str,
    adjustment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "outcome": outcome,
        "rule": item["rule"] if item else None,
        "status": item["status"] if item else None,
        "layers": layers,
        "features": [
            {"layer": f["layer"], "fid": f["fid"], "overlap_area_m2": f["overlap_area_m2"]}
            for f in (item or {}).get("features", [])[:20]
        ],
        "measured": measured,
        "message": {"zh-CN": zh, "en": en},
        "adjustment": adjustment,
    }


def _item_layers(report: dict[str, Any], item: dict[str, Any]) -> list[str]:
    named = sorted({f["layer"] for f in item.get("features", [])})
    return named or [ly["layer"] for ly in report["layers"] if ly["kind"] == item["rule"]]


def _shrink_or_not(
    item: dict[str, Any], layers: list[str], red_area: float, needed: float, what_zh: str
) -> dict[str, Any]:
    """A red line on a no-build area: shrinking it off that area is an adjustment while
    what remains still holds the land needed; otherwise the site cannot take it."""
    overlap = float(item["overlap_area_m2"])
    remaining = red_area - overlap
    measured = {"overlap_area_m2": overlap, "red_line_area_m2": red_area, "needed_m2": needed}
    if remaining >= needed:
        return _reason(
            f"{item['rule']}_overlap",
            "needs_adjustment",
            item,
            layers,
            measured,
            f"红线与{what_zh}重叠 {_m2(overlap)} m²：缩小红线 {_m2(overlap)} m² 后剩余 "
            f"{_m2(remaining)} m²，仍满足用地需求 {_m2(needed)} m²。",
            f"The red line overlaps the {item['rule']} layer by {_m2(overlap)} m²: shrinking it "
            f"by {_m2(overlap)} m² leaves {_m2(remaining)} m², enough for the "
            f"{_m2(needed)} m² needed.",
            {"kind": "shrink_red_line", "area_m2": overlap, "remaining_m2": round(remaining, 2)},
        )
    return _reason(
        f"{item['rule']}_overlap",
        "not_landable",
        item,
        layers,
        measured,
        f"红线与{what_zh}重叠 {_m2(overlap)} m²，避让后仅剩 {_m2(remaining)} m²，不足用地需求 "
        f"{_m2(needed)} m²。",
        f"The red line overlaps the {item['rule']} layer by {_m2(overlap)} m²; without it only "
        f"{_m2(remaining)} m² remain, less than the {_m2(needed)} m² needed.",
    )


def compliance_reasons(
    report: dict[str, Any], needed: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The reasons (and the notes that do not change the outcome) a compliance report
    gives for the pre-study."""
    red_area = float(report["project_area_m2"])
    reasons: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for item in report["items"]:
        rule, status = item["rule"], item["status"]
        layers = _item_layers(report, item)
        overlap = float(item["overlap_area_m2"])
        what = RULE_LAYERS.get(rule, rule)
        if status == "not_checked":
            notes.append(
                _reason(
                    f"{rule}_not_checked",
                    "landable",
                    item,
                    layers,
                    {},
                    f"未加载{what}图层，未检查。",
                    f"No {rule} layer is loaded: not checked.",
                )
            )
        elif status in ("pass", "info"):
            continue
        elif rule in ("basic_farmland", "ecological_redline") and status == "fail":
            reasons.append(
                _reason(
                    f"on_{rule}",
                    "not_landable",
                    item,
                    layers,
                    {"overlap_area_m2": overlap, "overlap_ratio": item["overlap_ratio"]},
                    f"红线占用{what} {_m2(overlap)} m²，不得占用：须另行选址。",
                    f"The red line occupies {_m2(overlap)} m² of {rule}, which may not be "
                    "built on: another site is needed.",
                )
            )
        elif status in ("needs_approval", "needs_review"):
            kind = "approval" if status == "needs_approval" else "review"
            procedure = "报批" if kind == "approval" else "论证"
            reasons.append(
                _reason(
                    f"{rule}_{kind}",
                    "needs_adjustment",
                    item,
                    layers,
                    {"overlap_area_m2": overlap, "overlap_ratio": item["overlap_ratio"]},
                    f"红线涉及{what} {_m2(overlap)} m²：须按程序{procedure}后方可落地。",
                    f"The red line touches {_m2(overlap)} m² of {rule}: it lands only after the "
                    f"{kind} procedure.",
                    {"kind": kind, "area_m2": overlap},
                )
            )
        elif rule == "urban_boundary" and status in ("warn", "fail"):
            details = item.get("details") or {}
            inside = float(details.get("inside_area_m2", overlap))
            outside = float(details.get("outside_area_m2", red_area - overlap))
            measured = {"inside_area_m2": inside, "outside_area_m2": outside, "needed_m2": needed}
            if inside >= needed:
                reasons.append(
                    _reason(
                        "outside_urban_boundary",
                        "needs_adjustment",
                        item,
                        layers,
                        measured,
                        f"红线有 {_m2(outside)} m² 位于城镇开发边界外：缩小红线 {_m2(outside)} m²，"
                        f"保留边界内 {_m2(inside)} m²（满足用地需求 {_m2(needed)} m²）即可落地。",
                        f"{_m2(outside)} m² of the red line lie outside the urban development "
                        f"boundary: shrinking it by {_m2(outside)} m² to the {_m2(inside)} m² "
                        f"inside (the {_m2(needed)} m² needed fit) makes it landable.",
                        {
                            "kind": "shrink_red_line",
                            "area_m2": outside,
                            "remaining_m2": inside,
                        },
                    )
                )
            else:
                reasons.append(
                    _reason(
                        "outside_urban_boundary",
                        "needs_adjustment",
                        item,
                        layers,
                        measured,
                        f"红线有 {_m2(outside)} m² 位于城镇开发边界外，边界内仅 {_m2(inside)} m²，"
                        f"不足用地需求：须调整城镇开发边界 {_m2(outside)} m²。",
                        f"{_m2(outside)} m² of the red line lie outside the urban development "
                        f"boundary and only {_m2(inside)} m² inside, less than needed: the "
                        f"boundary must be revised by {_m2(outside)} m².",
                        {"kind": "revise_urban_boundary", "area_m2": outside},
                    )
                )
        elif rule == "land_use_plan" and status == "fail":
            codes = sorted({str(f["attributes"].get("code")) for f in item.get("features", [])})
            reasons.append(
                _reason(
                    "land_use_plan_mismatch",
                    "needs_adjustment",
                    item,
                    layers,
                    {"overlap_area_m2": overlap, "planned_codes": codes},
                    f"红线内 {_m2(overlap)} m² 的规划用途（{'、'.join(codes)}）与项目用途不符："
                    f"须修改国土空间规划 {_m2(overlap)} m²。",
                    f"{_m2(overlap)} m² of the red line are planned for other uses "
                    f"({', '.join(codes)}): the land-use plan must be revised by "
                    f"{_m2(overlap)} m².",
                    {"kind": "revise_land_use_plan", "area_m2": overlap, "from_codes": codes},
                )
            )
        elif status == "fail":
            reasons.append(_shrink_or_not(item, layers, red_area, needed, what))
        else:  # warn on sensitive zones and the like: it lands, with care
            notes.append(
                _reason(
                    f"{rule}_{status}",
                    "landable",
                    item,
                    layers,
                    {"overlap_area_m2": overlap},
                    f"{what}：{item['reason']['zh-CN'] if item.get('reason') else status}",
                    f"{rule}: {item['reason']['en'] if item.get('reason') else status}",
                )
            )
    return reasons, notes


def touching_conflicts(ctx: PlanFuse, red_work, red_4490, tol: float = 1.0) -> list[dict[str, Any]]:
    """Unresolved, non-sliver conflict patches that the red line overlaps (more than `tol`
    m²), with the overlap in m²."""
    minx, miny, maxx, maxy = red_4490.bounds
    with ctx.db.session() as session:
        rows = session.execute(
            select(
                Conflict.id,
                Conflict.analysis,
                Conflict.type,
                Conflict.status,
                Conflict.area_m2,
                Conflict.geom,
            ).where(
                Conflict.current.is_(True),
                Conflict.sliver.is_(False),
                Conflict.status.in_(OPEN_CONFLICTS),
                Conflict.minx <= maxx,
                Conflict.maxx >= minx,
                Conflict.miny <= maxy,
                Conflict.maxy >= miny,
            )
        ).all()
    if not rows:
        return []
    geoms = ctx.work.to_work(shapely.from_wkb(np.array([r.geom for r in rows], dtype=object)))
    overlaps = shapely.area(shapely.intersection(geoms, red_work))
    out = []
    for row, overlap in zip(rows, overlaps.tolist(), strict=True):
        if overlap > tol:
            out.append(
                {
                    "id": row.id,
                    "analysis": row.analysis,
                    "type": row.type,
                    "status": row.status,
                    "area_m2": round(row.area_m2, 2),
                    "overlap_area_m2": round(overlap, 2),
                }
            )
    return out


def status_figures(ctx: PlanFuse, red_work) -> dict[str, Any] | None:
    """On the current land-use status layer: the red line's new construction land (on
    non-construction codes) and farmland (耕地, codes 01…), m²; None without that layer."""
    refs = current_layers(ctx, [STATUS_KIND])
    if not refs:
        return None
    ref = refs[0]
    index = layer_index(ctx, ref)
    positions = index.query(red_work)
    codes = index.attributes.get("code")
    new = farm = covered = 0.0
    if positions.size:
        pieces = shapely.intersection(index.geometries[positions], red_work)
        areas = shapely.area(pieces)
        for pos, area in zip(positions.tolist(), areas.tolist(), strict=True):
            code = str(codes[pos]) if codes is not None and codes[pos] is not None else ""
            covered += area
            if not is_construction(code):
                new += area
            if code.startswith(FARMLAND_PREFIX):
                farm += area
    return {
        "layer": ref.layer_id,
        "version": ref.version,
        "new_construction_land_m2": round(new, 2),
        "farmland_m2": round(farm, 2),
        "covered_m2": round(covered, 2),
    }


def study_red_line(
    ctx: PlanFuse, subject: StudySubject, geometry: Any, crs: str | None, caller: Any = None
) -> dict[str, Any]:
    """The pre-study of one red line (the project's own or a candidate site's)."""
    report = check(
        ctx,
        geometry,
        crs,
        subject.land_use,
        subject.project_type,
        caller=caller,
        project_id=subject.project_ref,
        project_name=subject.name,
    )
    red = parse_red_line(ctx, geometry, crs)
    needed = float(subject.area_m2)
    reasons, notes = compliance_reasons(report, needed)
    tol = float(report["ruleset"]["settings"].get("tolerance_m2", 1.0))
    conflicts = touching_conflicts(ctx, red.geom_work, red.geom_4490, tol)
    for c in conflicts:
        reasons.append(
            _reason(
                "open_conflict",
                "needs_adjustment",
                None,
                [],
                {"conflict_id": c["id"], "overlap_area_m2": c["overlap_area_m2"]},
                f"红线与待协调的规划冲突图斑 #{c['id']} 重叠 {_m2(c['overlap_area_m2'])} m²："
                "须先协调。",
                f"The red line overlaps {_m2(c['overlap_area_m2'])} m² of unresolved plan "
                f"conflict #{c['id']}: it must be coordinated first.",
                {
                    "kind": "resolve_conflict",
                    "conflict_id": c["id"],
                    "area_m2": c["overlap_area_m2"],
                },
            )
        )
    status = status_figures(ctx, red.geom_work)
    farmland_item = next((i for i in report["items"] if i["rule"] == "basic_farmland"), None)
    if status is not None:
        new_land = status["new_construction_land_m2"]
        farmland = status["farmland_m2"]
        farmland_basis = STATUS_KIND
        quota = new_land
        quota_basis = STATUS_KIND
    else:
        new_land = None
        # Permanent basic farmland is farmland by definition: the figure the check measured.
        farmland = float(farmland_item["overlap_area_m2"]) if farmland_item else None
        farmland_basis = "basic_farmland" if farmland_item else None
        quota = round(needed, 2)
        quota_basis = "area_m2"
        notes.append(
            _reason(
                "no_land_use_status",
                "landable",
                None,
                [],
                {"charged_m2": quota},
                "未加载土地利用现状图层：新增建设用地按项目用地面积计。",
                "No land_use_status layer is loaded: the land needed counts as new "
                "construction land.",
            )
        )
    outcome = worst([r["outcome"] for r in reasons])
    versions = dict(report["data_versions"])
    if status is not None:
        versions[status["layer"]] = status["version"]
    return {
        "outcome": outcome,
        "outcome_name": OUTCOME_NAMES[outcome],
        "reasons": reasons,
        "notes": notes,
        "compliance_report_id": report["id"],
        "compliance_verdict": report["verdict"],
        "red_line_area_m2": report["project_area_m2"],
        "new_construction_land_m2": new_land,
        "farmland_m2": farmland,
        "farmland_basis": farmland_basis,
        "quota_m2": quota,
        "quota_basis": quota_basis,
        "land_use_status": status,
        "basic_farmland_m2": float(farmland_item["overlap_area_m2"]) if farmland_item else None,
        "conflicts": conflicts,
        "data_versions": versions,
    }


def failing_sensitive_classes(ctx: PlanFuse) -> list[dict[str, str]]:
    """The sensitive-zone classes the compliance check fails (default ruleset) that the
    data holds, as siting exclusions: a candidate on one of them could not land."""
    rule = get_ruleset(ctx, None).rules.get("sensitive_zone") or {}
    present: set[tuple[str, str]] = set()
    for ref in current_layers(ctx, ["sensitive_zone"]):
        attrs = layer_index(ctx, ref).attributes
        types, levels = attrs.get("type"), attrs.get("level")
        if types is None:
            continue
        for i, ztype in enumerate(types.tolist()):
            level = levels[i] if levels is not None else None
            present.add((str(ztype), "" if level is None else str(level)))
    out = []
    for cls in rule.get("classes", []) if rule.get("enabled", True) else []:
        if cls.get("status") != "fail":
            continue
        wanted = cls.get("levels") or []
        for ztype, level in sorted(present):
            if ztype == cls["type"] and (not wanted or level in wanted):
                entry = {"kind": "sensitive_zone", "type": ztype}
                if wanted:
                    entry["level"] = level
                out.append(entry)
    return list({tuple(sorted(e.items())): e for e in out}.values())[:MAX_EXCLUDE]


def siting_request(ctx: PlanFuse, subject: StudySubject) -> dict[str, Any]:
    """The siting search a project without a red line gets: its district, class and size,
    outside farmland and the ecological red line, inside the urban boundary when urban."""
    kinds = {r.kind for r in current_layers(ctx)}
    controls = [
        {"kind": kind, "mode": "outside"}
        for kind in ("basic_farmland", "ecological_redline", "control_line")
        if kind in kinds
    ]
    if subject.project_type == "urban" and "urban_boundary" in kinds:
        controls.append({"kind": "urban_boundary", "mode": "inside"})
    conditions: dict[str, Any] = {
        "land_use": subject.land_use,
        "area_min_m2": float(subject.area_m2),
        "area_max_m2": float(subject.area_m2) * float(ctx.settings.reserve_siting_area_factor),
        "controls": controls,
    }
    if "sensitive_zone" in kinds:
        conditions["exclude"] = failing_sensitive_classes(ctx)
    return {
        "scope": {"districts": [subject.district]},
        "conditions": conditions,
        "limit": int(ctx.settings.reserve_siting_candidates),
    }


def study_by_siting(ctx: PlanFuse, subject: StudySubject, caller: Any = None) -> dict[str, Any]:
    """A project without a red line: the siting search, then the pre-study of each of the
    best candidates; the project takes the best candidate's outcome and figures."""
    request = siting_request(ctx, subject)
    try:
        found = search(ctx, request["scope"], request["conditions"], limit=request["limit"])
    except ConflictError as exc:  # a layer the search needs is not loaded
        found = {"candidates": [], "total": 0, "data_versions": {}, "error": exc.message}
    candidates = []
    for cand in found["candidates"]:
        geometry = cand.get("geometry_4490") or cand["geometry"]
        study = study_red_line(ctx, subject, geometry, "EPSG:4490", caller)
        candidates.append(
            {
                "feature_id": cand["feature_id"],
                "layer": cand["layer"],
                "parcel_key": cand["parcel_key"],
                "rank": cand["rank"],
                "score": cand["score"],
                "area_m2": cand["area_m2"],
                "land_use": cand["land_use"],
                "district": cand["district"],
                "geometry": _plain(geometry),
                **study,
            }
        )
    base = {
        "siting": {
            "request": request,
            "total": found["total"],
            "data_versions": found.get("data_versions", {}),
        },
        "candidates": candidates,
    }
    if not candidates:
        reason = _reason(
            "no_site",
            "not_landable",
            None,
            [],
            {"candidates": 0, "total": found["total"]},
            f"区县 {subject.district} 内未找到满足用途 {subject.land_use}、面积 "
            f"{_m2(subject.area_m2)} m² 及管控条件的候选地块。",
            f"No parcel in district {subject.district} meets class {subject.land_use}, "
            f"{_m2(subject.area_m2)} m² and the controls.",
        )
        if found.get("error"):
            reason["measured"]["error"] = found["error"]
        return {
            "outcome": "not_landable",
            "outcome_name": OUTCOME_NAMES["not_landable"],
            "reasons": [reason],
            "notes": [],
            "compliance_report_id": None,
            "compliance_verdict": None,
            "red_line_area_m2": None,
            "new_construction_land_m2": None,
            "farmland_m2": None,
            "farmland_basis": None,
            "quota_m2": round(float(subject.area_m2), 2),
            "quota_basis": "area_m2",
            "land_use_status": None,
            "basic_farmland_m2": None,
            "conflicts": [],
            "data_versions": found.get("data_versions", {}),
            **base,
        }
    best = min(candidates, key=lambda c: (OUTCOMES.index(c["outcome"]), c["rank"]))
    chosen = {k: v for k, v in best.items() if k not in {"geometry", "parcel_key", "rank", "score"}}
    versions = dict(found.get("data_versions", {}))
    for c in candidates:
        versions.update(c["data_versions"])
    return {
        **chosen,
        "best_candidate": {"feature_id": best["feature_id"], "rank": best["rank"]},
        "data_versions": versions,
        **base,
    }


def _plain(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def study(ctx: PlanFuse, subject: StudySubject, caller: Any = None) -> dict[str, Any]:
    """The pre-study of a project: by its red line, or by siting when it has none."""
    if subject.geometry is not None:
        result = study_red_line(ctx, subject, subject.geometry, subject.crs, caller)
        result["candidates"] = []
        result["siting"] = None
    else:
        result = study_by_siting(ctx, subject, caller)
    result["has_red_line"] = subject.geometry is not None
    return result


def current_versions(ctx: PlanFuse, layer_ids: list[str]) -> dict[str, int]:
    """The current versions of these layers (a deleted layer is missing)."""
    refs = [r for r in current_layers(ctx) if r.layer_id in set(layer_ids)]
    return data_versions(ctx, refs)
