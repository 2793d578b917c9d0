"""The seed platform's twelve services on the demo dataset: each answers at the endpoint
the catalogue gives, with the catalogue's own example, is counted under its own id, and
is running; 城市规划台账 is the urban plan's 城市建设用地 beside the 城乡规划台账 of every
class."""

from __future__ import annotations

import pytest
from embed_support import basic

from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.metrics import metrics_recorder

CITY_CLASSES = set("RABMWSUG")


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def settings_overrides():
    return {"service_metrics_flush_s": 3600}


def call(client, headers, service_id: str, endpoint: int = 0, **path):
    """Call a service's endpoint with its catalogue example (query, path and body)."""
    service = SERVICES_BY_ID[service_id]
    end = service.endpoints[endpoint]
    example = dict(service.example or {})
    url = end.path.format(**(example.get("path") or {}) | path)
    query = {**end.query, **(example.get("query") or {})}
    return getattr(client, end.method.lower())(
        url, query_string=query, json=example.get("body"), headers=headers
    )


def test_the_twelve_answer_at_their_catalogued_endpoints(embed_client, host, pf, admin_token):
    headers = basic(host)
    for service_id in (
        "city_plan_ledger_by_district",
        "city_plan_ledger_city",
        "urban_plan_ledger_by_district",
        "urban_plan_ledger_city",
        "conflicts_ledger",
        "comprehensive_ledger_by_district",
        "comprehensive_ledger_total",
    ):
        r = call(embed_client, headers, service_id)
        assert r.status_code == 200, (service_id, r.get_json())
        assert r.get_json()["by"] == SERVICES_BY_ID[service_id].endpoints[0].query.get(
            "by", "district"
        )
    for service_id in ("siting_advanced", "siting_basic"):
        r = call(embed_client, headers, service_id)
        assert r.status_code == 200, (service_id, r.get_json())
        assert r.get_json()["total"] >= 1
    advanced_body = SERVICES_BY_ID["siting_advanced"].example["body"]
    r = embed_client.post("/api/v1/siting/search/basic", json=advanced_body, headers=headers)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "controls"

    r = call(embed_client, headers, "siting_plans_add")
    assert r.status_code == 201, r.get_json()
    plan_id = r.get_json()["id"]
    assert call(embed_client, headers, "siting_plans_get").status_code == 200
    assert call(embed_client, headers, "siting_plans_get", 1, id=plan_id).status_code == 200
    assert call(embed_client, headers, "siting_plans_delete", id=plan_id).status_code == 204

    metrics_recorder(pf).flush()
    r = embed_client.get("/api/v1/catalogue", headers={"Authorization": f"Bearer {admin_token}"})
    entries = {s["id"]: s for s in r.get_json()["services"]}
    for service_id in (
        "city_plan_ledger_city",
        "siting_basic",
        "siting_plans_add",
        "siting_plans_delete",
    ):
        assert entries[service_id]["status"] == "running"
        assert entries[service_id]["figures"]["requests_15m"] >= 1, service_id
    # Two reads of the plans (the list and one plan) under 获取辅助选址方案.
    assert entries["siting_plans_get"]["figures"]["requests_15m"] == 2
    # The refused basic search counts under the basic search, as a client error.
    assert entries["siting_basic"]["figures"]["requests_15m"] == 2


def rows_by_group(body: dict) -> dict[str, dict]:
    return {row["group"]: row for row in body["rows"]}


def test_city_plan_ledger_is_the_urban_plans_city_construction_land(embed_client, host):
    headers = basic(host)
    urban = embed_client.get("/api/v1/ledgers/urban_plan?by=city", headers=headers).get_json()
    city = embed_client.get("/api/v1/ledgers/city_plan?by=city", headers=headers).get_json()
    assert city["title"] == "城市规划台账" and urban["title"] == "城乡规划台账"
    urban_rows, city_rows = rows_by_group(urban), rows_by_group(city)
    # The demo's urban plan has construction classes and non-construction land (E).
    assert "E" in urban_rows and set(city_rows) == set(urban_rows) & CITY_CLASSES
    assert len(city_rows) >= 4
    for group, row in city_rows.items():
        # The same pieces: identical counts, areas within the rounding of either ledger.
        assert row["count"] == urban_rows[group]["count"]
        assert row["area_ha"] == pytest.approx(urban_rows[group]["area_ha"], abs=0.011)
        assert row["group_name"] == urban_rows[group]["group_name"]
    exact = city["exact"]
    assert exact["total_count"] == sum(r["count"] for r in city_rows.values())
    assert exact["rows_m2"] == pytest.approx(exact["total_m2"], rel=1e-9)
    assert city["total"]["area_ha"] == pytest.approx(exact["total_m2"] / 1e4, abs=0.005)
    assert city["total"]["area_ha"] < urban["total"]["area_ha"]

    # By district: the same districts' city construction land, adding up to the city's.
    by_district = embed_client.get(
        "/api/v1/ledgers/city_plan", query_string={"by": "district"}, headers=headers
    ).get_json()
    assert by_district["exact"]["total_m2"] == pytest.approx(exact["total_m2"], rel=1e-9)
    codes = embed_client.get(
        "/api/v1/ledgers/city_plan?by=city&group=code", headers=headers
    ).get_json()
    assert codes["groups"] and all(g["key"][:1] in CITY_CLASSES for g in codes["groups"])
