"""Private Redis servers and `planfuse worker` processes for the queue tests.

Each test gets its own redis-server on a free loopback port (the shared one on 6379 is
never flushed or stopped), and workers as real processes, so a SIGKILL is a real one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLANFUSE = Path(sys.executable).with_name("planfuse")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s")


@contextmanager
def redis_server(host: str = "127.0.0.1", port: int | None = None, *, appendonly: bool = False):
    """A private redis-server (no snapshot; append-only file when asked) until the block
    ends; yields (url, process, port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (bootstrap installs it)")
    port = port or free_port(host)
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"planfuse-redis-{host}-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    args = [binary, "--bind", host, "--port", str(port), "--save", "", "--dir", str(workdir)]
    args += ["--appendonly", "yes" if appendonly else "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(host, port)
        yield f"redis://{host}:{port}/0", proc, port
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def planfuse_env(settings: Mapping[str, object]) -> dict[str, str]:
    """The environment of a planfuse process: PLANFUSE_* from ``settings``, tests/ on the
    path (the test job functions live there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANFUSE_")}
    for name, value in settings.items():
        env[f"PLANFUSE_{name.upper()}"] = str(value)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    return env


@contextmanager
def workers(settings: Mapping[str, object], count: int = 1, log_dir: Path | None = None):
    """``count`` `planfuse worker` processes; yields the list of Popen objects."""
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        for k in range(count):
            out = open(log_dir / f"worker{k}.log", "wb") if log_dir else subprocess.DEVNULL  # noqa: SIM115
            if log_dir:
                logs.append(out)
            procs.append(
                subprocess.Popen(
                    [str(PLANFUSE), "worker", "--name", f"w{k}@test"],
                    env=planfuse_env(settings),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            )
        yield procs
    finally:
        for proc in procs:
            stop(proc)
        for out in logs:
            out.close()


def wait_for(predicate, timeout_s: float = 30.0, interval_s: float = 0.05) -> Iterator:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting")
        time.sleep(interval_s)


def wait_workers_ready(ctx, count: int, timeout_s: float = 60.0) -> None:
    """Until ``count`` workers answer a ping through the broker (they consume tasks)."""
    from planfuse.services.job_queue import celery_app

    control = celery_app(ctx).control
    deadline = time.monotonic() + timeout_s
    while len(control.ping(timeout=0.5) or []) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} workers answer after {timeout_s} s")
