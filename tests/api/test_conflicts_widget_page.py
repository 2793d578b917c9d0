"""The conflicts widget's page on SQLite and PostgreSQL: its template with the tabs and
landmarks, the manifest entry, and its parameters checked against the manifest."""

from __future__ import annotations

import pytest

from planfuse.widgets.registry import BUILD_WIDGETS_DIR


@pytest.fixture(autouse=True)
def _bundle():
    """The widget page needs the built bundle (CI builds before the tests)."""
    if not (BUILD_WIDGETS_DIR / "conflicts.js").is_file():
        from embed_browser import build_frontend

        build_frontend()


def test_the_page_renders_its_template(embed_client, host):
    r = embed_client.get("/embed/conflicts", query_string={"app": host.id})
    assert r.status_code == 200
    html = r.data.decode()
    assert "<title>冲突检测与协调</title>" in html
    assert 'role="tablist"' in html and 'id="pf-panel-ledger"' in html
    assert 'id="pf-map"' in html and "/embed/assets/conflicts/conflicts.js" in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    r = embed_client.get("/embed/conflicts", query_string={"app": host.id, "locale": "en"})
    assert "Conflict patches" in r.data.decode()


def test_manifest_entry(embed_client):
    manifest = embed_client.get("/embed/manifest.json").get_json()
    entry = manifest["widgets"]["conflicts"]
    assert set(entry["commands"]) == {"filter", "select"}
    assert {"conflict-selected", "conflict-updated"} <= set(entry["events"])
    assert entry["params"]["districts"]["lockable"] is True


def test_a_bad_parameter_is_refused_on_the_page(embed_client, host):
    r = embed_client.get(
        "/embed/conflicts", query_string={"app": host.id, "param.analysis": "four_plans"}
    )
    assert r.status_code == 400
