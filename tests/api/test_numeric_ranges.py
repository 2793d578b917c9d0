"""Every number a client sends is range-checked: ids too large for the database are a 404
like any id that does not exist, query arguments out of range a 400 naming them — never an
overflow inside the database driver (a 500)."""

from __future__ import annotations

import pytest
from embed_support import basic, session_headers

HUGE = "99999999999999999999"
JUST_OVER_32_BITS = str(2**31)
VERY_LONG = "9" * 5000


@pytest.fixture
def client(embed_client):
    return embed_client


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


@pytest.mark.parametrize("plan_id", [HUGE, JUST_OVER_32_BITS, VERY_LONG])
def test_siting_plan_ids_beyond_the_database_are_not_found(client, host, plan_id):
    headers = session_headers(client, host, "siting")
    assert_problem(client.get(f"/api/v1/siting/plans/{plan_id}", headers=headers), 404)
    assert_problem(client.delete(f"/api/v1/siting/plans/{plan_id}", headers=headers), 404)
    assert_problem(client.post(f"/api/v1/siting/plans/{plan_id}/run", headers=headers), 404)


@pytest.mark.parametrize("conflict_id", ["0", "-3", HUGE])
def test_conflict_ids_out_of_range_are_not_found(client, host, conflict_id):
    headers = session_headers(client, host, "conflicts", roles=["coordinator"])
    assert_problem(client.get(f"/api/v1/conflicts/{conflict_id}", headers=headers), 404)


@pytest.mark.parametrize("limit", [HUGE, "-" + HUGE, VERY_LONG, "1e3"])
def test_query_numbers_out_of_range_are_a_400_naming_them(client, host, limit):
    r = client.get(f"/api/v1/compliance/reports?limit={limit}", headers=basic(host))
    body = assert_problem(r, 400)
    assert body["errors"][0]["field"] == "limit"
