"""Compliance rulesets: data, versioned, editable by admins.

A ruleset is a JSON document with `settings` (tolerances) and one entry per rule under
`rules`, keyed by the layer kind the rule reads. Saving a ruleset never changes a stored
version: it adds version n+1, so every report can name exactly the rules it applied.

The built-in `default` ruleset implements DOMAIN.md "Compliance review"; it is written to
the database the first time any ruleset is read (`ensure_default_ruleset`), and from then
on admins may edit it like any other.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.layers.land_use import LAND_USE_CLASSES
from planfuse.storage.models import ComplianceRuleset

DEFAULT_RULESET_ID = "default"
RULESET_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: The rules, in report order, and the layer kind each reads (the rule's name).
RULE_ORDER = (
    "basic_farmland",
    "ecological_redline",
    "urban_boundary",
    "land_use_plan",
    "sensitive_zone",
    "control_line",
)
PROJECT_TYPES = ("urban", "linear", "major", "other")
#: Statuses a rule may assign (besides `pass`, and `not_checked` when a kind has no data).
RULE_STATUSES = ("fail", "warn", "needs_review", "needs_approval", "info")
SENSITIVE_TYPES = ("geohazard", "water_source", "heritage", "mineral")
CONTROL_LINE_TYPES = ("blue", "green", "purple", "yellow", "road")
READ_ONLY_MEMBERS = {"version", "created_by", "created_at"}

TITLES: dict[str, dict[str, str]] = {
    "basic_farmland": {"zh-CN": "永久基本农田", "en": "Permanent basic farmland"},
    "ecological_redline": {"zh-CN": "生态保护红线", "en": "Ecological protection red line"},
    "urban_boundary": {"zh-CN": "城镇开发边界", "en": "Urban development boundary"},
    "land_use_plan": {"zh-CN": "规划用途符合性", "en": "Conformity with the planned land use"},
    "sensitive_zone": {"zh-CN": "敏感区", "en": "Sensitive zones"},
    "control_line": {"zh-CN": "控制线", "en": "Control lines"},
}


def _construction_compatibility() -> dict[str, list[str]]:
    """Default compatibility (requested 用地用海 code → planned classes allowed under it).

    Why these: a project's red line routinely takes in its own class plus the urban roads
    (1207) and green/open space (14) it builds alongside; industry (10) and warehousing (11)
    share parks; agricultural uses may convert among each other (01–04, 23) and farm
    facilities (06) sit on farm land. Everything else needs a plan change first.
    The longest key that is a prefix of the requested code applies; a code with no key is
    allowed only on its own level-1 class.
    """
    table: dict[str, list[str]] = {}
    for level1 in ("07", "08", "09", "13", "15"):
        table[level1] = [level1, "1207", "14"]
    table["10"] = ["10", "11", "1207", "14"]
    table["11"] = ["11", "10", "1207", "14"]
    table["12"] = ["12", "14"]
    table["14"] = ["14", "1207"]
    table["16"] = ["16"]
    farm = ["01", "02", "03", "04", "23"]
    for level1 in farm:
        table[level1] = list(farm)
    table["06"] = ["06", *farm]
    table["05"] = ["05", "17"]
    table["17"] = ["17", "05"]
    return table


DEFAULT_RULESET: dict[str, Any] = {
    "id": DEFAULT_RULESET_ID,
    "name": {"zh-CN": "默认审查规则", "en": "Default review rules"},
    "description": {
        "zh-CN": "按《项目合规审查》规则：永久基本农田、生态保护红线、城镇开发边界、规划用途、"
        "敏感区与控制线。",
        "en": "The compliance review rules: basic farmland, ecological red line, urban "
        "development boundary, planned land use, sensitive zones and control lines.",
    },
    "settings": {
        # DOMAIN.md: tol = 1 m². Below it an overlap is digitising noise along a shared
        # boundary, not an encroachment.
        "tolerance_m2": 1.0,
        # DOMAIN.md "Slivers": a piece under 200 m² or thinner than 1 m is noise.
        "sliver_m2": 200.0,
        "sliver_width_m": 1.0,
    },
    "rules": {
        "basic_farmland": {
            "enabled": True,
            "on_overlap": "fail",
            "by_project_type": {"major": "needs_approval"},
        },
        "ecological_redline": {
            "enabled": True,
            "on_overlap": "fail",
            "by_project_type": {"linear": "needs_review"},
        },
        "urban_boundary": {
            "enabled": True,
            "project_types": ["urban"],
            "pass_ratio": 0.999,
            "warn_ratio": 0.5,
            "otherwise": "info",
        },
        "land_use_plan": {
            "enabled": True,
            "on_incompatible": "fail",
            "compatibility": _construction_compatibility(),
        },
        "sensitive_zone": {
            "enabled": True,
            "classes": [
                {"type": "geohazard", "levels": ["high", "高", "极高"], "status": "fail"},
                {"type": "geohazard", "levels": ["medium", "中", "较高"], "status": "warn"},
                {"type": "water_source", "levels": ["1", "一级", "level1"], "status": "fail"},
                {"type": "water_source", "levels": ["2", "二级", "level2"], "status": "warn"},
                {
                    "type": "heritage",
                    "levels": ["protection", "保护范围", "protection_range"],
                    "status": "fail",
                },
                {
                    "type": "heritage",
                    "levels": ["control", "建设控制地带", "control_zone"],
                    "status": "warn",
                },
                {"type": "mineral", "levels": [], "status": "warn"},
            ],
            "otherwise": "info",
        },
        "control_line": {
            "enabled": True,
            "types": list(CONTROL_LINE_TYPES),
            "on_overlap": "fail",
        },
    },
}


@dataclass(frozen=True)
class Ruleset:
    """One stored ruleset version, validated."""

    id: str
    version: int
    name: dict[str, str]
    description: dict[str, str]
    settings: dict[str, float]
    rules: dict[str, dict[str, Any]]
    created_by: str = ""
    created_at: str | None = None
    # Derived lookups, built once per version (see `_compiled`).
    compiled: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tolerance_m2(self) -> float:
        return float(self.settings["tolerance_m2"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "settings": self.settings,
            "rules": self.rules,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "name": self.name}


# --- validation -------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append({"field": where, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            head = "; ".join(f"{p['field']}: {p['message']}" for p in self.items[:3])
            more = f" (and {len(self.items) - 3} more)" if len(self.items) > 3 else ""
            raise InvalidInput(
                f"the ruleset is not valid: {head}{more}",
                code="invalid_ruleset",
                errors=self.items,
                title="Invalid ruleset",
            )


def _texts(value: Any, where: str, problems: _Problems, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if isinstance(value, str):
        return {"zh-CN": value, "en": value}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= 2000 for k, v in value.items()
    ):
        problems.add(where, 'expected {"zh-CN": "…", "en": "…"} texts')
        return {}
    if required and not value.get("zh-CN"):
        problems.add(where, "needs a zh-CN text")
    return {k: v for k, v in value.items() if k in ("zh-CN", "en")}


def _number(value: Any, where: str, problems: _Problems, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        problems.add(where, f"expected a number from {lo:g} to {hi:g}")
        return lo
    return float(value)


def _status(value: Any, where: str, problems: _Problems) -> str:
    if value not in RULE_STATUSES:
        problems.add(where, f"expected one of {', '.join(RULE_STATUSES)}")
        return "fail"
    return value


def _code_list(value: Any, where: str, problems: _Problems) -> list[str]:
    if not isinstance(value, list) or not value:
        problems.add(where, "expected a non-empty list of 用地用海 codes")
        return []
    out = []
    for i, code in enumerate(value):
        if not isinstance(code, str) or code not in LAND_USE_CLASSES:
            problems.add(f"{where}[{i}]", f"{str(code)[:20]!r} is not a 用地用海 code")
        else:
            out.append(code)
    return out


def _known_keys(rule: Mapping, allowed: set[str], where: str, problems: _Problems) -> None:
    for key in rule:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            problems.add(path, f"unknown member; expected {', '.join(sorted(allowed))}")


def validate_ruleset_document(doc: Any) -> dict[str, Any]:
    """Check a ruleset document (as an admin sends it) and return it normalised.

    Missing rules and settings take the default ruleset's values; unknown members are
    errors (a typo must not silently switch a rule off). Raises InvalidInput listing every
    problem with its path, e.g. `rules.land_use_plan.compatibility.07[2]`.
    """
    problems = _Problems()
    if not isinstance(doc, Mapping):
        problems.add("", "the ruleset must be a JSON object")
        problems.raise_if_any()
    # version, created_by and created_at are read-only: a document fetched from the API
    # may be sent back edited as it is.
    members = {"id", "name", "description", "settings", "rules"} | READ_ONLY_MEMBERS
    _known_keys(doc, members, "", problems)
    name = _texts(doc.get("name"), "name", problems, required=True)
    description = _texts(doc.get("description"), "description", problems, required=False)
    settings = _checked_settings(doc.get("settings") or {}, problems)
    rules = _checked_rules(doc.get("rules") or {}, problems)
    problems.raise_if_any()
    return {"name": name, "description": description, "settings": settings, "rules": rules}


def _checked_settings(settings_in: Any, problems: _Problems) -> dict[str, Any]:
    """The ruleset's settings: the defaults, with the given tolerances in range."""
    settings = dict(DEFAULT_RULESET["settings"])
    if not isinstance(settings_in, Mapping):
        problems.add("settings", "expected an object")
        settings_in = {}
    _known_keys(settings_in, set(settings), "settings", problems)
    limits = {"tolerance_m2": 1e6, "sliver_m2": 1e6, "sliver_width_m": 1e3}
    for key, value in settings_in.items():
        if key in limits:
            settings[key] = _number(value, f"settings.{key}", problems, 0.0, limits[key])
    return settings


def _checked_rules(rules_in: Any, problems: _Problems) -> dict[str, dict[str, Any]]:
    """Every rule in RULE_ORDER: the default where none is given, else the given members
    over the default's, checked."""
    if not isinstance(rules_in, Mapping):
        problems.add("rules", "expected an object keyed by rule")
        rules_in = {}
    _known_keys(rules_in, set(RULE_ORDER), "rules", problems)
    rules: dict[str, dict[str, Any]] = {}
    for name in RULE_ORDER:
        default = copy.deepcopy(DEFAULT_RULESET["rules"][name])
        given = rules_in.get(name)
        if given is None:
            rules[name] = default
            continue
        where = f"rules.{name}"
        if not isinstance(given, Mapping):
            problems.add(where, "expected an object")
            continue
        _known_keys(given, set(default), where, problems)
        rule = {**default, **given}
        _check_rule(name, rule, where, problems)
        rules[name] = rule
    return rules


def _check_rule(name: str, rule: dict[str, Any], where: str, problems: _Problems) -> None:
    """The members several rules share, then the rule's own (statuses normalised in place)."""
    if not isinstance(rule["enabled"], bool):
        problems.add(f"{where}.enabled", "expected true or false")
    if name in ("basic_farmland", "ecological_redline", "control_line"):
        rule["on_overlap"] = _status(rule["on_overlap"], f"{where}.on_overlap", problems)
    if "by_project_type" in rule:
        _check_by_project_type(rule["by_project_type"], f"{where}.by_project_type", problems)
    own_checks = _RULE_CHECKS.get(name)
    if own_checks is not None:
        own_checks(rule, where, problems)


def _check_by_project_type(by_type: Any, where: str, problems: _Problems) -> None:
    if not isinstance(by_type, Mapping):
        problems.add(where, "expected {project_type: status}")
        return
    for ptype, status in by_type.items():
        if ptype not in PROJECT_TYPES:
            problems.add(
                f"{where}.{ptype}", f"unknown project type; expected {', '.join(PROJECT_TYPES)}"
            )
        _status(status, f"{where}.{ptype}", problems)


def _check_urban_boundary(rule: dict[str, Any], where: str, problems: _Problems) -> None:
    types = rule["project_types"]
    if not isinstance(types, list) or any(t not in PROJECT_TYPES for t in types):
        problems.add(f"{where}.project_types", f"expected a list of {', '.join(PROJECT_TYPES)}")
    rule["pass_ratio"] = _number(rule["pass_ratio"], f"{where}.pass_ratio", problems, 0, 1)
    rule["warn_ratio"] = _number(rule["warn_ratio"], f"{where}.warn_ratio", problems, 0, 1)
    if rule["warn_ratio"] > rule["pass_ratio"]:
        problems.add(f"{where}.warn_ratio", "must not exceed pass_ratio")
    rule["otherwise"] = _status(rule["otherwise"], f"{where}.otherwise", problems)


def _check_land_use_plan(rule: dict[str, Any], where: str, problems: _Problems) -> None:
    rule["on_incompatible"] = _status(rule["on_incompatible"], f"{where}.on_incompatible", problems)
    table = rule["compatibility"]
    if not isinstance(table, Mapping):
        problems.add(f"{where}.compatibility", "expected {requested code: [codes]}")
        return
    checked = {}
    for code, allowed in table.items():
        if code not in LAND_USE_CLASSES:
            problems.add(
                f"{where}.compatibility.{str(code)[:20]}", "the key is not a 用地用海 code"
            )
            continue
        checked[code] = _code_list(allowed, f"{where}.compatibility.{code}", problems)
    rule["compatibility"] = checked


def _check_sensitive_zone(rule: dict[str, Any], where: str, problems: _Problems) -> None:
    classes = rule["classes"]
    if not isinstance(classes, list):
        problems.add(f"{where}.classes", "expected a list")
    else:
        for i, entry in enumerate(classes):
            _check_sensitive_class(entry, f"{where}.classes[{i}]", problems)
    rule["otherwise"] = _status(rule["otherwise"], f"{where}.otherwise", problems)


def _check_sensitive_class(entry: Any, at: str, problems: _Problems) -> None:
    if not isinstance(entry, Mapping):
        problems.add(at, "expected {type, levels, status}")
        return
    _known_keys(entry, {"type", "levels", "status", "label"}, at, problems)
    if entry.get("type") not in SENSITIVE_TYPES:
        problems.add(f"{at}.type", f"expected one of {', '.join(SENSITIVE_TYPES)}")
    levels = entry.get("levels", [])
    if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
        problems.add(f"{at}.levels", "expected a list of level names ([] = any)")
    _status(entry.get("status"), f"{at}.status", problems)


def _check_control_line(rule: dict[str, Any], where: str, problems: _Problems) -> None:
    types = rule["types"]
    if not isinstance(types, list) or any(t not in CONTROL_LINE_TYPES for t in types):
        problems.add(f"{where}.types", f"expected a list of {', '.join(CONTROL_LINE_TYPES)}")


#: Each rule's own checks, after the shared ones.
_RULE_CHECKS = {
    "urban_boundary": _check_urban_boundary,
    "land_use_plan": _check_land_use_plan,
    "sensitive_zone": _check_sensitive_zone,
    "control_line": _check_control_line,
}


# --- storage ----------------------------------------------------------------------------

_CACHE_KEY = "compliance_rulesets"


def _from_row(row: ComplianceRuleset) -> Ruleset:
    return Ruleset(
        id=row.id,
        version=row.version,
        name=dict(row.name or {}),
        description=dict(row.description or {}),
        settings=dict(row.settings or {}),
        rules=dict(row.rules or {}),
        created_by=row.created_by or "",
        created_at=row.created_at.isoformat() if row.created_at else None,
    )


def ensure_default_ruleset(ctx: PlanFuse) -> None:
    """Write the built-in default ruleset as version 1 if no version of it exists yet."""
    if ctx.extras.get("compliance_default_seeded"):
        return
    with ctx.db.session() as session:
        exists = session.scalar(
            select(func.count())
            .select_from(ComplianceRuleset)
            .where(ComplianceRuleset.id == DEFAULT_RULESET_ID)
        )
    if not exists:
        doc = validate_ruleset_document(DEFAULT_RULESET)
        try:
            with ctx.db.session() as session:
                session.add(
                    ComplianceRuleset(
                        id=DEFAULT_RULESET_ID, version=1, created_by="planfuse", **doc
                    )
                )
        except IntegrityError:
            pass  # another process seeded it first: same content
    ctx.extras["compliance_default_seeded"] = True


def _cache(ctx: PlanFuse) -> dict[tuple[str, int], Ruleset]:
    return ctx.extras.setdefault(_CACHE_KEY, {})


_CURRENT_VERSION = select(func.max(ComplianceRuleset.version)).where(
    ComplianceRuleset.id == bindparam("rid")
)


def get_ruleset(
    ctx: PlanFuse, ruleset_id: str | None = None, version: int | None = None
) -> Ruleset:
    """A ruleset version (default: the current version of `default`).

    Unknown ids and versions are InvalidInput `unknown_ruleset` naming the known ids.
    Versions are immutable, so they are cached per process; only "which version is
    current" is read from the database on each call (an edit in another process counts).
    """
    ensure_default_ruleset(ctx)
    rid = DEFAULT_RULESET_ID if ruleset_id in (None, "") else ruleset_id
    if not isinstance(rid, str) or not RULESET_ID.match(rid):
        raise _unknown_ruleset(ctx, str(rid)[:64])
    if version is None:
        # A plain connection, no ORM session: this runs on every check.
        with ctx.db.engine.connect() as conn:
            version = conn.execute(_CURRENT_VERSION, {"rid": rid}).scalar()
        if version is None:
            raise _unknown_ruleset(ctx, rid)
    cached = _cache(ctx).get((rid, version))
    if cached is not None:
        return cached
    with ctx.db.session() as session:
        row = session.get(ComplianceRuleset, (rid, version))
        if row is None:
            raise _unknown_ruleset(ctx, f"{rid} version {version}")
        ruleset = _from_row(row)
    _cache(ctx)[(rid, version)] = ruleset
    return ruleset


def _unknown_ruleset(ctx: PlanFuse, what: str) -> InvalidInput:
    with ctx.db.session() as session:
        known = sorted(set(session.scalars(select(ComplianceRuleset.id))))
    detail = f"ruleset {what!r} does not exist; known rulesets: {', '.join(known) or 'none'}"
    return InvalidInput(
        detail,
        code="unknown_ruleset",
        errors=[{"field": "ruleset", "message": detail}],
        title="Unknown ruleset",
    )


def list_rulesets(ctx: PlanFuse) -> list[dict[str, Any]]:
    """Every ruleset with its current version and the list of its versions."""
    ensure_default_ruleset(ctx)
    with ctx.db.session() as session:
        rows = session.scalars(
            select(ComplianceRuleset).order_by(ComplianceRuleset.id, ComplianceRuleset.version)
        ).all()
        grouped: dict[str, list[ComplianceRuleset]] = {}
        for row in rows:
            grouped.setdefault(row.id, []).append(row)
        out = []
        for rid, versions in grouped.items():
            current = versions[-1]
            out.append(
                {
                    "id": rid,
                    "current_version": current.version,
                    "name": current.name,
                    "description": current.description,
                    "versions": [
                        {
                            "version": v.version,
                            "created_by": v.created_by,
                            "created_at": v.created_at.isoformat(),
                        }
                        for v in versions
                    ],
                }
            )
    return out


def get_ruleset_document(ctx: PlanFuse, ruleset_id: str, version: int | None = None) -> dict:
    """One ruleset version as a document (NotFound if it does not exist, for the admin API)."""
    try:
        return get_ruleset(ctx, ruleset_id, version).to_dict()
    except InvalidInput as exc:
        if exc.code == "unknown_ruleset":
            what = ruleset_id if version is None else f"{ruleset_id} version {version}"
            raise NotFound("ruleset", what) from None
        raise


def save_ruleset(
    ctx: PlanFuse, ruleset_id: str, doc: Any, *, created_by: str, create: bool = False
) -> Ruleset:
    """Store `doc` as the next version of `ruleset_id` (version 1 for a new ruleset).

    `create=True` refuses an id that exists (Conflict); otherwise the id must exist (NotFound).
    """
    ensure_default_ruleset(ctx)
    if not isinstance(ruleset_id, str) or not RULESET_ID.match(ruleset_id):
        raise InvalidInput(
            f"ruleset id {str(ruleset_id)[:64]!r} is not valid; use 1–64 lower-case letters, "
            "digits, '_' or '-'",
            code="invalid_ruleset",
            errors=[{"field": "id", "message": "invalid ruleset id"}],
            title="Invalid ruleset",
        )
    if isinstance(doc, Mapping) and doc.get("id") not in (None, ruleset_id):
        raise InvalidInput(
            f"the document's id {str(doc.get('id'))[:64]!r} differs from {ruleset_id!r}",
            code="invalid_ruleset",
            errors=[{"field": "id", "message": "differs from the URL"}],
            title="Invalid ruleset",
        )
    checked = validate_ruleset_document(doc)
    for attempt in range(3):
        with ctx.db.session() as session:
            latest = session.scalar(
                select(func.max(ComplianceRuleset.version)).where(
                    ComplianceRuleset.id == ruleset_id
                )
            )
        if create and latest is not None:
            raise Conflict(f"ruleset {ruleset_id!r} exists; PUT a new version instead")
        if not create and latest is None:
            raise NotFound("ruleset", ruleset_id)
        version = (latest or 0) + 1
        try:
            with ctx.db.session() as session:
                row = ComplianceRuleset(
                    id=ruleset_id, version=version, created_by=created_by, **checked
                )
                session.add(row)
                session.flush()
                ruleset = _from_row(row)
            return ruleset
        except IntegrityError:
            # Two admins saved at once: the other took this number; take the next.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
