"""Plain functions of the widget page: theme, params, CSP, origins."""

import pytest
from embed_support import probe_widget

from planfuse.auth.apps import normalise_origin
from planfuse.embed.page import WidgetPage, content_security_policy, parse_params, parse_theme
from planfuse.errors import DomainError
from planfuse.widgets.registry import ParamError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Portal.Example.gov.cn", "https://portal.example.gov.cn"),
        ("https://portal.example.gov.cn:443", "https://portal.example.gov.cn"),
        ("https://portal.example.gov.cn/", "https://portal.example.gov.cn"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://localhost:80", "http://localhost"),
        ("http://[::1]:8001", "http://[::1]:8001"),
    ],
)
def test_origins_are_normalised_like_browsers_do(given, expected):
    assert normalise_origin(given) == expected


@pytest.mark.parametrize(
    "bad",
    ["null", "file:///x", "https://*.gov.cn", "https://a.example/x", "https://a.example?x=1", ""],
)
def test_bad_origins(bad):
    with pytest.raises(DomainError):
        normalise_origin(bad)


def test_theme_values():
    assert parse_theme({"theme.primary": "#0b5cad", "theme.font-family": "'Noto Sans', serif"}) == {
        "primary": "#0b5cad",
        "font-family": "'Noto Sans', serif",
    }
    for key, value in [
        ("theme.primary", "expression(alert(1))"),
        ("theme.primary", "#fff;background:url(//evil)"),
        ("theme.radius", "4px;"),
        ("theme.nope", "1px"),
    ]:
        with pytest.raises(ParamError):
            parse_theme({key: value})


def test_params_from_the_query():
    widget = probe_widget()
    assert parse_params(widget, {"param.lines": "4", "app": "x"}) == {"lines": 4}
    with pytest.raises(ParamError):
        parse_params(widget, {"param.unknown": "1"})


def test_csp_defaults_to_no_framing_and_no_inline_script():
    policy = content_security_policy(None)
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe" not in policy


def test_csp_frames_only_the_apps_origins_and_adds_widget_sources(tmp_path):
    from embed_support import PROBE_DIR

    from planfuse.widgets.registry import Widget

    widget = Widget.from_manifest(
        PROBE_DIR / "manifest.json", csp={"img-src": ("https://t0.tianditu.gov.cn",)}
    )
    page = WidgetPage(
        widget=widget, locale="zh-CN", frame_ancestors=("https://a.example", "'self'")
    )
    policy = content_security_policy(page)
    assert "frame-ancestors https://a.example 'self'" in policy
    assert "img-src 'self' data: blob: https://t0.tianditu.gov.cn" in policy
