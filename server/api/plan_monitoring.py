"""Plan-implementation monitoring (规划实施监测) over HTTP: the indicators, their values and
series (server/api/openapi/plan_monitoring.yaml).

The `monitor` widget reads them with its session token, a host's backend with HTTP Basic.
Parameters the host locks in the embed token narrow every answer: `district` (an adcode:
that district only, never the city) and `indicators` (the indicator set shown; annual
reports, which cover every indicator, only when the set holds them all).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from planfuse.auth.caller import Caller
from planfuse.http.caller import require_caller, widened_lock
from planfuse.http.context import planfuse
from planfuse.http.parsing import int_arg, json_body, request_locale
from planfuse.http.problems import bad_request
from planfuse.http.responses import XLSX_TYPE, download, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.services.plan_monitoring.reports import (
    STATUS_NAMES,
    create_report,
    get_report,
    list_reports,
    report_xlsx,
)
from planfuse.services.plan_monitoring.values import (
    indicator_series,
    indicator_values,
    indicators_values,
)
from planfuse.services.plan_monitoring.years import status_years

routes = RouteTable()

WIDGET = "monitor"


def locked_indicators(caller: Caller) -> list[str] | None:
    """The indicator ids the embed token allows (None: every indicator)."""
    value = (caller.params or {}).get("indicators")
    if value is None:
        return None
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def locked_district(caller: Caller) -> str | None:
    value = (caller.params or {}).get("district")
    return str(value) if value else None


def check_indicator(caller: Caller, indicator_id: str) -> None:
    """403 when the token's indicator set does not hold `indicator_id`."""
    allowed = locked_indicators(caller)
    if allowed is not None and indicator_id not in allowed:
        raise widened_lock(
            "indicators", f"indicator {indicator_id!r} is not in {', '.join(allowed)}"
        )


def scope(caller: Caller) -> tuple[str, list[str] | None]:
    """(`by`, districts) of the request, narrowed to the locked district."""
    by = request.args.get("by") or "district"
    district = request.args.get("district")
    districts = [district] if district else None
    locked = locked_district(caller)
    if locked is not None:
        if by == "city":
            raise widened_lock("district", f"city-wide figures are wider than district {locked}")
        if district and district != locked:
            raise widened_lock("district", f"district {district} is not {locked}")
        districts = [locked]
    return by, districts


def required_year(name: str) -> int:
    value = int_arg(name, message=f"`{name}` is a year such as 2025")
    if value is None:
        raise bad_request(f"`{name}` is required, a year such as 2025", field=name)
    return value


@routes.get("/monitoring/indicators")
def monitoring_indicators():
    """The indicator set with units and targets, and the monitoring years."""
    caller = require_caller(WIDGET)
    ctx = planfuse()
    indicators = list_indicators(ctx, locked_indicators(caller))
    locked = locked_district(caller)
    if locked is not None:
        for entry in indicators:
            entry["targets"] = [t for t in entry["targets"] if t["area"] == locked]
    return json_response({"indicators": indicators, "years": status_years(ctx)})


@routes.get("/monitoring/values")
def monitoring_values():
    """One indicator's values for a year (`year`) or a series (`from`, `to`), by district
    or for the city."""
    caller = require_caller(WIDGET)
    if request.args.get("indicators") is not None:
        return json_response(_batched_values(caller))
    indicator_id = request.args.get("indicator")
    if not indicator_id:
        raise bad_request("`indicator` is required, e.g. construction_land", field="indicator")
    check_indicator(caller, indicator_id)
    by, districts = scope(caller)
    locale = request_locale(caller.locale)
    ctx = planfuse()
    body: dict[str, Any]
    if request.args.get("from") is not None or request.args.get("to") is not None:
        body = indicator_series(
            ctx,
            indicator_id,
            required_year("from"),
            required_year("to"),
            by=by,
            districts=districts,
            locale=locale,
        )
    else:
        body = indicator_values(
            ctx, indicator_id, required_year("year"), by=by, districts=districts, locale=locale
        )
    return json_response(body)


def _batched_values(caller: Caller) -> dict[str, Any]:
    """`indicators=a,b,c&year=Y`: several indicators' values for one year."""
    if request.args.get("indicator") is not None:
        raise bad_request("give `indicator` or `indicators`, not both", field="indicators")
    if request.args.get("from") is not None or request.args.get("to") is not None:
        raise bad_request(
            "a series (`from`, `to`) takes one `indicator`; `indicators` takes a `year`",
            field="indicators",
        )
    ids = _list_arg("indicators") or []
    for indicator_id in ids:
        check_indicator(caller, indicator_id)
    by, districts = scope(caller)
    return indicators_values(
        planfuse(),
        ids,
        required_year("year"),
        by=by,
        districts=districts,
        locale=request_locale(caller.locale),
    )


def _list_arg(name: str) -> list[str] | None:
    value = request.args.get(name)
    return [v for v in value.split(",") if v] if value else None


@routes.get("/monitoring/changes")
def monitoring_changes():
    """What changed since the previous status version: new construction land and lost
    farmland, each piece classified where it lands (basic farmland, red line, outside the
    urban boundary), largest first."""
    caller = require_caller(WIDGET)
    districts = _list_arg("district")
    locked = locked_district(caller)
    if locked is not None:
        if districts and set(districts) != {locked}:
            raise widened_lock("district", f"districts {', '.join(districts)} are not {locked}")
        districts = [locked]
    body = list_changes(
        planfuse(),
        required_year("year"),
        districts=districts,
        types=_list_arg("type"),
        on=_list_arg("on"),
        warnings_only=request.args.get("warnings") in ("1", "true"),
        limit=int_arg("limit", 500) or 500,
        offset=int_arg("offset", 0) or 0,
        geometry=request.args.get("geometry", "true") not in ("0", "false"),
    )
    return json_response(body)


# --- annual evaluation reports ---------------------------------------------------------------


def check_reports_allowed(caller: Caller) -> None:
    """403 when the token's indicator set leaves out an indicator: an annual report covers
    every indicator (and is signed whole), so it would show the ones outside the set."""
    allowed = locked_indicators(caller)
    if allowed is None:
        return
    outside = sorted({i["id"] for i in list_indicators(planfuse())} - set(allowed))
    if outside:
        raise widened_lock(
            "indicators",
            "an annual evaluation report covers every indicator; "
            f"{', '.join(outside)} are outside the locked set",
        )


@routes.post("/monitoring/reports")
def monitoring_report_create():
    """Build, sign and store the annual evaluation report of a district or the city
    (`{"year": 2025, "area": "500112" | "city"}`)."""
    caller = require_caller(WIDGET)
    check_reports_allowed(caller)
    body = json_body(example='{"year": 2025, "area": "city"}')
    area = body.get("area") or "city"
    locked = locked_district(caller)
    if locked is not None and area != locked:
        raise widened_lock("district", f"a report of {area} is wider than district {locked}")
    report = create_report(
        planfuse(),
        body.get("year"),
        area,
        app_id=caller.app_id,
        created_by=caller.user or f"app:{caller.app_id}",
    )
    return json_response(report, 201, location=f"monitoring/reports/{report['id']}")


def readable_report(caller: Caller, report_id: str) -> dict[str, Any]:
    """The app's report `report_id` (404 for another app's), refused (403) to a session
    locked to another district than the report's or to a set of indicators the report
    goes beyond."""
    check_reports_allowed(caller)
    report = get_report(planfuse(), report_id, caller.app_id)
    locked = locked_district(caller)
    if locked is not None and report["area"] != locked:
        raise widened_lock(
            "district", f"report {report_id} of {report['area']} is wider than district {locked}"
        )
    return report


@routes.get("/monitoring/reports")
def monitoring_reports_list():
    """The app's reports, newest first."""
    caller = require_caller(WIDGET)
    check_reports_allowed(caller)
    reports = list_reports(planfuse(), caller.app_id)
    locked = locked_district(caller)
    if locked is not None:
        reports = [r for r in reports if r["area"] == locked]
    return json_response({"reports": reports})


@routes.get("/monitoring/reports/<report_id>")
def monitoring_report_get(report_id: str):
    """A stored report as it was served; `format=xlsx` downloads it as a workbook."""
    caller = require_caller(WIDGET)
    report = readable_report(caller, report_id)
    if request.args.get("format") == "xlsx":
        locale = request_locale(caller.locale)
        return download(
            report_xlsx(report, locale),
            XLSX_TYPE,
            f"monitoring-report-{report['year']}-{report['area']}.xlsx",
            title=f"{report['year']}年{report['area_name']['zh-CN']}年度评估报告.xlsx",
        )
    return json_response(report)


@routes.get("/monitoring/reports/<report_id>/print")
def monitoring_report_print(report_id: str):
    """The report as a printable page (A4, the figures and the signature's fingerprint)."""
    caller = require_caller(WIDGET)
    report = readable_report(caller, report_id)
    locale = request_locale(caller.locale)
    return render_template(
        "monitoring/report_print.html", report=report, locale=locale, status_names=STATUS_NAMES
    )
