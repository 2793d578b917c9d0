"""`planfuse layers`: import and list planning layers, and roll a layer back to a version."""

from __future__ import annotations

import json
from pathlib import Path

import click

from planfuse.cli.common import CLIContext, audit_cli, cli_context
from planfuse.services.layers.kinds import LAYER_KINDS


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values:
        source, sep, attribute = value.partition("=")
        if not sep or not source or not attribute:
            raise click.BadParameter(f"{value!r}: write SOURCE_FIELD=attribute", param_hint="--map")
        mapping[source] = attribute
    return mapping


@click.group()
def layers() -> None:
    """Planning layers: import files, list the catalogue, make an earlier version current."""


@layers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", "layer_id", required=True, help="Layer id, e.g. basic_farmland.")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(sorted(LAYER_KINDS)),
    help="What the layer holds (DOMAIN.md layer kinds).",
)
@click.option("--crs", help="Source CRS: EPSG:NNNN, an OGC URI, GCJ-02 or BD-09 (default: .prj).")
@click.option("--name", help="Display name, e.g. 永久基本农田.")
@click.option("--department", default="", help="Publishing department (发布部门).")
@click.option("--map", "field_map", multiple=True, metavar="FIELD=ATTR", help="Map a source field.")
@click.option("--repair", is_flag=True, help="Repair invalid polygons with make_valid.")
@click.option("--restricted", is_flag=True, help="Serve only to callers with a token.")
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD",
    help="The date the version describes (required for land_use_status), e.g. 2025-12-31.",
)
@click.option(
    "--replace",
    "replace_as_of",
    is_flag=True,
    help="Take --as-of over from the version that has it (a corrected survey).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@cli_context
def import_(
    holder: CLIContext,
    file: Path,
    layer_id: str,
    kind: str,
    crs: str | None,
    name: str | None,
    department: str,
    field_map: tuple[str, ...],
    repair: bool,
    restricted: bool,
    as_of: str | None,
    replace_as_of: bool,
    as_json: bool,
) -> None:
    """Import FILE (GeoJSON, or a zipped shapefile) as a new version of a layer."""
    from planfuse.services.layers.importer import ImportOptions, import_layer, parse_as_of

    options = ImportOptions(
        layer_id=layer_id,
        kind=kind,
        crs=crs,
        name=name,
        department=department,
        field_map=_parse_map(field_map),
        repair=repair,
        restricted=restricted,
        created_by="cli",
        as_of=parse_as_of(as_of),
        replace_as_of=replace_as_of,
    )
    ctx = holder.get()
    show = not as_json

    def progress(stage: str, fraction: float) -> None:
        if show:
            click.echo(f"\r  {stage:<13} {fraction:6.1%}", nl=False, err=True)

    summary = import_layer(ctx, file, options, progress=progress)
    audit_cli(ctx, "layer.import", f"layer:{summary.layer_id}", summary.audit_detail())
    if show:
        click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    click.echo(
        f"layer {summary.layer_id} version {summary.version}: {summary.feature_count} features "
        f"({summary.kind}, from {summary.source_crs}) in {summary.seconds:.1f} s"
    )
    if summary.as_of:
        click.echo(f"  describes the land as of {summary.as_of.isoformat()}")
    if summary.total_area_m2:
        click.echo(f"  total area {summary.total_area_m2 / 1e6:,.3f} km²")
    if summary.total_length_m:
        click.echo(f"  total length {summary.total_length_m / 1e3:,.3f} km")
    if summary.repaired:
        click.echo(f"  {summary.repaired} feature(s) repaired with make_valid")


@layers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
@cli_context
def list_(holder: CLIContext, as_json: bool) -> None:
    """List layers with their current version."""
    from planfuse.services.layers.catalogue import list_layers

    entries = list_layers(holder.get())
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False))
        return
    if not entries:
        click.echo("no layers yet; import one with `planfuse layers import`")
        return
    click.echo(f"{'id':<24} {'kind':<20} {'ver':>4} {'features':>9}  crs          name")
    for e in entries:
        click.echo(
            f"{e['id']:<24} {e['kind']:<20} {e['version']:>4} {e['feature_count']:>9}  "
            f"{e['crs']:<12} {e['name']}"
        )


@layers.command("rollback")
@click.argument("layer_id", metavar="LAYER")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the change as JSON.")
@cli_context
def rollback(holder: CLIContext, layer_id: str, version: int, as_json: bool) -> None:
    """Make stored VERSION of LAYER current again (the undo of a wrong import).

    No version is deleted: the newer ones stay stored, and reports made while they were
    current keep naming them. `planfuse layers list` shows the current versions.
    """
    from planfuse.services.layers.versions import make_version_current

    ctx = holder.get()
    change = make_version_current(ctx, layer_id, version)
    if change.changed:
        audit_cli(ctx, "layer.rollback", f"layer:{layer_id}", change.audit_detail())
    if as_json:
        click.echo(json.dumps(change.to_dict(), ensure_ascii=False))
        return
    if not change.changed:
        click.echo(f"layer {layer_id}: version {version} is already current; nothing changed")
        return
    click.echo(
        f"layer {layer_id}: version {version} is current again "
        f"(was version {change.previous_version}; every version stays stored)"
    )
