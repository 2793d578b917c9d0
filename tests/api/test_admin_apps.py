"""The admin console's host-app page (/admin/apps) and its cookie-and-CSRF routes, on SQLite
and PostgreSQL: secrets shown once, bad input refused with nothing changed, rotation with a
grace period, disable/enable, revoke, public keys, sign-in and CSRF."""

import json
import re
import time

import pytest
from joserfc.jwk import ECKey

from planfuse.auth.apps import get_host_app
from planfuse.auth.tokens import TokenError, validate_embed_token
from tests.embed_support import claims_for, sign_hs256

ORIGIN = "https://portal.example.gov.cn"


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def _page_config(html: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="apps-config">(.*?)</script>', html)
    return json.loads(match.group(1))


@pytest.fixture
def csrf(embed_client, admin_token) -> str:
    """Sign `embed_client` in to the console; the CSRF token of its pages."""
    login = embed_client.get("/admin/login")
    r = embed_client.post(
        "/admin/login", data={"token": admin_token, "csrf_token": _csrf(login.data)}
    )
    assert r.status_code == 302
    page = embed_client.get("/admin/apps")
    assert page.status_code == 200
    return _page_config(page.data)["csrf_token"]


def post(client, csrf: str | None, path: str, body: dict | None = None):
    headers = {"Accept": "application/json"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post(f"/admin/apps{path}", json=body or {}, headers=headers)


def create(client, csrf: str, name="网审平台", origins=(ORIGIN,), widgets=("probe",)) -> dict:
    r = post(
        client, csrf, "/create", {"name": name, "origins": list(origins), "widgets": list(widgets)}
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def valid(pf, app_id: str, secret: str, **claims) -> bool:
    try:
        validate_embed_token(pf, sign_hs256(claims_for(app_id, **claims), secret))
    except TokenError:
        return False
    return True


def test_create_shows_the_secret_once_and_never_again(embed_client, csrf, pf):
    r = post(
        embed_client,
        csrf,
        "/create",
        {"name": "网审平台", "origins": [f"{ORIGIN}:443/"], "widgets": ["probe"]},
    )
    assert r.status_code == 201, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    created = r.get_json()
    app_id, secret = created["app_id"], created["secret"]
    assert secret.startswith("pfs_")
    assert created["app"]["origins"] == [ORIGIN] and created["app"]["widgets"] == ["probe"]
    assert valid(pf, app_id, secret)

    listed = embed_client.get("/admin/apps.json")
    assert listed.status_code == 200
    assert [a["app_id"] for a in listed.get_json()["apps"]] == [app_id]
    [key] = listed.get_json()["apps"][0]["keys"]
    assert key["type"] == "shared_secret" and key["fingerprint"]
    page = embed_client.get("/admin/apps")
    assert _page_config(page.data)["apps"][0]["app_id"] == app_id
    for text in (listed.get_data(as_text=True), page.get_data(as_text=True)):
        assert secret not in text
    # Every other answer about the app is secret-free as well.
    edited = post(embed_client, csrf, f"/{app_id}/edit", {"name": "网审平台 2"})
    assert edited.status_code == 200 and secret not in edited.get_data(as_text=True)


def test_page_offers_registered_widgets_and_the_rotation_default(embed_client, csrf, pf):
    config = _page_config(embed_client.get("/admin/apps").data)
    names = [w["name"] for w in config["widgets"]]
    assert "probe" in names and "compliance" in names
    assert config["default_grace_s"] == pf.settings.key_rotation_grace_s
    html = embed_client.get("/admin/apps").get_data(as_text=True)
    assert 'aria-current="page">宿主应用 · Host apps</a>' in html


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"origins": ["https://ok.example", "https://*.example.com"]}, "origins"),
        ({"origins": ["https://ok.example/path"]}, "origins"),
        ({"origins": []}, "origins"),
        ({"widgets": ["probe", "no-such-widget"]}, "widgets"),
        ({"name": "   "}, "name"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(embed_client, csrf, pf, body, field):
    app_id = create(embed_client, csrf)["app_id"]
    r = post(embed_client, csrf, f"/{app_id}/edit", {"name": "改过的名字", **body})
    assert r.status_code == 400
    problem = r.get_json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["detail"]
    app = get_host_app(pf, app_id)
    assert (app.name, app.origins, app.widgets) == ("网审平台", (ORIGIN,), ("probe",))


def test_a_good_edit_changes_name_origins_and_widgets(embed_client, csrf, pf):
    app_id = create(embed_client, csrf)["app_id"]
    body = {
        "name": "新名字",
        "origins": ["http://127.0.0.1:8001", "HTTPS://A.example"],
        "widgets": [],
    }
    r = post(embed_client, csrf, f"/{app_id}/edit", body)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["app"]["origins"] == ["http://127.0.0.1:8001", "https://a.example"]
    app = get_host_app(pf, app_id)
    assert (app.name, app.widgets) == ("新名字", ())
    # The edit route changes only what the form edits: it cannot disable the app.
    r = post(embed_client, csrf, f"/{app_id}/edit", {"disabled": True})
    assert r.status_code == 200 and get_host_app(pf, app_id).disabled is False


def test_bad_create_input_is_refused_naming_the_field(embed_client, csrf, pf):
    r = post(embed_client, csrf, "/create", {"name": "x", "origins": ["ftp://files.example"]})
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "origins"
    assert "http://" in r.get_json()["detail"]
    r = post(embed_client, csrf, "/create", {"name": "x", "origins": [ORIGIN], "widgets": ["nope"]})
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "widgets"
    assert embed_client.get("/admin/apps.json").get_json()["apps"] == []


def test_rotate_keeps_the_old_secret_valid_within_the_grace_period(embed_client, csrf, pf):
    created = create(embed_client, csrf)
    app_id, first = created["app_id"], created["secret"]
    r = post(embed_client, csrf, f"/{app_id}/rotate", {"grace_s": 600})
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    second = r.get_json()["secret"]
    assert second != first and r.get_json()["kid"]
    assert valid(pf, app_id, first) and valid(pf, app_id, second)
    keys = r.get_json()["app"]["keys"]
    assert [k["expires_at"] is not None for k in keys] == [True, False]
    listed = embed_client.get("/admin/apps.json").get_data(as_text=True)
    assert first not in listed and second not in listed

    # Grace 0: every earlier secret stops at once.
    third = post(embed_client, csrf, f"/{app_id}/rotate", {"grace_s": 0}).get_json()["secret"]
    assert valid(pf, app_id, third) and not valid(pf, app_id, second)
    assert not valid(pf, app_id, first)

    for grace in (-1, "soon", 10**12):
        r = post(embed_client, csrf, f"/{app_id}/rotate", {"grace_s": grace})
        assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "grace_s"
        assert "secret" not in r.get_json()


def test_rotate_without_a_grace_uses_the_setting(embed_client, csrf, pf):
    app_id = create(embed_client, csrf)["app_id"]
    before = time.time()
    r = post(embed_client, csrf, f"/{app_id}/rotate")
    assert r.status_code == 200
    old = get_host_app(pf, app_id).keys[0]
    grace = old.expires_at.timestamp() - before
    assert pf.settings.key_rotation_grace_s - 5 < grace < pf.settings.key_rotation_grace_s + 5


def test_disable_and_enable(embed_client, csrf, pf):
    created = create(embed_client, csrf)
    app_id, secret = created["app_id"], created["secret"]
    r = post(embed_client, csrf, f"/{app_id}/disable")
    assert r.status_code == 200 and r.get_json()["app"]["disabled"] is True
    assert not valid(pf, app_id, secret)
    r = post(embed_client, csrf, f"/{app_id}/enable")
    assert r.status_code == 200 and r.get_json()["app"]["disabled"] is False
    assert valid(pf, app_id, secret)
    assert post(embed_client, csrf, "/app_unknown/disable").status_code == 404


def test_revoke_refuses_tokens_issued_before_now(embed_client, csrf, pf):
    created = create(embed_client, csrf)
    app_id, secret = created["app_id"], created["secret"]
    earlier = int(time.time()) - 10
    assert valid(pf, app_id, secret, iat=earlier)
    r = post(embed_client, csrf, f"/{app_id}/revoke")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["revoked_before"] == r.get_json()["app"]["revoked_before"]
    assert not valid(pf, app_id, secret, iat=earlier)
    assert valid(pf, app_id, secret, iat=int(time.time()) + 2)


def test_add_and_remove_a_public_key(embed_client, csrf, pf):
    app_id = create(embed_client, csrf)["app_id"]
    key = ECKey.generate_key("P-256")
    public = key.as_dict(private=False)
    r = post(
        embed_client, csrf, f"/{app_id}/keys", {"jwk": public, "alg": "ES256", "kid": "host-2026"}
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["kid"] == "host-2026"
    added = [k for k in r.get_json()["app"]["keys"] if k["type"] == "public_key"]
    assert [(k["kid"], k["alg"]) for k in added] == [("host-2026", "ES256")]

    # Blank alg and kid: taken from the JWK, or generated.
    r = post(
        embed_client,
        csrf,
        f"/{app_id}/keys",
        {"jwk": ECKey.generate_key("P-256").as_dict(private=False), "alg": None, "kid": None},
    )
    assert r.status_code == 201 and r.get_json()["kid"].startswith("es256")

    private = key.as_dict(private=True)
    for body, field in (
        ({"jwk": private, "alg": "ES256"}, "jwk"),
        ({"jwk": public, "alg": "RS256"}, "jwk"),
        ({"jwk": "not a key", "alg": "ES256"}, "jwk"),
        ({"jwk": public, "alg": "ES256", "kid": "x" * 101}, "kid"),
    ):
        r = post(embed_client, csrf, f"/{app_id}/keys", body)
        assert r.status_code == 400, body
        assert r.get_json()["errors"][0]["field"] == field
    assert (
        post(embed_client, csrf, f"/{app_id}/keys", {"jwk": public, "kid": "host-2026"}).status_code
        == 409
    )

    r = post(embed_client, csrf, f"/{app_id}/keys/host-2026/remove")
    assert r.status_code == 200
    assert "host-2026" not in [k.kid for k in get_host_app(pf, app_id).keys]
    assert post(embed_client, csrf, f"/{app_id}/keys/host-2026/remove").status_code == 404


def test_missing_or_stale_csrf_is_refused(embed_client, csrf, pf):
    created = create(embed_client, csrf)
    app_id = created["app_id"]
    for token in (None, "stale" + csrf[5:]):
        for path, body in (
            ("/create", {"name": "x", "origins": [ORIGIN]}),
            (f"/{app_id}/edit", {"name": "被改了"}),
            (f"/{app_id}/rotate", {}),
            (f"/{app_id}/disable", {}),
            (f"/{app_id}/revoke", {}),
            (f"/{app_id}/keys", {"jwk": ECKey.generate_key("P-256").as_dict(private=False)}),
        ):
            r = post(embed_client, token, path, body)
            assert r.status_code == 403, path
            assert "secret" not in r.get_json()
    app = get_host_app(pf, app_id)
    assert (app.name, app.disabled, app.revoked_before, len(app.keys)) == (
        "网审平台",
        False,
        None,
        1,
    )
    assert len(embed_client.get("/admin/apps.json").get_json()["apps"]) == 1


def test_pages_and_routes_need_sign_in(embed_client, pf):
    from planfuse.auth.apps import create_host_app

    record, _ = create_host_app(pf, "x", [ORIGIN])
    page = embed_client.get("/admin/apps")
    assert page.status_code == 302 and page.headers["Location"].endswith("/admin/login")
    assert embed_client.get("/admin/apps.json").status_code == 401
    for path in ("/create", f"/{record.id}/rotate", f"/{record.id}/disable", f"/{record.id}/edit"):
        assert embed_client.post(f"/admin/apps{path}", json={}).status_code == 401
    assert get_host_app(pf, record.id).disabled is False


def test_markup_in_an_app_name_stays_text(embed_client, csrf):
    name = '<img src=x onerror="alert(1)"></script><b>审批</b>'
    create(embed_client, csrf, name=name)
    html = embed_client.get("/admin/apps").get_data(as_text=True)
    assert "<img src=x" not in html and "</script><b>" not in html
    config = _page_config(embed_client.get("/admin/apps").data)
    assert config["apps"][0]["name"] == name
