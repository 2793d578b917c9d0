"""项目生成 in the service catalogue (planfuse.services.monitoring): the project reserve and
its pre-study, published by the development and reform commission."""

from __future__ import annotations

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

DEPT = "development_reform"

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="project_reserve",
        name_zh="项目储备库",
        name_en="Project reserve",
        kind="function",
        dept=DEPT,
        description_zh="各部门拟建项目的储备库：类型、区县、规划用途、用地需求、红线、分年资金、优先级与前置项目，"
        "支持 XLSX 导入导出。",
        description_en="Departments' proposed projects with type, district, planned use, land "
        "needed, red line, funds per year, priority and dependencies; XLSX import and export.",
        endpoints=(Endpoint(None, "/api/v1/reserve", subpaths=True),),
    ),
    ServiceSpec(
        id="project_prestudy",
        name_zh="预研预控",
        name_en="Project pre-study",
        kind="function",
        dept=DEPT,
        description_zh="项目能否落地：有红线时做合规审查、冲突与现状新增建设用地、耕地分析，无红线时先选址；"
        "结论为可落地、需调整（调整方式与面积）或不可落地，可批量后台运行。",
        description_en="Whether a project can land: with a red line the compliance check, "
        "conflicts, new construction land and farmland on the land-use status; without one a "
        "siting search first. Landable, needs adjustment (which change, how many m²) or not "
        "landable; batches run as jobs.",
        endpoints=(
            Endpoint("POST", "/api/v1/reserve/projects/{id}/pre-study"),
            Endpoint("POST", "/api/v1/reserve/pre-study"),
        ),
    ),
    ServiceSpec(
        id="project_schedule",
        name_zh="建设时序",
        name_en="Construction timing",
        kind="function",
        dept=DEPT,
        description_zh="在各区县年度新增建设用地指标、年度资金、前置关系与开工年份窗口约束下，求可落地项目的最优分年开工安排，"
        "列出未安排项目的约束原因与闲置资金。",
        description_en="The optimal start year of each landable project under the districts' "
        "yearly quotas of new construction land, the yearly budget, dependencies and year "
        "windows; why each other project is not scheduled, and the idle funds.",
        endpoints=(Endpoint("POST", "/api/v1/reserve/schedule"),),
    ),
    ServiceSpec(
        id="widget_projects",
        name_zh="项目生成组件",
        name_en="Projects widget",
        kind="application",
        dept=DEPT,
        description_zh="储备项目与预研结论列表、项目页（理由、候选地块、地图）、建设时序甘特图与闲置资金。",
        description_en="The reserve with its pre-study outcomes, a project's page (reasons, "
        "candidate sites, map) and the construction schedule as a Gantt chart with idle funds.",
        endpoints=(
            Endpoint("GET", "/embed/projects"),
            Endpoint("GET", "/embed/assets/projects", subpaths=True),
        ),
        interface="Embed",
        widget="projects",
    ),
)
