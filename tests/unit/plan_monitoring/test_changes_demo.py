"""Change monitoring on the demo's planted pieces (planfuse.demo.status): new construction
in 2025 of exactly 12,345 m² on basic farmland and 12,075 m² outside the urban boundary
(长寿, zone d) and 5,616 m² on the ecological red line (涪陵, zone e), geodesic; the
0.5 m² piece under the sliver tolerance is left out. Then the year's warnings pushed to a
subscribed receiver."""

from __future__ import annotations

import json

import pytest
from webhook_receiver import signature_ok, webhook_receiver

from planfuse.demo.status import PLANTED_CHANGES
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.plan_monitoring.alerts import publish_year
from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.webhooks.delivery import deliver_due
from planfuse.services.webhooks.subscriptions import create_subscription


def planted(result):
    """The changes of the planted pieces (the first features of the status layer)."""
    return {c["feature_id"]: c for c in result["changes"] if c["feature_id"] <= 4}


def test_the_sliver_tolerance_is_the_services_configuration(demo_ctx):
    """服务配置: an administrator lowers plan_monitoring's `sliver_m2` below the planted
    0.5 m² piece, which is then listed; the default again leaves it out."""
    from planfuse.services.monitoring.config import config_history, set_service_config

    set_service_config(
        demo_ctx, "plan_monitoring", {"values": {"sliver_m2": 0.1}, "note": "测试"}, by="admin"
    )
    found = planted(list_changes(demo_ctx, 2025, limit=5000))
    assert sorted(found) == [1, 2, 3, 4]
    assert found[4]["area_m2"] == pytest.approx(PLANTED_CHANGES[3].area_m2, abs=0.01)
    assert found[4]["area_m2"] < 1
    set_service_config(demo_ctx, "plan_monitoring", {"values": {"sliver_m2": None}}, by="admin")
    assert sorted(planted(list_changes(demo_ctx, 2025, limit=5000))) == [1, 2, 3]
    history = config_history(demo_ctx, "plan_monitoring")
    assert [(h["name"], h["old_value"], h["new_value"]) for h in history] == [
        ("sliver_m2", 0.1, None),
        ("sliver_m2", None, 0.1),
    ]
    assert history[1]["note"] == "测试" and history[1]["changed_by"] == "admin"


def test_three_planted_pieces_with_exact_geodesic_areas_and_the_sliver_left_out(demo_ctx):
    result = list_changes(demo_ctx, 2025, limit=5000)
    assert result["compared_with"] == 2024
    found = planted(result)
    assert sorted(found) == [1, 2, 3]  # piece 4 (0.5 m²) is under the 1 m² tolerance
    for n, piece in enumerate(PLANTED_CHANGES[:3], start=1):
        change = found[n]
        assert change["type"] == "new_construction"
        assert change["on"] == piece.on
        assert change["area_m2"] == pytest.approx(piece.area_m2, abs=0.01)
        assert (change["from_code"], change["to_code"]) == (piece.before, piece.after)
        assert change["district"] == piece.describe()["district"]
        assert change["geometry"]["type"] == "Polygon"
    assert found[1]["area_m2"] == 12_345.0 and found[2]["area_m2"] == 5_616.0
    assert found[3]["area_m2"] == 12_075.0
    assert result["total"] == len(result["changes"])
    assert all(c["area_m2"] >= 1.0 for c in result["changes"])


def test_filters_and_paging(demo_ctx):
    changes = list_changes(demo_ctx, 2025, districts=["500115"], on=["basic_farmland"])
    assert {c["district"] for c in changes["changes"]} == {"500115"}
    assert 1 in {c["feature_id"] for c in changes["changes"]}
    warnings = list_changes(demo_ctx, 2025, warnings_only=True, geometry=False, limit=5000)
    assert all(c["on"] is not None and "geometry" not in c for c in warnings["changes"])
    page = list_changes(demo_ctx, 2025, limit=2, offset=1)
    assert len(page["changes"]) == 2 and page["total"] > 2
    with pytest.raises(InvalidInput):
        list_changes(demo_ctx, 2025, on=["wetland"])
    with pytest.raises(InvalidInput) as err:
        list_changes(demo_ctx, 2021)
    assert err.value.code == "no_previous_year"
    with pytest.raises(NotFound):
        list_changes(demo_ctx, 2030)
    with pytest.raises(NotFound):
        list_changes(demo_ctx, 2025, districts=["500199"])


def test_publishing_a_year_pushes_signed_warnings(demo_ctx):
    demo_ctx.settings.webhook_allow_http = True
    with webhook_receiver() as receiver:
        sub = create_subscription(
            demo_ctx, "app-portal", receiver.url, ["monitoring.warning", "monitoring.change"]
        )
        result = publish_year(demo_ctx, 2025, wake=False)
        assert result["warnings"] >= 3 and result["change_districts"] >= 2
        while deliver_due(demo_ctx):
            pass
        messages = receiver.wait_for(result["deliveries"])
    assert all(signature_ok(sub["secret"], m) for m in messages)
    bodies = [json.loads(m.body) for m in messages]
    warnings = {
        (b["data"]["indicator"]["id"], b["data"]["area"]): b["data"]["status"]
        for b in bodies
        if b["type"] == "monitoring.warning"
    }
    assert warnings[("construction_land", "500112")] == "warning"
    assert warnings[("construction_land", "500103")] == "exceeded"
    assert warnings[("farmland", "500117")] == "below_target"
    assert ("construction_land", "500106") not in warnings  # 85 %: normal
    changes = {
        b["data"]["district"]: b["data"]["changes"]
        for b in bodies
        if b["type"] == "monitoring.change"
    }
    assert 12_345.0 in [c["area_m2"] for c in changes["500115"]]
    assert 5_616.0 in [c["area_m2"] for c in changes["500102"]]
