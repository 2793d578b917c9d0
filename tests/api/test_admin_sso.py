"""Admin single sign-on with OpenID Connect against a real provider (authlib's server
classes on a loopback port, tests/oidc_provider.py), on SQLite and PostgreSQL: the
authorization code flow with PKCE, state and nonce; the ID token checked against the
issuer's JWKS; groups mapped to console roles; a forged ID token, a wrong audience, a
replayed state and a state from another browser refused; the admin token sign-in stays."""

from __future__ import annotations

import http.client
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

from planfuse.services.audit import AuditQuery, list_events

FLOW_COOKIE = "pf_admin_sso"
CALLBACK = "http://localhost/admin/sso/callback"


@pytest.fixture(scope="module")
def provider():
    started = Provider().start()
    started.register_client(CALLBACK)
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _reset(provider):
    provider.user["groups"] = ["planfuse-admins"]
    provider.audience = None
    provider.signing_key = provider.key
    provider.token_requests.clear()


@pytest.fixture
def settings_overrides(provider) -> dict:
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_viewer_groups": ["planfuse-viewers"],
    }


def authorize(url: str) -> str:
    """The provider's answer to the browser at its authorization endpoint: the callback
    URL it redirects to."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", f"{parts.path}?{parts.query}")
    answer = conn.getresponse()
    location = answer.getheader("Location")
    conn.close()
    assert answer.status == 302, (answer.status, answer.read())
    return location


def start(client) -> tuple[str, dict[str, list[str]]]:
    r = client.get("/admin/sso")
    assert r.status_code == 302, r.get_data(as_text=True)
    url = r.headers["Location"]
    return url, parse_qs(urlsplit(url).query)


def back(client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client):
    url, _ = start(client)
    return back(client, authorize(url))


def signed_in(client) -> bool:
    return client.get("/admin/apps").status_code == 200


def test_an_admin_signs_in_with_pkce_state_and_nonce(embed_client, pf, provider):
    login = embed_client.get("/admin/login").get_data(as_text=True)
    assert 'href="/admin/sso"' in login
    url, query = start(embed_client)
    assert url.startswith(provider.issuer + "/authorize?")
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert "openid" in query["scope"][0].split()
    cookie = embed_client.get_cookie(FLOW_COOKIE, path="/admin/sso")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert query["state"][0] not in cookie.value  # sealed, not readable
    r = back(embed_client, authorize(url))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert 'http-equiv="refresh"' in r.get_data(as_text=True)
    assert signed_in(embed_client)
    # The code was exchanged with the PKCE verifier, the secret only in the Basic header.
    [exchange] = provider.token_requests
    assert exchange["grant_type"] == "authorization_code" and "code_verifier" in exchange
    assert "client_secret" not in exchange
    [event] = list_events(pf, AuditQuery(action="admin.sign_in"))["events"]
    assert event["actor"] == {"kind": "admin", "id": "oidc:u-1001", "name": "王工"}
    assert event["detail"] == {"method": "oidc", "role": "admin"}
    page = embed_client.get("/admin/apps").get_data(as_text=True)
    assert "王工" in page


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def test_a_viewer_reads_but_cannot_change(embed_client, provider):
    provider.user["groups"] = ["staff", "planfuse-viewers"]
    assert sign_in(embed_client).status_code == 200
    assert embed_client.get("/admin/audit").status_code == 200
    csrf = _csrf(embed_client.get("/admin/apps").data)
    r = embed_client.post(
        "/admin/apps/create",
        json={"name": "x", "origins": ["https://a.example"]},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert r.status_code == 403 and "viewer" in r.get_json()["detail"]


def test_someone_in_no_console_group_is_refused(embed_client, provider):
    provider.user["groups"] = ["staff"]
    r = sign_in(embed_client)
    assert r.status_code == 403
    assert "none of the console's groups" in r.get_data(as_text=True)
    assert not signed_in(embed_client)


def test_a_forged_id_token_is_refused(embed_client, provider):
    # Signed with another key under the published kid: the JWKS does not verify it.
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    r = sign_in(embed_client)
    assert r.status_code == 403
    assert "signature does not verify" in r.get_data(as_text=True)
    assert not signed_in(embed_client)


def test_an_id_token_for_another_audience_is_refused(embed_client, provider):
    provider.audience = "another-client"
    r = sign_in(embed_client)
    assert r.status_code == 403 and "audience" in r.get_data(as_text=True)
    assert not signed_in(embed_client)


def test_a_replayed_state_is_refused(embed_app, embed_client, provider):
    url, _ = start(embed_client)
    flow = embed_client.get_cookie(FLOW_COOKIE, path="/admin/sso").value
    callback = authorize(url)
    assert back(embed_client, callback).status_code == 200
    # The same callback with the same flow cookie, in another browser: refused by us
    # before the provider is asked again.
    thief = embed_app.test_client()
    thief.set_cookie(FLOW_COOKIE, flow, path="/admin/sso")
    requests_before = len(provider.token_requests)
    r = back(thief, callback)
    assert r.status_code == 403 and "already used" in r.get_data(as_text=True)
    assert len(provider.token_requests) == requests_before
    assert not signed_in(thief)


def test_a_state_this_browser_did_not_start_is_refused(embed_app, embed_client, provider):
    url, _ = start(embed_client)
    callback = authorize(url)
    # Login CSRF: the callback opened in a browser that did not start this sign-in.
    other = embed_app.test_client()
    r = back(other, callback)
    assert r.status_code == 403 and "did not start" in r.get_data(as_text=True)
    assert not signed_in(other)
    # A state changed on the way back does not match the flow.
    tampered = re.sub(r"state=[^&]+", "state=forged", callback)
    r = back(embed_client, tampered)
    assert r.status_code == 403 and "state does not match" in r.get_data(as_text=True)
    # The issuer's own refusal is shown as such.
    r = embed_client.get("/admin/sso/callback?error=access_denied&error_description=no")
    assert r.status_code == 403 and "access_denied" in r.get_data(as_text=True)


def test_the_admin_token_sign_in_stays(embed_client, pf):
    from planfuse.services.admin_tokens import create_admin_token

    _, token = create_admin_token(pf, "本地管理员")
    page = embed_client.get("/admin/login")
    r = embed_client.post("/admin/login", data={"token": token, "csrf_token": _csrf(page.data)})
    assert r.status_code == 302 and signed_in(embed_client)


def test_without_an_issuer_there_is_no_single_sign_on(embed_app, monkeypatch):
    from planfuse.http.context import CONTEXT_KEY

    ctx = embed_app.extensions[CONTEXT_KEY]
    monkeypatch.setitem(ctx.settings._values, "oidc_issuer", "")
    client = embed_app.test_client()
    assert "/admin/sso" not in client.get("/admin/login").get_data(as_text=True)
    assert client.get("/admin/sso").status_code == 404
