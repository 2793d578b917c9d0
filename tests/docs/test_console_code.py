"""The admin console's generated backend code runs as written: server/admin/assets/
embed-code.js (what the embed page shows) renders the code for a few choices, and each
language's code mints a token the server accepts — with the locked parameters — and, for the
compliance widget, verifies a real signed result and refuses another app's and a forged one.
C# is not run: .NET is not in Debian. (The page snippets run in Chromium:
tests/browser/test_console_snippets.py.)"""

from __future__ import annotations

import os
import shutil

import pytest
from doc_snippets import BackendFunctions, Refused, console_code, exchanges, runtime_missing

RUN = {
    "python-helper": "python",
    "node-helper": "node",
    "python": "python",
    "node": "node",
    "java": "java",
    "php": "php",
}
NOT_RUN = {"csharp": "no .NET runtime: dotnet is not in Debian"}
CHOICES = {
    "compliance": {"widget": "compliance", "locale": "zh-CN", "locked": {}, "unlocked": {}},
    "compliance-locked": {
        "widget": "compliance",
        "locale": "en",
        "locked": {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4523"},
        "unlocked": {"auto_check": False},
    },
    "map-locked": {
        "widget": "map",
        "locale": "zh-CN",
        "locked": {"layers": ["basic_farmland", "urban_boundary"], "zoom": 12, "legend": True},
        "unlocked": {},
    },
}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node 20")


def test_every_tab_is_run_or_says_why(server):
    rendered = console_code(server, {"app": server.app_id, "theme": {}, **CHOICES["compliance"]})
    assert set(rendered["code"]) == set(RUN) | set(NOT_RUN)
    assert set(rendered["snippets"]) == {"script", "element", "js", "iframe"}
    # The helpers come first, beside the plain code; every compliance tab verifies.
    assert list(rendered["code"])[:2] == ["python-helper", "node-helper"]
    for tab, code in rendered["code"].items():
        assert "planfuse-compliance+jwt" in code or "verify" in code.lower(), tab


@pytest.mark.parametrize("choice", list(CHOICES))
@pytest.mark.parametrize("tab", list(RUN))
def test_console_backend_code(server, tab, choice, tmp_path, results):
    lang = RUN[tab]
    why = runtime_missing(lang)
    if why and os.environ.get("CI"):
        pytest.fail(why)
    if why:
        pytest.skip(why)
    values = {"app": server.app_id, "theme": {}, **CHOICES[choice]}
    code = console_code(server, values)["code"][tab]
    functions = BackendFunctions(code, lang, tmp_path / tab, {**os.environ, **server.env()})
    token = functions.token("reviewer-02")
    session = exchanges(server, token, values["widget"])
    assert session["user"]["sub"] == "reviewer-02"
    assert session["params"] == values["locked"]
    if values["widget"] != "compliance":
        assert "verify" not in code.lower()
        return
    ours, theirs, forged = results["ours"], results["theirs"], results["forged"]
    report = functions.verify(ours["signature"]["jws"])
    assert report["id"] == ours["id"] and report["verdict"] == "fail"
    with pytest.raises(Refused):
        functions.verify(theirs)
    with pytest.raises(Refused):
        functions.verify(forged)
