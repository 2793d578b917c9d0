"""The protocol manifest, PROTOCOL.md, the SDK and the runtime agree."""

import re
from pathlib import Path

from planfuse.settings import SETTINGS_BY_NAME
from planfuse.widgets.registry import ENTRY_POINT_GROUP, protocol

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "embed-sdk" / "PROTOCOL.md").read_text(encoding="utf-8")
TIMING = (ROOT / "embed-sdk" / "src" / "timing.js").read_text(encoding="utf-8")
RUNTIME = (ROOT / "widgets" / "common" / "runtime.js").read_text(encoding="utf-8")
SDK = (ROOT / "embed-sdk" / "src" / "index.js").read_text(encoding="utf-8")


def test_every_message_event_and_error_code_is_documented():
    p = protocol()
    for name in [*p["messages"], *p["lifecycle_events"], *p["error_codes"]]:
        assert f"`{name}`" in DOC, f"{name} is missing from PROTOCOL.md"
    assert f"version {p['protocol_version']}" in DOC


def test_every_error_code_has_both_locales():
    for code, texts in protocol()["error_codes"].items():
        assert set(texts) == set(protocol()["locales"]), code


def test_the_runtime_reports_exactly_the_protocol_error_codes():
    listed = re.search(r"export const ERROR_CODES = \[(.*?)\];", RUNTIME).group(1)
    assert set(re.findall(r"'(\w+)'", listed)) == set(protocol()["error_codes"])


def test_documented_timing_constants_exist():
    for name in set(re.findall(r"`([A-Z][A-Z_]+_(?:MS|FRACTION))`", DOC)):
        assert f"export const {name} " in TIMING, name


def test_sdk_handle_matches_the_doc():
    for method in ["on", "off", "send", "setToken", "destroy"]:
        assert re.search(rf"\b{method}\(", SDK), method
        assert f"handle.{method}(" in DOC, method


def test_extension_points_are_documented():
    assert "register(registry)" in DOC
    assert f"`{ENTRY_POINT_GROUP}` entry-point group" in DOC
    assert "`widget_modules` setting" in DOC
    assert "widget_modules" in SETTINGS_BY_NAME


def test_no_wildcard_target_origin_anywhere():
    for source in (SDK, RUNTIME):
        assert "'*'" not in source and '"*"' not in source


def test_theme_defaults_are_the_widget_base_styles():
    """The admin console shows `theme_defaults` as each theme field's value: they must be
    what widgets/common/base.css really declares."""
    p = protocol()
    assert set(p["theme_defaults"]) == set(p["theme"])
    css = (ROOT / "widgets" / "common" / "base.css").read_text(encoding="utf-8")
    declared = dict(re.findall(r"--pf-([a-z-]+):\s*([^;]+);", css.split("}")[0]))
    for name, value in p["theme_defaults"].items():
        assert declared[name].strip() == value, name
