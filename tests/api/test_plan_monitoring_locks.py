"""The parameters a host locks for the monitor widget, enforced by the monitoring views:
`district` narrows every answer to that district and refuses city-wide figures and other
districts; `indicators` refuses an indicator outside the set."""

from __future__ import annotations

import pytest

from planfuse.api.plan_monitoring import check_indicator, locked_indicators, scope
from planfuse.auth.caller import Caller
from planfuse.http.problems import ProblemError

LOCKED = Caller(
    app_id="app-1",
    user="planner",
    params={"district": "500112", "indicators": ["construction_land", "farmland"]},
    widget="monitor",
)
FREE = Caller(app_id="app-1", user="planner", widget="monitor")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ("district", ["500112"])),
        ("?by=district", ("district", ["500112"])),
        ("?district=500112", ("district", ["500112"])),
    ],
)
def test_a_locked_district_narrows(app, query, expected):
    with app.test_request_context(f"/api/v1/monitoring/values{query}"):
        assert scope(LOCKED) == expected


@pytest.mark.parametrize("query", ["?by=city", "?district=500103"])
def test_a_locked_district_cannot_be_widened(app, query):
    with (
        app.test_request_context(f"/api/v1/monitoring/values{query}"),
        pytest.raises(ProblemError) as err,
    ):
        scope(LOCKED)
    assert err.value.status == 403 and err.value.errors[0]["field"] == "district"


def test_the_locked_indicator_set(app):
    assert locked_indicators(LOCKED) == ["construction_land", "farmland"]
    assert locked_indicators(FREE) is None
    check_indicator(LOCKED, "farmland")
    check_indicator(FREE, "wetland_area")
    with pytest.raises(ProblemError) as err:
        check_indicator(LOCKED, "wetland_area")
    assert err.value.status == 403 and err.value.errors[0]["field"] == "indicators"
    with app.test_request_context("/api/v1/monitoring/values?by=city"):
        assert scope(FREE) == ("city", None)
