"""Every code block of the documentation runs as written (see tests/doc_snippets.py for the
kinds and how each runs); the HTML pages run in Chromium in tests/browser/test_doc_pages.py.

A documentation change that breaks a snippet fails here: a doc cannot drift from the product.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from doc_snippets import (
    KINDS,
    ROOT,
    BackendFunctions,
    Refused,
    check_syntax,
    exchanges,
    load_flask_backend,
    of_kind,
    post,
    runtime_missing,
    snippets,
)


def ids(items):
    return [f"{s.path.relative_to(ROOT)}:{s.line}" for s in items]


# --- every block says how it runs --------------------------------------------------------------


def test_every_code_block_says_how_it_runs():
    found = snippets()
    assert len(found) > 20
    unclassified = [str(s) for s in found if s.kind not in KINDS]
    assert not unclassified, f"add <!-- snippet: KIND --> above: {unclassified}"
    for s in found:
        if s.kind == "not-run":
            assert s.options.get("reason"), f"{s}: not-run needs a reason"
    # What a host developer copies runs for real; only widget/server internals are fragments.
    for s in found:
        if "embedding" in s.path.name:
            assert s.kind not in {"fragment", "json"}, f"{s}: the embedding guide's code must run"


@pytest.mark.parametrize("snippet", of_kind("fragment"), ids=ids(of_kind("fragment")))
def test_fragments_parse(snippet):
    assert snippet.options.get("reason"), f"{snippet}: say why it is a fragment"
    check_syntax(snippet)


@pytest.mark.parametrize("snippet", of_kind("json"), ids=ids(of_kind("json")))
def test_json_parses(snippet):
    assert isinstance(json.loads(snippet.code), dict)


# --- shell -----------------------------------------------------------------------------------


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


@pytest.mark.parametrize("snippet", of_kind("shell"), ids=ids(of_kind("shell")))
def test_shell(snippet, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLANFUSE_")},
        "PLANFUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'shell.db'}",
        "PLANFUSE_SECRET_KEY": "shell-" + "s" * 40,
    }
    bin_dir = Path(sys.executable).parent
    lines = snippet.code.splitlines()
    steps: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    assert steps, f"{snippet}: no $ command"
    for command, expected in steps:
        argv = __import__("shlex").split(command)
        assert argv[0] == "planfuse", f"{snippet}: only planfuse commands are run"
        run = subprocess.run(
            [str(bin_dir / "planfuse"), *argv[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,  # files a command writes stay in the test's folder
        )
        assert run.returncode == 0, f"{snippet}: {command}: {run.stderr}"
        shown = "\n".join(expected).strip()
        if shown.startswith("{"):
            # Values with … are examples; the members and their types must match.
            assert _shape(json.loads(run.stdout)) == _shape(json.loads(shown)), run.stdout


# --- python scripts ----------------------------------------------------------------------------


@pytest.mark.parametrize("snippet", of_kind("python", "python"), ids=ids(of_kind("python")))
def test_python_scripts(snippet, server, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(snippet.filled(server=server.url, app_id=server.app_id), "utf-8")
    run = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, **server.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{snippet}: {run.stderr}"


# --- backend functions in every language ------------------------------------------------------

BACKEND = of_kind("backend-functions")


@pytest.mark.parametrize(
    "snippet",
    BACKEND,
    ids=[f"{i}-{s.options['lang']}" for i, s in zip(ids(BACKEND), BACKEND, strict=True)],
)
def test_backend_functions(snippet, server, results, tmp_path):
    lang = snippet.options["lang"]
    why = runtime_missing(lang)
    if why and os.environ.get("CI"):
        pytest.fail(f"{snippet}: {why}")
    if why:
        pytest.skip(why)
    code = snippet.filled(server=server.url, app_id=server.app_id)
    functions = BackendFunctions(code, lang, tmp_path / lang, {**os.environ, **server.env()})
    token = functions.token("reviewer-01")
    session = exchanges(server, token)
    assert session["user"]["sub"] == "reviewer-01"
    report = functions.verify(results["ours"]["signature"]["jws"])
    assert report["id"] == results["ours"]["id"] and report["verdict"] == "fail"
    with pytest.raises(Refused, match=r"(?i)another app|audience|\"aud\""):
        functions.verify(results["theirs"])
    with pytest.raises(Refused):
        functions.verify(results["forged"])


# --- host backends -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            post(url, {})
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def check_host_backend(base: str, server, results) -> None:
    """The two endpoints the embedding guide asks for, against the real server."""
    status, answer = post(f"{base}/planfuse-token", {"widget": "compliance"})
    assert status == 200
    session = exchanges(server, answer["token"])
    assert session["user"]["sub"] == "reviewer-01"
    status, verdict = post(
        f"{base}/planfuse-result", {"signed_result": results["ours"]["signature"]["jws"]}
    )
    assert status == 200
    assert verdict == {
        "report_id": results["ours"]["id"],
        "verdict": "fail",
        "may_submit": False,
    }
    for refused in (results["theirs"], results["forged"], "not.a.jws"):
        status, answer = post(f"{base}/planfuse-result", {"signed_result": refused})
        assert status == 400 and answer["error"]


HOST_BACKENDS = of_kind("host-backend")


@pytest.mark.parametrize("snippet", HOST_BACKENDS, ids=ids(HOST_BACKENDS))
def test_host_backend(snippet, server, results, tmp_path):
    if snippet.lang == "python":
        from werkzeug.serving import make_server

        app = load_flask_backend(snippet, server, tmp_path)
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        import threading

        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            check_host_backend(f"http://127.0.0.1:{httpd.server_port}", server, results)
        finally:
            httpd.shutdown()
            httpd.server_close()
        return
    assert snippet.lang == "js", snippet
    if shutil.which("node") is None:
        pytest.skip("needs Node 20")
    (tmp_path / "server.mjs").write_text(
        snippet.filled(server=server.url, app_id=server.app_id), "utf-8"
    )
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    port = _free_port()
    process = subprocess.Popen(
        ["node", "server.mjs"],
        cwd=tmp_path,
        env={**os.environ, **server.env(), "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/planfuse-token")
        check_host_backend(f"http://127.0.0.1:{port}", server, results)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Error" not in err, err
