"""The service catalogue over HTTP (GET /api/v1/catalogue, /catalogue/{id}, /departments,
PUT /admin/departments/{id}) on SQLite and PostgreSQL: who sees what, the filters, live
status from the metrics, schemas from the OpenAPI document, and bad input."""

from __future__ import annotations

import time

import pytest
from embed_support import basic, session_headers

from planfuse.services.monitoring.departments import DEFAULT_DEPARTMENTS
from planfuse.services.monitoring.listing import catalogued_services
from planfuse.storage.models.metrics import COUNTER_COLUMNS, service_metrics_table

SEED_NAMES = [
    "城市规划台账-按区县",
    "城市规划台账-全市",
    "城乡规划台账-按区县",
    "城乡规划台账-全市",
    "多规合一台账",
    "辅助选址-高级条件",
    "辅助选址-基础条件",
    "获取辅助选址方案",
    "删除辅助选址方案",
    "添加辅助选址方案",
    "综合台账-按区县",
    "综合台账-总",
]


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def listing(client, headers, **query) -> dict:
    r = client.get("/api/v1/catalogue", headers=headers, query_string=query)
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["total"] == len(body["services"])
    return body


def ids(body: dict) -> list[str]:
    return [s["id"] for s in body["services"]]


def test_an_administrator_sees_every_service_with_the_seed_twelve_running(
    embed_client, admin_token
):
    body = listing(embed_client, admin(admin_token))
    assert ids(body) == [s.id for s in catalogued_services()]
    by_name = {s["name"]["zh-CN"]: s for s in body["services"]}
    for name in SEED_NAMES:
        entry = by_name[name]
        assert entry["kind"] == "function" and entry["interface"] == "HTTP"
        assert entry["status"] == "running" and entry["status_name"]["zh-CN"] == "运行中"
        assert entry["description"]["zh-CN"] and entry["version"] == "1"
    city = by_name["城市规划台账-全市"]
    assert city["endpoints"][0]["url"] == "/api/v1/ledgers/city_plan?by=city"
    assert city["dept"] == "housing_construction"
    assert city["dept_name"] == {
        "zh-CN": "住房和城乡建设委员会",
        "en": "Housing and Urban-Rural Development Commission",
    }
    assert {d["id"] for d in body["departments"]} == {d.id for d in DEFAULT_DEPARTMENTS}
    # The platform's own plumbing is monitored, not offered.
    assert not {"admin", "embed_session", "other", "service_catalogue"} & set(ids(body))


def test_filters_by_kind_department_status_and_keyword(embed_client, admin_token):
    headers = admin(admin_token)
    kinds = {k: ids(listing(embed_client, headers, kind=k)) for k in ("data", "function")}
    assert kinds["data"] == [
        "layer_catalogue",
        "ogc_features",
        "ogc_tiles",
        "vector_tiles",
        "wfs",
        "wms",
        "wmts",
        "arcgis_feature_server",
        "arcgis_map_server",
    ]
    assert "siting_basic" in kinds["function"] and "ogc_features" not in kinds["function"]
    apps = listing(embed_client, headers, kind="application")["services"]
    assert {s["widget"] for s in apps} == {
        "compliance",
        "siting",
        "conflicts",
        "map",
        "approval",
        "projects",
        "monitor",
    }
    assert all(s["interface"] == "Embed" for s in apps)
    housing = ids(listing(embed_client, headers, dept="housing_construction"))
    assert housing == [
        "city_plan_ledger_by_district",
        "city_plan_ledger_city",
        "urban_plan_ledger_by_district",
        "urban_plan_ledger_city",
    ]
    assert listing(embed_client, headers, dept="forestry")["total"] == 0
    assert ids(listing(embed_client, headers, q="选址方案")) == [
        "siting_plans_get",
        "siting_plans_delete",
        "siting_plans_add",
        "siting_plans_run",
    ]
    # Keywords reach English names, departments and paths too, ignoring case.
    assert ids(listing(embed_client, headers, q="CITY PLAN LEDGER")) == [
        "city_plan_ledger_by_district",
        "city_plan_ledger_city",
    ]
    assert "vector_tiles" in ids(listing(embed_client, headers, q="mvt"))
    both = listing(embed_client, headers, kind="function", dept="natural_resources", q="台账")
    assert ids(both) == [
        "conflicts_ledger",
        "comprehensive_ledger_by_district",
        "comprehensive_ledger_total",
        "layer_ledgers",
    ]
    assert listing(embed_client, headers, status="running")["total"] == len(catalogued_services())
    assert listing(embed_client, headers, status="stopped")["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "widget"}, "kind"),
        ({"status": "ok"}, "status"),
        ({"dept": "no_such_dept"}, "dept"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(embed_client, admin_token, query, field):
    r = embed_client.get("/api/v1/catalogue", headers=admin(admin_token), query_string=query)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["errors"][0]["field"] == field
    if field != "q":
        assert "expected one of" in body["detail"]


def test_status_is_degraded_from_the_live_error_rate(embed_client, admin_token, pf):
    minute = int(time.time() // 60)
    row = dict.fromkeys(COUNTER_COLUMNS, 0) | {"minute": minute, "last_request_epoch_s": 0.0}
    with pf.db.engine.begin() as conn:
        conn.execute(
            service_metrics_table.insert(),
            [
                row | {"service": "siting_basic", "requests": 100, "server_errors": 2},
                row | {"service": "siting_advanced", "requests": 100, "server_errors": 1},
                # Errors older than the 15-minute window no longer count.
                row
                | {
                    "service": "conflicts_ledger",
                    "minute": minute - 20,
                    "requests": 10,
                    "server_errors": 10,
                },
            ],
        )
    body = listing(embed_client, admin(admin_token))
    status = {s["id"]: s["status"] for s in body["services"]}
    assert status["siting_basic"] == "degraded"
    assert status["siting_advanced"] == "running"  # 1 % is the limit, not over it
    assert status["conflicts_ledger"] == "running"
    degraded = listing(embed_client, admin(admin_token), status="degraded")
    assert ids(degraded) == ["siting_basic"]
    assert degraded["services"][0]["figures"] == {
        "requests_15m": 100,
        "server_errors_15m": 2,
        "server_error_rate_15m": 0.02,
    }
    assert degraded["services"][0]["status_name"] == {"zh-CN": "异常", "en": "Degraded"}


def test_a_host_app_sees_what_it_is_granted(embed_client, host, pf, admin_token):
    from planfuse.auth.apps import create_host_app, update_host_app

    # Every widget allowed (the default): every service.
    assert len(ids(listing(embed_client, basic(host)))) == len(catalogued_services())
    update_host_app(pf, host.id, widgets=["siting"])
    seen = listing(embed_client, basic(host))
    applications = [s["id"] for s in seen["services"] if s["kind"] == "application"]
    assert applications == ["widget_siting"]
    assert "siting_basic" in ids(seen)
    r = embed_client.get("/api/v1/catalogue/widget_compliance", headers=basic(host))
    assert r.status_code == 404 and r.get_json()["type"].endswith("unknown_service")
    # Its widget sessions read the catalogue as the app does.
    session = session_headers(embed_client, host, "siting")
    assert ids(listing(embed_client, session)) == ids(seen)
    # Another app's grants are its own.
    record, secret = create_host_app(
        pf, "生态环境局业务系统", ["https://eco.example.org"], ["compliance"]
    )
    theirs = listing(embed_client, basic(record.id, secret))
    assert [s["id"] for s in theirs["services"] if s["kind"] == "application"] == [
        "widget_compliance"
    ]
    update_host_app(pf, record.id, disabled=True)
    r = embed_client.get("/api/v1/catalogue", headers=basic(record.id, secret))
    assert r.status_code == 401


def test_credentials_are_required(embed_client, host):
    r = embed_client.get("/api/v1/catalogue")
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    r = embed_client.get("/api/v1/catalogue", headers=basic(host.id, "wrong"))
    assert r.status_code == 401
    r = embed_client.get("/api/v1/catalogue", headers={"Authorization": "Bearer pfa_nope"})
    assert r.status_code in (401, 403)
    assert embed_client.get("/api/v1/departments").status_code == 401


def test_one_service_with_its_schemas_from_the_openapi_document(embed_client, admin_token):
    r = embed_client.get("/api/v1/catalogue/siting_basic", headers=admin(admin_token))
    assert r.status_code == 200
    entry = r.get_json()
    assert entry["name"] == {"zh-CN": "辅助选址-基础条件", "en": "Siting, basic conditions"}
    schemas = entry["endpoints"][0]["schemas"]
    assert schemas["operation_id"] == "sitingSearchBasic"
    assert schemas["input"]["required"] == ["scope"]  # the $ref is inlined
    assert "land_use" in schemas["input"]["properties"]
    assert "candidates" in schemas["output"]["properties"]
    assert entry["example"]["body"]["scope"] == {"districts": ["500112"]}

    ledger = embed_client.get(
        "/api/v1/catalogue/city_plan_ledger_city", headers=admin(admin_token)
    ).get_json()
    first = ledger["endpoints"][0]
    assert first["method"] == "GET" and first["query"] == {"by": "city"}
    parameters = {p["name"] for p in first["schemas"]["parameters"]}
    assert {"name", "by", "district", "format"} <= parameters
    assert ledger["example"] == {"query": {"by": "city"}}

    widget = embed_client.get("/api/v1/catalogue/widget_map", headers=admin(admin_token)).get_json()
    assert widget["endpoints"][0]["schemas"] is None  # a page, not an operation
    r = embed_client.get("/api/v1/catalogue/no_such_service", headers=admin(admin_token))
    assert r.status_code == 404 and "GET /api/v1/catalogue" in r.get_json()["detail"]


def test_departments_are_records_an_administrator_adds_and_renames(embed_client, admin_token, host):
    r = embed_client.get("/api/v1/departments", headers=basic(host))
    assert r.status_code == 200
    assert r.get_json()["departments"] == [
        d.describe() for d in sorted(DEFAULT_DEPARTMENTS, key=lambda d: d.id)
    ]
    url = "/api/v1/admin/departments/big_data"
    body = {"name": {"zh-CN": "大数据发展局", "en": "Big Data Bureau"}}
    r = embed_client.put(url, json=body, headers=admin(admin_token))
    assert r.status_code == 201
    assert r.get_json() == {"id": "big_data", "name": body["name"]}
    renamed = {"name": {"zh-CN": "大数据应用发展管理局", "en": "Big Data Development Bureau"}}
    r = embed_client.put(url, json=renamed, headers=admin(admin_token))
    assert r.status_code == 200 and r.get_json()["name"]["zh-CN"] == "大数据应用发展管理局"
    listed = embed_client.get("/api/v1/departments", headers=admin(admin_token)).get_json()
    assert {"id": "big_data", "name": renamed["name"]} in listed["departments"]
    # The new department is a filter value (with nothing published yet).
    assert listing(embed_client, admin(admin_token), dept="big_data")["total"] == 0
    # A host app cannot change departments.
    assert embed_client.put(url, json=body, headers=basic(host)).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/admin/departments/Big-Data", {"name": {"zh-CN": "甲", "en": "A"}}, "id"),
        ("/api/v1/admin/departments/big_data", {"name": "大数据局"}, "name"),
        ("/api/v1/admin/departments/big_data", {"name": {"zh-CN": " ", "en": "A"}}, "name.zh-CN"),
        ("/api/v1/admin/departments/big_data", {"name": {"zh-CN": "甲"}}, "name.en"),
        (
            "/api/v1/admin/departments/big_data",
            {"name": {"zh-CN": "甲", "en": "A" * 201}},
            "name.en",
        ),
        (
            "/api/v1/admin/departments/big_data",
            {"id": "other", "name": {"zh-CN": "甲", "en": "A"}},
            "id",
        ),
        (
            "/api/v1/admin/departments/big_data",
            {"name": {"zh-CN": "甲", "en": "A"}, "owner": "x"},
            "owner",
        ),
    ],
)
def test_a_bad_department_is_a_400_that_stores_nothing(
    embed_client, admin_token, path, body, field
):
    r = embed_client.put(path, json=body, headers=admin(admin_token))
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errors"][0]["field"] == field
    listed = embed_client.get("/api/v1/departments", headers=admin(admin_token)).get_json()
    assert listed["total"] == len(DEFAULT_DEPARTMENTS)
