"""Plan-implementation monitoring over HTTP on the demo dataset: the indicator set, values
and series for a host backend, every bad input a problem, and the admin load."""

from __future__ import annotations

import pytest
from embed_support import basic

from planfuse.services.monitoring.catalogue import service_for_path
from tests.unit.plan_monitoring.test_indicators import CONTRACT


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def api(embed_app):
    return embed_app.test_client()


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_indicators_and_values_for_a_host_backend(api, host):
    auth = basic(host)
    body = api.get("/api/v1/monitoring/indicators", headers=auth).get_json()
    assert body["years"] == [2021, 2022, 2023, 2024, 2025]
    by_id = {i["id"]: i for i in body["indicators"]}
    assert by_id["construction_land"]["unit"] == "m2" and by_id["farmland"]["direction"] == "lower"
    url = "/api/v1/monitoring/values?indicator=construction_land&year=2025&district=500112"
    (row,) = api.get(url, headers=auth).get_json()["values"]
    assert (row["area"], row["status"], row["ratio"]) == ("500112", "warning", 0.95)
    city = api.get(
        "/api/v1/monitoring/values?indicator=farmland&year=2024&by=city", headers=auth
    ).get_json()
    assert city["values"][0]["area"] == "city" and city["values"][0]["target_year"] == 2025
    series = api.get(
        "/api/v1/monitoring/values?indicator=construction_land&from=2021&to=2025&by=city",
        headers=auth,
    ).get_json()
    assert series["years"] == [2021, 2022, 2023, 2024, 2025]
    assert series["series"][0]["projection"]["target_year"] == 2035
    assert service_for_path("/api/v1/monitoring/values") == "plan_monitoring"


def test_several_indicators_in_one_call_equal_each_asked_alone(api, host):
    auth = basic(host)
    ids = [
        i["id"]
        for i in api.get("/api/v1/monitoring/indicators", headers=auth).get_json()["indicators"]
    ]
    assert len(ids) == 10
    for scope_query in ("by=city", "district=500112", "by=district"):
        batch = api.get(
            f"/api/v1/monitoring/values?indicators={','.join(ids)}&year=2025&{scope_query}",
            headers=auth,
        )
        assert batch.status_code == 200, batch.get_json()
        body = batch.get_json()
        assert body["year"] == 2025 and [r["indicator"]["id"] for r in body["results"]] == ids
        for indicator_id, result in zip(ids, body["results"], strict=True):
            alone = api.get(
                f"/api/v1/monitoring/values?indicator={indicator_id}&year=2025&{scope_query}",
                headers=auth,
            ).get_json()
            assert result == alone
    # 渝北's construction land among them: 95 % of its target, a warning.
    one = api.get(
        "/api/v1/monitoring/values?indicators=farmland,construction_land,farmland&year=2025&district=500112",
        headers=auth,
    ).get_json()
    assert [r["indicator"]["id"] for r in one["results"]] == ["farmland", "construction_land"]
    assert one["results"][1]["values"][0]["status"] == "warning"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("indicators=farmland&indicator=farmland&year=2025", 400, "indicators"),
        ("indicators=farmland&from=2021&to=2025", 400, "indicators"),
        ("indicators=&year=2025", 400, "indicators"),
        ("indicators=farmland", 400, "year"),
        (f"indicators={','.join(f'x{i}' for i in range(51))}&year=2025", 400, "indicators"),
        ("indicators=farmland,water_use&year=2025", 404, None),
        ("indicators=farmland&year=2019", 404, None),
        ("year=2025", 400, "indicator"),
        ("indicator=construction_land", 400, "year"),
        ("indicator=construction_land&year=twenty", 400, "year"),
        ("indicator=construction_land&year=2025&by=county", 400, "by"),
        ("indicator=construction_land&from=2021", 400, "to"),
        ("indicator=construction_land&from=2025&to=2021", 400, "from"),
        ("indicator=construction_land&year=2019", 404, None),
        ("indicator=construction_land&year=2025&district=999999", 404, None),
        ("indicator=water_use&year=2025", 404, None),
    ],
)
def test_bad_queries_are_problems(api, host, query, status, field):
    body = problem(api.get(f"/api/v1/monitoring/values?{query}", headers=basic(host)), status)
    if field:
        assert body["errors"][0]["field"] == field
    if "2019" in query:
        assert "2021, 2022, 2023, 2024, 2025" in body["detail"]


def test_changes_for_a_host_backend(api, host, admin_token):
    body = api.get(
        "/api/v1/monitoring/changes?year=2025&district=500115&on=basic_farmland",
        headers=basic(host),
    ).get_json()
    assert body["compared_with"] == 2024 and body["total"] >= 1
    assert 12_345.0 in [c["area_m2"] for c in body["changes"]]
    problem(api.get("/api/v1/monitoring/changes?year=2025&on=moon", headers=basic(host)), 400)
    problem(api.get("/api/v1/monitoring/changes", headers=basic(host)), 400)
    problem(api.get("/api/v1/monitoring/changes?year=2019", headers=basic(host)), 404)
    auth = {"Authorization": f"Bearer {admin_token}"}
    published = api.post("/api/v1/admin/monitoring/publish", json={"year": 2025}, headers=auth)
    assert published.status_code == 200 and published.get_json()["warnings"] >= 3
    problem(api.post("/api/v1/admin/monitoring/publish", json={"year": "x"}, headers=auth), 400)
    problem(api.post("/api/v1/admin/monitoring/publish", json={"year": 2025}), 401)


def test_reports_over_http(api, host, other_host):
    auth = basic(host)
    r = api.post("/api/v1/monitoring/reports", json={"year": 2025, "area": "500112"}, headers=auth)
    assert r.status_code == 201, r.get_json()
    report = r.get_json()
    assert report["signature"]["jwks_url"] == "/api/v1/compliance/jwks.json"
    url = f"/api/v1/monitoring/reports/{report['id']}"
    assert api.get(url, headers=auth).get_json()["id"] == report["id"]
    xlsx = api.get(f"{url}?format=xlsx", headers=auth)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    page = api.get(f"{url}/print", headers=auth)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "渝北区" in html and "预警" in html and report["signature"]["fingerprint"] in html
    assert "<script" not in html
    listed = api.get("/api/v1/monitoring/reports", headers=auth).get_json()["reports"]
    assert [x["id"] for x in listed] == [report["id"]]
    problem(api.get(url, headers=basic(other_host)), 404)
    problem(api.get(f"{url}/print", headers=basic(other_host)), 404)
    problem(api.post("/api/v1/monitoring/reports", json={"year": "x"}, headers=auth), 400)


def test_callers_need_credentials(api, host):
    problem(api.get("/api/v1/monitoring/indicators"), 401)
    problem(api.get("/api/v1/monitoring/indicators", headers=basic(host.id, "wrong")), 401)


def test_admin_loads_an_indicator_version(api, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    url = "/api/v1/admin/monitoring/indicators/construction_land"
    response = api.put(url, json=CONTRACT, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2  # the demo loaded version 1
    bad = {**CONTRACT, "targets": [{"area": "500199", "year": 2035, "value": 1}]}
    body = problem(api.put(url, json=bad, headers=auth), 400)
    assert body["errors"][0]["field"] == "targets[0].area"
    wrong_unit = {**CONTRACT, "targets": [{"area": "city", "year": 2035, "value": 1, "unit": "ha"}]}
    assert problem(api.put(url, json=wrong_unit, headers=auth), 400)["type"].endswith(
        "unit_mismatch"
    )
    unknown_kind = {**CONTRACT, "measure": {"area_of": "parcels"}}
    problem(api.put(url, json=unknown_kind, headers=auth), 400)
    problem(api.put(url, json=CONTRACT), 401)
