"""The event types a subscription may ask for. A service that pushes events adds its
types here (name → zh-CN and English description), e.g. `approval.opinion_due`."""

from __future__ import annotations

EVENT_TYPES: dict[str, tuple[str, str]] = {
    "webhook.test": ("测试消息", "A test message sent on request to check the endpoint."),
    "monitoring.warning": (
        "监测预警：指标进入预警、超标或不达标",
        "An indicator of a district or the city turned warning, exceeded or below target.",
    ),
    "monitoring.change": (
        "监测预警：新增建设用地占用永久基本农田、生态保护红线或位于城镇开发边界外",
        "New construction land on basic farmland, an ecological red line or outside the "
        "urban development boundary.",
    ),
    "approval.opened": (
        "协同审批：新的审批件征求本部门意见",
        "A coordinated-approval case was opened that asks the department's opinion.",
    ),
    "approval.opinion": (
        "协同审批：部门给出或修改了意见",
        "A department gave or revised its opinion on a coordinated-approval case.",
    ),
    "approval.closed": (
        "协同审批：审批件已办结或撤回",
        "A coordinated-approval case was closed (approved or rejected) or withdrawn.",
    ),
    "approval.overdue": (
        "协同审批：部门超过办理期限未给出意见",
        "A department passed its deadline on a coordinated-approval case without an opinion.",
    ),
}


def event_types() -> list[dict[str, object]]:
    """The event types with their descriptions, by name."""
    return [
        {"type": name, "description": {"zh-CN": zh, "en": en}}
        for name, (zh, en) in sorted(EVENT_TYPES.items())
    ]
