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
#: How long a graceful stop may take: workers finish and flush their metrics, and a CI machine
#: can be loaded many times over.
STOP_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout_s: float = 90.0) -> bytes:
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
            proc.communicate(timeout=STOP_TIMEOUT_S)
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
    _, stderr = proc.communicate(timeout=STOP_TIMEOUT_S)
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


@pytest.mark.parametrize("name", ["prod", "Production"])
def test_an_unknown_environment_name_stops_the_server(tmp_path, name):
    env = {
        **os.environ,
        "PLANFUSE_ENV": name,
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
    assert "not an environment" in result.stderr and "production" in result.stderr


def test_stopping_workers_write_their_service_metrics(server, tmp_path):
    import sqlite3

    url, proc = server
    wait_for(url + "/readyz")
    for _ in range(3):
        wait_for(url + "/api/v1/layers")
    # Well within service_metrics_flush_s (10 s): only the workers' exit writes these.
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=STOP_TIMEOUT_S)
    with sqlite3.connect(tmp_path / "serve.db") as db:
        rows = dict(db.execute("SELECT service, SUM(requests) FROM service_metrics GROUP BY 1"))
    assert rows["layer_catalogue"] == 3


def test_serve_preloads_the_layers_derived_state_before_forking(demo_database_template, tmp_path):
    """The master builds and stores each control layer's self-overlap mask once, before
    forking: the two workers inherit it instead of building one each."""
    import sqlite3

    from planfuse.demo.testing import copy_demo_database

    url = copy_demo_database(demo_database_template, tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "PLANFUSE_DATABASE_URL": url,
        "PLANFUSE_LOG_LEVEL": "INFO",
        "PLANFUSE_SECRET_KEY": "serve-test-secret-" + "k" * 32,
    }
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=STOP_TIMEOUT_S)
    logs = stderr.decode()
    assert "preloaded" in logs and "control layers" in logs, logs[-2000:]
    # Built once, by the master (one build log line per layer, not one per worker).
    with sqlite3.connect(tmp_path / "planfuse.db") as db:
        masks = db.execute("SELECT COUNT(*) FROM layer_derived WHERE name = 'overlap_mask'")
        stored = masks.fetchone()[0]
    assert stored >= 6
    assert logs.count("stored overlap_mask") == stored
