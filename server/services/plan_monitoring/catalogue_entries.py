"""Plan-implementation monitoring in the service catalogue (planfuse.services.monitoring)."""

from __future__ import annotations

from planfuse.services.monitoring.spec import ConfigItem, Endpoint, ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="plan_monitoring",
        name_zh="规划实施监测评估预警",
        name_en="Plan-implementation monitoring",
        kind="function",
        dept="natural_resources",
        description_zh="约束性指标按区县和全市的年度值、目标与状态（正常、预警、超标、不达标），"
        "历年序列与按现速度达到目标的年份。",
        description_en="Binding indicators per district and city each year against their "
        "targets (normal, warning, exceeded, below target), series and the year the target is "
        "reached at the current rate.",
        endpoints=(
            Endpoint("GET", "/api/v1/monitoring/indicators"),
            Endpoint("GET", "/api/v1/monitoring/values"),
            Endpoint("GET", "/api/v1/monitoring/changes"),
            Endpoint(None, "/api/v1/monitoring/reports", subpaths=True),
        ),
        example={"query": {"indicator": "construction_land", "year": "2025", "by": "district"}},
        config=(
            ConfigItem(
                "sliver_m2",
                "monitoring_sliver_m2",
                "小于此面积（平方米）的变化图斑（新增建设用地、减少耕地）视为数字化误差，不列出。",
                "Change pieces (new construction land, lost farmland) under this area (m²) are "
                "digitising noise and left out.",
                minimum=0,
                maximum=10_000,
            ),
        ),
    ),
    ServiceSpec(
        id="widget_monitor",
        name_zh="规划实施监测评估预警组件",
        name_en="Plan-implementation monitoring widget",
        kind="application",
        dept="natural_resources",
        description_zh="约束性指标卡片按状态着色、区县状态地图、历年序列与目标线、变化图斑与地图联动、"
        "年度评估报告与导出。",
        description_en="Indicator cards coloured by status, the districts shaded by status, the "
        "series with the target line, the year's changes linked with the map, the annual "
        "evaluation report and export.",
        endpoints=(
            Endpoint("GET", "/embed/monitor"),
            Endpoint("GET", "/embed/assets/monitor", subpaths=True),
        ),
        interface="Embed",
        widget="monitor",
    ),
)
