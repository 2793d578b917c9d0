"""Everything that wires PlanFuse into Flask, in one place to read top to bottom."""

from __future__ import annotations

from flask import Flask

from planfuse.context import PlanFuse


def register_web(app: Flask, context: PlanFuse) -> None:
    from planfuse.web.cache import init_cache
    from planfuse.web.compression import register_compression
    from planfuse.web.cors import register_data_service_cors
    from planfuse.web.errors import register_error_handlers
    from planfuse.web.json import OrjsonProvider
    from planfuse.web.requests import register_request_hooks

    app.json = OrjsonProvider(app)
    init_cache(app, context.settings)
    register_error_handlers(app)
    from planfuse.web.metrics import RequestMetrics

    register_request_hooks(app, RequestMetrics(context))
    register_data_service_cors(app, context.settings.data_cors_origins)
    register_compression(app)

    # One blueprint per area.
    from planfuse.admin.views import admin_bp
    from planfuse.api import api_bp
    from planfuse.embed.views import embed_bp
    from planfuse.ogc import ogc_bp, tiles_bp
    from planfuse.web.health import health_bp
    from planfuse.web.home import home_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(ogc_bp)
    app.register_blueprint(tiles_bp)

    # Load the widgets now, so a broken widget definition stops the start, not a request.
    from planfuse.embed.registry import widget_registry

    registry = widget_registry(context)
    # A widget package may keep its page template in its own templates/ folder.
    widget_templates = [str(w.templates_dir) for w in registry if w.templates_dir]
    if widget_templates:
        from jinja2 import ChoiceLoader, FileSystemLoader

        app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(widget_templates)])

    # Background jobs: the runner starts no thread until a job is submitted; creating it
    # now fails the jobs a dead server process left queued or running (planfuse.services.jobs).
    from planfuse.services.jobs import job_runner

    job_runner(context)
