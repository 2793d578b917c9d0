"""`planfuse apps`: host apps that embed widgets, their origins, widgets and keys."""

from __future__ import annotations

import json

import click

from planfuse.cli.common import CLIContext, audit_cli, cli_context


def _dump(value) -> str:
    from planfuse.http.json import dumps_bytes

    return dumps_bytes(value).decode()


@click.group()
def apps() -> None:
    """Host apps: systems that embed PlanFuse widgets."""


@apps.command("create")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="Allowed origin, exactly scheme://host:port (repeat for several).",
)
@click.option(
    "--widget",
    "widgets",
    multiple=True,
    help="Widget the app may embed (repeat; default: every widget).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"app_id": ..., "secret": ...}.')
@cli_context
def create(holder: CLIContext, name: str, origins, widgets, as_json: bool) -> None:
    """Register host app NAME; prints its id and HS256 secret (shown once)."""
    from planfuse.auth.apps import create_host_app

    record, secret = create_host_app(holder.get(), name, origins, widgets)
    audit_cli(
        holder.get(),
        "app.create",
        f"app:{record.id}",
        {"name": record.name, "origins": list(record.origins), "widgets": list(record.widgets)},
    )
    if as_json:
        click.echo(json.dumps({"app_id": record.id, "secret": secret}))
        return
    click.echo(f"app_id: {record.id}")
    click.echo(f"secret: {secret}")
    click.echo(f"origins: {', '.join(record.origins)}")
    click.echo(f"widgets: {', '.join(record.widgets) or '(all)'}")
    click.echo("The secret is shown once: store it in the host's backend configuration.", err=True)


@apps.command("list")
@click.option("--json", "as_json", is_flag=True)
@cli_context
def list_(holder: CLIContext, as_json: bool) -> None:
    """List host apps with their origins, widgets and keys (never secrets)."""
    from planfuse.auth.apps import list_host_apps

    records = list_host_apps(holder.get())
    if as_json:
        click.echo(_dump([r.describe() for r in records]))
        return
    if not records:
        click.echo("no host apps; create one with `planfuse apps create NAME --origin ...`")
    for r in records:
        state = "disabled" if r.disabled else "enabled"
        keys = ", ".join(f"{k.kid} ({k.alg})" for k in r.active_keys()) or "none"
        click.echo(f"{r.id}  {r.name}  [{state}]")
        click.echo(f"    origins: {', '.join(r.origins)}")
        click.echo(f"    widgets: {', '.join(r.widgets) or '(all)'}")
        click.echo(f"    keys:    {keys}")
        if r.revoked_before:
            click.echo(f"    tokens issued before {r.revoked_before.isoformat()} are revoked")


@apps.command("rotate")
@click.argument("app_id")
@click.option(
    "--grace",
    "grace_s",
    type=click.IntRange(0),
    default=None,
    help="Seconds the previous secret keeps working (default: setting key_rotation_grace_s).",
)
@click.option("--json", "as_json", is_flag=True)
@cli_context
def rotate(holder: CLIContext, app_id: str, grace_s: int | None, as_json: bool) -> None:
    """Give APP_ID a new secret (shown once); the old one expires after the grace period."""
    from planfuse.auth.apps import rotate_secret

    kid, secret = rotate_secret(holder.get(), app_id, grace_s)
    audit_cli(holder.get(), "key.rotate", f"app:{app_id}", {"kid": kid, "grace_s": grace_s})
    if as_json:
        click.echo(json.dumps({"app_id": app_id, "kid": kid, "secret": secret}))
    else:
        click.echo(f"kid: {kid}\nsecret: {secret}")


@apps.command("disable")
@click.argument("app_id")
@click.option("--enable", is_flag=True, help="Enable the app again instead.")
@cli_context
def disable(holder: CLIContext, app_id: str, enable: bool) -> None:
    """Disable APP_ID: its tokens and running widget sessions stop working at once."""
    from planfuse.auth.apps import update_host_app

    update_host_app(holder.get(), app_id, disabled=not enable)
    audit_cli(holder.get(), "app.enable" if enable else "app.disable", f"app:{app_id}")
    click.echo(f"{app_id} {'enabled' if enable else 'disabled'}")


@apps.command("revoke")
@click.argument("app_id")
@cli_context
def revoke(holder: CLIContext, app_id: str) -> None:
    """Refuse every token and session of APP_ID issued before now."""
    from planfuse.auth.apps import revoke_tokens

    instant = revoke_tokens(holder.get(), app_id)
    audit_cli(holder.get(), "app.revoke_tokens", f"app:{app_id}", {"revoked_before": instant})
    click.echo(f"tokens of {app_id} issued before {instant.isoformat()} are revoked")


@apps.command("add-key")
@click.argument("app_id")
@click.argument("jwk_file", type=click.File("r"))
@click.option("--alg", type=click.Choice(["ES256", "RS256"]), default=None)
@click.option("--kid", default=None, help="Key id (default: the JWK's kid, or a new one).")
@cli_context
def add_key(holder: CLIContext, app_id: str, jwk_file, alg: str | None, kid: str | None) -> None:
    """Register a public key (JWK file, ES256 or RS256) for APP_ID."""
    from planfuse.auth.apps import add_public_key

    try:
        jwk = json.load(jwk_file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{jwk_file.name} is not JSON: {exc}") from None
    added = add_public_key(holder.get(), app_id, jwk, alg, kid)
    audit_cli(holder.get(), "key.add", f"app:{app_id}", {"kid": added, "alg": alg})
    click.echo(added)


@apps.command("remove-key")
@click.argument("app_id")
@click.argument("kid")
@cli_context
def remove_key(holder: CLIContext, app_id: str, kid: str) -> None:
    """Remove key KID from APP_ID."""
    from planfuse.auth.apps import remove_key as remove

    remove(holder.get(), app_id, kid)
    audit_cli(holder.get(), "key.remove", f"app:{app_id}", {"kid": kid})
    click.echo(f"removed {kid}")


commands = [apps]
