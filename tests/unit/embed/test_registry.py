"""The widget registry and its three extension points; parameter checks."""

import json
import sys
import types

import pytest
from embed_support import PROBE_DIR, probe_widget

from planfuse.widgets import registry as reg
from planfuse.widgets.registry import (
    ParamError,
    Widget,
    WidgetError,
    WidgetRegistry,
    check_locked_params,
    check_param,
    load_registry,
    parse_param,
)


def test_the_probe_widget_is_valid_and_described():
    widget = probe_widget()
    widget.validate()
    described = widget.describe()
    assert described["title"] == {"zh-CN": "测试探针组件", "en": "Test probe widget"}
    assert set(described["commands"]) == {"lines", "echo", "call"}
    assert described["default_height"] == 120


def _manifest(tmp_path, **changes):
    data = json.loads((PROBE_DIR / "manifest.json").read_text())
    data.update(changes)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Bad Name"}, "must match"),
        ({"title": {"zh-CN": "只有中文"}}, "'en'"),
        ({"params": {"x": {"type": "date"}}}, "needs a type"),
        ({"events": {"ready": {}}}, "lifecycle events"),
        ({"commands": []}, "commands must be an object"),
    ],
)
def test_invalid_widgets_are_refused_with_a_reason(tmp_path, changes, message):
    with pytest.raises(WidgetError, match=message):
        WidgetRegistry().add(Widget.from_manifest(_manifest(tmp_path, **changes)))


def test_unreadable_manifest(tmp_path):
    (tmp_path / "m.json").write_text("{nope")
    with pytest.raises(WidgetError, match="cannot be read"):
        Widget.from_manifest(tmp_path / "m.json")


def test_a_widget_registers_once():
    registry = WidgetRegistry()
    registry.add(probe_widget())
    with pytest.raises(WidgetError, match="twice"):
        registry.add(probe_widget())


def test_csp_extensions_are_limited():
    with pytest.raises(WidgetError, match="script-src"):
        WidgetRegistry().add(
            Widget.from_manifest(PROBE_DIR / "manifest.json", csp={"script-src": ("https://x",)})
        )


def test_widget_modules_setting(monkeypatch):
    registry = load_registry(("embed_support",))
    assert "probe" in registry
    with pytest.raises(WidgetError, match="cannot be imported"):
        load_registry(("no_such_module_here",))
    module = types.ModuleType("pf_no_register")
    monkeypatch.setitem(sys.modules, "pf_no_register", module)
    with pytest.raises(WidgetError, match="no register"):
        load_registry(("pf_no_register",))


def test_entry_point_group(monkeypatch):
    class EntryPoint:
        name = "third-party-probe"
        value = "vendor.widgets:register"

        def load(self):
            from embed_support import register

            return register

    monkeypatch.setattr(
        reg, "entry_points", lambda group: [EntryPoint()] if group == reg.ENTRY_POINT_GROUP else []
    )
    assert "probe" in load_registry()


def test_builtin_widgets_load_and_validate():
    registry = load_registry()
    for widget in registry:
        widget.validate()
    manifest = registry.manifest()
    assert set(manifest["widgets"]) == set(registry.names())
    assert manifest["protocol_version"] == 1


def test_check_param_types():
    assert check_param("n", {"type": "integer"}, 3) == 3
    for spec, value in [
        ({"type": "integer"}, True),
        ({"type": "integer"}, 1.5),
        ({"type": "string"}, 3),
        ({"type": "string", "enum": ["a"]}, "b"),
        ({"type": "array", "items": "string"}, ["a", 1]),
        ({"type": "string"}, "x" * 3000),
    ]:
        with pytest.raises(ParamError):
            check_param("p", spec, value)


def test_parse_param_from_query_text():
    assert parse_param("n", {"type": "integer"}, "7") == 7
    assert parse_param("s", {"type": "string"}, "7") == "7"
    assert parse_param("a", {"type": "array"}, '["x"]') == ["x"]
    with pytest.raises(ParamError):
        parse_param("n", {"type": "integer"}, "seven")


def test_locked_params():
    widget = probe_widget()
    assert check_locked_params(widget, None) == {}
    assert check_locked_params(widget, {"project": "P"}) == {"project": "P"}
    with pytest.raises(ParamError, match="cannot be locked"):
        check_locked_params(widget, {"lines": 2})
    with pytest.raises(ParamError, match="has no parameter"):
        check_locked_params(widget, {"x": 1})
    with pytest.raises(ParamError):
        check_locked_params(widget, ["project"])
