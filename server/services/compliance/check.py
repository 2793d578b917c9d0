"""`check`: the compliance review of one project red line (DOMAIN.md "Compliance review").

Input is validated completely before anything is computed or stored; every check that
gets a result is stored as a report and signed (ES256 JWS, keys at the JWKS URL).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import insert

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.services.compliance.overlaps import dissolved_layers, overlap_masks
from planfuse.services.compliance.redline import RedLine, parse_red_line
from planfuse.services.compliance.rules import (
    STATUS_NAMES,
    ItemResult,
    PieceSet,
    evaluate_control_lines,
    evaluate_land_use,
    evaluate_protected,
    evaluate_sensitive,
    evaluate_urban_boundary,
    not_checked,
    overall_verdict,
)
from planfuse.services.compliance.rulesets import PROJECT_TYPES, RULE_ORDER, Ruleset, get_ruleset
from planfuse.services.layers.data import LayerRef, current_layers, data_versions, layer_index
from planfuse.services.layers.land_use import require_land_use
from planfuse.signing.server_keys import ALGORITHM, fingerprint, sign_claims
from planfuse.storage.models import ComplianceReport
from planfuse.storage.models.base import utcnow

JWKS_PATH = "/api/v1/compliance/jwks.json"
ISSUER = "planfuse"
#: The JWS header `typ` of a signed compliance result.
SIGNED_TYPE = "planfuse-compliance+jwt"
#: Attributes of each kind copied into a report's feature records.
REPORT_ATTRIBUTES = {
    "basic_farmland": (),
    "ecological_redline": ("name",),
    "urban_boundary": ("zone",),
    "land_use_plan": ("code",),
    "sensitive_zone": ("type", "level"),
    "control_line": ("type",),
}


def require_project_type(value: Any, field: str = "project_type") -> str:
    """The project type, or InvalidInput listing the four types."""
    if value in PROJECT_TYPES:
        return value
    shown = "missing" if value in (None, "") else repr(str(value)[:40])
    detail = (
        f"project type {shown} is not valid; expected one of urban (城镇建设), "
        "linear (线性工程), major (重大项目) or other (其他)"
    )
    raise InvalidInput(
        detail,
        code="invalid_project_type",
        errors=[{"field": field, "message": detail}],
        title="Invalid project type",
    )


def check_inputs(
    ctx: PlanFuse, land_use: Any, project_type: Any, ruleset: Any
) -> tuple[Any, str, Ruleset]:
    """Validate the non-geometry inputs together, so one answer lists every problem."""
    problems: list[InvalidInput] = []
    results: list[Any] = [None, None, None]
    for i, (fn, args) in enumerate(
        (
            (require_land_use, (land_use,)),
            (require_project_type, (project_type,)),
            (get_ruleset, (ctx, ruleset)),
        )
    ):
        try:
            results[i] = fn(*args)
        except InvalidInput as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidInput(
            "; ".join(p.message for p in problems), errors=[e for p in problems for e in p.errors]
        )
    return results[0], results[1], results[2]


def check(
    ctx: PlanFuse,
    project: Any,
    crs: str | None,
    land_use: str | None,
    project_type: str | None,
    ruleset: str | None = None,
    *,
    caller: Any = None,
    repair: bool = False,
    project_id: str | None = None,
    project_name: str | None = None,
    store: bool = True,
) -> dict[str, Any]:
    """Check a project red line against the control layers; returns the report.

    project       the red line: GeoJSON geometry/Feature/FeatureCollection (dict or text),
                  WKT, a 界址点 coordinate list, or a shapely (Multi)Polygon — in `crs`
    crs           its CRS; None: the GeoJSON `crs` member, else `default_crs` (EPSG:4490)
    land_use      requested 用地用海 code (2, 4 or 6 digits, e.g. "0701")
    project_type  "urban", "linear", "major" or "other"
    ruleset       ruleset id (default "default", its current version)
    caller        who checks (a `planfuse.auth.caller.Caller`: app and user are recorded)
    repair        apply make_valid to an invalid red line instead of refusing it

    The report: `id`, `verdict` (pass, warn, fail, needs_review, needs_approval),
    `project_area_m2`, `items` (one per rule: `rule`, `status`, `title`, `overlap_area_m2`
    (m², 2 decimals), `overlap_ratio` (of the project area), `features` with their overlap
    pieces as GeoJSON in EPSG:4490), the input, the ruleset and data versions, and
    `signature` (a compact JWS). Geometry members are pre-serialised GeoJSON
    (`orjson.Fragment`): serialise the report with orjson (`report_bytes`).

    Bad input raises a domain error (or a GeoError) and stores nothing.
    """
    started = time.perf_counter()
    land_use_class, ptype, rules = check_inputs(ctx, land_use, project_type, ruleset)
    red = parse_red_line(ctx, project, crs, repair=repair)
    limit = float(ctx.settings.max_project_area_m2)
    if red.area_m2 > limit:
        detail = (
            f"the red line encloses {red.area_m2:,.0f} m², more than the {limit:,.0f} m² "
            "a project may have (setting max_project_area_m2); check the CRS and the "
            "coordinates, or split the project"
        )
        raise InvalidInput(
            detail,
            code="project_too_large",
            errors=[{"field": "geometry", "message": detail}],
            title="Project too large",
        )
    refs = current_layers(ctx, RULE_ORDER)
    items = evaluate(ctx, red, land_use_class.code, ptype, rules, refs)
    verdict = overall_verdict([i.status for i in items])
    report = build_report(
        ctx,
        red,
        land_use_class,
        ptype,
        rules,
        refs,
        items,
        verdict,
        caller=caller,
        project_id=project_id,
        project_name=project_name,
    )
    if store:
        store_report(ctx, report, red, caller)
    report["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return report


def evaluate(
    ctx: PlanFuse,
    red: RedLine,
    land_use: str,
    project_type: str,
    ruleset: Ruleset,
    refs: list[LayerRef],
) -> list[ItemResult]:
    """Run every enabled rule on the red line (working CRS) against the current layers."""
    by_kind: dict[str, list[LayerRef]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref)
    project = red.geom_work
    shapely.prepare(project)
    items = []
    for rule in RULE_ORDER:
        if not ruleset.rules[rule].get("enabled", True):
            continue
        kind_refs = by_kind.get(rule, [])
        if not kind_refs:
            items.append(not_checked(rule))
            continue
        indexes = [layer_index(ctx, r) for r in kind_refs]
        masks = overlap_masks(ctx)
        layer_masks = [
            masks.get((r.layer_id, r.version), index)
            for r, index in zip(kind_refs, indexes, strict=True)
        ]
        pieces = PieceSet.build(kind_refs, indexes, project, layer_masks)
        pieces.project = project
        if len(kind_refs) == 1:
            pieces.dissolver = _dissolver(ctx, kind_refs[0], indexes[0])
        if rule in ("basic_farmland", "ecological_redline"):
            items.append(evaluate_protected(rule, pieces, ruleset, project_type))
        elif rule == "urban_boundary":
            items.append(
                evaluate_urban_boundary(pieces, ruleset, project_type, project, red.area_m2)
            )
        elif rule == "land_use_plan":
            items.append(evaluate_land_use(pieces, ruleset, land_use))
        elif rule == "sensitive_zone":
            items.append(evaluate_sensitive(pieces, ruleset))
        else:
            items.append(evaluate_control_lines(pieces, ruleset))
    return items


def _dissolver(ctx: PlanFuse, ref: LayerRef, index):
    """Dissolved unions of `ref`'s features by attribute filter (built on first need)."""
    cache = dissolved_layers(ctx)

    def get(attribute: str | None, values: frozenset | None):
        return cache.get((ref.layer_id, ref.version, attribute, values), index, request=True)

    return get


# --- the report ---------------------------------------------------------------------------


#: Decimals of the degrees in report geometry: 1e-8° is about 1 mm. Full doubles would
#: make reports ~40 % larger for digits below any survey's accuracy.
GEOJSON_DECIMALS = 8


def _geojson_fragments(ctx: PlanFuse, geoms_work: np.ndarray) -> list[orjson.Fragment]:
    """Working-CRS geometries → EPSG:4490 GeoJSON (coordinates to 1e-8°), pre-serialised
    (one vectorised pass). Areas are never measured on these: they are for display."""
    if len(geoms_work) == 0:
        return []
    texts = shapely.to_geojson(ctx.work.to_storage(geoms_work, decimals=GEOJSON_DECIMALS))
    return [orjson.Fragment(t) for t in texts.tolist()]


def _max_features(ctx: PlanFuse) -> int:
    return int(ctx.settings.get("compliance_max_features", 200))


def _item_document(
    item: ItemResult, area: float, cap: int
) -> tuple[dict[str, Any], np.ndarray, list[int], list[str]]:
    """The item's JSON (features without geometry yet); the pieces whose GeoJSON goes in,
    with the positions of their features; and the extra geometry names.

    `features` lists the features whose pieces decide the item's status (what the map
    highlights), each with its overlap piece; the urban boundary's map shows
    `outside_geometry` instead of its (inside) pieces. Built column-wise: a dense layer
    gives hundreds of pieces per project.
    """
    doc: dict[str, Any] = {
        "rule": item.rule,
        "status": item.status,
        "status_name": STATUS_NAMES[item.status],
        "title": item.title,
        "overlap_area_m2": round(item.overlap_area_m2, 2),
        "overlap_ratio": round(item.overlap_area_m2 / area, 6) if area > 0 else 0.0,
        "reason": item.reason,
        "feature_count": 0,
        "counted_feature_count": 0,
        "features_truncated": False,
        "features": [],
    }
    if item.details:
        doc["details"] = item.details
    pieces = item.pieces
    empty = np.empty(0, dtype=object)
    if pieces is None or len(pieces) == 0:
        return doc, empty, [], list(item.extra_geometries)
    counted = item.counted if item.counted is not None else np.ones(len(pieces), bool)
    # The features that decide the status, largest overlap first, at most `cap`; the rest
    # are summarised (details) and counted.
    decisive = np.flatnonzero(counted)
    order = decisive[np.argsort(-pieces.areas[decisive], kind="stable")][:cap]
    doc["feature_count"] = len(pieces)
    doc["counted_feature_count"] = int(decisive.size)
    doc["features_truncated"] = int(decisive.size) > cap
    layer_ids = np.array([r.layer_id for r in pieces.refs], dtype=object)[pieces.layers[order]]
    names = REPORT_ATTRIBUTES[item.rule]
    columns = [pieces.attr(n)[order].tolist() for n in names]
    attributes = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    if not names:
        attributes = [{} for _ in range(len(order))]
    features = [
        {
            "layer": layer,
            "fid": fid,
            "district": district,
            "feature_area_m2": feature_area,
            "overlap_area_m2": overlap_area,
            "counted": is_counted,
            "attributes": attrs,
        }
        for layer, fid, district, feature_area, overlap_area, is_counted, attrs in zip(
            layer_ids.tolist(),
            pieces.fids[order].tolist(),
            pieces.districts[order].tolist(),
            np.round(pieces.feature_areas[order], 2).tolist(),
            np.round(pieces.areas[order], 2).tolist(),
            counted[order].tolist(),
            attributes,
            strict=True,
        )
    ]
    for note, values in item.piece_notes.items():
        for record, value in zip(features, values[order].tolist(), strict=True):
            record[note] = value
    doc["features"] = features
    if item.rule == "urban_boundary":
        return doc, empty, [], list(item.extra_geometries)
    return doc, pieces.pieces[order], list(range(len(order))), list(item.extra_geometries)


def build_report(
    ctx: PlanFuse,
    red: RedLine,
    land_use_class,
    project_type: str,
    ruleset: Ruleset,
    refs: list[LayerRef],
    items: list[ItemResult],
    verdict: str,
    *,
    caller: Any = None,
    project_id: str | None = None,
    project_name: str | None = None,
) -> dict[str, Any]:
    """The report document (without id and signature, which `store_report` adds)."""
    cap = _max_features(ctx)
    docs, geoms, slots = [], [], []
    for item in items:
        doc, pieces, positions, extras = _item_document(item, red.area_m2, cap)
        docs.append(doc)
        geoms.extend(pieces.tolist())
        slots.extend((doc, i) for i in positions)
        for name in extras:
            geoms.append(item.extra_geometries[name])
            slots.append((doc, name))
    geoms.append(red.geom_work)
    fragments = _geojson_fragments(ctx, np.array(geoms, dtype=object))
    for (doc, where), fragment in zip(slots, fragments[:-1], strict=True):
        if isinstance(where, int):
            doc["features"][where]["geometry"] = fragment
        else:
            doc.setdefault("details", {})[f"{where}_geometry"] = fragment
    who = _who(caller)
    return {
        "id": None,
        "created_at": None,
        "verdict": verdict,
        "verdict_name": STATUS_NAMES[verdict],
        "project_area_m2": round(red.area_m2, 2),
        "land_use": land_use_class.to_dict(),
        "project_type": project_type,
        "project": {"id": project_id, "name": project_name} if project_id else None,
        "input": {
            "crs": red.crs.key,
            "crs_name": red.crs.name,
            "geometry": fragments[-1],
            "geometry_sha256": hashlib.sha256(shapely.to_wkb(red.geom_4490)).hexdigest(),
            "repaired": red.repaired,
            "parts": red.parts,
            "notes": red.notes,
        },
        "ruleset": {**ruleset.summary(), "settings": ruleset.settings},
        "layers": [r.to_dict() for r in refs],
        "data_versions": data_versions(ctx, refs),
        "items": docs,
        "checked_by": who,
    }


def _who(caller: Any) -> dict[str, Any]:
    if caller is None:
        return {"app": None, "user": None, "name": None, "dept": None, "via": "service"}
    return {
        "app": getattr(caller, "app_id", None),
        "user": getattr(caller, "user", None),
        "name": getattr(caller, "name", None),
        "dept": getattr(caller, "dept", None),
        "via": getattr(caller, "via", None),
    }


def signed_claims(report: Mapping[str, Any], ttl_s: int = 86400) -> dict[str, Any]:
    """What the JWS carries: the verdict and per-item results, the input's identity and
    the versions of rules and data — everything a host acts on, without the geometry — valid
    for `ttl_s` seconds (`exp`)."""
    who = report["checked_by"]
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": who["app"] or ISSUER,
        "sub": who["user"] or who["app"] or ISSUER,
        "iat": now,
        "exp": now + ttl_s,
        "jti": report["id"],
        "report": {
            "id": report["id"],
            "created_at": report["created_at"],
            "verdict": report["verdict"],
            "project_area_m2": report["project_area_m2"],
            "project_id": (report["project"] or {}).get("id"),
            "land_use": report["land_use"]["code"],
            "project_type": report["project_type"],
            "crs": report["input"]["crs"],
            "geometry_sha256": report["input"]["geometry_sha256"],
            "ruleset": {"id": report["ruleset"]["id"], "version": report["ruleset"]["version"]},
            "data_versions": report["data_versions"],
            "items": [
                {
                    "rule": i["rule"],
                    "status": i["status"],
                    "overlap_area_m2": i["overlap_area_m2"],
                    "overlap_ratio": i["overlap_ratio"],
                    "feature_count": i["feature_count"],
                }
                for i in report["items"]
            ],
        },
    }


def new_report_id() -> str:
    return "cr_" + secrets.token_hex(10)


def store_report(ctx: PlanFuse, report: dict[str, Any], red: RedLine, caller: Any) -> None:
    """Give the report its id, sign it and store it (one row)."""
    created = utcnow()
    report["id"] = new_report_id()
    report["created_at"] = created.isoformat()
    claims = signed_claims(report, int(ctx.settings.get("compliance_result_ttl_s", 86400)))
    jws = sign_claims(ctx, claims, typ=SIGNED_TYPE)
    kid = orjson.loads(_b64(jws.split(".", 1)[0]))["kid"]
    report["signature"] = {
        "alg": ALGORITHM,
        "kid": kid,
        "jws": jws,
        "jwks_url": JWKS_PATH,
        "fingerprint": fingerprint(jws),
    }
    body = report_bytes(report)
    who = report["checked_by"]
    row = {
        "id": report["id"],
        "app_id": who["app"],
        "user": who["user"],
        "via": who["via"],
        "project_id": (report["project"] or {}).get("id"),
        "created_at": created,
        "geom": shapely.to_wkb(red.geom_4490),
        "source_crs": red.crs.key,
        "land_use": report["land_use"]["code"],
        "project_type": report["project_type"],
        "ruleset_id": report["ruleset"]["id"],
        "ruleset_version": report["ruleset"]["version"],
        "data_versions": report["data_versions"],
        "verdict": report["verdict"],
        "project_area_m2": report["project_area_m2"],
        "result": body,
        "jws": jws,
        "kid": kid,
    }
    # A Core insert: one statement, no unit of work to track (this is the hot path).
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(ComplianceReport), [row])


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def report_bytes(report: Mapping[str, Any]) -> bytes:
    """The report as JSON bytes (geometry members are pre-serialised fragments)."""
    return orjson.dumps(
        {k: v for k, v in report.items() if k != "elapsed_ms"}, option=orjson.OPT_SERIALIZE_NUMPY
    )
