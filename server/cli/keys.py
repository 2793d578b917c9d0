"""`planfuse keys`: the server's own signing keys (compliance reports are signed with them)."""

from __future__ import annotations

import click

from planfuse.cli.common import CLIContext, audit_cli, cli_context


@click.group()
def keys() -> None:
    """The server's signing keys, published at /api/v1/compliance/jwks.json."""


@keys.command("list")
@cli_context
def list_(holder: CLIContext) -> None:
    """List the signing keys, newest first (no private key material is printed)."""
    from planfuse.signing.server_keys import signing_keys

    for key in signing_keys(holder.get()):
        state = (
            "current"
            if key["current"]
            else "retired " + key["retired_at"]
            if key["retired_at"]
            else "published"
        )
        note = "" if key["can_sign"] else "  (sealed under another secret key)"
        click.echo(f"{key['kid']}  {key['alg']}  created {key['created_at']}  {state}{note}")


@keys.command("rotate")
@cli_context
def rotate(holder: CLIContext) -> None:
    """Make a new key pair the signing key; earlier keys stay published."""
    from planfuse.signing.server_keys import RECHECK_S, rotate_signing_key

    kid = rotate_signing_key(holder.get())
    audit_cli(holder.get(), "signing_key.rotate", f"signing_key:{kid}")
    click.echo(f"new signing key: {kid}")
    click.echo(
        f"Running servers sign with it within {RECHECK_S:.0f} s; reports signed before "
        "still verify against the JWKS.",
        err=True,
    )


# A kid is a base64url thumbprint and may begin with "-": read as the KID, not as options
# (this command has no short option, so no letter of a kid is taken for one).
@keys.command(
    "retire",
    context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]},
)
@click.argument("kid")
@cli_context
def retire(holder: CLIContext, kid: str) -> None:
    """Take key KID out of the JWKS (documents it signed no longer verify). A KID that
    begins with "-" is taken as it is."""
    from planfuse.signing.server_keys import retire_signing_key

    retire_signing_key(holder.get(), kid)
    audit_cli(holder.get(), "signing_key.retire", f"signing_key:{kid}")
    click.echo(f"retired {kid}: it is no longer in the JWKS")


commands = [keys]
