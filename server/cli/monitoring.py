"""`planfuse monitoring`: plan-implementation monitoring (规划实施监测) — load indicator
documents, print an indicator's values."""

from __future__ import annotations

import json
from pathlib import Path

import click

from planfuse.cli.common import CLIContext, audit_cli, cli_context


@click.group()
def monitoring() -> None:
    """Plan-implementation monitoring: binding indicators and their values."""


@monitoring.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@cli_context
def load(holder: CLIContext, file: Path) -> None:
    """Load FILE (one indicator document, a list, or {"indicators": [...]}): each becomes
    the indicator's next version. A bad document stores nothing."""
    from planfuse.services.plan_monitoring.indicators import load_indicators, read_indicator_file
    from planfuse.services.plan_monitoring.measure import known_adcodes

    ctx = holder.get()
    entries = load_indicators(
        ctx, read_indicator_file(file), created_by="cli", adcodes=known_adcodes(ctx)
    )
    for entry in entries:
        audit_cli(ctx, "indicator.load", f"indicator:{entry['id']}", {"version": entry["version"]})
        click.echo(
            f"indicator {entry['id']} version {entry['version']}: {entry['name']['zh-CN']} "
            f"({entry['unit']}, {entry['direction']} bound, {len(entry['targets'])} targets)"
        )


@monitoring.command("values")
@click.argument("indicator")
@click.option("--year", type=int, required=True, help="Monitoring year, e.g. 2025.")
@click.option("--by", type=click.Choice(["district", "city"]), default="district")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@cli_context
def values(holder: CLIContext, indicator: str, year: int, by: str, as_json: bool) -> None:
    """Print INDICATOR's values for a year with their status against the targets."""
    from planfuse.services.plan_monitoring.values import indicator_values

    body = indicator_values(holder.get(), indicator, year, by=by)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False))
        return
    head = body["indicator"]
    click.echo(f"{head['name']['zh-CN']} ({head['unit']}) {year}")
    for row in body["values"]:
        ratio = f"{row['ratio']:.1%}" if row["ratio"] is not None else "—"
        click.echo(
            f"  {row['area']:<8} {row['name']:<10} {row['value']!s:>18} / "
            f"{row['target']!s:<18} {ratio:>8}  {row['status']}"
        )


@monitoring.command("publish")
@click.option("--year", type=int, required=True, help="Monitoring year, e.g. 2025.")
@cli_context
def publish(holder: CLIContext, year: int) -> None:
    """Push YEAR's warnings and warning changes to the host apps that subscribe
    (webhook events monitoring.warning and monitoring.change; sent by the server)."""
    from planfuse.services.plan_monitoring.alerts import publish_year

    ctx = holder.get()
    result = publish_year(ctx, year, wake=False)
    audit_cli(ctx, "monitoring.publish", f"monitoring_year:{year}", result)
    click.echo(
        f"{year}: {result['warnings']} indicator warnings, {result['changes']} warning "
        f"changes in {result['change_districts']} districts; {result['deliveries']} "
        "deliveries queued (the server sends them)"
    )


commands = [monitoring]
