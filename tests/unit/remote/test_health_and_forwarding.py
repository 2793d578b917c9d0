"""What a health check concludes from each kind's answer, and what the proxy makes of a
request and an answer — with a stand-in client, no network."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from planfuse.errors import InvalidInput, UpstreamTimeout
from planfuse.services.remote.health import check, probe_url
from planfuse.services.remote.proxy import _kept_headers, _rewrite, _target_url
from planfuse.services.remote.records import Target, auth_headers, open_auth, seal_auth


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    elapsed_ms: float = 12.0
    headers: list = field(default_factory=list)

    def header(self, name):
        return None


class Client:
    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def __call__(self, method, url, **options):
        self.calls.append((method, url, options))
        if self.error:
            raise self.error
        return self.answer


def target(kind, base="https://gis.example.gov.cn/svc", openapi=None, headers=None):
    return Target("eco", kind, base, openapi, headers or {})


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("ogc_features", "https://gis.example.gov.cn/svc"),
        ("wfs", "https://gis.example.gov.cn/svc?service=WFS&request=GetCapabilities"),
        ("wms", "https://gis.example.gov.cn/svc?service=WMS&request=GetCapabilities"),
        ("arcgis_feature", "https://gis.example.gov.cn/svc?f=json"),
        ("arcgis_map", "https://gis.example.gov.cn/svc?f=json"),
        ("json_api", "https://gis.example.gov.cn/svc"),
    ],
)
def test_each_kind_is_checked_where_it_answers(kind, url):
    assert probe_url(target(kind))[0] == url
    assert probe_url(target("json_api", openapi="https://x.example/openapi.json"))[0] == (
        "https://x.example/openapi.json"
    )
    # A base URL's own query is kept; a parameter it already names is not repeated.
    assert probe_url(target("wms", base="https://g.example/ows?map=eco&SERVICE=WMS"))[0] == (
        "https://g.example/ows?map=eco&SERVICE=WMS&request=GetCapabilities"
    )


@pytest.mark.parametrize(
    ("kind", "answer", "status", "error"),
    [
        ("ogc_features", Answer(body=b'{"id": "parcels"}'), "up", None),
        ("ogc_features", Answer(body=b"<html>login</html>"), "down", "not JSON"),
        ("ogc_features", Answer(status=500), "down", "HTTP 500"),
        ("wfs", Answer(body=b"<wfs:WFS_Capabilities/>"), "up", None),
        ("wfs", Answer(body=b"<html>maintenance</html>"), "down", "not WFS capabilities"),
        ("wms", Answer(body=b"<WMS_Capabilities/>"), "up", None),
        ("arcgis_map", Answer(body=b'{"error": {"code": 498}}'), "down", "ArcGIS error"),
        ("json_api", Answer(body=b"plain text is fine"), "up", None),
        ("ogc_features", Answer(body=b"{}", elapsed_ms=2500.0), "slow", "slower than"),
    ],
)
def test_what_a_check_concludes(ctx, kind, answer, status, error):
    health = check(ctx, target(kind, headers={"Authorization": "Bearer t"}), Client(answer))
    assert health.status == status
    assert (health.error is None) if error is None else (error in health.error)


def test_a_check_sends_the_credential_and_reports_a_timeout(ctx):
    client = Client(error=UpstreamTimeout("no answer in 5 s", code="remote_timeout"))
    health = check(ctx, target("ogc_features", headers={"X-Api-Key": "k"}), client)
    assert health.status == "down" and health.error.startswith("remote_timeout")
    method, _, options = client.calls[0]
    assert method == "GET" and options["headers"]["X-Api-Key"] == "k"
    assert options["timeout_s"] == ctx.settings.remote_service_health_timeout_s


def test_the_target_url_keeps_the_base_and_refuses_climbing():
    base = "https://g.example/arcgis/rest/services/Eco/FeatureServer?token=abc"
    assert _target_url(base, "0/query", "where=1%3D1&f=json") == (
        "https://g.example/arcgis/rest/services/Eco/FeatureServer/0/query?token=abc&where=1%3D1&f=json"
    )
    assert _target_url("https://g.example/ows", "", "service=WFS") == (
        "https://g.example/ows?service=WFS"
    )
    assert _target_url("https://g.example/api/", "a b/c", "") == "https://g.example/api/a%20b/c"
    for bad in ("../admin", "a/../../b", "./x"):
        with pytest.raises(InvalidInput):
            _target_url("https://g.example/api", bad, "")


def test_answers_lose_hop_by_hop_headers_and_cookies():
    headers = [
        ("Content-Type", "application/json"),
        ("Connection", "close, X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Set-Cookie", "a=b"),
        ("WWW-Authenticate", "Basic"),
        ("ETag", '"1"'),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    assert _kept_headers(headers) == [("Content-Type", "application/json"), ("ETag", '"1"')]


def test_the_remotes_base_url_is_rewritten_in_json_and_xml_only():
    base, public = "http://10.0.0.5:8080/ogc/collections/x", "https://pf.example/api/v1/remote/x"
    body = b'{"href": "http://10.0.0.5:8080/ogc/collections/x/items?f=json"}'
    assert _rewrite(body, "application/geo+json", base, public) == (
        b'{"href": "https://pf.example/api/v1/remote/x/items?f=json"}'
    )
    escaped = b'{"href": "http:\\/\\/10.0.0.5:8080\\/ogc\\/collections\\/x"}'
    assert b"pf.example" in _rewrite(escaped, "application/json", base, public)
    assert _rewrite(body, "image/png", base, public) == body


def test_a_credential_is_sealed_to_its_service(ctx):
    sealed = seal_auth(ctx, "eco", {"type": "basic", "username": "u", "password": "p"})
    assert "password" not in sealed
    assert open_auth(ctx, "eco", sealed) == {"type": "basic", "username": "u", "password": "p"}
    assert open_auth(ctx, "other", sealed) is None  # copied to another row: unusable
    assert auth_headers(open_auth(ctx, "eco", sealed)) == {"Authorization": "Basic dTpw"}
