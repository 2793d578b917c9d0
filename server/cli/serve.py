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

            # The app (and the layer state it preloads) is built once in the master and
            # shared by the forked workers, copy-on-write.
            self.cfg.set("preload_app", True)
            self.cfg.set("post_fork", _after_fork)

        def load(self):
            configure_logging(os.environ.get("PLANFUSE_LOG_LEVEL", "INFO"))
            app = create_app()
            context = app.extensions["planfuse"]
            if context.settings.preload_layers:
                preload_layer_state(context)
            # Connections opened while preloading belong to the master: none is inherited.
            context.db.engine.dispose()
            return app

    PlanFuseServer().run()


def preload_layer_state(context) -> None:
    """Load (or build and store) the control layers' derived state before forking."""
    import logging

    from planfuse.services.compliance.overlaps import preload_compliance_state

    log = logging.getLogger("planfuse.serve")
    try:
        loaded = preload_compliance_state(context)
    except Exception:  # a server that cannot preload still serves (building on first use)
        log.exception("could not preload the layers' derived state")
        return
    log.info(
        "preloaded %(layers)d control layers (%(features)d features, %(dissolved)d dissolved "
        "layers) in %(seconds).1f s",
        loaded,
    )


def _after_fork(_server, worker) -> None:
    """A forked worker opens its own database connections (never the master's)."""
    # With preload_app the master's application object holds the loaded Flask app.
    app = getattr(getattr(worker, "app", None), "callable", None)
    context = getattr(app, "extensions", {}).get("planfuse")
    if context is not None:
        context.db.engine.dispose(close=False)
        # Each worker sends the webhook deliveries that are due, whoever queued them (a
        # command, another worker); a delivery is claimed before it is sent.
        from planfuse.services.webhooks.delivery import dispatcher

        dispatcher(context)
        # And checks the health of the departments' remote services that are due; a check
        # is claimed before it is made, so each is checked once per interval.
        from planfuse.http.outbound import fetch
        from planfuse.services.remote.health import health_checker

        health_checker(context, fetch)


def _write_service_metrics(_server, worker) -> None:
    """A stopping worker writes its last service metrics and usage
    (planfuse.services.monitoring.metrics, planfuse.services.monitoring.limits)."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {})
    if "planfuse" in extensions:
        from planfuse.services.monitoring.limits import usage_recorder
        from planfuse.services.monitoring.metrics import metrics_recorder

        metrics_recorder(extensions["planfuse"]).flush()
        usage_recorder(extensions["planfuse"]).flush()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests one worker serves at once. CPU-bound traffic (compliance checks) has "
    "the shortest tail with one or two per worker and as many workers as cores.",
)
@cli_context
def serve(holder: CLIContext, host: str, port: int, workers: int, threads: int) -> None:
    """Run the server on gunicorn, after creating or upgrading the database."""
    from planfuse.app import check_production_settings

    ctx = holder.get()
    check_production_settings(ctx.settings)
    holder.close()
    click.echo(f"PlanFuse serving on http://{host}:{port}/", err=True)
    run_gunicorn(host, port, workers, threads)


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
    from planfuse.auth.apps import list_host_apps
    from planfuse.demo import load_demo
    from planfuse.services.admin_tokens import create_admin_token

    ctx = holder.get()
    load_demo(ctx, scale=scale, seed=seed, echo=lambda m: click.echo(m, err=True))
    _, admin_token = create_admin_token(ctx, "demo")
    # The sample host application: a second origin whose page embeds every widget.
    from planfuse.embed.host_app import start_demo_host

    server_url = ctx.settings.public_url or f"http://{host}:{port}"
    sample_host = start_demo_host(ctx, server_url, host, host_port)
    # The planted project reserve, for the sample host's signed-in user (projects widget).
    from planfuse.demo.reserve import load_demo_reserve
    from planfuse.embed.host_app import SAMPLE_APP_NAME, SAMPLE_USER

    sample_app = next(a for a in list_host_apps(ctx) if a.name == SAMPLE_APP_NAME)
    load_demo_reserve(ctx, sample_app.id, SAMPLE_USER["user_id"])
    holder.close()
    click.echo(f"PlanFuse demo: http://{host}:{port}/", err=True)
    click.echo(f"Sample host app (embeds every widget): {sample_host}", err=True)
    click.echo(
        f"Admin console: http://{host}:{port}/admin/ — sign in with this demo admin token "
        f"(shown once): {admin_token}",
        err=True,
    )
    run_gunicorn(host, port, workers)
