"""The application factory: `create_app(config=None)`.

Nothing is built or connected at import time. Settings come from defaults, then
`PLANFUSE_*` environment variables, then `config`; the database connects on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from planfuse.context import PlanFuse, build_context
from planfuse.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

log = logging.getLogger("planfuse.app")

# Secrets that appear in docs and samples; a production server must not run with them.
SAMPLE_SECRETS = frozenset({"", "dev", "secret", "changeme", "change-me", "planfuse-dev-secret"})
MIN_SECRET_LENGTH = 32


def check_production_settings(settings: Settings) -> None:
    """Refuse to run in production with a missing, short or sample secret key."""
    if settings.env != "production":
        return
    key = settings.secret_key or ""
    if key in SAMPLE_SECRETS or len(key) < MIN_SECRET_LENGTH or "sample" in key.lower():
        raise SettingsError(
            "PLANFUSE_SECRET_KEY is missing, shorter than 32 characters or a sample value; "
            "a production server refuses to start with it. Generate one with "
            "`planfuse secret` and set PLANFUSE_SECRET_KEY."
        )
    if settings.env not in {"development", "production"}:
        raise SettingsError("PLANFUSE_ENV must be `development` or `production`")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a PlanFuse WSGI application.

    `config` overrides settings by name (see `planfuse settings`); tests pass a temporary
    `database_url` here.
    """
    settings = load_settings(config)
    check_production_settings(settings)
    context = build_context(settings)

    app = Flask(
        "planfuse",
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SECRET_KEY=settings.secret_key or None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["planfuse"] = context

    from planfuse.web import register_web

    register_web(app, context)
    return app


def planfuse() -> PlanFuse:
    """The current app's PlanFuse context (inside a request or app context)."""
    return current_app.extensions["planfuse"]
