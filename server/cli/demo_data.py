"""`planfuse demo-data`: generate the demo dataset's layer files (any scale, e.g. for
benchmarks), optionally import them, and keep the planted scenarios' fixture current."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from planfuse.cli.common import CLIContext, cli_context


@click.group("demo-data")
def demo_data() -> None:
    """The demo dataset: Chongqing's districts and generated planning layers."""


@demo_data.command("generate")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Size as a multiple of ~50,000 features (20 ≈ 1,000,000; 0 = planted scenarios only).",
)
@click.option("--seed", default=None, type=int, help="Random seed (default: the demo's).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the files (default: var/demo/<seed>-<scale>).",
)
@click.option("--import", "do_import", is_flag=True, help="Also import them into the database.")
@click.option("--force", is_flag=True, help="Regenerate even if the folder holds this dataset.")
@cli_context
def generate(
    holder: CLIContext,
    scale: float,
    seed: int | None,
    out: Path | None,
    do_import: bool,
    force: bool,
) -> None:
    """Write one GeoJSON file per layer, each in its department's CRS (same seed and scale:
    the same bytes), and a manifest.json listing them."""
    from planfuse.demo import DEFAULT_SEED, cache_folder, generate_files, import_files

    seed = DEFAULT_SEED if seed is None else seed
    folder = out or cache_folder(None, seed, scale)

    def echo(message: str) -> None:
        click.echo(message, err=True)

    started = time.perf_counter()
    files = generate_files(folder, seed=seed, scale=scale, echo=echo, reuse=not force)
    for entry in files.manifest["layers"]:
        click.echo(
            f"{entry['layer']:<20} {entry['kind']:<19} {entry['crs']:<10} "
            f"{entry['features']:>10,}  {files.folder / entry['file']}"
        )
    click.echo(f"{'total':<51}{files.feature_count:>10,}")
    if do_import:
        ctx = holder.get()
        echo("importing")
        imported = import_files(ctx, files, echo)
        click.echo(f"imported {sum(s.feature_count for s in imported):,} features")
    echo(f"done in {time.perf_counter() - started:.1f} s")


@demo_data.command("scenarios")
@click.option("--check", is_flag=True, help="Exit 1 if scenarios.json is not current.")
def scenarios(check: bool) -> None:
    """Rewrite server/demo/scenarios.json from the scenario definitions (or check it)."""
    from planfuse.demo.scenarios import SCENARIOS_FILE, render_document, scenarios_document

    text = render_document(scenarios_document())
    current = SCENARIOS_FILE.read_text(encoding="utf-8") if SCENARIOS_FILE.exists() else ""
    if check:
        if text != current:
            click.echo(f"{SCENARIOS_FILE} is out of date; run `planfuse demo-data scenarios`")
            sys.exit(1)
        click.echo(f"{SCENARIOS_FILE} is current")
        return
    SCENARIOS_FILE.write_text(text, encoding="utf-8")
    click.echo(str(SCENARIOS_FILE))


commands = [demo_data]
