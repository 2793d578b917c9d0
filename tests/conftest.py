"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, the app and
its client, and small helpers for repeated actions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from planfuse.app import create_app
from planfuse.context import PlanFuse, build_context
from planfuse.http.problems import problem_dict
from planfuse.settings import load_settings

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"
ROOT = TESTS_DIR.parent
DISTRICTS_FILE = ROOT / "server" / "demo" / "data" / "chongqing-districts.geojson"
if not DISTRICTS_FILE.exists():  # before the demo package ships its copy
    DISTRICTS_FILE = Path("/work/shared/data/chongqing-districts.geojson")

PG_ADMIN_URL = os.environ.get(
    "PLANFUSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-" + "x" * 40

# Fixtures and helpers of the embedding tests (tests/embed_support.py).
pytest_plugins = ["embed_support"]


def _postgres_schema_url() -> Iterator[str]:
    """A private schema in the test database, dropped afterwards."""
    from tests.postgres_schema import private_schema_url

    yield from private_schema_url(PG_ADMIN_URL)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """Storage and API tests run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'planfuse.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'planfuse.db'}"


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to change settings for its app and context."""
    return {}


@pytest.fixture
def ctx(database_url, settings_overrides) -> Iterator[PlanFuse]:
    """A PlanFuse context with a migrated, empty database."""
    settings = load_settings(
        {"database_url": database_url, "secret_key": TEST_SECRET, **settings_overrides},
        environ={},
    )
    context = build_context(settings, describe_failure=problem_dict)
    context.db.upgrade()
    yield context
    context.close()


@pytest.fixture
def app(ctx):
    """The Flask app over the same database as `ctx`."""
    application = create_app(
        {"database_url": ctx.settings.database_url, "secret_key": TEST_SECRET}
        | {k: v for k, v in ctx.settings.items() if k not in {"database_url", "secret_key"}}
    )
    application.testing = True
    yield application
    application.extensions["planfuse"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_token(ctx) -> str:
    from planfuse.services.admin_tokens import create_admin_token

    return create_admin_token(ctx, "test admin")[1]


@pytest.fixture(autouse=True)
def _no_planfuse_env(monkeypatch):
    """Tests see only the settings they pass, not the developer's environment."""
    for name in list(os.environ):
        if name.startswith("PLANFUSE_") and name != "PLANFUSE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


# --- the demo dataset (planfuse.demo.testing; scenarios in server/demo/scenarios.json) ---


@pytest.fixture(scope="session")
def demo_scenarios() -> dict:
    """The planted scenarios with their expected answers (parsed scenarios.json)."""
    from planfuse.demo.testing import load_scenarios

    return load_scenarios()


@pytest.fixture(scope="session")
def demo_database_template(tmp_path_factory) -> Path:
    """A small demo SQLite database (the 38 districts, every planted scenario and ~7,700
    random features), built once per session and worker; layer files cached in var/demo."""
    from planfuse.demo.testing import build_demo_database

    return build_demo_database(
        tmp_path_factory.mktemp("demo"), files_dir=ROOT / "var" / "demo", secret_key=TEST_SECRET
    )


@pytest.fixture
def demo_ctx(demo_database_template, tmp_path) -> Iterator[PlanFuse]:
    """A context over a private copy of the demo database. To run `app`/`client` on it,
    override `ctx` in the test module: `@pytest.fixture\ndef ctx(demo_ctx): return demo_ctx`."""
    from planfuse.demo.testing import copy_demo_database, demo_context

    context = demo_context(
        copy_demo_database(demo_database_template, tmp_path), secret_key=TEST_SECRET
    )
    context.db.upgrade()
    yield context
    context.close()
