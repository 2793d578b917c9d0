"""`planfuse admin`: administrator tokens for the admin API and console."""

from __future__ import annotations

import json

import click

from planfuse.cli.common import CLIContext, audit_cli, cli_context


@click.group()
def admin() -> None:
    """Administrator access."""


@admin.command("create-token")
@click.argument("name")
@click.option(
    "--dept",
    default=None,
    help="A department's id: the token's holder manages that department's services only.",
)
@click.option("--json", "as_json", is_flag=True)
@cli_context
def create_token(holder: CLIContext, name: str, dept: str | None, as_json: bool) -> None:
    """Create an admin token named NAME; it is shown once."""
    from planfuse.errors import InvalidInput
    from planfuse.services.admin_tokens import create_admin_token

    try:
        token_id, token = create_admin_token(holder.get(), name, dept)
    except InvalidInput as error:
        raise click.BadParameter(error.message, param_hint="--dept") from None
    audit_cli(holder.get(), "admin.token_create", f"admin:{token_id}", {"name": name, "dept": dept})
    if as_json:
        click.echo(json.dumps({"id": token_id, "token": token, "dept": dept}))
    else:
        scope = f" (department {dept}'s services only)" if dept else ""
        click.echo(f"admin token {token_id} for {name}{scope} (shown once, keep it safe):\n{token}")


@admin.command("revoke-token")
@click.argument("token_id")
@cli_context
def revoke_token(holder: CLIContext, token_id: str) -> None:
    """Revoke the admin token TOKEN_ID."""
    from planfuse.services.admin_tokens import revoke_admin_token

    if not revoke_admin_token(holder.get(), token_id):
        raise click.ClickException(f"no admin token {token_id!r}")
    audit_cli(holder.get(), "admin.token_revoke", f"admin:{token_id}")
    click.echo(f"revoked {token_id}")


commands = [admin]
