"""The command line, end to end on a fresh SQLite file."""

import json

import pytest
from click.testing import CliRunner

from planfuse.cli import cli, main  # noqa: F401 - main registers the commands
from tests.conftest import DISTRICTS_FILE


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    from planfuse import cli as cli_module

    cli_module._register()
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_import_real_districts_reports_38_features_and_chongqing_area(run):
    result = run(
        "layers",
        "import",
        str(DISTRICTS_FILE),
        "--layer",
        "districts",
        "--kind",
        "district",
        "--crs",
        "GCJ-02",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["feature_count"] == 38
    # Chongqing: 82,437 km² (equal-area sum of the source polygons; official 8.24万 km²).
    assert summary["total_area_m2"] / 1e6 == pytest.approx(82_437, rel=1e-3)
    listed = json.loads(run("layers", "list", "--json").output)
    assert [(e["id"], e["feature_count"], e["crs"]) for e in listed] == [
        ("districts", 38, "GCJ-02")
    ]


def test_db_upgrade_creates_then_reports_current(run):
    first = run("db", "upgrade")
    assert "upgraded (new database)" in first.output
    assert "already at revision" in run("db", "upgrade").output


def test_import_error_is_a_message_and_exit_2(run, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6]]]}}]}"
    )
    result = run(
        "layers",
        "import",
        str(bad),
        "--layer",
        "f",
        "--kind",
        "basic_farmland",
        "--crs",
        "EPSG:4490",
    )
    assert result.exit_code == 2
    assert "feature 0" in result.output
    assert "Traceback" not in result.output


def test_bad_map_option_is_a_usage_error(run):
    result = run(
        "layers",
        "import",
        str(DISTRICTS_FILE),
        "--layer",
        "d",
        "--kind",
        "district",
        "--map",
        "nonsense",
    )
    assert result.exit_code == 2
    assert "SOURCE_FIELD=attribute" in result.output


def test_settings_lists_every_variable(run):
    out = run("settings").output
    assert "PLANFUSE_DATABASE_URL" in out and "PLANFUSE_AREA_CRS" in out


def test_keys_rotate_list_and_retire(run):
    first = run("keys", "list")
    assert first.exit_code == 0, first.output
    (original,) = [line.split()[0] for line in first.output.splitlines()]
    assert "current" in first.output
    rotated = run("keys", "rotate")
    assert rotated.exit_code == 0 and rotated.output.startswith("new signing key: ")
    new_kid = rotated.output.splitlines()[0].split(": ", 1)[1]
    lines = run("keys", "list").output.splitlines()
    assert [line.split()[0] for line in lines] == [new_kid, original]
    assert "current" in lines[0] and "published" in lines[1]
    # The current key is refused with a way out; an older one is retired.
    refused = run("keys", "retire", new_kid)
    assert refused.exit_code == 2 and "planfuse keys rotate" in refused.output
    assert run("keys", "retire", original).exit_code == 0
    assert "retired" in run("keys", "list").output.splitlines()[1]
    # No private key material is ever printed.
    assert '"d"' not in run("keys", "list").output


def test_a_kid_beginning_with_a_dash_is_read_as_the_kid(run):
    """Thumbprints are base64url: one in 64 begins with "-", and is still a KID."""
    answer = run("keys", "retire", "-Wh-no-such-key")
    assert "No such option" not in answer.output, answer.output
    assert answer.exit_code != 0 and "-Wh-no-such-key" in answer.output, answer.output
