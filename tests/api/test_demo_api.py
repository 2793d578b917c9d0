"""The demo dataset through the HTTP API and the command line: the layer catalogue lists
every demo layer with the CRS and department it was published in; `planfuse demo-data`
writes the files and imports them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from planfuse.cli import _register, cli
from planfuse.demo import DEMO_LAYERS
from planfuse.demo.status import STATUS_LAYER


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


def test_catalogue_lists_every_demo_layer(client, demo_scenarios):
    response = client.get("/api/v1/layers")
    assert response.status_code == 200
    layers = {entry["id"]: entry for entry in response.get_json()["layers"]}
    assert set(layers) == {layer.id for layer in DEMO_LAYERS} | {STATUS_LAYER.id}
    assert layers[STATUS_LAYER.id]["as_of"] == "2025-12-31"
    for layer in DEMO_LAYERS:
        entry = layers[layer.id]
        assert (entry["kind"], entry["crs"], entry["department"]) == (
            layer.kind,
            layer.crs,
            layer.department,
        )
        assert entry["feature_count"] >= 1
        assert demo_scenarios["layers"][layer.id]["crs"] == layer.crs
    districts = layers["districts"]
    assert districts["feature_count"] == 38
    assert districts["total_area_m2"] / 1e6 == pytest.approx(82_437, rel=1e-3)
    west, south, east, north = districts["bbox"]
    assert 105.2 < west < 105.4 and 110.1 < east < 110.3
    assert 28.1 < south < 28.3 and 32.1 < north < 32.3


@pytest.fixture
def runner(monkeypatch, tmp_path):
    _register()
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_demo_data_generate_and_import(runner, tmp_path):
    out = tmp_path / "files"
    result = runner.invoke(
        cli, ["demo-data", "generate", "--scale", "0", "--out", str(out), "--import"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [e["layer"] for e in manifest["layers"]] == [layer.id for layer in DEMO_LAYERS]
    assert "imported" in result.output
    for layer in DEMO_LAYERS:
        assert (out / layer.filename).is_file()
    again = runner.invoke(cli, ["demo-data", "generate", "--scale", "0", "--out", str(out)])
    assert again.exit_code == 0 and "reusing" in again.output


def test_demo_data_scenarios_check(runner):
    result = runner.invoke(cli, ["demo-data", "scenarios", "--check"])
    assert result.exit_code == 0, result.output
    assert "is current" in result.output
