"""台账 (ledgers) over HTTP: `GET /api/v1/ledgers/{name}` as JSON, CSV or XLSX
(server/api/openapi/conflicts.yaml).

The conflicts widget reads them (session token), as may a host's backend (HTTP Basic);
the widget's locked `districts` and `analysis` narrow them as they narrow the conflicts
(`planfuse.api.conflicts`).
"""

from __future__ import annotations

from flask import request

from planfuse.api.conflicts import WIDGET, locked_districts, narrow_analysis, narrow_district_arg
from planfuse.http.caller import require_caller, widened_lock
from planfuse.http.context import planfuse
from planfuse.http.parsing import request_locale
from planfuse.http.problems import bad_request
from planfuse.http.responses import CSV_TYPE, XLSX_TYPE, download, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.ledgers.build import build_ledger
from planfuse.services.ledgers.export import ledger_csv, ledger_xlsx
from planfuse.services.ledgers.request import parse_request

routes = RouteTable()

FORMATS = {"json", "csv", "xlsx"}


@routes.get("/ledgers/<name>")
def ledgers_get(name: str):
    """A ledger by district (`by=district`) or city-wide (`by=city`); `format=csv|xlsx`
    (or a `.csv`/`.xlsx` suffix on the name) downloads it."""
    caller = require_caller(WIDGET)
    fmt = request.args.get("format") or "json"
    for suffix in ("csv", "xlsx", "json"):
        if name.endswith("." + suffix):
            name, fmt = name[: -len(suffix) - 1], suffix
    if fmt not in FORMATS:
        raise bad_request(f"`format` must be json, csv or xlsx, not {fmt!r}", field="format")
    args = request.args.to_dict()
    args.pop("format", None)
    allowed = locked_districts(caller)
    if allowed is not None and args.get("by") == "city":
        raise widened_lock(
            "districts", f"a city-wide ledger is wider than districts {', '.join(allowed)}"
        )
    narrow_district_arg(caller, args)
    locked_analysis = (caller.params or {}).get("analysis")
    if locked_analysis and name == "conflicts":
        args["analysis"] = narrow_analysis(caller, args.get("analysis"))
    args.setdefault("locale", request_locale(caller.locale))
    req = parse_request(name, args)
    body = build_ledger(planfuse(), req)
    if fmt == "json":
        return json_response(body)
    data = ledger_csv(body, req.locale) if fmt == "csv" else ledger_xlsx(body, req.locale)
    scope = {"city": ("全市", "city"), "district": ("分区县", "by-district")}[req.by]
    return download(
        data,
        CSV_TYPE if fmt == "csv" else XLSX_TYPE,
        f"ledger-{req.name}-{req.by}.{fmt}",
        title=f"{body['title']}-{scope[1 if req.locale == 'en' else 0]}.{fmt}",
    )
