"""Health probes, the one error shape, body caps and the OpenAPI document."""

import re

import pytest
from openapi_spec_validator import validate

from planfuse.api.openapi import openapi_document

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_readyz_reports_the_database(client, ctx):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json()["database"] == ctx.db.dialect


def test_readyz_503_when_the_database_is_unreachable(tmp_path):
    from planfuse.app import create_app

    app = create_app(
        {"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none", "secret_key": "k" * 40}
    )
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body.keys() >= PROBLEM_KEYS
    assert "PLANFUSE_DATABASE_URL" in body["detail"]


def test_unknown_path_is_a_json_problem(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.get_json().keys() >= PROBLEM_KEYS


def test_wrong_method_is_a_json_problem_with_allow(client):
    r = client.delete("/api/v1/layers")
    assert r.status_code == 405
    assert r.get_json()["status"] == 405
    assert "GET" in r.headers["Allow"]


def test_oversized_body_gets_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    r = client.post(
        "/api/v1/layers/x/versions",
        data=b"x" * 4096,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 413
    assert r.get_json()["type"].endswith("payload_too_large")


def test_unexpected_errors_are_opaque_problems(app, client):
    @app.get("/api/v1/_boom")
    def _boom():
        raise RuntimeError("secret internals")

    r = client.get("/api/v1/_boom")
    assert r.status_code == 500
    body = r.get_json()
    assert body["type"].endswith("internal_error")
    assert "secret internals" not in r.get_data(as_text=True)


def test_security_headers_on_every_response(client):
    r = client.get("/healthz")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_openapi_document_is_valid_3_1(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def test_openapi_document_and_routes_agree(app):
    doc = openapi_document()
    documented = {
        (path, method.upper())
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.startswith("/api/v1/_"):
            continue
        path = _flask_to_openapi(rule.rule[len("/api/v1") :])
        if path == "/openapi.json":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((path, method))
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented paths that no route serves"


@pytest.mark.parametrize("path", ["/api/v1/layers", "/healthz"])
def test_responses_carry_request_ids(client, path):
    assert len(client.get(path).headers["X-Request-Id"]) >= 8
