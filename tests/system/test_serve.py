"""`planfuse serve` runs the app on gunicorn and upgrades a fresh database first."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "planfuse"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout_s: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "PLANFUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_serve_answers_on_gunicorn_with_a_fresh_database(server, tmp_path):
    url, proc = server
    assert b'"ready"' in wait_for(url + "/readyz")
    with urllib.request.urlopen(url + "/healthz") as r:
        assert r.headers["Server"].startswith("gunicorn")
    assert (tmp_path / "serve.db").exists()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=15)
    logs = stderr.decode()
    # Structured access logs, one JSON object per line.
    assert '"logger": "planfuse.access"' in logs or '"logger":"planfuse.access"' in logs


def test_production_mode_refuses_a_missing_secret(tmp_path):
    env = {
        **os.environ,
        "PLANFUSE_ENV": "production",
        "PLANFUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    env.pop("PLANFUSE_SECRET_KEY", None)
    result = subprocess.run(
        [str(BIN), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "PLANFUSE_SECRET_KEY" in result.stderr


def test_stopping_workers_write_their_service_metrics(server, tmp_path):
    import sqlite3

    url, proc = server
    wait_for(url + "/readyz")
    for _ in range(3):
        wait_for(url + "/api/v1/layers")
    # Well within service_metrics_flush_s (10 s): only the workers' exit writes these.
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=15)
    with sqlite3.connect(tmp_path / "serve.db") as db:
        rows = dict(db.execute("SELECT service, SUM(requests) FROM service_metrics GROUP BY 1"))
    assert rows["layer_catalogue"] == 3
