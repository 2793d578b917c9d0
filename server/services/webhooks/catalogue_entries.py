"""Webhooks in the service catalogue (planfuse.services.monitoring)."""

from __future__ import annotations

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="webhooks",
        name_zh="事件推送",
        name_en="Webhooks",
        kind="platform",
        dept="natural_resources",
        description_zh="向订阅的业务系统推送事件（监测预警等），HMAC 签名、失败重试、投递记录。",
        description_en="Events (monitoring warnings, …) pushed to subscribed host systems, "
        "HMAC-signed, retried with backoff, every delivery logged.",
        endpoints=(Endpoint(None, "/api/v1/webhooks", subpaths=True),),
    ),
)
