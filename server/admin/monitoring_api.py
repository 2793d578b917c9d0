"""The admin API of plan-implementation monitoring: load an indicator document
(`PUT /api/v1/admin/monitoring/indicators/{id}`, the twin of `planfuse monitoring load`),
and push a year's warnings (`POST /api/v1/admin/monitoring/publish`)."""

from __future__ import annotations

from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.plan_monitoring.alerts import check_publish_year, publish_year
from planfuse.services.plan_monitoring.indicators import save_indicator
from planfuse.services.plan_monitoring.measure import known_adcodes

routes = RouteTable()


@routes.put("/admin/monitoring/indicators/<indicator_id>")
def admin_put_indicator(indicator_id: str):
    """Validate the body (an indicator document) and store it as the next version."""
    admin = require_admin()
    ctx = planfuse()
    entry = save_indicator(
        ctx,
        json_body(example='{"id": "construction_land", "name": {"zh-CN": "建设用地总规模"}, …}'),
        indicator_id=indicator_id,
        created_by=f"admin:{admin.name}",
        adcodes=known_adcodes(ctx),
    )
    audit_event("indicator.load", f"indicator:{entry['id']}", {"version": entry["version"]})
    return json_response(entry, 200)


@routes.post("/admin/monitoring/publish")
def admin_publish_year():
    """Push the warnings of a monitoring year (`{"year": 2025}`) to subscribed apps."""
    require_admin()
    year = check_publish_year(json_body(example='{"year": 2025}').get("year"))
    result = publish_year(planfuse(), year)
    audit_event("monitoring.publish", f"monitoring_year:{year}", result)
    return json_response(result, 200)
