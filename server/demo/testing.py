"""Helpers for tests that use the demo dataset and its planted scenarios.

    from planfuse.demo import testing as demo

    doc = demo.load_scenarios()                   # scenarios.json, parsed
    a = demo.scenario("a")                        # by letter or name ("a_farmland_overlap")
    body = a["input"]                             # e.g. the compliance request
    a["expected"]["items"]["basic_farmland"]["overlap_area_m2"]   # 12345.67

    template = demo.build_demo_database(tmp_dir)  # once per session: a small SQLite demo DB
    url = demo.copy_demo_database(template, tmp_path)   # per test: a private copy (cheap)

The pytest fixtures `demo_scenarios`, `demo_database_template` and `demo_ctx` in
tests/conftest.py wrap these. Nothing here imports pytest.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from planfuse.context import PlanFuse, build_context
from planfuse.demo.build import DEFAULT_SEED, build_demo
from planfuse.demo.scenarios import SCENARIOS_FILE
from planfuse.geo.crs import STORAGE_CRS_KEY, transform_geometry
from planfuse.geo.measure import work_projection
from planfuse.http.problems import problem_dict
from planfuse.settings import load_settings
from planfuse.storage.models import Feature, Layer

# Scale of the test database: ~7,700 features (the planted scenarios among plausible
# random ones), built and imported in about 6 s. Scale 0 holds the planted features only.
TEST_SCALE = 0.05


@functools.lru_cache(maxsize=1)
def _scenarios_text() -> str:
    return SCENARIOS_FILE.read_text(encoding="utf-8")


def load_scenarios() -> dict[str, Any]:
    """The parsed `server/demo/scenarios.json` (a fresh copy each call)."""
    return json.loads(_scenarios_text())


def scenario(key: str) -> dict[str, Any]:
    """One scenario by letter ("a") or name ("a_farmland_overlap")."""
    for record in load_scenarios()["scenarios"]:
        if key in (record["scenario"], record["name"]):
            return record
    names = ", ".join(r["name"] for r in load_scenarios()["scenarios"])
    raise KeyError(f"no demo scenario {key!r}; there are {names}")


def planted_feature_id(demo_id: str) -> tuple[str, int]:
    """(layer id, feature id) of a planted feature, e.g. ("basic_farmland", 1) for "a:F1".
    Planted features come first in their layers, so the ids hold for every seed and scale."""
    entry = load_scenarios()["features"][demo_id]
    return entry["layer"], entry["fid"]


def shape(geojson: dict[str, Any]) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry dict (coordinates in its own CRS)."""
    return shapely.from_geojson(json.dumps(geojson))


def to_work(geom, crs: str, area_crs: str | None = None):
    """A geometry (or array) in `crs` → the working CRS (metres, equal-area)."""
    storage = transform_geometry(geom, crs, STORAGE_CRS_KEY)
    projection = work_projection(area_crs) if area_crs else work_projection()
    return projection.to_work(storage)


def project_work(record: dict[str, Any], crs: str | None = None) -> BaseGeometry:
    """A compliance scenario's project red line in the working CRS (from `inputs_by_crs`
    when `crs` is given, else from `input`)."""
    if crs is None:
        return to_work(shape(record["input"]["geometry"]), record["input"]["crs"])
    return to_work(shape(record["inputs_by_crs"][crs]), crs)


def planted_geometries(ctx: PlanFuse, layer_id: str | None = None) -> dict[str, BaseGeometry]:
    """demo_id → stored geometry (EPSG:4490) of the planted features in the database
    (current versions), optionally of one layer."""
    wanted = {
        demo_id: (entry["layer"], entry["fid"])
        for demo_id, entry in load_scenarios()["features"].items()
        if layer_id is None or entry["layer"] == layer_id
    }
    by_layer: dict[str, dict[int, str]] = {}
    for demo_id, (layer, fid) in wanted.items():
        by_layer.setdefault(layer, {})[fid] = demo_id
    out: dict[str, BaseGeometry] = {}
    with ctx.db.session() as session:
        for layer, fids in sorted(by_layer.items()):
            version = session.scalar(select(Layer.current_version).where(Layer.id == layer))
            rows = session.execute(
                select(Feature.fid, Feature.geom, Feature.properties).where(
                    Feature.layer_id == layer,
                    Feature.version == (version or -1),
                    Feature.fid.in_(list(fids)),
                )
            ).all()
            for fid, geom, props in rows:
                if (props or {}).get("demo_id") != fids[fid]:
                    raise LookupError(f"{layer} feature {fid} is not planted feature {fids[fid]}")
                out[fids[fid]] = shapely.from_wkb(geom)
    missing = sorted(set(wanted) - set(out))
    if missing:
        raise LookupError(f"planted features missing from the database: {missing}")
    return out


def planted_work(ctx: PlanFuse, layer_id: str | None = None) -> dict[str, BaseGeometry]:
    """Like :func:`planted_geometries`, in the context's working CRS."""
    stored = planted_geometries(ctx, layer_id)
    keys = list(stored)
    geoms = work_projection(ctx.settings.area_crs).to_work(
        np.array([stored[k] for k in keys], dtype=object)
    )
    return dict(zip(keys, geoms, strict=True))


def build_demo_database(
    folder: Path,
    *,
    scale: float = TEST_SCALE,
    seed: int = DEFAULT_SEED,
    files_dir: Path | None = None,
    **settings: Any,
) -> Path:
    """Build a demo SQLite database in `folder` and return its path. Call once per test
    session and copy it per test. The layer files go to `files_dir` (default
    `folder/files`); a persistent `files_dir` (e.g. var/demo) is reused across sessions
    while the generator's code is unchanged."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    ctx = demo_context(f"sqlite:///{path}", **settings)
    try:
        ctx.db.upgrade()
        build_demo(ctx, scale=scale, seed=seed, cache_dir=files_dir or folder / "files")
    finally:
        ctx.close()
    # Fold the WAL into the main file so one file copy is the whole database.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


def copy_demo_database(template: Path, folder: Path, name: str = "planfuse.db") -> str:
    """Copy a database made by :func:`build_demo_database` into `folder`; its SQLite URL."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def demo_context(database_url: str, **settings: Any) -> PlanFuse:
    """A PlanFuse context over `database_url` with test settings (no environment)."""
    config = {"database_url": database_url, **settings}
    return build_context(load_settings(config, environ={}), describe_failure=problem_dict)
