"""Generate the demo's layer files (cached per seed and scale) and import them through the
normal import path.

    files = generate_files(Path("var/demo/20261125-1"), seed=20261125, scale=1)
    build_demo(ctx, scale=1, seed=20261125)      # generate (or reuse) + import
    load_demo(ctx, scale=1, seed=20261125)       # the same, only into an empty database
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.demo.generate import LayerData, generate_layers
from planfuse.demo.geography import DISTRICTS_FILE, WORK_CRS, load_districts
from planfuse.demo.layers import DEMO_LAYERS, LAYERS_BY_ID, DemoLayer
from planfuse.demo.monitoring import import_status, load_indicator_set, status_filename
from planfuse.demo.scenarios import build_scenarios
from planfuse.demo.status import PLANTED_CHANGES, STATUS_LAYER, generate_status
from planfuse.demo.status import YEARS as STATUS_YEARS
from planfuse.services.layers.importer import ImportOptions, ImportSummary, import_layer
from planfuse.storage.models import Layer

DEFAULT_SEED = 20261125
DEFAULT_CACHE_DIR = Path("var") / "demo"
MANIFEST = "manifest.json"

Echo = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


def fingerprint() -> str:
    """Hash of the generator's code and data: a cached dataset from other code is stale."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in [*sorted(here.glob("*.py")), DISTRICTS_FILE]:
        if path.name == "testing.py":
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_folder(cache_dir: Path | str | None, seed: int, scale: float) -> Path:
    base = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    return base / f"{seed}-{scale:g}"


@dataclass
class DemoFiles:
    """A generated dataset on disk: its folder and manifest."""

    folder: Path
    manifest: dict[str, Any]

    def path(self, layer_id: str) -> Path:
        return self.folder / LAYERS_BY_ID[layer_id].filename

    @property
    def feature_count(self) -> int:
        return sum(entry["features"] for entry in self.manifest["layers"])


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for entry in [*manifest.get("layers", []), *manifest.get("status_versions", [])]:
        path = folder / entry["file"]
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            return None
    return manifest


def generate_files(
    folder: Path,
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    echo: Echo = _quiet,
    reuse: bool = True,
) -> DemoFiles:
    """Write every demo layer file into `folder` (or reuse what a previous run of the same
    code, seed and scale left there). Same seed and scale ⇒ byte-identical files."""
    folder = Path(folder)
    print_ = fingerprint()
    if reuse:
        manifest = _read_manifest(folder)
        if (
            manifest
            and manifest.get("fingerprint") == print_
            and manifest.get("seed") == seed
            and manifest.get("scale") == scale
        ):
            echo(f"demo data: reusing {folder}")
            return DemoFiles(folder, manifest)
    started = time.perf_counter()
    # Written next to the target and renamed into place: concurrent runs (test workers,
    # two `planfuse demo`) never read a half-written dataset.
    final, folder = folder, folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    districts = load_districts()
    planted = build_scenarios(districts)
    echo(f"demo data: generating seed {seed}, scale {scale:g} into {final}")
    random_layers = generate_layers(
        districts,
        planted.zones,
        seed=seed,
        scale=scale,
        progress=lambda m: echo(f"  {time.perf_counter() - started:6.1f} s  {m}"),
    )
    from planfuse.demo.files import write_layer_file

    entries = []
    for layer in DEMO_LAYERS:
        if layer.id == "districts":
            target = folder / layer.filename
            shutil.copyfile(DISTRICTS_FILE, target)
            data = target.read_bytes()
            entries.append(
                {
                    "layer": layer.id,
                    "file": target.name,
                    "features": 38,
                    "planted": 0,
                    "dropped": 0,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
            continue
        plants = planted.features.get(layer.id, [])
        generated = random_layers.get(layer.id, LayerData(np.array([], dtype=object), []))
        geoms = np.concatenate([np.array([p.work for p in plants], dtype=object), generated.geoms])
        props = [dict(p.props) for p in plants] + generated.props
        written = write_layer_file(folder / layer.filename, layer, geoms, props, len(plants))
        entries.append(written.to_dict())
        echo(
            f"  {time.perf_counter() - started:6.1f} s  wrote {layer.id}: "
            f"{written.features:,} features ({written.dropped} dropped)"
        )
    entries_status = _write_status_files(folder, seed, scale, echo, started)
    manifest = {
        "generator": "planfuse.demo",
        "fingerprint": print_,
        "seed": seed,
        "scale": scale,
        "work_crs": WORK_CRS,
        "seconds": round(time.perf_counter() - started, 1),
        "layers": [{**entry, **_layer_meta(LAYERS_BY_ID[entry["layer"]])} for entry in entries],
        "status_versions": entries_status,
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    folder = _move_into_place(folder, final)
    files = DemoFiles(folder, _read_manifest(folder) or manifest)
    echo(
        f"demo data: {files.feature_count:,} features in {len(entries)} files, "
        f"{manifest['seconds']} s"
    )
    return files


def _write_status_files(
    folder: Path, seed: int, scale: float, echo: Echo, started: float
) -> list[dict[str, Any]]:
    """The land-use status versions, one file per year (planfuse.demo.status)."""
    from planfuse.demo.files import write_layer_file

    versions = generate_status(scale, seed)
    entries = []
    for year in STATUS_YEARS:
        written = write_layer_file(
            folder / status_filename(year),
            STATUS_LAYER,
            versions.geoms[year],
            versions.properties(year),
            len(PLANTED_CHANGES),
        )
        entries.append({**written.to_dict(), "year": year, "as_of": f"{year}-12-31"})
        echo(
            f"  {time.perf_counter() - started:6.1f} s  wrote {STATUS_LAYER.id} {year}: "
            f"{written.features:,} features"
        )
    return entries


def _move_into_place(tmp: Path, final: Path) -> Path:
    stale = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        with contextlib.suppress(OSError):
            final.rename(stale)
    try:
        tmp.rename(final)
    except OSError:
        # Another process put a dataset there first: the same code, seed and scale give
        # the same bytes, so theirs is as good as ours.
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(stale, ignore_errors=True)
    return final


def _layer_meta(layer: DemoLayer) -> dict[str, Any]:
    return {
        "kind": layer.kind,
        "crs": layer.crs,
        "name": layer.name,
        "department": layer.department,
    }


def import_files(ctx: PlanFuse, files: DemoFiles, echo: Echo = _quiet) -> list[ImportSummary]:
    """Import every layer file through `import_layer` (districts first: the others are
    assigned their district on import)."""
    summaries = []
    for layer in DEMO_LAYERS:
        summary = import_layer(
            ctx,
            files.path(layer.id),
            ImportOptions(
                layer_id=layer.id,
                kind=layer.kind,
                crs=layer.crs,
                name=layer.name,
                department=layer.department,
                created_by="planfuse demo",
            ),
        )
        summaries.append(summary)
        echo(
            f"  imported {layer.id:<20} {layer.kind:<19} {layer.crs:<10} "
            f"{summary.feature_count:>9,} features  {summary.seconds:6.2f} s"
        )
    return summaries


def layer_count(ctx: PlanFuse) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Layer)) or 0)


def build_demo(
    ctx: PlanFuse,
    *,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    cache_dir: Path | str | None = None,
    echo: Echo = _quiet,
) -> list[ImportSummary]:
    """Generate (or reuse from the cache) and import the demo dataset into `ctx`'s
    database, whatever it holds (re-importing adds new layer versions)."""
    started = time.perf_counter()
    files = generate_files(cache_folder(cache_dir, seed, scale), seed=seed, scale=scale, echo=echo)
    echo("demo data: importing")
    summaries = import_files(ctx, files, echo)
    import_status(ctx, files.folder, echo)
    load_indicator_set(ctx, generate_status(scale, seed), echo)
    total = sum(s.feature_count for s in summaries)
    echo(
        f"demo data: {total:,} features in {len(summaries)} layers loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return summaries


def load_demo(
    ctx: PlanFuse,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    echo: Echo = _quiet,
    cache_dir: Path | str | None = None,
) -> list[ImportSummary] | None:
    """Load the demo dataset if the database holds no layers yet (what `planfuse demo`
    calls), then run the first conflict detection of every analysis so the conflict viewer
    opens on real patches; otherwise leave it alone and say so. Returns the import
    summaries, or None."""
    from planfuse.demo.detections import run_first_detections

    existing = layer_count(ctx)
    if existing:
        echo(f"demo data: the database already holds {existing} layers; not loading the demo")
        return None
    summaries = build_demo(ctx, scale=scale, seed=seed, cache_dir=cache_dir, echo=echo)
    run_first_detections(ctx, echo)
    return summaries
