"""The server keeps the contract its OpenAPI document states: schemathesis generates
requests for every operation of /api/v1/openapi.json with each kind of credential (none,
a host app's Basic secret, a widget session, an admin token) and checks every answer —
no 5xx, only documented status codes and content types, bodies and headers that match
their schemas. Examples are bounded so the run fits CI (a few per operation)."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from planfuse.auth.apps import create_host_app
from planfuse.services.admin_tokens import create_admin_token
from tests.embed_support import exchange_session

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 3


@pytest.fixture
def database_url(sqlite_url):
    """One database is enough: the contract does not depend on it."""
    return sqlite_url


@pytest.fixture
def settings_overrides() -> dict:
    return {"rate_limits_enabled": False}


class Host:
    def __init__(self, record, secret: str):
        self.id, self.secret = record.id, secret

    def token(self, widget: str, **claims):
        from tests.embed_support import sign_hs256

        return sign_hs256(_claims(self.id, widget, **claims), self.secret)


def _claims(app_id: str, widget: str, **overrides):
    from tests.embed_support import claims_for

    return claims_for(app_id, widget, **overrides)


def credentials(kind: str, app, pf, widget: str = "compliance") -> dict[str, str]:
    if kind == "none":
        return {}
    record, secret = create_host_app(pf, "contract", ["https://host.example"])
    if kind == "basic":
        raw = base64.b64encode(f"{record.id}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}
    if kind == "session":
        host = Host(record, secret)
        session = exchange_session(app.test_client(), host, widget, roles=["coordinator"])
        return {"Authorization": f"Bearer {session['session_token']}"}
    return {"Authorization": f"Bearer {create_admin_token(pf, 'contract')[1]}"}


@pytest.mark.parametrize("document", ["/api/v1/openapi.json", "/ogc/api"])
@pytest.mark.parametrize("kind", ["none", "basic", "session", "admin"])
def test_every_operation_keeps_the_documented_contract(app, kind, document):
    pf = app.extensions["planfuse"]
    if document == "/ogc/api":
        from tests.compliance_world import build_world

        build_world(pf, ["basic_farmland", "ecological_redline"])
    # The WSGI transport does not undo gzip (the data services compress large answers).
    headers = {"Accept-Encoding": "identity", **credentials(kind, app, pf)}
    schema = schemathesis.openapi.from_wsgi(document, app)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except BaseException as exc:  # a FailureGroup is a BaseExceptionGroup
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label] = str(exc)[:1500]
    assert operations >= (50 if document.startswith("/api") else 5)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _timestamps(value, key: str = "") -> list[tuple[str, str]]:
    """Every (key, value) under keys that name a time (created…, updated…, …_at)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _timestamps(v, k)
    elif isinstance(value, list):
        for v in value:
            out += _timestamps(v, key)
    elif isinstance(value, str) and (key.endswith("_at") or key in ("created", "updated")):
        out.append((key, value))
    return out


def test_timestamps_carry_their_time_zone_on_sqlite_too(client, ctx, admin_token):
    from tests.compliance_world import build_world

    build_world(ctx, ["basic_farmland"])
    admin = {"Authorization": f"Bearer {admin_token}"}
    layers = client.get("/api/v1/layers").get_json()
    rulesets = client.get("/api/v1/compliance/rulesets", headers=admin).get_json()
    detail = client.get("/api/v1/layers/basic_farmland").get_json()
    found = _timestamps(layers) + _timestamps(detail) + _timestamps(rulesets)
    assert {k for k, _ in found} >= {"created", "updated", "created_at"}
    # A browser in China reads a time without an offset as local time: 8 hours off.
    assert all(v.endswith("+00:00") for _, v in found), found


def test_the_drift_schemathesis_found_is_gone(app, client):
    from planfuse.api.openapi import openapi_document

    pf = app.extensions["planfuse"]
    headers = credentials("session", app, pf, widget="conflicts")
    # A method the path does not have is a 405 naming the ones it has, not a 400.
    r = client.patch("/api/v1/conflicts/detect", json={}, headers=headers)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    # An unknown locale is refused, not silently replaced.
    r = client.get("/api/v1/conflicts?locale=AAA", headers=headers)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "locale"
    # /conflicts/0 fits the documented schema and is answered like any unknown id.
    assert client.get("/api/v1/conflicts/0", headers=headers).status_code == 404
    paths = openapi_document()["paths"]
    assert {"401", "403"} <= set(paths["/admin/apps"]["get"]["responses"])
    assert "400" in paths["/projects"]["get"]["responses"]
    assert {"200", "202", "409"} <= set(paths["/jobs/{job_id}"]["delete"]["responses"])
