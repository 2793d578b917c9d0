"""Test support for embedding and token SSO: the `probe` widget (registered only in
tests), token signing helpers and fixtures. Loaded as a pytest plugin by conftest.py, and
usable as a `widget_modules` entry (it defines `register(registry)`)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from planfuse.embed.registry import Widget, widget_registry

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
