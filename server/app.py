"""The application factory: `create_app(config=None)`.

Nothing is built or connected at import time. Settings come from defaults, then
`PLANFUSE_*` environment variables, then `config`; the database connects on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from planfuse.context import build_context
from planfuse.http.context import CONTEXT_KEY
from planfuse.http.problems import problem_dict
from planfuse.paths import STATIC_DIR, TEMPLATES_DIR
from planfuse.settings import ENVIRONMENTS, Settings, SettingsError, load_settings
from planfuse.signing.at_rest import server_key
from planfuse.web import register_web

log = logging.getLogger("planfuse.app")

# Secrets that appear in docs and samples; a production server must not run with them.
SAMPLE_SECRETS = frozenset({"", "dev", "secret", "changeme", "change-me", "planfuse-dev-secret"})
MIN_SECRET_LENGTH = 32


def check_production_settings(settings: Settings) -> None:
    """Refuse to run with an unknown environment name, or in production with a missing,
    short or sample secret key (from PLANFUSE_SECRET_KEY or PLANFUSE_SECRET_KEY_FILE)."""
    if settings.env not in ENVIRONMENTS:
        raise SettingsError(
            f"PLANFUSE_ENV={settings.env!r} is not an environment; expected exactly one of "
            f"{', '.join(ENVIRONMENTS)}"
        )
    if settings.env != "production":
        return
    if settings.secret_key_file and not settings.secret_key:
        server_key(settings)  # the file must exist and hold a long enough key
        key = Path(settings.secret_key_file).read_text(encoding="utf-8").strip()
    else:
        key = settings.secret_key or ""
    if key in SAMPLE_SECRETS or len(key) < MIN_SECRET_LENGTH or "sample" in key.lower():
        raise SettingsError(
            "PLANFUSE_SECRET_KEY is missing, shorter than 32 characters or a sample value; "
            "a production server refuses to start with it. Generate one with "
            "`planfuse secret` and set PLANFUSE_SECRET_KEY (or PLANFUSE_SECRET_KEY_FILE)."
        )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a PlanFuse WSGI application.

    `config` overrides settings by name (see `planfuse settings`); tests pass a temporary
    `database_url` here.
    """
    settings = load_settings(config)
    check_production_settings(settings)
    context = build_context(settings, describe_failure=problem_dict)

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
    app.extensions[CONTEXT_KEY] = context
    register_web(app, context)
    return app
