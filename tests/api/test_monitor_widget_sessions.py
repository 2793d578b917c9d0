"""The monitor widget's sessions over HTTP on the demo dataset: the token's locked `district`
and `indicators` are validated against the widget's manifest and enforced by every
monitoring route — values, series, changes and annual reports of another district or the
city are refused (403), and a district-locked session lists and reads only its district's
reports. A session of another widget cannot read the monitoring routes at all."""

from __future__ import annotations

import pytest
from embed_support import basic, session_headers

URL = "/api/v1/monitoring"
YUBEI = "500112"
LOCKED = {"district": YUBEI, "indicators": ["construction_land", "farmland"]}


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def api(embed_app):
    return embed_app.test_client()


def refused(response, field: str) -> dict:
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["errors"][0]["field"] == field
    return body


def test_the_widget_page_and_a_free_session(api, host):
    page = api.get(f"/embed/monitor?app={host.id}&host_origin={host.record.origins[0]}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="pfm-cards"' in html and "约束性指标" in html
    assert "<script>" not in html  # the code comes from the bundle, never inline
    free = session_headers(api, host, "monitor", sub="planner")
    body = api.get(f"{URL}/indicators", headers=free).get_json()
    assert len(body["indicators"]) == 10 and body["years"][-1] == 2025
    city = api.get(f"{URL}/values?indicator=farmland&year=2025&by=city", headers=free)
    assert city.status_code == 200 and city.get_json()["values"][0]["area"] == "city"


def test_a_locked_district_and_indicator_set(api, host):
    s = session_headers(api, host, "monitor", sub="planner", params=LOCKED)
    body = api.get(f"{URL}/indicators", headers=s).get_json()
    assert [i["id"] for i in body["indicators"]] == ["construction_land", "farmland"]
    assert {t["area"] for i in body["indicators"] for t in i["targets"]} == {"500112"}
    # The known answer: 渝北 construction land at 95 % of its 2025 target.
    rows = api.get(f"{URL}/values?indicator=construction_land&year=2025", headers=s).get_json()
    assert [(r["area"], r["status"], r["ratio"]) for r in rows["values"]] == [
        ("500112", "warning", 0.95)
    ]
    series = api.get(f"{URL}/values?indicator=farmland&from=2021&to=2025", headers=s).get_json()
    assert [x["area"] for x in series["series"]] == ["500112"]
    changes = api.get(f"{URL}/changes?year=2025", headers=s).get_json()
    assert changes["total"] >= 1 and {c["district"] for c in changes["changes"]} == {"500112"}

    # Widening any of it is refused, naming the locked parameter.
    refused(api.get(f"{URL}/values?indicator=farmland&year=2025&by=city", headers=s), "district")
    refused(
        api.get(f"{URL}/values?indicator=farmland&year=2025&district=500117", headers=s),
        "district",
    )
    refused(
        api.get(f"{URL}/values?indicator=farmland&from=2021&to=2025&by=city", headers=s),
        "district",
    )
    refused(api.get(f"{URL}/changes?year=2025&district=500115", headers=s), "district")
    refused(api.get(f"{URL}/changes?year=2025&district=500112,500115", headers=s), "district")
    refused(api.get(f"{URL}/values?indicator=wetland_area&year=2025", headers=s), "indicators")
    # The cards' batched call: the locked pair answers in the locked district; one more
    # indicator or another district is refused as a whole.
    both = api.get(f"{URL}/values?indicators=construction_land,farmland&year=2025", headers=s)
    assert [[r["area"] for r in x["values"]] for x in both.get_json()["results"]] == [
        ["500112"],
        ["500112"],
    ]
    refused(
        api.get(f"{URL}/values?indicators=construction_land,wetland_area&year=2025", headers=s),
        "indicators",
    )
    refused(
        api.get(f"{URL}/values?indicators=farmland&year=2025&district=500117", headers=s),
        "district",
    )
    # An annual report covers every indicator: refused to a session locked to two of them.
    for response in (
        api.post(f"{URL}/reports", json={"year": 2025, "area": YUBEI}, headers=s),
        api.get(f"{URL}/reports", headers=s),
    ):
        body = refused(response, "indicators")
        assert "wetland_area" in body["errors"][0]["message"]


def test_a_locked_district_reads_only_its_reports(api, host):
    backend = basic(host)
    other = api.post(f"{URL}/reports", json={"year": 2025, "area": "500117"}, headers=backend)
    city = api.post(f"{URL}/reports", json={"year": 2025, "area": "city"}, headers=backend)
    assert other.status_code == city.status_code == 201
    s = session_headers(api, host, "monitor", sub="planner", params={"district": "500112"})
    own = api.post(f"{URL}/reports", json={"year": 2025, "area": YUBEI}, headers=s)
    refused(api.post(f"{URL}/reports", json={"year": 2025, "area": "city"}, headers=s), "district")
    assert own.status_code == 201, own.get_json()
    own_id = own.get_json()["id"]
    listed = api.get(f"{URL}/reports", headers=s).get_json()["reports"]
    assert [r["id"] for r in listed] == [own_id]
    assert api.get(f"{URL}/reports/{own_id}", headers=s).get_json()["area"] == "500112"
    assert api.get(f"{URL}/reports/{own_id}/print", headers=s).status_code == 200
    xlsx = api.get(f"{URL}/reports/{own_id}?format=xlsx", headers=s)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    for report in (other.get_json(), city.get_json()):
        rid = report["id"]
        refused(api.get(f"{URL}/reports/{rid}", headers=s), "district")
        refused(api.get(f"{URL}/reports/{rid}/print", headers=s), "district")
        refused(api.get(f"{URL}/reports/{rid}?format=xlsx", headers=s), "district")
    # The host's backend (and a free session) sees every report of the app.
    assert len(api.get(f"{URL}/reports", headers=backend).get_json()["reports"]) == 3
    # An indicator set that holds every indicator reads them too; a narrower one none.
    every = [
        i["id"] for i in api.get(f"{URL}/indicators", headers=backend).get_json()["indicators"]
    ]
    full = session_headers(api, host, "monitor", sub="planner", params={"indicators": every})
    assert len(api.get(f"{URL}/reports", headers=full).get_json()["reports"]) == 3
    narrow = session_headers(api, host, "monitor", sub="planner", params={"indicators": every[1:]})
    for url in (f"{URL}/reports/{own_id}", f"{URL}/reports/{own_id}/print"):
        refused(api.get(url, headers=narrow), "indicators")


@pytest.mark.parametrize(
    "params",
    [
        {"district": 500112},
        {"indicators": "construction_land"},
        {"indicators": [1, 2]},
        {"year": 2025},
        {"region": "500112"},
    ],
)
def test_bad_locked_params_are_refused_at_the_exchange(api, host, params):
    r = api.post("/embed/session", json={"token": host.token("monitor", params=params)})
    assert r.status_code in (400, 401, 403), r.get_json()
    assert r.mimetype == "application/problem+json"


def test_another_widgets_session_cannot_read_monitoring(api, host):
    s = session_headers(api, host, "probe", sub="planner")
    r = api.get(f"{URL}/indicators", headers=s)
    assert r.status_code in (401, 403), r.get_json()
