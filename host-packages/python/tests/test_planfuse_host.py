"""planfuse-host against a running PlanFuse server (tests/host_server.py): mint → exchange →
check → verify, the function-service call with Basic credentials, every way a signed result
must be refused, the JWKS cache, and webhooks by the Standard Webhooks rules (a published
known answer, and the reference implementation `standardwebhooks` both ways)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import pytest
from compliance_world import project
from host_server import running_planfuse

from planfuse_host import InvalidResult, InvalidWebhook, PlanFuse, PlanFuseError, verify_webhook

BODY = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}
#: A red line 200 × 100 m, half of it (10,000 m²) on basic farmland: the verdict is fail.
ON_FARMLAND = project(-100, 50, 100, 150)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_planfuse(tmp_path_factory.mktemp("planfuse-host")) as running:
        yield running


@pytest.fixture
def planfuse(server) -> PlanFuse:
    return PlanFuse(server.url, server.app_id, server.secret)


def post_json(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def widget_check(server, token: str, body: dict) -> dict:
    """What the compliance widget does with the token: exchange it, then check."""
    session = post_json(f"{server.url}/embed/session", {"token": token, "widget": "compliance"})
    bearer = {"Authorization": f"Bearer {session['session_token']}"}
    return post_json(f"{server.url}/api/v1/compliance/check", body, bearer)


def test_mint_exchange_check_verify(server, planfuse):
    token = planfuse.mint_token(
        "user-42", widget="compliance", name="李四", dept="审批科", params={"land_use": "0701"}
    )
    report = widget_check(server, token, {**BODY, "geometry": ON_FARMLAND})
    assert report["checked_by"]["user"] == "user-42" and report["checked_by"]["name"] == "李四"
    verified = planfuse.verify_result(report["signature"]["jws"])
    assert verified["id"] == report["id"]
    assert verified["verdict"] == "fail" == report["verdict"]
    farmland = verified["items"][0]
    assert farmland["rule"] == "basic_farmland" and farmland["status"] == "fail"
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, abs=0.01)
    assert verified["land_use"] == "0701" and verified["project_id"] is None


def test_from_the_environment(server):
    env = server.env()
    planfuse = PlanFuse.from_env(env)
    assert (planfuse.server, planfuse.app_id) == (server.url + "/", server.app_id)
    with pytest.raises(KeyError, match="PLANFUSE_APP_SECRET"):
        PlanFuse.from_env({**env, "PLANFUSE_APP_SECRET": ""})


def test_a_token_is_spent_once(server, planfuse):
    token = planfuse.mint_token("user-42", widget="compliance")
    widget_check(server, token, {**BODY, "geometry": ON_FARMLAND})
    with pytest.raises(urllib.error.HTTPError) as refused:
        widget_check(server, token, {**BODY, "geometry": ON_FARMLAND})
    assert refused.value.code == 401
    refused.value.close()


def test_call_registers_a_project_and_checks_it(planfuse):
    created = planfuse.call(
        "POST",
        "projects",
        {
            "name": "两江新区某安置房项目",
            "geometry": project(-600, -300, -400, -100),
            "crs": "EPSG:4490",
            "land_use": "0701",
            "project_type": "urban",
            "external_id": "SP-2026-0042",
        },
    )
    assert created["id"].startswith("prj_") and created["area_m2"] == pytest.approx(40_000, 1e-6)
    listed = planfuse.call("GET", "projects", query={"external_id": "SP-2026-0042"})
    assert [p["id"] for p in listed["projects"]] == [created["id"]]
    report = planfuse.call("POST", "compliance/check", {"project": created["id"]})
    assert report["verdict"] == "pass"
    assert planfuse.verify_result(report["signature"]["jws"])["project_id"] == created["id"]


def test_call_raises_the_problem(planfuse, server):
    with pytest.raises(PlanFuseError) as bad:
        planfuse.call(
            "POST", "compliance/check", {**BODY, "land_use": "9999", "geometry": ON_FARMLAND}
        )
    assert bad.value.status == 400 and bad.value.code == "unknown_land_use"
    assert "9999" in bad.value.detail
    wrong = PlanFuse(server.url, server.app_id, "pfs_wrong")
    with pytest.raises(PlanFuseError) as refused:
        wrong.call("GET", "projects")
    assert refused.value.status == 401
    offline = PlanFuse("http://127.0.0.1:9", server.app_id, server.secret, timeout_s=2)
    with pytest.raises(PlanFuseError) as unreachable:
        offline.call("GET", "projects")
    assert unreachable.value.status == 0 and unreachable.value.code == "network"


def signed(planfuse: PlanFuse) -> str:
    return planfuse.call("POST", "compliance/check", {**BODY, "geometry": ON_FARMLAND})[
        "signature"
    ]["jws"]


def test_another_apps_result_is_refused(server, planfuse):
    other_id, other_secret = server.new_app("另一个系统")
    theirs = signed(PlanFuse(server.url, other_id, other_secret))
    with pytest.raises(InvalidResult, match="issued to"):
        planfuse.verify_result(theirs)


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_forged_and_foreign_tokens_are_refused(server, planfuse):
    genuine = signed(planfuse)
    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["report"]["verdict"] = "pass"
    with pytest.raises(InvalidResult, match="does not verify"):
        planfuse.verify_result(f"{header}.{_b64(claims)}.{signature}")
    # HS256 under the app's own secret (the browser never has it, but a bug might): refused.
    hs = _b64({"alg": "HS256", "typ": "planfuse-compliance+jwt", "kid": "x"})
    with pytest.raises(InvalidResult, match="must be ES256"):
        planfuse.verify_result(f"{hs}.{payload}.{signature}")
    none = _b64({"alg": "none", "typ": "planfuse-compliance+jwt"})
    with pytest.raises(InvalidResult):
        planfuse.verify_result(f"{none}.{payload}.")
    # The server's own key, but another document type (e.g. some other signed thing).
    from planfuse.signing.server_keys import sign_claims

    other_type = sign_claims(server.pf, {**claims, "aud": server.app_id}, typ="JWT")
    with pytest.raises(InvalidResult, match="typ"):
        planfuse.verify_result(other_type)
    unknown_kid = _b64({**json.loads(base64.urlsafe_b64decode(header + "==")), "kid": "nope"})
    with pytest.raises(InvalidResult, match="kid"):
        planfuse.verify_result(f"{unknown_kid}.{payload}.{signature}")
    for junk in ("", "a.b", "x.y.z", 42):
        with pytest.raises(InvalidResult):
            planfuse.verify_result(junk)


def test_an_expired_result_is_refused(server, planfuse):
    from planfuse.signing.server_keys import sign_claims

    now = int(time.time())
    claims = {
        "iss": "planfuse",
        "aud": server.app_id,
        "iat": now - 90_000,
        "exp": now - 3_600,
        "report": {"verdict": "pass"},
    }
    old = sign_claims(server.pf, claims, typ="planfuse-compliance+jwt")
    with pytest.raises(InvalidResult, match="expired"):
        planfuse.verify_result(old)
    fresh = sign_claims(server.pf, {**claims, "exp": now + 60}, typ="planfuse-compliance+jwt")
    assert planfuse.verify_result(fresh) == {"verdict": "pass"}
    # The server puts `exp` (compliance_result_ttl_s, a day by default) in every result.
    payload = signed(planfuse).split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(payload + "=="))["exp"]
    assert 86_000 < exp - now <= 86_400 + 5


def test_the_jwks_is_fetched_once_and_again_after_a_rotation(server):
    from planfuse.signing.server_keys import rotate_signing_key

    planfuse = PlanFuse(server.url, server.app_id, server.secret)
    before = server.paths.count("/api/v1/compliance/jwks.json")
    for _ in range(3):
        planfuse.verify_result(signed(planfuse))
    assert server.paths.count("/api/v1/compliance/jwks.json") == before + 1
    rotate_signing_key(server.pf)
    server.pf.extras.pop("server_signing_key", None)  # this process picks the new key at once
    planfuse._jwks_at -= 60  # past the refetch pause, as a minute later
    assert planfuse.verify_result(signed(planfuse))["verdict"] == "fail"
    assert server.paths.count("/api/v1/compliance/jwks.json") == before + 2


# --- webhooks ---------------------------------------------------------------------------

# The example of the Standard Webhooks / Svix documentation: secret, id, timestamp, body and
# the signature they publish for it.
KNOWN_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KNOWN_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
KNOWN_TIMESTAMP = 1614265330
KNOWN_BODY = '{"test": 2432232314}'
KNOWN_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def known_headers(**changes: str) -> dict[str, str]:
    headers = {
        "webhook-id": KNOWN_ID,
        "webhook-timestamp": str(KNOWN_TIMESTAMP),
        "webhook-signature": KNOWN_SIGNATURE,
    }
    return {**headers, **changes}


def test_webhook_known_answer():
    payload = verify_webhook(KNOWN_SECRET, known_headers(), KNOWN_BODY, now=KNOWN_TIMESTAMP + 10)
    assert payload == {"test": 2432232314}
    # Headers in other capitals (a plain dict), bytes body, several signatures (rotation).
    mixed = {
        "Webhook-Id": KNOWN_ID,
        "Webhook-Timestamp": str(KNOWN_TIMESTAMP),
        "Webhook-Signature": f"v1,bm9wZQ== {KNOWN_SIGNATURE}",
    }
    assert verify_webhook(KNOWN_SECRET, mixed, KNOWN_BODY.encode(), now=KNOWN_TIMESTAMP)


@pytest.mark.parametrize(
    ("headers", "body", "now", "message"),
    [
        (known_headers(), '{"test": 2432232315}', KNOWN_TIMESTAMP, "no webhook-signature"),
        (known_headers(**{"webhook-id": "msg_other"}), KNOWN_BODY, KNOWN_TIMESTAMP, "no webhook"),
        (known_headers(), KNOWN_BODY, KNOWN_TIMESTAMP + 301, "too far"),
        (known_headers(), KNOWN_BODY, KNOWN_TIMESTAMP - 301, "too far"),
        (known_headers(**{"webhook-timestamp": "soon"}), KNOWN_BODY, KNOWN_TIMESTAMP, "Unix"),
        ({"webhook-id": KNOWN_ID}, KNOWN_BODY, KNOWN_TIMESTAMP, "webhook-timestamp header"),
        (
            known_headers(**{"webhook-signature": KNOWN_SIGNATURE.replace("v1,", "v2,")}),
            KNOWN_BODY,
            KNOWN_TIMESTAMP,
            "no webhook-signature",
        ),
    ],
)
def test_webhook_refused(headers, body, now, message):
    with pytest.raises(InvalidWebhook, match=message):
        verify_webhook(KNOWN_SECRET, headers, body, now=now)


def test_webhook_agrees_with_the_reference_implementation():
    standardwebhooks = pytest.importorskip("standardwebhooks")
    secret = "whsec_" + base64.b64encode(b"planfuse-test-webhook-key-32byte").decode()
    body = json.dumps({"type": "monitoring.warning", "data": {"indicator": "建设用地规模"}})
    reference = standardwebhooks.Webhook(secret)
    now = int(time.time())
    from datetime import UTC, datetime

    signature = reference.sign("msg_1", datetime.fromtimestamp(now, tz=UTC), body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert verify_webhook(secret, headers, body)["type"] == "monitoring.warning"
    # And what the reference accepts for the published example, we accept (and v.v.).
    assert reference.verify(body, headers)
