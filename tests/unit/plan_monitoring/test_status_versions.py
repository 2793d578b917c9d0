"""Land-use status versions: each says the date it describes (as-of), required for the
kind, never in the future, never twice the same date on one layer (unless it replaces
that survey), and the version of a year is the one current at the end of that year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from planfuse.cli import _register, cli
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.layers.catalogue import layer_detail
from planfuse.services.layers.importer import ImportOptions, import_layer, parse_as_of
from planfuse.services.plan_monitoring.years import (
    require_year,
    status_years,
    versions_at_year_end,
)
from planfuse.storage.models import LayerVersion
from tests.layer_files import JIEFANGBEI, feature_collection, square, write_geojson


def status_file(tmp_path, code="0101"):
    geoms = [square(*JIEFANGBEI, 100)]
    return write_geojson(tmp_path / "status.geojson", feature_collection(geoms, [{"code": code}]))


def status(as_of, **kw):
    return ImportOptions(
        layer_id="land_use_status", kind="land_use_status", crs="EPSG:4490", as_of=as_of, **kw
    )


def versions(ctx) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(LayerVersion))


def test_versions_carry_their_date_and_a_year_reads_the_one_current_at_its_end(ctx, tmp_path):
    path = status_file(tmp_path)
    for as_of in (date(2023, 12, 31), date(2025, 12, 31), date(2024, 6, 30), date(2024, 12, 31)):
        summary = import_layer(ctx, path, status(as_of))
        assert summary.as_of == as_of and summary.to_dict()["as_of"] == as_of.isoformat()
    assert status_years(ctx) == [2023, 2024, 2025]
    # Imported out of order: the version of a year is chosen by date, not by number.
    assert versions_at_year_end(ctx, "land_use_status", 2024) == (("land_use_status", 4),)
    assert versions_at_year_end(ctx, "land_use_status", 2023) == (("land_use_status", 1),)
    assert versions_at_year_end(ctx, "land_use_status", 2022) == ()
    detail = layer_detail(ctx, "land_use_status")
    assert [v["as_of"] for v in detail["versions"]] == [
        "2024-12-31",
        "2024-06-30",
        "2025-12-31",
        "2023-12-31",
    ]
    with pytest.raises(NotFound) as err:
        require_year(ctx, 2022)
    assert "2023, 2024, 2025" in err.value.message


def test_as_of_is_required_for_status_and_never_in_the_future(ctx, tmp_path):
    path = status_file(tmp_path)
    with pytest.raises(InvalidInput) as err:
        import_layer(ctx, path, status(None))
    assert err.value.code == "as_of_required" and "--as-of" in err.value.message
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with pytest.raises(InvalidInput) as err:
        import_layer(ctx, path, status(tomorrow))
    assert err.value.code == "as_of_in_future"
    assert err.value.errors == [{"field": "as_of", "message": "in the future"}]
    with pytest.raises(InvalidInput) as err:
        parse_as_of("2025/12/31")
    assert err.value.code == "invalid_as_of"
    assert versions(ctx) == 0


def test_two_versions_of_one_date_say_what_to_do(ctx, tmp_path):
    import_layer(ctx, status_file(tmp_path, "0101"), status(date(2025, 12, 31)))
    with pytest.raises(Conflict) as err:
        import_layer(ctx, status_file(tmp_path, "0701"), status(date(2025, 12, 31)))
    assert err.value.code == "duplicate_as_of"
    assert "version 1" in err.value.message and "--replace" in err.value.message
    assert versions(ctx) == 1
    # A corrected survey of the same date takes the date over; version 1 keeps its features.
    summary = import_layer(
        ctx, status_file(tmp_path, "0701"), status(date(2025, 12, 31), replace_as_of=True)
    )
    assert summary.version == 2
    assert versions_at_year_end(ctx, "land_use_status", 2025) == (("land_use_status", 2),)
    assert [v["as_of"] for v in layer_detail(ctx, "land_use_status")["versions"]] == [
        "2025-12-31",
        None,
    ]


def test_the_command_line_takes_as_of(tmp_path, monkeypatch):
    _register()
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    path = str(status_file(tmp_path))
    args = ["layers", "import", path, "--layer", "lus", "--kind", "land_use_status"]
    args += ["--crs", "EPSG:4490"]
    result = runner.invoke(cli, [*args, "--as-of", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert "as of 2025-12-31" in result.output
    again = runner.invoke(cli, [*args, "--as-of", "2025-12-31"])
    assert again.exit_code == 2 and "already describes 2025-12-31" in again.output
    missing = runner.invoke(cli, args)
    assert missing.exit_code == 2 and "--as-of" in missing.output
    future = runner.invoke(cli, [*args, "--as-of", "2999-12-31"])
    assert future.exit_code == 2 and "in the future" in future.output
