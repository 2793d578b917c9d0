"""Test support for embedding and token SSO: the `probe` widget (registered only in
tests), token signing helpers and fixtures. Loaded as a pytest plugin by conftest.py, and
usable as a `widget_modules` entry (it defines `register(registry)`)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from planfuse.widgets.registry import Widget, widget_registry

TESTS_DIR = Path(__file__).resolve().parent
PROBE_DIR = TESTS_DIR / "fixtures" / "widgets" / "probe"
PROBE_BUILD_DIR = TESTS_DIR / "fixtures" / "build" / "widgets"
HOST_ORIGIN = "https://host.example.com"


def probe_widget(assets_dir: Path = PROBE_BUILD_DIR) -> Widget:
    return Widget.from_manifest(PROBE_DIR / "manifest.json", assets_dir=assets_dir)


def register(registry) -> None:
    """The widget_modules hook: registers the probe widget like any third-party widget."""
    registry.add(probe_widget())


def b64(data: bytes | str | dict) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(app_id: str, widget: str = "probe", **overrides: Any) -> dict[str, Any]:
    """Valid embed-token claims; pass name=None to drop a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": app_id,
        "aud": "planfuse",
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(12),
        "widget": widget,
        "name": "张三",
        "dept": "规划科",
        "roles": ["reviewer"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign_hs256(claims: dict[str, Any], secret: str, header: dict | None = None) -> str:
    return jwt.encode(
        {"alg": "HS256", **(header or {})}, claims, OctKey.import_key(secret.encode())
    )


def bearer(token: str) -> dict[str, str]:
    """Request headers sending `token` as `Authorization: Bearer`."""
    return {"Authorization": f"Bearer {token}"}


def basic(app: Any, secret: str | None = None) -> dict[str, str]:
    """Request headers with HTTP Basic `app_id:secret` credentials: `basic(host)` for a
    HostAppFixture, or `basic(app_id, secret)`."""
    if secret is None:
        app, secret = app.id, app.secret
    raw = base64.b64encode(f"{app}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def exchange_session(client, host, widget: str = "probe", **claims: Any) -> dict[str, Any]:
    """POST /embed/session with a fresh embed token of `host` for `widget`: the answer."""
    r = client.post("/embed/session", json={"token": host.token(widget, **claims)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def session_headers(client, host, widget: str, **claims: Any) -> dict[str, str]:
    """Request headers of a widget session of `host` (the embed token's `claims`)."""
    return bearer(exchange_session(client, host, widget, **claims)["session_token"])


def csp(response) -> dict[str, str]:
    """A response's Content-Security-Policy as {directive: value}."""
    policy = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in policy.split("; ")}


def page_config(response) -> dict[str, Any]:
    """The JSON configuration a widget page carries for its script."""
    match = re.search(
        rb'<script type="application/json" id="planfuse-config">(.*?)</script>', response.data
    )
    return json.loads(match.group(1))


class HostAppFixture:
    """A registered host app with helpers to sign tokens for it."""

    def __init__(self, pf, record, secret: str):
        self.pf = pf
        self.record = record
        self.id = record.id
        self.secret = secret

    def claims(self, widget: str = "probe", **overrides: Any) -> dict[str, Any]:
        return claims_for(self.id, widget, **overrides)

    def token(self, widget: str = "probe", header: dict | None = None, **overrides: Any) -> str:
        return sign_hs256(self.claims(widget, **overrides), self.secret, header)


@pytest.fixture
def embed_app(app, tmp_path):
    """The app with the probe widget registered (stand-in assets, no npm needed)."""
    assets = tmp_path / "probe-assets"
    assets.mkdir()
    (assets / "probe.js").write_text("/* probe */\n")
    widget_registry(app.extensions["planfuse"]).add(probe_widget(assets))
    return app


@pytest.fixture
def pf(embed_app):
    """The PlanFuse context of `embed_app` (the one its requests use)."""
    return embed_app.extensions["planfuse"]


@pytest.fixture
def embed_client(embed_app):
    return embed_app.test_client()


@pytest.fixture
def host(pf) -> HostAppFixture:
    from planfuse.auth.apps import create_host_app

    record, secret = create_host_app(pf, "审批平台 (test)", [HOST_ORIGIN, "http://127.0.0.1:8001"])
    return HostAppFixture(pf, record, secret)


@pytest.fixture
def other_host(pf) -> HostAppFixture:
    from planfuse.auth.apps import create_host_app

    record, secret = create_host_app(pf, "Other department", ["https://other.example.org"])
    return HostAppFixture(pf, record, secret)
