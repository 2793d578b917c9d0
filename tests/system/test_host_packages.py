"""The host-side helper packages: the npm package's own tests (host-packages/node/test) run
with Node against a running PlanFuse server, and both packages carry the server's version.
(The Python package's tests, host-packages/python/tests, are collected by pytest itself.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from compliance_world import project
from host_server import running_planfuse

import planfuse_host

ROOT = Path(__file__).resolve().parents[2]
NODE_PACKAGE = ROOT / "host-packages" / "node"


def server_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def test_the_helper_packages_carry_the_servers_version():
    version = server_version()
    python = tomllib.loads((ROOT / "host-packages/python/pyproject.toml").read_text("utf-8"))
    assert python["project"]["version"] == version == planfuse_host.__version__
    node = json.loads((NODE_PACKAGE / "package.json").read_text("utf-8"))
    assert node["version"] == version
    assert f"export const VERSION = '{version}';" in (NODE_PACKAGE / "index.js").read_text()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node 20")
def test_the_node_package_against_a_running_server(tmp_path):
    with running_planfuse(tmp_path) as server:
        other_id, other_secret = server.new_app("另一个系统")
        env = {
            **os.environ,
            **server.env(),
            "PLANFUSE_OTHER_APP": f"{other_id}:{other_secret}",
            # Half of it on basic farmland (10,000 m²), and a red line that passes.
            "PLANFUSE_TEST_GEOMETRY": json.dumps(project(-100, 50, 100, 150)),
            "PLANFUSE_TEST_PROJECT_GEOMETRY": json.dumps(project(-600, -300, -400, -100)),
        }
        run = subprocess.run(
            ["node", "--test", "--test-reporter=spec", "test/"],
            cwd=NODE_PACKAGE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = dict(
        line[2:].split(" ", 1) for line in run.stdout.splitlines() if line.startswith("ℹ ")
    )
    # Every test ran (the live ones too: 5 against the server, 9 webhook cases).
    assert summary["fail"] == "0" and summary["skipped"] == "0", run.stdout
    assert int(summary["pass"]) >= 14, run.stdout
