"""`planfuse serve` (production WSGI server) and `planfuse demo`."""

from __future__ import annotations

import os

import click

from planfuse.cli.common import CLIContext, cli_context


def run_gunicorn(host: str, port: int, workers: int, threads: int = 4) -> None:
    """Serve `create_app()` with gunicorn (not Flask's development server)."""
    from gunicorn.app.base import BaseApplication

    from planfuse.app import create_app
    from planfuse.logs import configure_logging

    class PlanFuseServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 10)
            # Access logs come from PlanFuse itself, redacted; gunicorn's would carry the
            # query string.
            self.cfg.set("accesslog", None)
            self.cfg.set("worker_exit", _write_service_metrics)

        def load(self):
            configure_logging(os.environ.get("PLANFUSE_LOG_LEVEL", "INFO"))
            return create_app()

    PlanFuseServer().run()


def _write_service_metrics(_server, worker) -> None:
    """A stopping worker writes its last service metrics (planfuse.services.service_metrics)."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {})
    if "planfuse" in extensions:
        from planfuse.services.service_metrics import metrics_recorder

        metrics_recorder(extensions["planfuse"]).flush()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@cli_context
def serve(holder: CLIContext, host: str, port: int, workers: int) -> None:
    """Run the server on gunicorn, after creating or upgrading the database."""
    from planfuse.app import check_production_settings

    ctx = holder.get()
    check_production_settings(ctx.settings)
    holder.close()
    click.echo(f"PlanFuse serving on http://{host}:{port}/", err=True)
    run_gunicorn(host, port, workers)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--host-port",
    default=8001,
    show_default=True,
    type=int,
    help="Port of the sample host application (a second origin).",
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 100),
    help="Size of the generated demo dataset, as a multiple of ~50,000 features.",
)
@click.option("--seed", default=20261125, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@cli_context
def demo(
    holder: CLIContext,
    host: str,
    port: int,
    host_port: int,
    scale: float,
    seed: int,
    workers: int,
) -> None:
    """Load the demo dataset into an empty database, then serve it with a sample host."""
    from planfuse.demo import load_demo
    from planfuse.services.admin_tokens import create_admin_token

    ctx = holder.get()
    load_demo(ctx, scale=scale, seed=seed, echo=lambda m: click.echo(m, err=True))
    _, admin_token = create_admin_token(ctx, "demo")
    # The sample host application: a second origin whose page embeds every widget.
    from planfuse.embed.host_app import start_demo_host

    server_url = ctx.settings.public_url or f"http://{host}:{port}"
    sample_host = start_demo_host(ctx, server_url, host, host_port)
    holder.close()
    click.echo(f"PlanFuse demo: http://{host}:{port}/", err=True)
    click.echo(f"Sample host app (embeds every widget): {sample_host}", err=True)
    click.echo(
        f"Admin console: http://{host}:{port}/admin/ — sign in with this demo admin token "
        f"(shown once): {admin_token}",
        err=True,
    )
    run_gunicorn(host, port, workers)
