"""Server-side request forgery: with `remote_services_allow_private` off (the default) a
remote service may not live at a loopback, private, link-local or reserved address — not
at registration, not after DNS resolution on each call, not behind a redirect."""

from __future__ import annotations

import pytest

from planfuse.errors import UpstreamFailed
from planfuse.http.outbound import fetch
from planfuse.services.remote.network import (
    AddressRefused,
    checked_address,
    is_allowed_address,
)
from planfuse.storage.models import RemoteService
from tests.remote_servers import http_server


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8000/ogc", "remote_address_refused"),
        ("http://localhost:8000/ogc", "remote_address_refused"),  # a name resolving to 127.0.0.1
        ("http://[::1]/ogc", "remote_address_refused"),
        ("http://[::ffff:127.0.0.1]/ogc", "remote_address_refused"),
        ("http://10.1.2.3/ows", "remote_address_refused"),
        ("http://192.168.0.10/ows", "remote_address_refused"),
        ("http://172.16.5.5/ows", "remote_address_refused"),
        ("http://169.254.169.254/latest/meta-data/", "remote_address_refused"),  # link-local
        ("http://100.64.0.1/", "remote_address_refused"),  # shared address space
        ("http://0.0.0.0:8000/", "remote_address_refused"),
        ("http://240.0.0.1/", "remote_address_refused"),  # reserved
        ("gopher://example.org/", "remote_url_scheme"),
        ("file:///etc/passwd", "remote_url_scheme"),
        ("http://no-such-host.invalid/", "remote_host_unknown"),
    ],
)
def test_private_and_odd_addresses_are_refused_at_registration(client, admin_token, url, code):
    for field in ("base_url", "openapi_url"):
        body = {
            "id": "eco_remote",
            "name": {"zh-CN": "生态", "en": "Ecology"},
            "dept": "ecology_environment",
            "kind": "json_api",
            "base_url": "http://93.184.216.34/api",
        } | {field: url}
        r = client.post("/api/v1/admin/remote-services", json=body, headers=admin(admin_token))
        assert r.status_code == 400, r.get_json()
        problem = r.get_json()
        assert problem["type"].endswith("/" + code)
        assert problem["errors"][0]["field"] == field
        if code == "remote_address_refused":
            assert "remote_services_allow_private" in problem["detail"]


def test_an_address_is_checked_again_on_every_call(client, admin_token, ctx):
    """A registration made when its name resolved to a public address (or while private
    addresses were allowed) is refused once it resolves to a private one."""
    with http_server() as remote:
        with ctx.db.session() as session:
            session.add(
                RemoteService(
                    id="eco_remote",
                    name_zh="生态",
                    name_en="Ecology",
                    dept="ecology_environment",
                    kind="json_api",
                    base_url=remote.url,
                    auth_kind="none",
                    health_status="unknown",
                )
            )
        r = client.get("/api/v1/remote/eco_remote/x", headers=admin(admin_token))
        assert r.status_code == 502, r.get_json()
        assert r.get_json()["type"].endswith("/remote_address_refused")
        assert remote.seen == []


def test_a_name_is_refused_when_any_of_its_addresses_is_private():
    def resolve(host, port):
        return {"mixed.example": ["93.184.216.34", "10.0.0.7"]}[host]

    with pytest.raises(AddressRefused, match=r"10\.0\.0\.7"):
        checked_address("mixed.example", 80, False, resolve)
    assert checked_address("mixed.example", 80, True, resolve) == "93.184.216.34"


def test_the_client_connects_only_to_checked_addresses():
    with http_server() as remote:
        port = int(remote.url.rsplit(":", 1)[1])
        # A name that now resolves to loopback: refused before any connection is made.
        with pytest.raises(UpstreamFailed) as refused:
            fetch(
                "GET",
                f"http://rebound.example:{port}/",
                headers={},
                body=None,
                timeout_s=2,
                max_bytes=1000,
                allow_private=False,
                resolve=lambda host, p: ["127.0.0.1"],
            )
        assert refused.value.code == "remote_address_refused"
        assert remote.seen == []
        # The same name, private addresses allowed: connected to the checked address,
        # with the name as Host.
        answer = fetch(
            "GET",
            f"http://rebound.example:{port}/x",
            headers={},
            body=None,
            timeout_s=2,
            max_bytes=10_000,
            allow_private=True,
            resolve=lambda host, p: ["127.0.0.1"],
        )
        assert answer.status == 200
        assert remote.seen[0].headers["host"] == f"rebound.example:{port}"


def test_a_redirect_to_another_origin_is_not_followed():
    with http_server() as inside:

        def redirect(handler, echo):
            handler.send_response(302)
            handler.send_header("Location", f"{inside.url}/admin")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with http_server(redirect) as outside:
            port = int(outside.url.rsplit(":", 1)[1])
            with pytest.raises(UpstreamFailed) as refused:
                fetch(
                    "GET",
                    f"http://public.example:{port}/",
                    headers={},
                    body=None,
                    timeout_s=2,
                    max_bytes=1000,
                    allow_private=True,
                    resolve=lambda host, p: ["127.0.0.1"],
                )
            assert refused.value.code == "remote_redirect_refused"
            assert inside.seen == []


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("198.18.0.1", False),
    ],
)
def test_which_addresses_are_public(address, allowed):
    import ipaddress

    assert is_allowed_address(ipaddress.ip_address(address), False) is allowed
