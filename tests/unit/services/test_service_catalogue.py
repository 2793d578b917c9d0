"""The service catalogue as declared: the seed platform's twelve services by name, complete
entries, departments, and which service every request is attributed to."""

from __future__ import annotations

import pytest

from planfuse.services.monitoring.catalogue import (
    OTHER,
    SERVICES,
    SERVICES_BY_ID,
    ServiceMatcher,
    matcher,
    service_for_request,
)
from planfuse.services.monitoring.departments import DEFAULT_DEPARTMENT_IDS
from planfuse.services.monitoring.spec import CATALOGUE_KINDS, Endpoint, ServiceSpec

#: The seed platform's function services (the admin screen it was built from), by name.
SEED_SERVICES = {
    "城市规划台账-按区县": "city_plan_ledger_by_district",
    "城市规划台账-全市": "city_plan_ledger_city",
    "城乡规划台账-按区县": "urban_plan_ledger_by_district",
    "城乡规划台账-全市": "urban_plan_ledger_city",
    "多规合一台账": "conflicts_ledger",
    "辅助选址-高级条件": "siting_advanced",
    "辅助选址-基础条件": "siting_basic",
    "获取辅助选址方案": "siting_plans_get",
    "删除辅助选址方案": "siting_plans_delete",
    "添加辅助选址方案": "siting_plans_add",
    "综合台账-按区县": "comprehensive_ledger_by_district",
    "综合台账-总": "comprehensive_ledger_total",
}


def test_the_twelve_seed_services_are_function_services_by_name():
    # First in the catalogue, in the seed screen's order.
    assert [s.name_zh for s in SERVICES[:12]] == list(SEED_SERVICES)
    by_name = {s.name_zh: s for s in SERVICES}
    for name, service_id in SEED_SERVICES.items():
        assert by_name[name].id == service_id
        assert by_name[name].kind == "function" and by_name[name].interface == "HTTP"


def test_entries_are_complete_and_name_known_departments():
    assert len({s.id for s in SERVICES}) == len(SERVICES)
    for service in SERVICES:
        assert service.dept in DEFAULT_DEPARTMENT_IDS, service.id
        assert service.name_zh and service.name_en and service.description_zh
        assert service.base_path.startswith("/")
    kinds = {s.kind for s in SERVICES}
    assert set(CATALOGUE_KINDS) <= kinds
    widgets = {s.widget for s in SERVICES if s.kind == "application"}
    assert widgets == {
        "compliance",
        "siting",
        "conflicts",
        "map",
        "approval",
        "projects",
        "monitor",
    }


@pytest.mark.parametrize(
    ("method", "path", "args", "service"),
    [
        ("GET", "/api/v1/ledgers/city_plan", {}, "city_plan_ledger_by_district"),
        ("GET", "/api/v1/ledgers/city_plan", {"by": "district"}, "city_plan_ledger_by_district"),
        ("GET", "/api/v1/ledgers/city_plan", {"by": "city"}, "city_plan_ledger_city"),
        ("GET", "/api/v1/ledgers/city_plan.csv", {"by": "city"}, "city_plan_ledger_city"),
        ("GET", "/api/v1/ledgers/urban_plan", {}, "urban_plan_ledger_by_district"),
        ("GET", "/api/v1/ledgers/urban_plan.xlsx", {"by": "city"}, "urban_plan_ledger_city"),
        ("GET", "/api/v1/ledgers/conflicts", {"by": "city"}, "conflicts_ledger"),
        ("GET", "/api/v1/ledgers/comprehensive", {}, "comprehensive_ledger_by_district"),
        ("GET", "/api/v1/ledgers/comprehensive", {"by": "city"}, "comprehensive_ledger_total"),
        ("GET", "/api/v1/ledgers/basic_farmland", {}, "layer_ledgers"),
        # An unknown `by` is refused by the ledger; it is still a ledger request.
        ("GET", "/api/v1/ledgers/urban_plan", {"by": "street"}, "urban_plan_ledger_by_district"),
        ("POST", "/api/v1/siting/search", {}, "siting_advanced"),
        ("GET", "/api/v1/siting/options", {}, "siting_advanced"),
        ("POST", "/api/v1/siting/search/basic", {}, "siting_basic"),
        ("GET", "/api/v1/siting/plans", {}, "siting_plans_get"),
        ("GET", "/api/v1/siting/plans/7", {}, "siting_plans_get"),
        ("DELETE", "/api/v1/siting/plans/7", {}, "siting_plans_delete"),
        ("POST", "/api/v1/siting/plans", {}, "siting_plans_add"),
        ("POST", "/api/v1/siting/plans/7/run", {}, "siting_plans_run"),
        ("OPTIONS", "/api/v1/siting/plans/7", {}, "siting_plans_get"),
        ("POST", "/api/v1/compliance/check", {}, "compliance_check"),
        ("PUT", "/api/v1/compliance/rulesets/r1", {}, "compliance_check"),
        ("GET", "/api/v1/projects/p1", {}, "compliance_check"),
        ("GET", "/api/v1/compliance/reports/r1/items.csv", {}, "compliance_reports"),
        ("GET", "/api/v1/compliance/jwks.json", {}, "compliance_reports"),
        ("POST", "/api/v1/conflicts/detect", {}, "conflict_detection"),
        ("GET", "/api/v1/jobs/j1", {}, "conflict_detection"),
        ("PATCH", "/api/v1/conflicts/c1", {}, "conflicts"),
        ("GET", "/api/v1/layers/l1", {}, "layer_catalogue"),
        ("PATCH", "/api/v1/reserve/projects/3", {}, "project_reserve"),
        ("POST", "/api/v1/approvals/c1/opinions", {}, "approvals"),
        ("GET", "/ogc/collections/x/items", {}, "ogc_features"),
        ("GET", "/tiles/x/1/2/3.mvt", {}, "vector_tiles"),
        ("GET", "/embed/compliance", {}, "widget_compliance"),
        ("GET", "/embed/assets/siting/widget.js", {}, "widget_siting"),
        ("POST", "/embed/session", {}, "embed_session"),
        ("GET", "/embed.js", {}, "embed_sdk"),
        ("GET", "/admin/services.json", {}, "admin"),
        ("GET", "/api/v1/admin/services", {}, "admin"),
        ("GET", "/healthz", {}, OTHER),
        ("GET", "/api/v1/nothing-here", {}, OTHER),
        ("GET", "/ogcx", {}, OTHER),  # a path segment is matched whole
    ],
)
def test_requests_are_attributed_to_the_most_specific_service(method, path, args, service):
    assert service_for_request(method, path, args) == service


def test_a_route_of_one_service_is_resolved_once():
    m = matcher()
    assert m.for_rule("/ogc/collections/<collection_id>/items") == "ogc_features"
    assert m.for_rule("/api/v1/conflicts/<conflict_id>/history") == "conflicts"
    assert m.for_rule("/healthz") == OTHER
    # Shared routes are resolved per request among the few services they can be.
    ledgers = m.for_rule("/api/v1/ledgers/<name>")
    assert not isinstance(ledgers, str)
    assert {sid for _, sid in ledgers} >= {"layer_ledgers", "city_plan_ledger_city"}
    plans = m.for_rule("/api/v1/siting/plans/<int:id>")
    assert {sid for _, sid in plans} == {"siting_plans_get", "siting_plans_delete"}


def test_every_route_of_the_app_reaches_its_service(sqlite_url):
    from planfuse.app import create_app

    app = create_app({"database_url": sqlite_url, "secret_key": "s" * 40})
    m = matcher()
    platform = {
        "/",
        "/healthz",
        "/readyz",
        "/favicon.ico",
        "/static/<path:filename>",
        "/api/v1/openapi.json",
    }
    for rule in app.url_map.iter_rules():
        resolved = m.for_rule(rule.rule)
        if rule.rule in platform:
            assert resolved == OTHER, rule.rule
        else:
            assert resolved != OTHER, rule.rule


def test_every_widget_is_an_application_service(sqlite_url):
    from planfuse.app import create_app
    from planfuse.widgets.registry import widget_registry

    app = create_app({"database_url": sqlite_url, "secret_key": "s" * 40})
    widgets = {w.name for w in widget_registry(app.extensions["planfuse"])}
    assert widgets == {s.widget for s in SERVICES if s.kind == "application"}


def test_a_declaration_is_checked():
    endpoint = (Endpoint("GET", "/api/v1/x"),)
    good = dict(
        id="x_service",
        name_zh="某服务",
        name_en="A service",
        kind="function",
        dept="natural_resources",
        description_zh="说明",
        description_en="What it does",
        endpoints=endpoint,
    )
    ServiceSpec(**good)
    for change, words in [
        ({"id": "X-Service"}, "service id"),
        ({"kind": "widget"}, "kind"),
        ({"dept": "规划局"}, "department id"),
        ({"endpoints": ()}, "endpoint"),
        ({"name_en": ""}, "both languages"),
        ({"kind": "application"}, "widget"),
    ]:
        with pytest.raises(ValueError, match=words):
            ServiceSpec(**(good | change))
    with pytest.raises(ValueError, match="method"):
        Endpoint("FETCH", "/x")
    with pytest.raises(ValueError, match="declared twice"):
        from planfuse.services.monitoring.catalogue import _by_id

        _by_id((ServiceSpec(**good), ServiceSpec(**good)))


def test_a_registered_service_is_matched_like_the_built_in_ones():
    extra = ServiceSpec(
        id="project_prestudy",
        name_zh="项目预研",
        name_en="Project pre-study",
        kind="function",
        dept="development_reform",
        description_zh="项目预研",
        description_en="Pre-study of a reserve project",
        endpoints=(Endpoint("POST", "/api/v1/reserve/projects/{id}/prestudy"),),
    )
    m = ServiceMatcher((*SERVICES, extra))
    assert m.resolve("POST", "/api/v1/reserve/projects/9/prestudy") == "project_prestudy"
    # The more specific endpoint wins over the reserve's whole range.
    assert m.resolve("GET", "/api/v1/reserve/projects/9") == "project_reserve"
    assert m.resolve("GET", "/api/v1/nowhere/9") == OTHER
    assert SERVICES_BY_ID["siting_basic"].describe()["endpoints"][0]["url"] == (
        "/api/v1/siting/search/basic"
    )


def test_every_service_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "services.md").read_text("utf-8")
    for service in SERVICES:
        assert f"| `{service.id}` | {service.name_zh} · {service.name_en} |" in text, service.id
