"""Coordinated approval in the service catalogue (planfuse.services.monitoring)."""

from __future__ import annotations

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="approvals",
        name_zh="协同审批",
        name_en="Coordinated approval",
        kind="function",
        dept="natural_resources",
        description_zh="一个项目、多个部门：在同一份冻结的多规合一证据上并行出具意见，按办理时限跟踪，"
        "形成联合审查意见。",
        description_en="One project, many departments giving opinions in parallel on the same "
        "frozen evidence, with deadlines in working days and a joint opinion.",
        endpoints=(Endpoint(None, "/api/v1/approvals", subpaths=True),),
    ),
)
