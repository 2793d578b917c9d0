"""A small PlanFuse cluster on this machine, each part its own process on its own loopback
address: PostgreSQL with PostGIS, Redis, two `planfuse serve` web processes, two
`planfuse worker` processes and HAProxy in front (Debian packages; `bootstrap test`
installs them).

    127.0.0.2  web 1 (gunicorn)        127.0.0.4  PostgreSQL 15 + PostGIS (private cluster)
    127.0.0.3  web 2 (gunicorn)        127.0.0.5  Redis (cache db 0, job queue db 1)
    127.0.0.6  HAProxy (health checks on /readyz, retries on a dead server)
    workers: processes without an address, taking tasks from Redis

Nothing here touches the shared PostgreSQL on 127.0.0.1:5432 or Redis on :6379.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from queue_support import PLANFUSE, ROOT, free_port, planfuse_env, stop, wait_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
WEB_HOSTS = ("127.0.0.2", "127.0.0.3")
PG_HOST = "127.0.0.4"
REDIS_HOST = "127.0.0.5"
LB_HOST = "127.0.0.6"
INITDB_OPTIONS = ("-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8")
# A throwaway cluster: no durability needed, more connections than the default 100.
POSTGRES_OPTIONS = ("-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
# Append-only, fsync every write: a restarted Redis still holds the queued tasks.
REDIS_OPTIONS = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


def missing_parts() -> list[str]:
    """What this machine lacks to run the cluster (empty: everything is there)."""
    missing = []
    if not (PG_BIN / "initdb").exists():
        missing.append("postgresql-15")
    if not POSTGIS_CONTROL.exists():
        missing.append("postgresql-15-postgis-3")
    for binary in ("haproxy", "redis-server"):
        if shutil.which(binary) is None:
            missing.append(binary)
    return missing


def _as_postgres() -> dict[str, Any]:
    """Popen arguments running as the postgres user when we are root (initdb refuses
    root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@dataclass
class Cluster:
    """The running parts; :meth:`start` brings them up, :meth:`stop` takes them down."""

    workdir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    logs: list[Any] = field(default_factory=list)

    # --- addresses ---------------------------------------------------------------------

    def url(self, name: str) -> str:
        host = {"web1": WEB_HOSTS[0], "web2": WEB_HOSTS[1], "lb": LB_HOST}[name]
        return f"http://{host}:{self.ports[name]}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{PG_HOST}:{self.ports['pg']}/planfuse"

    @property
    def redis_port(self) -> int:
        return self.ports["redis"]

    # --- processes -----------------------------------------------------------------------

    def _log(self, name: str):
        out = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        self.logs.append(out)
        return out

    def _spawn(self, name: str, args: list[str], **kwargs: Any) -> subprocess.Popen:
        out = self._log(name)
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        self.procs[name] = proc
        return proc

    def start_postgres(self) -> None:
        data = self.workdir / "pg"
        data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
            shutil.chown(self.workdir, "postgres", "postgres")
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data), *INITDB_OPTIONS],
            check=True,
            capture_output=True,
            **_as_postgres(),
        )
        self.ports["pg"] = free_port(PG_HOST)
        self.run_postgres()
        admin = f"postgresql://postgres@{PG_HOST}:{self.ports['pg']}/postgres"
        server = f"postgresql://postgres@{PG_HOST}:{self.ports['pg']}"
        self._psql(admin, "CREATE DATABASE planfuse")
        self._psql(f"{server}/planfuse", "CREATE EXTENSION postgis")

    def run_postgres(self) -> None:
        """Start the cluster's PostgreSQL server (again, after :meth:`stop_postgres`) on
        its port, and wait until it accepts connections."""
        port = self.ports["pg"]
        self._spawn(
            "postgres",
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(self.workdir / "pg"),
                "-h",
                PG_HOST,
                "-p",
                str(port),
                "-k",
                str(self.workdir),
                *POSTGRES_OPTIONS,
            ],
            **_as_postgres(),
        )
        wait_port(PG_HOST, port, 30)
        admin = f"postgresql://postgres@{PG_HOST}:{port}/postgres"
        deadline = time.monotonic() + 30
        while subprocess.run(["pg_isready", "-q", "-d", admin]).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the private PostgreSQL did not become ready")
            time.sleep(0.2)

    def stop_postgres(self, mode: str = "fast") -> None:
        """Stop the private PostgreSQL: "fast" (SIGINT: sessions are ended, as an operator's
        restart does) or "immediate" (SIGQUIT: as a crash)."""
        sig = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        stop(self.procs["postgres"], sig, timeout_s=30)

    @staticmethod
    def _psql(url: str, sql: str) -> str:
        return subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def start_redis(self, port: int | None = None) -> None:
        self.ports["redis"] = port = port or self.ports.get("redis") or free_port(REDIS_HOST)
        (self.workdir / "redis").mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                REDIS_HOST,
                "--port",
                str(port),
                *REDIS_OPTIONS,
                "--dir",
                str(self.workdir / "redis"),
            ],
        )
        wait_port(REDIS_HOST, port)

    def base_settings(self, **extra: Any) -> dict[str, Any]:
        redis = f"redis://{REDIS_HOST}:{self.ports['redis']}"
        return {
            "database_url": self.database_url,
            "redis_url": f"{redis}/0",
            "broker_url": f"{redis}/1",
            "secret_key": "cluster-test-secret-" + "k" * 32,
            "job_redelivery_s": 4,
            "job_heartbeat_s": 1,
            "detect_partition_features": 2_000,
            "overlay_workers": 1,
            "log_level": "WARNING",
            **self.settings,
            **extra,
        }

    def upgrade(self) -> None:
        subprocess.run(
            [str(PLANFUSE), "db", "upgrade"],
            env=planfuse_env(self.base_settings()),
            check=True,
            capture_output=True,
            cwd=ROOT,
        )

    def start_web(self, name: str) -> None:
        host = WEB_HOSTS[0 if name == "web1" else 1]
        self.ports[name] = port = self.ports.get(name) or free_port(host)
        self._spawn(
            name,
            [str(PLANFUSE), "serve", "--host", host, "--port", str(port), "--workers", "1"],
            env=planfuse_env(self.base_settings()),
            cwd=ROOT,
            # Its own process group: a SIGKILL takes gunicorn's master and workers at once,
            # as a host that dies would.
            start_new_session=True,
        )

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(
            name,
            [str(PLANFUSE), "worker", "--name", f"{name}@cluster"],
            env=planfuse_env(self.base_settings()),
            cwd=ROOT,
        )

    def start_balancer(self) -> None:
        self.ports["lb"] = port = free_port(LB_HOST)
        config = self.workdir / "haproxy.cfg"
        servers = "\n".join(
            f"  server {name} {WEB_HOSTS[k]}:{self.ports[name]} check"
            for k, name in enumerate(("web1", "web2"))
        )
        config.write_text(
            f"""global
  maxconn 512
defaults
  mode http
  timeout connect 500ms
  timeout client 30s
  timeout server 30s
  # A request that could not reach a server (refused, reset before any answer) goes
  # to the other one.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
frontend planfuse
  bind {LB_HOST}:{port}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 300ms fall 2 rise 2
{servers}
"""
        )
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        self._spawn("haproxy", ["haproxy", "-W", "-db", "-f", str(config)])
        wait_port(LB_HOST, port)

    def wait_ready(self, name: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status, _ = request(self.url(name) + "/readyz", timeout_s=2)
                if status == 200:
                    return
            except OSError:
                pass
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited: see {self.workdir / (name + '.log')}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout_s} s")
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL, no goodbye (the whole process group of a web process)."""
        proc = self.procs[name]
        if name.startswith("web"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                if name.startswith("web"):
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                        proc.wait(timeout=15)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        os.killpg(proc.pid, signal.SIGKILL)
                else:
                    stop(proc, signal.SIGINT if name == "postgres" else signal.SIGTERM)
        for out in self.logs:
            out.close()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.workdir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def make_workdir() -> Path:
    """A folder the postgres user can enter (pytest's tmp folders are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="planfuse-cluster-"))
    path.chmod(0o755)
    return path


def request(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> tuple[int, Any]:
    """(status, JSON body or raw bytes) of one HTTP request; HTTP errors are answers."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


# --- the data: two plans of Voronoi parcels over two districts ---------------------------


def parcels(n: int, seed: int, side_m: float) -> np.ndarray:
    """About ``n`` Voronoi parcels over a ``side_m`` square (local metres), densified to
    ~50 vertices each, as surveyed parcels are."""
    rng = np.random.default_rng(seed)
    square = shapely.box(0, 0, side_m, side_m)
    points = rng.uniform((0, 0), (side_m, side_m), size=(n, 2))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=square)
    )
    cells = shapely.intersection(cells, square)
    return shapely.segmentize(cells[shapely.get_type_id(cells) == 3], 8.0)


def load_two_plans(ctx, folder: Path, n: int) -> None:
    """Districts and two plans of ``n`` parcels each, through the real import."""
    from conflict_world import DISTRICT_A, DISTRICT_B, import_features, to_storage
    from layer_files import feature_collection, write_geojson

    from planfuse.services.layers.importer import ImportOptions, import_layer

    side = float(np.sqrt(n * 10_000.0))
    half = side / 2
    import_features(
        ctx,
        folder,
        "districts",
        "district",
        [
            ("D1", {"adcode": DISTRICT_A, "name": "渝中区"}, (-10, -10, half, side + 10)),
            ("D2", {"adcode": DISTRICT_B, "name": "渝北区"}, (half, -10, side + 10, side + 10)),
        ],
    )
    rng = np.random.default_rng(3)
    # Mostly construction land in both plans (consistent, type 02), so the conflicts (03,
    # 04) are a few thousand pieces, as in a real city's plans.
    for layer, kind, seed, codes, shares in (
        ("urban_plan", "urban_plan", 1, ["R2", "M1", "B1", "E1"], [0.4, 0.3, 0.2, 0.1]),
        ("land_plan", "land_plan", 2, ["2110", "2120", "1100"], [0.5, 0.4, 0.1]),
    ):
        geoms = to_storage(parcels(n, seed, side))
        props = [{"code": str(c)} for c in rng.choice(codes, len(geoms), p=shares)]
        path = write_geojson(folder / f"{layer}.geojson", feature_collection(geoms, props))
        import_layer(ctx, path, ImportOptions(layer_id=layer, kind=kind, crs="EPSG:4490"))
