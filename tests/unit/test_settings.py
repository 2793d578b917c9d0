import re
from pathlib import Path

import pytest

from planfuse.app import check_production_settings
from planfuse.settings import SETTINGS, SettingsError, load_settings, settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_has_help_and_is_documented():
    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert len(setting.help) > 20, setting.name
        assert f"`{setting.env_var}`" in docs, f"{setting.env_var} missing from docs/settings.md"
    # The generated table is what the docs hold, so the two cannot drift apart.
    assert settings_markdown() in docs


def test_environment_then_config_override_defaults():
    s = load_settings(
        {"ogc_limit_max": 50},
        environ={"PLANFUSE_OGC_LIMIT_MAX": "20", "PLANFUSE_LOG_LEVEL": "DEBUG"},
    )
    assert s.ogc_limit_max == 50
    assert s.log_level == "DEBUG"
    assert s.database_url == "sqlite:///planfuse.db"


def test_bad_environment_value_names_the_variable():
    with pytest.raises(SettingsError, match="PLANFUSE_MAX_BODY_BYTES"):
        load_settings(environ={"PLANFUSE_MAX_BODY_BYTES": "lots"})


def test_unknown_config_key_is_refused_with_the_known_ones():
    with pytest.raises(SettingsError, match=r"unknown setting 'databse_url'.*database_url"):
        load_settings({"databse_url": "x"}, environ={})


def test_datum_shifts_parse_as_json_object():
    s = load_settings(environ={"PLANFUSE_DATUM_SHIFTS": '{"Xian1980": [1,2,3,0,0,0,0]}'})
    assert s.datum_shifts == {"Xian1980": [1, 2, 3, 0, 0, 0, 0]}
    with pytest.raises(SettingsError):
        load_settings(environ={"PLANFUSE_DATUM_SHIFTS": "[1,2]"})


def test_secrets_are_redacted():
    s = load_settings(
        {"secret_key": "k" * 40, "database_url": "postgresql://u:pw@h/db"}, environ={}
    )
    red = s.redacted()
    assert red["secret_key"] == "***"
    assert "pw" not in str(red)


@pytest.mark.parametrize("key", ["", "short", "changeme", "sample-secret-key-" + "y" * 30])
def test_production_refuses_weak_secret(key):
    s = load_settings({"env": "production", "secret_key": key}, environ={})
    with pytest.raises(SettingsError, match="PLANFUSE_SECRET_KEY"):
        check_production_settings(s)


def test_production_accepts_strong_secret():
    check_production_settings(
        load_settings({"env": "production", "secret_key": "Zq" * 24}, environ={})
    )


def test_setting_names_are_snake_case():
    for s in SETTINGS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", s.name)


def test_default_area_crs_is_the_geo_core_default():
    from planfuse.geo.crs import AREA_CRS_DEFAULT

    assert load_settings(environ={}).area_crs == AREA_CRS_DEFAULT
