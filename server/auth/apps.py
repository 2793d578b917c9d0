"""Host apps: create, list, rotate, disable, revoke — the service behind the CLI and admin API."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planfuse.auth.keys import (
    KeyRegistrationError,
    check_public_jwk,
    fingerprint,
    generate_secret,
    new_kid,
)
from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.signing.at_rest import open_app_secret, seal_app_secret
from planfuse.signing.secret import base_secret
from planfuse.storage.models import HostApp, HostAppKey
from planfuse.storage.models.base import utcnow
from planfuse.widgets.registry import widget_registry

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 50
#: Longest a rotated-out secret may keep working: a longer overlap defeats the rotation.
MAX_ROTATION_GRACE_S = 30 * 86400


@dataclass(frozen=True)
class KeyRecord:
    kid: str
    alg: str
    secret: str | None
    public_jwk: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or _aware(self.expires_at) > now

    def describe(self) -> dict[str, Any]:
        """What listings show: never the secret itself."""
        return {
            "kid": self.kid,
            "alg": self.alg,
            "type": "shared_secret" if self.secret else "public_key",
            "fingerprint": fingerprint(self.secret) if self.secret else None,
            "public_jwk": self.public_jwk,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class AppRecord:
    """A host app as token validation and the APIs see it (a detached snapshot)."""

    id: str
    name: str
    origins: tuple[str, ...]
    widgets: tuple[str, ...]
    disabled: bool
    revoked_before: datetime | None
    keys: tuple[KeyRecord, ...]
    created_at: datetime

    def allows_widget(self, name: str) -> bool:
        return not self.widgets or name in self.widgets

    def active_keys(self, now: datetime | None = None) -> list[KeyRecord]:
        now = now or utcnow()
        return [k for k in self.keys if k.active(now)]

    def describe(self) -> dict[str, Any]:
        return {
            "app_id": self.id,
            "name": self.name,
            "origins": list(self.origins),
            "widgets": list(self.widgets),
            "disabled": self.disabled,
            "revoked_before": self.revoked_before,
            "created_at": self.created_at,
            "keys": [k.describe() for k in self.keys],
        }


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(ctx: PlanFuse, app: HostApp) -> AppRecord:
    return AppRecord(
        id=app.id,
        name=app.name,
        origins=tuple(app.origins or ()),
        widgets=tuple(app.widgets or ()),
        disabled=app.disabled,
        revoked_before=_aware(app.revoked_before) if app.revoked_before else None,
        created_at=_aware(app.created_at),
        keys=tuple(
            KeyRecord(
                kid=k.kid,
                alg=k.alg,
                secret=open_app_secret(base_secret(ctx), app.id, k.kid, k.secret)
                if k.secret
                else None,
                public_jwk=k.public_jwk,
                created_at=_aware(k.created_at),
                expires_at=_aware(k.expires_at) if k.expires_at else None,
            )
            for k in app.keys
        ),
    )


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]` as browsers serialise `location.origin` (default port dropped).

    Anything else (a path, a query, credentials, a wildcard, another scheme) is refused: an
    allowed origin is matched exactly, never by prefix or pattern.
    """
    text = (origin or "").strip()
    parts = urlsplit(text)
    problem = None
    if parts.scheme not in DEFAULT_PORTS:
        problem = "must start with http:// or https://"
    elif not parts.hostname or "*" in text:
        problem = "must name one host (no wildcards)"
    elif parts.username or parts.password:
        problem = "must not contain credentials"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "must not have a path, query or fragment"
    if problem is None:
        try:
            port = parts.port
        except ValueError:
            port = None
            problem = "has an invalid port"
    if problem:
        raise InvalidInput(
            f"origin {origin!r} {problem}; write it as scheme://host:port, e.g. "
            "https://portal.example.gov.cn or http://127.0.0.1:8001",
            field="origins",
            code="invalid_origin",
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _origins(origins: Iterable[str]) -> list[str]:
    result = list(dict.fromkeys(normalise_origin(o) for o in origins))
    if not result:
        raise InvalidInput(
            "a host app needs at least one allowed origin (--origin https://host:port)",
            field="origins",
            code="invalid_origin",
        )
    if len(result) > MAX_ORIGINS:
        raise InvalidInput(f"at most {MAX_ORIGINS} origins per app", field="origins")
    return result


def _widgets(ctx: PlanFuse, widgets: Iterable[str]) -> list[str]:
    registry = widget_registry(ctx)
    result = list(dict.fromkeys(widgets))
    unknown = [w for w in result if w not in registry]
    if unknown:
        known = ", ".join(registry.names()) or "(none registered)"
        raise InvalidInput(
            f"unknown widget(s) {', '.join(map(repr, unknown))}; expected any of {known}",
            field="widgets",
            code="unknown_widget",
        )
    return result


def _load(session: Session, app_id: str) -> HostApp:
    app = session.scalars(
        select(HostApp).where(HostApp.id == app_id).options(selectinload(HostApp.keys))
    ).first()
    if app is None:
        raise NotFound("host app", app_id)
    return app


def create_host_app(
    ctx: PlanFuse,
    name: str,
    origins: Iterable[str],
    widgets: Iterable[str] = (),
    *,
    with_secret: bool = True,
) -> tuple[AppRecord, str | None]:
    """Register a host app; returns it and its new HS256 secret (shown to the caller once)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("the app needs a name of 1–200 characters", field="name")
    clean_origins = _origins(origins)
    clean_widgets = _widgets(ctx, widgets)
    secret = generate_secret() if with_secret else None
    with ctx.db.session() as session:
        app = HostApp(
            id="app_" + secrets.token_hex(8),
            name=name,
            origins=clean_origins,
            widgets=clean_widgets,
            disabled=False,
        )
        if secret:
            kid = new_kid("hs")
            sealed = seal_app_secret(base_secret(ctx), app.id, kid, secret)
            app.keys.append(HostAppKey(kid=kid, alg="HS256", secret=sealed))
        session.add(app)
        session.flush()
        return _record(ctx, app), secret


def list_host_apps(ctx: PlanFuse) -> list[AppRecord]:
    with ctx.db.session() as session:
        apps = session.scalars(
            select(HostApp).options(selectinload(HostApp.keys)).order_by(HostApp.created_at)
        ).all()
        return [_record(ctx, a) for a in apps]


def get_host_app(ctx: PlanFuse, app_id: str) -> AppRecord:
    with ctx.db.session() as session:
        return _record(ctx, _load(session, app_id))


def find_host_app(ctx: PlanFuse, app_id: str) -> AppRecord | None:
    """The app, or None when `app_id` is unknown (never raises for odd input)."""
    if not isinstance(app_id, str) or not app_id or len(app_id) > 40:
        return None
    with ctx.db.session() as session:
        app = session.scalars(
            select(HostApp).where(HostApp.id == app_id).options(selectinload(HostApp.keys))
        ).first()
        return _record(ctx, app) if app else None


def update_host_app(
    ctx: PlanFuse,
    app_id: str,
    *,
    name: str | None = None,
    origins: Iterable[str] | None = None,
    widgets: Iterable[str] | None = None,
    disabled: bool | None = None,
) -> AppRecord:
    with ctx.db.write_session() as session:
        app = _load(session, app_id)
        if name is not None:
            if not name.strip() or len(name) > 200:
                raise InvalidInput("the app needs a name of 1–200 characters", field="name")
            app.name = name.strip()
        if origins is not None:
            app.origins = _origins(origins)
        if widgets is not None:
            app.widgets = _widgets(ctx, widgets)
        if disabled is not None:
            app.disabled = bool(disabled)
        session.flush()
        return _record(ctx, app)


def rotate_secret(ctx: PlanFuse, app_id: str, grace_s: int | None = None) -> tuple[str, str]:
    """Give the app a new HS256 secret; earlier secrets stop working after `grace_s`.

    Returns (kid, secret). During the grace period a host signs with the new secret (and
    its `kid`) while tokens signed with the old one are still accepted.
    """
    grace = ctx.settings.key_rotation_grace_s if grace_s is None else grace_s
    if grace < 0:
        raise InvalidInput("the grace period cannot be negative", field="grace_s")
    if grace > MAX_ROTATION_GRACE_S:
        raise InvalidInput(
            f"the grace period is at most {MAX_ROTATION_GRACE_S} s (30 days)", field="grace_s"
        )
    now = utcnow()
    secret = generate_secret()
    kid = new_kid("hs")
    with ctx.db.write_session() as session:
        app = _load(session, app_id)
        for key in app.keys:
            if key.alg == "HS256" and (key.expires_at is None or _aware(key.expires_at) > now):
                key.expires_at = now + timedelta(seconds=grace)
        sealed = seal_app_secret(base_secret(ctx), app_id, kid, secret)
        app.keys.append(HostAppKey(kid=kid, alg="HS256", secret=sealed))
    return kid, secret


def add_public_key(
    ctx: PlanFuse, app_id: str, jwk: Any, alg: str | None = None, kid: str | None = None
) -> str:
    """Register a public JWK (ES256 or RS256) for the app; returns its `kid`."""
    if isinstance(jwk, dict):
        alg = alg or jwk.get("alg") or ("ES256" if jwk.get("kty") == "EC" else "RS256")
        kid = kid or jwk.get("kid")
    try:
        public = check_public_jwk(jwk, alg or "")
    except KeyRegistrationError as exc:
        raise InvalidInput(str(exc), field="jwk", code="invalid_key") from None
    kid = kid or new_kid(alg.lower())
    if not isinstance(kid, str) or not 1 <= len(kid) <= 100:
        raise InvalidInput("kid must be a string of 1–100 characters", field="kid")
    with ctx.db.session() as session:
        app = _load(session, app_id)
        if any(k.kid == kid for k in app.keys):
            raise Conflict(f"app {app_id} already has a key {kid!r}")
        app.keys.append(HostAppKey(kid=kid, alg=alg, public_jwk=public))
    return kid


def remove_key(ctx: PlanFuse, app_id: str, kid: str) -> None:
    with ctx.db.session() as session:
        app = _load(session, app_id)
        key = next((k for k in app.keys if k.kid == kid), None)
        if key is None:
            raise NotFound("key", kid)
        app.keys.remove(key)


def revoke_tokens(ctx: PlanFuse, app_id: str, before: datetime | None = None) -> datetime:
    """Refuse every token of the app issued before `before` (default: now)."""
    instant = before or utcnow()
    with ctx.db.session() as session:
        _load(session, app_id).revoked_before = instant
    return instant


def current_secret(app: AppRecord) -> KeyRecord | None:
    """The newest active HS256 key: the one the server signs with when it mints tokens."""
    keys = [k for k in app.active_keys() if k.secret]
    return keys[-1] if keys else None


def check_app_secret(app: AppRecord, secret: str) -> bool:
    """True when `secret` is one of the app's active HS256 secrets (constant time)."""
    matched = False
    for key in app.active_keys():
        if key.secret and hmac.compare_digest(key.secret.encode(), secret.encode()):
            matched = True
    return matched
