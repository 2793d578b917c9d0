"""Token attacks from issue 4, each one a test. Every bad token gets a 401 problem response
from `POST /embed/session` (or is refused by `validate_embed_token`), and nothing leaks the
token into the logs."""

import base64
import hashlib
import hmac
import json
import logging
import time

import pytest
from embed_support import b64, claims_for, sign_hs256
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from planfuse.auth.apps import add_public_key, update_host_app
from planfuse.auth.tokens import REQUIRED_CLAIMS, TokenError, validate_embed_token


def exchange(client, token, **extra):
    return client.post("/embed/session", json={"token": token, **extra})


def assert_refused(response, code="token_invalid"):
    assert response.status_code == 401, response.get_json()
    body = response.get_json()
    assert body["type"].endswith("/" + code), body
    assert response.mimetype == "application/problem+json"
    assert "session_token" not in body
    return body


def test_a_valid_token_is_accepted(embed_client, host):
    r = exchange(embed_client, host.token())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["session_token"] and body["expires_in"] > 0
    assert body["user"] == {
        "sub": "user-1",
        "name": "张三",
        "dept": "规划科",
        "roles": ["reviewer"],
    }
    assert r.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in r.headers


def test_alg_none(embed_client, host):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(host.claims())}."
    assert_refused(exchange(embed_client, token))


def test_alg_none_with_a_signature_part(embed_client, host):
    token = f"{b64({'alg': 'none'})}.{b64(host.claims())}.{b64(b'x' * 32)}"
    assert_refused(exchange(embed_client, token))


def forge_hs256(header: dict, claims: dict, secret: bytes) -> str:
    """HS256 by hand: what an attacker does with a public key as the HMAC secret."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def _rsa_app(pf, host):
    private = RSAKey.generate_key(2048)
    public = private.as_dict(private=False)
    kid = add_public_key(pf, host.id, public, "RS256", "rsa-1")
    return private, public, kid


def test_hs256_signed_with_the_registered_public_key(embed_client, pf, host):
    _, public, kid = _rsa_app(pf, host)
    pem = RSAKey.import_key(public).as_pem(private=False)
    for header in ({"kid": kid}, {}):
        claims = host.claims()
        forged = forge_hs256({"alg": "HS256", **header}, claims, pem)
        assert_refused(exchange(embed_client, forged))


def test_hs256_against_an_app_with_only_public_keys(embed_client, pf, other_host):
    from planfuse.auth.apps import rotate_secret

    _, public, _ = _rsa_app(pf, other_host)
    rotate_secret(pf, other_host.id, grace_s=0)  # expire the original secret at once
    time.sleep(0.01)
    from sqlalchemy import delete

    from planfuse.storage.models import HostAppKey

    with pf.db.session() as s:
        s.execute(delete(HostAppKey).where(HostAppKey.alg == "HS256"))
    pem = RSAKey.import_key(public).as_pem(private=False)
    forged = forge_hs256({"alg": "HS256"}, other_host.claims(), pem)
    body = assert_refused(exchange(embed_client, forged))
    assert "not allowed" in body["detail"]


def test_a_registered_rs256_key_works(embed_client, pf, host):
    private, _, kid = _rsa_app(pf, host)
    token = jwt.encode({"alg": "RS256", "kid": kid}, host.claims(), private)
    assert exchange(embed_client, token).status_code == 200


def test_a_registered_es256_key_works_and_picks_by_kid(embed_client, pf, host):
    k1, k2 = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    add_public_key(pf, host.id, k1.as_dict(private=False), "ES256", "ec-1")
    add_public_key(pf, host.id, k2.as_dict(private=False), "ES256", "ec-2")
    good = jwt.encode({"alg": "ES256", "kid": "ec-2"}, host.claims(), k2)
    assert exchange(embed_client, good).status_code == 200
    wrong_kid = jwt.encode({"alg": "ES256", "kid": "ec-1"}, host.claims(), k2)
    assert_refused(exchange(embed_client, wrong_kid))


def test_a_private_jwk_cannot_be_registered(pf, host):
    from planfuse.errors import DomainError

    with pytest.raises(DomainError, match="private key"):
        add_public_key(pf, host.id, ECKey.generate_key("P-256").as_dict(private=True), "ES256")


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_an_algorithm_outside_the_allow_list(embed_client, host, alg):
    key = OctKey.import_key(host.secret.encode())
    token = jwt.encode({"alg": alg}, host.claims(), key, algorithms=[alg])
    assert_refused(exchange(embed_client, token))


def test_a_wrong_key(embed_client, host):
    assert_refused(exchange(embed_client, sign_hs256(host.claims(), "pfs_" + "w" * 43)))


def test_a_tampered_payload(embed_client, host):
    header, _, signature = host.token().split(".")
    tampered = host.claims(sub="admin", roles=["coordinator"])
    assert_refused(exchange(embed_client, f"{header}.{b64(tampered)}.{signature}"))


def test_expired(embed_client, host):
    now = int(time.time())
    token = host.token(iat=now - 400, exp=now - 60)
    assert_refused(exchange(embed_client, token), code="token_expired")


def test_expired_within_the_30_s_leeway_is_accepted(embed_client, host):
    now = int(time.time())
    assert exchange(embed_client, host.token(iat=now - 300, exp=now - 10)).status_code == 200


def test_nbf_five_minutes_ahead(embed_client, host):
    now = int(time.time())
    assert_refused(exchange(embed_client, host.token(nbf=now + 300)))


def test_iat_five_minutes_ahead(embed_client, host):
    now = int(time.time())
    assert_refused(exchange(embed_client, host.token(iat=now + 300, exp=now + 500)))


def test_lifetime_over_the_cap(embed_client, host):
    now = int(time.time())
    body = assert_refused(exchange(embed_client, host.token(iat=now, exp=now + 601)))
    assert "600" in body["detail"]


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_each_required_claim_missing(embed_client, host, claim):
    body = assert_refused(exchange(embed_client, host.token(**{claim: None})))
    assert claim in body["detail"] or claim == "iss"


def test_wrong_audience(embed_client, host):
    assert_refused(exchange(embed_client, host.token(aud="someone-else")))
    assert_refused(exchange(embed_client, host.token(aud=["someone-else"])))


def test_audience_as_a_list_that_contains_ours(embed_client, host):
    assert exchange(embed_client, host.token(aud=["x", "planfuse"])).status_code == 200


def test_unknown_issuer(embed_client, host):
    assert_refused(exchange(embed_client, host.token(iss="app_0000000000000000")))


def test_disabled_issuer(embed_client, pf, host):
    token = host.token()
    update_host_app(pf, host.id, disabled=True)
    assert "disabled" in assert_refused(exchange(embed_client, token))["detail"]


def test_token_for_widget_a_used_on_widget_b(embed_client, pf, host, second_widget):
    body = assert_refused(exchange(embed_client, host.token("probe"), widget=second_widget))
    assert "not 'probe-b'" in body["detail"] or "probe-b" in body["detail"]


def test_widget_not_allowed_for_the_app(embed_client, pf, host, second_widget):
    update_host_app(pf, host.id, widgets=["probe"])
    assert_refused(exchange(embed_client, host.token(second_widget)))


def test_token_of_app_a_on_app_b_page(embed_client, host, other_host):
    assert_refused(exchange(embed_client, host.token(), app=other_host.id))


def test_jti_replayed(embed_client, host):
    token = host.token()
    assert exchange(embed_client, token).status_code == 200
    body = assert_refused(exchange(embed_client, token))
    assert "already used" in body["detail"]


def test_replay_store_fails_closed(embed_client, pf, host, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(*_a, **_k):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(pf.db, "session", broken)
    r = exchange(embed_client, host.token())
    # Validation needs the app, so with no database at all nothing is issued.
    assert r.status_code in (401, 500, 503)
    assert "session_token" not in (r.get_json() or {})


def test_replay_store_write_failure_refuses_the_token(pf, host, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from planfuse.auth import sessions
    from planfuse.errors import DomainError
    from planfuse.http.problems import problem_from_exception

    claims = validate_embed_token(pf, host.token())
    real_session = pf.db.session

    class Failing:
        def __enter__(self):
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(pf.db, "session", lambda: Failing())
    with pytest.raises(DomainError) as info:
        sessions.exchange_embed_token(pf, claims)
    assert problem_from_exception(info.value).status == 503
    monkeypatch.setattr(pf.db, "session", real_session)
    # The token was never recorded, so it is still usable once the store is back.
    assert sessions.exchange_embed_token(pf, claims)["session_token"]


@pytest.mark.parametrize(
    "kid",
    ["../../../../etc/passwd", "' OR '1'='1' --", "hs-1; DROP TABLE host_apps", "\x00", "k" * 500],
)
def test_kid_path_and_sql_strings(embed_client, host, kid):
    assert_refused(exchange(embed_client, host.token(header={"kid": kid})))
    # The app and its keys are intact afterwards.
    assert exchange(embed_client, host.token()).status_code == 200


def test_jku_and_jwk_headers_are_ignored(embed_client, host):
    attacker = RSAKey.generate_key(2048)
    header = {
        "alg": "RS256",
        "jwk": attacker.as_dict(private=False),
        "jku": "https://evil.example.net/jwks.json",
        "x5u": "https://evil.example.net/cert.pem",
    }
    token = jwt.encode(header, host.claims(), attacker)
    assert_refused(exchange(embed_client, token))
    # Also with a valid HS256 signature the embedded key material plays no part.
    ok = host.token(header={"jku": "https://evil.example.net/jwks.json"})
    assert exchange(embed_client, ok).status_code == 200


def test_unknown_critical_header(embed_client, host):
    header = {"alg": "HS256", "crit": ["exp-ext"], "exp-ext": 1}
    token = forge_hs256(header, host.claims(), host.secret.encode())
    assert_refused(exchange(embed_client, token))


def test_an_8_mb_token_is_rejected_before_decoding(embed_client, pf, host):
    huge = host.token() + "A" * (8 * 1024 * 1024)
    # The size check comes first: the error is about the size, not the (broken) signature.
    with pytest.raises(TokenError, match="larger than 8 KB"):
        validate_embed_token(pf, huge)
    r = exchange(embed_client, huge)
    assert r.status_code == 401


def test_a_token_just_over_8_kb_is_refused_before_decoding(pf, host):
    token = host.token(params={"project": "p" * 9000})
    assert len(token) > 8192
    with pytest.raises(TokenError, match="larger than 8 KB"):
        validate_embed_token(pf, token)


def test_a_token_in_a_query_string_is_refused(embed_client, host):
    r = embed_client.get(f"/embed/probe?app={host.id}&token={host.token()}")
    assert r.status_code == 400
    assert "frame-ancestors" in r.headers["Content-Security-Policy"]
    assert b"token" in r.data


def test_locked_params_must_fit_the_widget(embed_client, host):
    assert exchange(embed_client, host.token(params={"project": "P-1"})).status_code == 200
    assert_refused(exchange(embed_client, host.token(params={"nope": 1})))
    assert_refused(exchange(embed_client, host.token(params={"project": 5})))
    # `lines` is declared not lockable in the probe manifest.
    assert_refused(exchange(embed_client, host.token(params={"lines": 3})))


def test_revoked_before(embed_client, pf, host):
    from datetime import UTC, datetime

    from planfuse.auth.apps import revoke_tokens

    old = host.token(iat=int(time.time()) - 60)
    revoke_tokens(pf, host.id, datetime.now(UTC))
    assert_refused(exchange(embed_client, old))


def test_rotation_keeps_the_old_secret_during_the_grace_period(embed_client, pf, host):
    from planfuse.auth.apps import rotate_secret

    kid, new_secret = rotate_secret(pf, host.id, grace_s=3600)
    assert exchange(embed_client, host.token()).status_code == 200  # old secret
    token = sign_hs256(host.claims(), new_secret, {"kid": kid})
    assert exchange(embed_client, token).status_code == 200
    rotate_secret(pf, host.id, grace_s=0)
    assert_refused(exchange(embed_client, host.token()))


def test_malformed_tokens(embed_client):
    for bad in ["", "abc", "a.b", "a.b.c", "ey.ey.ey", "é.é.é", 42, None, ["x"]]:
        r = embed_client.post("/embed/session", json={"token": bad})
        assert r.status_code == 401, bad


def test_the_token_never_reaches_the_log(embed_client, host, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = [host.token(), host.token(aud="wrong"), host.token(exp=1)]
    for token in tokens:
        exchange(embed_client, token)
        exchange(embed_client, token)
        embed_client.get(f"/embed/probe?app={host.id}&token={token}")
    from planfuse.logs import JSONFormatter

    formatter = JSONFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records) + caplog.text
    for token in tokens:
        for part in token.split("."):
            assert part not in text
    assert json.dumps(tokens)  # the list itself is fine; only the log must not have them


@pytest.fixture
def second_widget(pf, tmp_path):
    """A second registered widget, `probe-b`."""
    from embed_support import PROBE_DIR

    from planfuse.widgets.registry import Widget, widget_registry

    manifest = json.loads((PROBE_DIR / "manifest.json").read_text())
    manifest["name"] = "probe-b"
    path = tmp_path / "probe-b.json"
    path.write_text(json.dumps(manifest))
    widget_registry(pf).add(Widget.from_manifest(path, assets_dir=tmp_path))
    return "probe-b"


def test_b64_helper_roundtrip():
    assert json.loads(base64.urlsafe_b64decode(b64({"a": 1}) + "==")) == {"a": 1}
    assert claims_for("x")["iss"] == "x"


@pytest.mark.parametrize(
    ("claim", "literal"),
    [
        ("exp", "Infinity"),
        ("exp", "1e400"),
        ("exp", "-Infinity"),
        ("iat", "NaN"),
        ("iat", "-1e400"),
        ("nbf", "NaN"),
        ("exp", "1e300"),
    ],
)
def test_a_signed_token_with_a_non_finite_or_huge_time_is_refused(
    embed_client, host, claim, literal
):
    # Python's JSON reads these literals as inf/nan; a host's signer can write them.
    text = json.dumps(host.claims(**{claim: "PLACEHOLDER"})).replace('"PLACEHOLDER"', literal)
    token = forge_hs256({"alg": "HS256", "typ": "JWT"}, text, host.secret.encode())
    body = assert_refused(exchange(embed_client, token))
    assert claim in body["detail"]
