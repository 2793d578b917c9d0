"""Embed tokens: the JWT a host's backend signs to say "this user may open this widget".

Validation follows a fixed order so that nothing expensive or stateful happens for a token
that is obviously bad: size → structure and header → issuer lookup → signature with a key
from our registry (never from the token's `jku`, `jwk` or `x5u` headers) → every claim.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from planfuse.auth.apps import AppRecord, KeyRecord, current_secret, find_host_app
from planfuse.auth.keys import ALGORITHMS, oct_key, public_key
from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, Unauthenticated
from planfuse.widgets.registry import ParamError, check_locked_params, protocol, widget_registry

#: Tokens longer than this are refused before any decoding (8 KB).
MAX_TOKEN_BYTES = 8 * 1024
#: Clock skew tolerated on exp, nbf and iat, in seconds.
LEEWAY_S = 30
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti", "widget")
MAX_CLAIM_CHARS = 200
MAX_ROLES = 50
#: Header members we understand; `crit` naming anything else makes the token invalid.
UNDERSTOOD_HEADERS = frozenset({"alg", "typ", "kid", "cty", "jku", "jwk", "x5u", "x5c", "x5t"})


class TokenError(Unauthenticated):
    """An embed token that cannot be used, with a stable `code` (the problem `type`) and the
    Bearer challenge of RFC 6750 naming it."""

    def __init__(self, detail: str, code: str = "token_invalid"):
        super().__init__(
            detail,
            code=code,
            title="Token expired" if code == "token_expired" else "Invalid token",
            challenge=f'Bearer error="invalid_token", error_description="{code}"',
        )


@dataclass(frozen=True)
class EmbedClaims:
    """The checked content of an embed token."""

    app_id: str
    sub: str
    widget: str
    jti: str
    iat: int
    exp: int
    params: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    name: str | None = None
    dept: str | None = None
    locale: str | None = None
    kid: str | None = None


def _b64json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims without verification, only to find the issuer and key."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("the token is not a compact JWS (three dot-separated parts)")
    try:
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, UnicodeDecodeError):
        raise TokenError("the token's header or payload is not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("the token's header and payload must be JSON objects")
    return header, claims


def _candidate_keys(app: AppRecord, header: dict[str, Any]) -> list[KeyRecord]:
    alg = header.get("alg")
    allowed = sorted({k.alg for k in app.active_keys()})
    if alg not in ALGORITHMS or alg not in allowed:
        raise TokenError(
            f"algorithm {alg!r} is not allowed for app {app.id}; it accepts "
            f"{', '.join(allowed) or 'no algorithm (it has no active key)'}"
        )
    kid = header.get("kid")
    keys = [k for k in app.active_keys() if k.alg == alg]
    if kid is not None:
        if not isinstance(kid, str) or len(kid) > 100:
            raise TokenError("the token's kid header must be a short string")
        keys = [k for k in keys if k.kid == kid]
        if not keys:
            raise TokenError(f"app {app.id} has no active {alg} key with this kid")
    return keys


def _verify_signature(token: str, app: AppRecord, header: dict[str, Any]) -> dict[str, Any]:
    crit = header.get("crit")
    if crit is not None and (
        not isinstance(crit, list) or any(c not in UNDERSTOOD_HEADERS for c in crit)
    ):
        raise TokenError("the token marks header parameters critical that we do not support")
    for key in _candidate_keys(app, header):
        material = oct_key(key.secret) if key.secret else public_key(key.public_jwk or {})
        try:
            # Only this key, only its algorithm: no algorithm confusion, no embedded keys.
            decoded = jwt.decode(token, material, algorithms=[key.alg])
        except (JoseError, ValueError):
            continue
        if not isinstance(decoded.claims, dict):
            break
        return decoded.claims
    raise TokenError("the token's signature does not match any active key of the app")


def _str_claim(claims: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_CHARS:
        raise TokenError(f"claim {name!r} must be a string of 1–{MAX_CLAIM_CHARS} characters")
    return value


#: The latest NumericDate accepted (9999-12-31T23:59:59Z): later is no real time, and
#: JSON's Infinity, NaN or 1e400 (which Python reads as non-finite floats) are refused too.
MAX_NUMERIC_DATE = 253_402_300_799


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError(f"claim {name!r} must be a number of seconds since the epoch")
    # Written so that NaN fails too (every comparison with NaN is false).
    if not 0 <= value <= MAX_NUMERIC_DATE:
        raise TokenError(
            f"claim {name!r} must be a finite number of seconds since the epoch "
            f"(0 to {MAX_NUMERIC_DATE})"
        )
    return int(value)


def validate_embed_token(ctx: PlanFuse, token: Any, now: float | None = None) -> EmbedClaims:
    """Check an embed token completely; return its claims or raise TokenError.

    Every rule of issue 4: size ≤ 8 KB, an explicit per-app algorithm allow-list, keys only
    from our registry, all required claims, `aud` = the `token_audience` setting, 30 s
    leeway on exp/nbf/iat, lifetime ≤ `token_max_lifetime_s`, known and enabled issuer,
    tokens issued before the app's revoke time refused, widget allowed for the app, locked
    params valid for the widget.
    """
    header, app = _claimed_issuer(ctx, token)
    claims = _verify_signature(token, app, header)
    # From here on only the verified claims are used.
    _check_verified_claims(ctx, claims, app)
    exp, iat = _check_times(ctx, claims, app, time.time() if now is None else now)
    sub = _str_claim(claims, "sub", required=True)
    jti = _str_claim(claims, "jti", required=True)
    widget_name, params = _widget_and_params(ctx, claims, app)
    roles = _roles(claims)
    locale = _str_claim(claims, "locale")
    if locale is not None and locale not in protocol()["locales"]:
        raise TokenError(f"claim 'locale' must be one of {', '.join(protocol()['locales'])}")
    return EmbedClaims(
        app_id=app.id,
        sub=sub,
        widget=widget_name,
        jti=jti,
        iat=iat,
        exp=exp,
        params=params,
        roles=tuple(roles),
        name=_str_claim(claims, "name"),
        dept=_str_claim(claims, "dept"),
        locale=locale,
        kid=header.get("kid"),
    )


def _claimed_issuer(ctx: PlanFuse, token: Any) -> tuple[dict[str, Any], AppRecord]:
    """The token's header and the host app its (not yet verified) `iss` names, which must
    exist and be enabled; the token must be small ASCII with every required claim."""
    if not isinstance(token, str) or not token:
        raise TokenError("no token given")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError(f"the token is larger than {MAX_TOKEN_BYTES // 1024} KB")
    if not token.isascii():
        raise TokenError("the token contains characters outside base64url")
    header, unverified = _peek(token)
    missing = [c for c in REQUIRED_CLAIMS if c not in unverified]
    if missing:
        raise TokenError(f"the token lacks required claim(s): {', '.join(missing)}")
    iss = unverified.get("iss")
    app = find_host_app(ctx, iss) if isinstance(iss, str) else None
    if app is None:
        raise TokenError("the token's issuer (iss) is not a registered host app")
    if app.disabled:
        raise TokenError(f"host app {app.id} is disabled")
    return header, app


def _check_verified_claims(ctx: PlanFuse, claims: dict[str, Any], app: AppRecord) -> None:
    """Every required claim, the same issuer as before verification, our audience."""
    missing = [c for c in REQUIRED_CLAIMS if c not in claims]
    if missing:
        raise TokenError(f"the token lacks required claim(s): {', '.join(missing)}")
    if claims["iss"] != app.id:
        raise TokenError("the token's issuer changed between decoding and verification")
    aud = claims["aud"]
    audiences = aud if isinstance(aud, list) else [aud]
    if ctx.settings.token_audience not in audiences:
        raise TokenError(f"the token's audience must be {ctx.settings.token_audience!r}")


def _check_times(
    ctx: PlanFuse, claims: dict[str, Any], app: AppRecord, now: float
) -> tuple[int, int]:
    """(exp, iat) in seconds since the epoch: not expired, not issued or valid only in the
    future (LEEWAY_S either way), no longer-lived than `token_max_lifetime_s`, not revoked."""
    exp, iat = _int_claim(claims, "exp"), _int_claim(claims, "iat")
    if exp < now - LEEWAY_S:
        raise TokenError("the token has expired", code="token_expired")
    if iat > now + LEEWAY_S:
        raise TokenError("the token's iat lies in the future; check the host's clock")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + LEEWAY_S:
        raise TokenError("the token is not valid yet (nbf lies in the future)")
    max_lifetime_s = ctx.settings.token_max_lifetime_s
    if exp - iat > max_lifetime_s:
        raise TokenError(
            f"the token's lifetime (exp − iat = {exp - iat} s) is over the "
            f"{max_lifetime_s} s maximum"
        )
    if exp <= iat:
        raise TokenError("the token expires before it was issued")
    if app.revoked_before is not None and iat < app.revoked_before.timestamp():
        raise TokenError("the app revoked every token issued before this one's iat")
    return exp, iat


def _widget_and_params(
    ctx: PlanFuse, claims: dict[str, Any], app: AppRecord
) -> tuple[str, dict[str, Any]]:
    """The widget the token opens (registered, allowed for the app) and its locked params,
    valid for that widget."""
    widget_name = _str_claim(claims, "widget", required=True)
    widget = widget_registry(ctx).get(widget_name)
    if widget is None:
        raise TokenError(f"the token names widget {widget_name!r}, which does not exist")
    if not app.allows_widget(widget_name):
        raise TokenError(f"app {app.id} may not embed widget {widget_name!r}")
    try:
        return widget_name, check_locked_params(widget, claims.get("params"))
    except ParamError as exc:
        raise TokenError(f"the token's params are invalid: {exc.message}") from None


def _roles(claims: dict[str, Any]) -> list[str]:
    roles = claims.get("roles", [])
    if (
        not isinstance(roles, list)
        or len(roles) > MAX_ROLES
        or not all(isinstance(r, str) and 0 < len(r) <= 100 for r in roles)
    ):
        raise TokenError("claim 'roles' must be a list of short strings")
    return roles


def mint_embed_token(
    ctx: PlanFuse,
    app: AppRecord,
    *,
    widget: str,
    sub: str,
    params: dict[str, Any] | None = None,
    ttl_s: int | None = None,
    name: str | None = None,
    dept: str | None = None,
    roles: list[str] | None = None,
    locale: str | None = None,
) -> tuple[str, int]:
    """Sign an embed token with the app's current HS256 secret, as a host backend would.

    Used by `POST /api/v1/embed-tokens`, `planfuse token`, the admin preview and the demo.
    The result passes `validate_embed_token` under the same limits; returns (token, exp).
    """
    key = current_secret(app)
    if key is None or key.secret is None:
        raise Conflict(
            f"app {app.id} has no active shared secret to sign with; rotate one with "
            f"`planfuse apps rotate {app.id}` or sign tokens on the host with its private key",
            code="no_shared_secret",
            title="No shared secret",
        )
    max_ttl = ctx.settings.token_max_lifetime_s
    ttl = max_ttl if ttl_s is None else int(ttl_s)
    if not 1 <= ttl <= max_ttl:
        raise InvalidInput(
            f"ttl must be between 1 and {max_ttl} seconds (setting token_max_lifetime_s)",
            errors=[{"field": "ttl", "message": "out of range"}],
        )
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": app.id,
        "aud": ctx.settings.token_audience,
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
        "widget": widget,
    }
    optional = {"params": params, "name": name, "dept": dept, "roles": roles, "locale": locale}
    claims.update({k: v for k, v in optional.items() if v not in (None, [], {})})
    token = jwt.encode({"alg": "HS256", "kid": key.kid}, claims, oct_key(key.secret))
    # Check what we made under exactly the rules a host's token meets.
    validate_embed_token(ctx, token, now=now)
    return token, claims["exp"]
