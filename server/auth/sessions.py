"""Widget sessions: one embed token, exchanged once, becomes a short-lived session token.

The session token is signed by the server (HS256 with a key derived from the secret key),
held in the widget's memory only and sent as `Authorization: Bearer`. It carries the app,
the user, the widget, the roles and the locked params, so every later request is checked
without trusting anything the browser says.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from planfuse.auth.apps import find_host_app
from planfuse.auth.tokens import LEEWAY_S, EmbedClaims, TokenError
from planfuse.context import PlanFuse
from planfuse.errors import Unavailable
from planfuse.signing.secret import derived_key
from planfuse.storage.models import EmbedTokenUse
from planfuse.storage.models.base import utcnow

SESSION_TYPE = "pf-session"
SESSION_ISSUER = "planfuse"
#: Distinct label so this key differs from anything else derived from the secret key.
SESSION_KEY_LABEL = b"planfuse/embed-session/v1"
#: Session tokens are small; anything longer is not one of ours.
MAX_SESSION_TOKEN_BYTES = 8 * 1024
#: On roughly one exchange in this many, expired replay-store rows are deleted.
PRUNE_ONE_IN = 200
KEY_EXTRA = "session_key"


@dataclass(frozen=True)
class WidgetSession:
    """The verified content of a session token."""

    app_id: str
    sub: str
    widget: str
    exp: int
    iat: int
    embed_iat: int
    params: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    name: str | None = None
    dept: str | None = None
    locale: str | None = None


def session_key(ctx: PlanFuse) -> OctKey:
    key = ctx.extras.get(KEY_EXTRA)
    if key is None:
        key = ctx.extras[KEY_EXTRA] = OctKey.import_key(derived_key(ctx, SESSION_KEY_LABEL))
    return key


def consume_jti(ctx: PlanFuse, claims: EmbedClaims) -> None:
    """Record the token's `jti`; a second use is refused (TokenError).

    The unique key in the database decides, so two server processes racing on the same
    token cannot both win. If the store cannot be written the exchange fails (Unavailable): an
    unrecorded token could be replayed, so we fail closed.
    """
    expires = datetime.fromtimestamp(claims.exp + LEEWAY_S, UTC)
    try:
        with ctx.db.session() as session:
            session.add(EmbedTokenUse(app_id=claims.app_id, jti=claims.jti, expires_at=expires))
            session.flush()
    except IntegrityError:
        raise TokenError("this token was already used (its jti was seen before)") from None
    except SQLAlchemyError:
        raise Unavailable(
            "the token could not be recorded as used, so it is refused; retry with a new token",
            code="replay_store_unavailable",
            retry_after_s=5,
        ) from None
    if random.randrange(PRUNE_ONE_IN) == 0:
        prune_replay_store(ctx)


def prune_replay_store(ctx: PlanFuse) -> int:
    """Delete replay-store rows whose tokens have expired anyway; returns how many."""
    try:
        with ctx.db.session() as session:
            result = session.execute(
                delete(EmbedTokenUse).where(EmbedTokenUse.expires_at < utcnow())
            )
            return result.rowcount or 0
    except SQLAlchemyError:
        return 0


def issue_session(ctx: PlanFuse, claims: EmbedClaims) -> tuple[str, int]:
    """A session token for checked embed-token claims; returns (token, exp)."""
    now = int(time.time())
    lifetime = ctx.settings.session_lifetime_s
    payload: dict[str, Any] = {
        "typ": SESSION_TYPE,
        "iss": SESSION_ISSUER,
        "app": claims.app_id,
        "sub": claims.sub,
        "widget": claims.widget,
        "params": claims.params,
        "roles": list(claims.roles),
        "iat": now,
        "exp": now + lifetime,
        "eiat": claims.iat,
        "jti": secrets.token_urlsafe(12),
    }
    for name in ("name", "dept", "locale"):
        value = getattr(claims, name)
        if value is not None:
            payload[name] = value
    token = jwt.encode({"alg": "HS256"}, payload, session_key(ctx))
    return token, payload["exp"]


def exchange_embed_token(ctx: PlanFuse, claims: EmbedClaims) -> dict[str, Any]:
    """Spend a validated embed token: record its jti, then issue a session."""
    consume_jti(ctx, claims)
    token, exp = issue_session(ctx, claims)
    return {
        "session_token": token,
        "expires_at": exp,
        "expires_in": exp - int(time.time()),
        "app": claims.app_id,
        "widget": claims.widget,
        "user": {
            "sub": claims.sub,
            "name": claims.name,
            "dept": claims.dept,
            "roles": list(claims.roles),
        },
        "params": claims.params,
        "locale": claims.locale,
    }


def verify_session(ctx: PlanFuse, token: str, now: float | None = None) -> WidgetSession:
    """The session behind a session token, or TokenError.

    The app is looked up again on every call: disabling an app or revoking its tokens ends
    its running sessions at once.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_SESSION_TOKEN_BYTES:
        raise TokenError("no valid session token")
    try:
        decoded = jwt.decode(token, session_key(ctx), algorithms=["HS256"])
    except (JoseError, ValueError):
        raise TokenError("the session token is not valid") from None
    claims = decoded.claims
    if not isinstance(claims, dict) or claims.get("typ") != SESSION_TYPE:
        raise TokenError("the bearer token is not a widget session token")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < now:
        raise TokenError("the widget session has expired", code="token_expired")
    app = find_host_app(ctx, claims.get("app"))
    if app is None or app.disabled:
        raise TokenError("the session's host app is unknown or disabled")
    if app.revoked_before is not None and claims["eiat"] < app.revoked_before.timestamp():
        raise TokenError("the app revoked this session's token")
    if not app.allows_widget(claims["widget"]):
        raise TokenError(f"app {app.id} may no longer embed widget {claims['widget']!r}")
    return WidgetSession(
        app_id=claims["app"],
        sub=claims["sub"],
        widget=claims["widget"],
        exp=exp,
        iat=claims["iat"],
        embed_iat=claims["eiat"],
        params=dict(claims.get("params") or {}),
        roles=tuple(claims.get("roles") or ()),
        name=claims.get("name"),
        dept=claims.get("dept"),
        locale=claims.get("locale"),
    )
