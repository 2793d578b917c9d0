"""Who is calling a function service, and what the embed token locked.

Every function-service endpoint (compliance, siting, conflicts, ledgers, …) starts with

    caller = require_caller(widget="compliance")      # planfuse.http.caller
    values = apply_locked_params(caller, request_values)

`authenticate` accepts a widget session token (`Authorization: Bearer …`, from the widget
runtime) or HTTP Basic `app_id:secret` (a host's backend calling server to server).
`apply_locked_params` refuses (Forbidden) a request that contradicts a parameter the host locked
in the embed token, and fills locked values in.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from planfuse.auth.apps import check_app_secret, find_host_app
from planfuse.auth.sessions import verify_session
from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of a function service.

    app_id   the host app every result must be scoped to
    user     the host's user id (`sub`), None for server-to-server calls
    roles    roles the host gave the user (e.g. "reviewer", "coordinator")
    params   the parameters locked by the embed token
    via      "session" (widget) or "basic" (host backend)
    widget   the widget the session belongs to (None for "basic")
    """

    app_id: str
    user: str | None
    roles: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    via: Literal["session", "basic"] = "session"
    widget: str | None = None
    name: str | None = None
    dept: str | None = None
    locale: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def credentials(authorization: str | None) -> tuple[str, str]:
    """The scheme (lower case) and the credentials of an `Authorization` header value:
    ``"Bearer abc"`` → ``("bearer", "abc")``; ``("", "")`` without a header."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    return scheme.lower(), value.strip()


def unauthorized(detail: str) -> Unauthenticated:
    """The error of a request without usable credentials, offering both schemes a function
    or data service accepts (a session token or HTTP Basic)."""
    return Unauthenticated(detail, challenge='Bearer realm="planfuse", Basic realm="planfuse"')


def _basic_credentials(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    app_id, sep, secret = decoded.partition(":")
    return (app_id, secret) if sep and app_id and secret else None


def authenticate_basic(ctx: PlanFuse, header_value: str) -> Caller:
    """A host backend's Basic `app_id:secret` credentials, checked; else Unauthenticated."""
    creds = _basic_credentials(header_value)
    if creds is None:
        raise unauthorized("malformed Basic credentials; send base64(app_id:secret)")
    app = find_host_app(ctx, creds[0])
    # The same answer for unknown app, disabled app and wrong secret: nothing to probe.
    if app is None or app.disabled or not check_app_secret(app, creds[1]):
        raise unauthorized("unknown app, disabled app or wrong secret")
    return Caller(app_id=app.id, user=None, via="basic")


def authenticate(ctx: PlanFuse, authorization: str | None, widget: str | None = None) -> Caller:
    """The caller behind an `Authorization` header value (no Flask needed; tested directly)."""
    scheme, value = credentials(authorization)
    if scheme == "bearer" and value:
        session = verify_session(ctx, value)
        if widget is not None and session.widget != widget:
            raise Forbidden(f"this session belongs to widget {session.widget!r}, not {widget!r}")
        return Caller(
            app_id=session.app_id,
            user=session.sub,
            roles=session.roles,
            params=session.params,
            via="session",
            widget=session.widget,
            name=session.name,
            dept=session.dept,
            locale=session.locale,
        )
    if scheme == "basic" and value:
        return authenticate_basic(ctx, value)
    raise unauthorized(
        "send a widget session token (Authorization: Bearer …) or the host app's "
        "credentials (HTTP Basic app_id:secret)"
    )


def _same(locked: Any, requested: Any) -> bool:
    if locked == requested:
        return True
    # Query strings carry text: "42" asks for the same project as 42.
    scalar = str | int | float
    return (
        isinstance(locked, scalar)
        and isinstance(requested, scalar)
        and not isinstance(locked, bool)
        and str(locked) == str(requested)
    )


def apply_locked_params(caller: Caller, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the caller's locked params filled in; Forbidden if a value contradicts one.

    A request may repeat a locked value but never change it: nothing the host page or the
    user does in the browser widens what the host's backend signed.
    """
    conflicts = [
        {
            "field": name,
            "message": f"parameter {name!r} is locked to {locked!r} by the embed token",
        }
        for name, locked in caller.params.items()
        if name in values and values[name] is not None and not _same(locked, values[name])
    ]
    if conflicts:
        names = ", ".join(c["field"] for c in conflicts)
        raise Forbidden(
            f"the request contradicts parameter(s) locked by the host: {names}", errors=conflicts
        )
    return {**values, **caller.params}
