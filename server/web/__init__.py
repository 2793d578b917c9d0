"""The app's wiring, in one place to read top to bottom: JSON, the cache, the error handler,
request hooks and metrics, CORS and compression, then every area's routes, the widget
templates and the job runner. Nothing below imports this package.
"""

from __future__ import annotations

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from planfuse import admin, api, embed, ogc, ows
from planfuse.context import PlanFuse
from planfuse.http.json import OrjsonProvider
from planfuse.http.parsing import RecordIdConverter
from planfuse.services.runners import job_runner
from planfuse.web import health, home
from planfuse.web.cache import init_cache
from planfuse.web.compression import register_compression
from planfuse.web.cors import register_data_service_cors
from planfuse.web.errors import register_error_handlers
from planfuse.web.metrics import RequestMetrics
from planfuse.web.ranges import register_ranges
from planfuse.web.ratelimit import register_rate_limits
from planfuse.web.requests import register_request_hooks
from planfuse.web.service_gate import register_service_gate
from planfuse.widgets.registry import widget_registry


def register_web(app: Flask, context: PlanFuse) -> None:
    """Wire `app` to `context`: everything a request meets, in the order it meets it."""
    app.json = OrjsonProvider(app)
    # Before any route: `<int:id>` takes only ids the database can hold (else a 404).
    app.url_map.converters["int"] = RecordIdConverter
    init_cache(app, context.settings)
    register_error_handlers(app)
    register_rate_limits(app, context.settings)
    metrics = RequestMetrics(context)
    register_request_hooks(app, metrics)
    register_service_gate(app, context, metrics)
    register_data_service_cors(app, context.settings.data_cors_origins)
    register_ranges(app)  # before compression: runs after it
    register_compression(app)

    # Each area registers its own blueprints (the admin and embed areas serve their API
    # routes under /api/v1 on blueprints of their own).
    home.register(app)
    health.register(app)
    api.register(app)
    embed.register(app)
    admin.register(app)
    ogc.register(app)
    ows.register(app)

    # Load the widgets now, so a broken widget definition stops the start, not a request.
    registry = widget_registry(context)
    # A widget package may keep its page template in its own templates/ folder.
    widget_templates = [str(w.templates_dir) for w in registry if w.templates_dir]
    if widget_templates:
        app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(widget_templates)])

    # Background jobs: the runner starts no thread until a job is submitted; creating it
    # now fails the jobs a dead server process left queued or running (planfuse.services.jobs).
    job_runner(context)
