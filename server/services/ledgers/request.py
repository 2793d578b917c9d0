"""The parameters of `GET /api/v1/ledgers/{name}`, checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planfuse.errors import InvalidInput, NotFound
from planfuse.services.conflicts.analyses import ANALYSES
from planfuse.services.ledgers.definitions import LEDGERS


@dataclass(frozen=True)
class LedgerRequest:
    name: str
    by: str = "district"
    group: str = "class"
    layer: str | None = None
    analysis: str | None = None
    districts: tuple[str, ...] = ()
    locale: str = "zh-CN"


def parse_request(name: str, args: dict[str, Any]) -> LedgerRequest:
    """Validate `GET /ledgers/{name}` parameters (InvalidInput naming the bad one)."""
    if name not in LEDGERS:
        raise NotFound(
            "ledger",
            name,
            code="unknown_ledger",
            hint=f"ledgers: {', '.join(LEDGERS)}",
            title="Unknown ledger",
        )
    known = {"by", "group", "layer", "analysis", "district", "format", "locale"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}",
            field=unknown[0],
        )
    by = args.get("by") or "district"
    if by not in ("district", "city"):
        raise InvalidInput(f"`by` must be district or city, not {by!r}", field="by")
    group = args.get("group") or "class"
    if group not in ("class", "code"):
        raise InvalidInput(f"`group` must be class or code, not {group!r}", field="group")
    if group == "code" and name not in ("urban_plan", "city_plan", "land_use_plan", "land_plan"):
        raise InvalidInput(
            "`group=code` is for urban_plan, city_plan, land_use_plan and land_plan",
            field="group",
        )
    layer = args.get("layer") or None
    if layer is not None and LEDGERS[name].kind is None:
        raise InvalidInput(f"ledger {name!r} is not of one layer kind; drop `layer`", field="layer")
    analysis = args.get("analysis") or None
    if analysis is not None:
        if name != "conflicts":
            raise InvalidInput("`analysis` applies to the conflicts ledger", field="analysis")
        if analysis not in ANALYSES:
            raise InvalidInput(
                f"analysis {analysis!r} is unknown; expected one of {', '.join(ANALYSES)}",
                code="unknown_analysis",
                errors=[{"field": "analysis", "message": "unknown analysis"}],
                title="Unknown analysis",
            )
    raw = args.get("district") or ""
    districts = tuple(d.strip() for d in str(raw).split(",") if d.strip())
    locale = args.get("locale") or "zh-CN"
    if locale not in ("zh-CN", "en"):
        raise InvalidInput(f"`locale` must be zh-CN or en, not {locale!r}", field="locale")
    return LedgerRequest(name, by, group, layer, analysis, districts, locale)
