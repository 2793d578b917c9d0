"""The admin console's host-app page (宿主应用): the registered apps with their origins,
widgets and keys, and every change the admin API offers, as cookie-and-CSRF routes.

Each route reads its JSON body with the admin API's own reader (`create_from_body`,
`update_from_body`, …) and so calls the same service in planfuse.auth.apps. Only the
create and rotate answers carry a secret, once, with `Cache-Control: no-store`.
"""

from __future__ import annotations

from flask import g, render_template, url_for

from planfuse.admin.api import (
    add_key_from_body,
    app_created,
    remove_key,
    revoke_from_body,
    rotate_from_body,
    update_from_body,
)
from planfuse.admin.views import (
    console_change,
    console_page,
    csrf_token,
    require_signed_in,
)
from planfuse.auth import apps as service
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.widgets.registry import widget_registry

routes = RouteTable()


def _apps() -> list[dict]:
    return [a.describe() for a in service.list_host_apps(planfuse())]


def _changed(app_id: str, status: int = 200, **extra):
    """The app as it is now (the page redraws its row from this), with `extra` fields."""
    app = service.get_host_app(planfuse(), app_id).describe()
    return json_response({"app": app, **extra}, status)


@routes.get("/apps")
@console_page
def apps_page():
    """The host-app table, the create form and the dialogs of every action."""
    ctx = planfuse()
    widgets = [{"name": w.name, "title": dict(w.title)} for w in widget_registry(ctx)]
    config = {
        "csrf_token": csrf_token(),
        "apps": _apps(),
        "widgets": widgets,
        "default_grace_s": ctx.settings.key_rotation_grace_s,
        "max_grace_s": service.MAX_ROTATION_GRACE_S,
        "list_url": url_for("admin.apps_json"),
        "create_url": url_for("admin.create_app"),
        "app_url": url_for("admin.apps_page") + "/APP_ID",
        "embed_url": url_for("admin.embed_page"),
    }
    return render_template("admin/apps.html", admin=g.admin, config=config)


@routes.get("/apps.json")
def apps_json():
    """The table's rows: never a secret, only each shared secret's fingerprint."""
    require_signed_in()
    return json_response({"apps": _apps()})


@routes.post("/apps/create")
@console_change
def create_app():
    """Register an app; the one answer that shows its secret."""
    return app_created(json_body(optional=True))


@routes.post("/apps/<app_id>/edit")
@console_change
def edit_app(app_id: str):
    """Change the name, origins or widgets (all checked before any is stored)."""
    body = json_body(optional=True)
    fields = {k: body[k] for k in ("name", "origins", "widgets") if k in body}
    return json_response({"app": update_from_body(app_id, fields).describe()})


@routes.post("/apps/<app_id>/rotate")
@console_change
def rotate_app_secret(app_id: str):
    """A new secret (shown once); the previous one works for `grace_s` more seconds."""
    kid, secret = rotate_from_body(app_id, json_body(optional=True))
    app = service.get_host_app(planfuse(), app_id).describe()
    return json_response(
        {"app_id": app_id, "kid": kid, "secret": secret, "app": app}, headers=NO_STORE
    )


@routes.post("/apps/<app_id>/disable")
@console_change
def disable_app(app_id: str):
    update_from_body(app_id, {"disabled": True})
    return _changed(app_id)


@routes.post("/apps/<app_id>/enable")
@console_change
def enable_app(app_id: str):
    update_from_body(app_id, {"disabled": False})
    return _changed(app_id)


@routes.post("/apps/<app_id>/revoke")
@console_change
def revoke_app_tokens(app_id: str):
    """Refuse every token of the app issued before now."""
    return _changed(app_id, revoked_before=revoke_from_body(app_id, {}))


@routes.post("/apps/<app_id>/keys")
@console_change
def add_app_key(app_id: str):
    """Register a public JWK (`{"jwk": {...}, "alg"?, "kid"?}`)."""
    return _changed(app_id, 201, kid=add_key_from_body(app_id, json_body(optional=True)))


@routes.post("/apps/<app_id>/keys/<kid>/remove")
@console_change
def remove_app_key(app_id: str, kid: str):
    remove_key(app_id, kid)
    return _changed(app_id)
