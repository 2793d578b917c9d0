"""Admin single sign-on (单点登录) with OpenID Connect: the authorization code flow with
PKCE, for the admin console.

`begin_sign_in` makes the authorization request (state, nonce and an S256 code challenge,
built with authlib) and a `LoginFlow` the browser keeps sealed in a cookie;
`finish_sign_in` checks the state against that flow (and that it was never used before:
the replay store), exchanges the code with the client secret and the code verifier, and
validates the ID token: its signature against the issuer's JWKS, the issuer, the audience
(and `azp`), the times and the nonce. The claim `oidc_role_claim` (e.g. `groups`) maps the
person to a console role; someone in neither group is refused.

Settings: `oidc_issuer` (PLANFUSE_OIDC_ISSUER; empty turns single sign-on off),
`oidc_client_id`, `oidc_client_secret`, `oidc_scopes`, `oidc_role_claim`,
`oidc_admin_groups`, `oidc_viewer_groups`. The issuer's documents (discovery, JWKS) are
fetched with the standard library and cached; nothing is fetched while signing in with
an admin token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, InvalidInput, Unavailable
from planfuse.services.admin_tokens import Admin
from planfuse.signing.secret import derived_key
from planfuse.storage.models import EmbedTokenUse
from planfuse.storage.models.base import utcnow

#: How long a sign-in may take between leaving for the issuer and coming back.
FLOW_LIFETIME_S = 600
#: Clock difference allowed when checking the ID token's times.
LEEWAY_S = 60
#: Discovery and JWKS are fetched again after this long (a new key is fetched at once).
METADATA_TTL_S = 3600
HTTP_TIMEOUT_S = 10
ALGORITHMS = ["RS256", "ES256", "PS256"]
FLOW_KEY_LABEL = b"planfuse/admin-sso-flow/v1"
#: The replay store's "app" for used states (its rows are pruned with the embed tokens').
REPLAY_APP = "oidc-state"

_fetch_lock = threading.Lock()


def _refused(message: str) -> Forbidden:
    return Forbidden(f"single sign-on refused: {message}", code="sso_refused")


@dataclass(frozen=True)
class SSOConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    role_claim: str
    admin_groups: tuple[str, ...]
    viewer_groups: tuple[str, ...]


def sso_config(ctx: PlanFuse) -> SSOConfig | None:
    """The single sign-on settings, or None when `oidc_issuer` is empty. InvalidInput when
    the issuer is not https (loopback addresses excepted) or the client is not set."""
    s = ctx.settings
    if not s.oidc_issuer:
        return None
    issuer = s.oidc_issuer.rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
        raise InvalidInput(
            f"oidc_issuer {issuer!r} must be an https URL (http only on a loopback address)",
            field="oidc_issuer",
        )
    if not s.oidc_client_id or not s.oidc_client_secret:
        raise InvalidInput(
            "single sign-on needs PLANFUSE_OIDC_CLIENT_ID and PLANFUSE_OIDC_CLIENT_SECRET "
            "(the console's client at the issuer)",
            field="oidc_client_id",
        )
    return SSOConfig(
        issuer=issuer,
        client_id=s.oidc_client_id,
        client_secret=s.oidc_client_secret,
        scopes=s.oidc_scopes,
        role_claim=s.oidc_role_claim,
        admin_groups=tuple(s.oidc_admin_groups),
        viewer_groups=tuple(s.oidc_viewer_groups),
    )


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _allowed_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))


def _http_json(url: str, data: bytes | None = None, headers: dict[str, str] | None = None):
    if not _allowed_url(url):
        raise _refused(f"the issuer's URL {url!r} is not https")
    # Only https (or http on loopback) reaches here: checked just above.
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        raise _refused(f"the issuer answered {exc.code} at {url}: {detail[:300]}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise Unavailable(
            f"the single sign-on issuer cannot be reached at {url} ({exc}); sign in with an "
            "admin token meanwhile",
            code="sso_unavailable",
        ) from None
    try:
        value = json.loads(body)
    except ValueError:
        raise _refused(f"the issuer's answer at {url} is not JSON") from None
    if not isinstance(value, dict):
        raise _refused(f"the issuer's answer at {url} is not a JSON object")
    return value


def _cached(ctx: PlanFuse, key: str, fetch, *, refresh: bool = False) -> dict[str, Any]:
    cache: dict[str, tuple[float, dict[str, Any]]] = ctx.shared("admin_sso_cache", dict)
    hit = cache.get(key)
    if hit is not None and not refresh and time.monotonic() - hit[0] < METADATA_TTL_S:
        return hit[1]
    with _fetch_lock:
        value = fetch()
        cache[key] = (time.monotonic(), value)
    return value


def provider_metadata(ctx: PlanFuse, config: SSOConfig) -> dict[str, Any]:
    """The issuer's discovery document; its `issuer` must be the configured one exactly."""

    def fetch() -> dict[str, Any]:
        meta = _http_json(config.issuer + "/.well-known/openid-configuration")
        if meta.get("issuer", "").rstrip("/") != config.issuer:
            raise _refused(f"the discovery document names issuer {meta.get('issuer')!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(meta.get(name), str):
                raise _refused(f"the discovery document has no {name}")
        return meta

    return _cached(ctx, "metadata:" + config.issuer, fetch)


def _jwks(ctx: PlanFuse, config: SSOConfig, *, refresh: bool = False) -> KeySet:
    uri = provider_metadata(ctx, config)["jwks_uri"]
    raw = _cached(ctx, "jwks:" + uri, lambda: _http_json(uri), refresh=refresh)
    try:
        return KeySet.import_key_set(raw)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise _refused("the issuer's JWKS cannot be read") from None


@dataclass(frozen=True)
class LoginFlow:
    """What the callback checks: kept in the browser, sealed (it holds the PKCE verifier)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    expires_at: float


def _flow_key(ctx: PlanFuse) -> AESGCM:
    return AESGCM(derived_key(ctx, FLOW_KEY_LABEL))


def seal_flow(ctx: PlanFuse, flow: LoginFlow) -> str:
    nonce = generate_token(12).encode()[:12]
    sealed = _flow_key(ctx).encrypt(nonce, orjson.dumps(asdict(flow)), b"admin-sso")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def open_flow(ctx: PlanFuse, value: str) -> LoginFlow | None:
    """The flow of a cookie value; None when missing, tampered with or made by another
    server key."""
    if not value or len(value) > 2000:
        return None
    try:
        raw = base64.urlsafe_b64decode(value.encode())
        return LoginFlow(**orjson.loads(_flow_key(ctx).decrypt(raw[:12], raw[12:], b"admin-sso")))
    except (InvalidTag, ValueError, TypeError, orjson.JSONDecodeError):
        return None


def begin_sign_in(ctx: PlanFuse, redirect_uri: str) -> tuple[str, LoginFlow]:
    """The issuer's authorization URL to send the browser to, and the flow to keep."""
    config = sso_config(ctx)
    if config is None:
        raise InvalidInput("single sign-on is not configured (PLANFUSE_OIDC_ISSUER)")
    meta = provider_metadata(ctx, config)
    flow = LoginFlow(
        state=generate_token(32),
        nonce=generate_token(32),
        code_verifier=generate_token(64),
        redirect_uri=redirect_uri,
        expires_at=time.time() + FLOW_LIFETIME_S,
    )
    url = prepare_grant_uri(
        meta["authorization_endpoint"],
        config.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=config.scopes,
        state=flow.state,
        nonce=flow.nonce,
        code_challenge=create_s256_code_challenge(flow.code_verifier),
        code_challenge_method="S256",
    )
    return url, flow


def _consume_state(ctx: PlanFuse, state: str, expires_at: float) -> None:
    from datetime import UTC, datetime

    digest = hashlib.sha256(state.encode()).hexdigest()
    try:
        with ctx.db.session() as session:
            session.add(
                EmbedTokenUse(
                    app_id=REPLAY_APP,
                    jti=digest,
                    expires_at=datetime.fromtimestamp(expires_at + LEEWAY_S, UTC),
                    used_at=utcnow(),
                )
            )
            session.flush()
    except IntegrityError:
        raise _refused("this sign-in's state was already used; start again") from None


def _exchange_code(ctx: PlanFuse, config: SSOConfig, flow: LoginFlow, code: str) -> str:
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=flow.redirect_uri,
        code_verifier=flow.code_verifier,
    )
    basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
    answer = _http_json(
        provider_metadata(ctx, config)["token_endpoint"],
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        },
    )
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise _refused("the issuer's token answer has no id_token")
    return id_token


def validate_id_token(
    ctx: PlanFuse, config: SSOConfig, token: str, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The ID token's claims once its signature (the issuer's JWKS), issuer, audience,
    authorised party, times and nonce are right; Forbidden naming what is wrong."""
    try:
        header = jwt.decode(token, _jwks(ctx, config), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        # An unknown kid may be a key the issuer rotated in: fetch the JWKS once more.
        try:
            header = jwt.decode(token, _jwks(ctx, config, refresh=True), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            raise _refused(f"the ID token's signature does not verify ({exc})") from None
    claims = header.claims
    now = time.time() if now is None else now
    if claims.get("iss") != config.issuer and claims.get("iss") != config.issuer + "/":
        raise _refused(f"the ID token's issuer {claims.get('iss')!r} is not {config.issuer}")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.client_id not in audiences:
        raise _refused(f"the ID token is for audience {audience!r}, not {config.client_id!r}")
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != config.client_id:
        raise _refused(f"the ID token's authorised party {claims.get('azp')!r} is not this console")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _finite(exp) or not _finite(iat):
        raise _refused("the ID token has no valid exp or iat")
    if exp + LEEWAY_S < now:
        raise _refused("the ID token has expired")
    if iat - LEEWAY_S > now:
        raise _refused("the ID token was issued in the future")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
        raise _refused("the ID token's nonce is not this sign-in's")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _refused("the ID token names no subject")
    return claims


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e11


def admin_from_claims(config: SSOConfig, claims: dict[str, Any]) -> Admin:
    """The console admin for validated claims: the role from `role_claim` (admin wins over
    viewer); Forbidden for someone in neither group."""
    values = claims.get(config.role_claim)
    groups = {values} if isinstance(values, str) else set(values or ())
    if groups & set(config.admin_groups):
        role = "admin"
    elif groups & set(config.viewer_groups):
        role = "viewer"
    else:
        raise _refused(
            f"{claims.get('email') or claims['sub']} is in none of the console's groups "
            f"({', '.join((*config.admin_groups, *config.viewer_groups))}) in claim "
            f"{config.role_claim!r}; ask the identity provider's administrator"
        )
    name = next(
        (
            claims[n]
            for n in ("name", "preferred_username", "email")
            if isinstance(claims.get(n), str)
        ),
        claims["sub"],
    )
    return Admin(id=f"oidc:{claims['sub']}"[:240], name=str(name)[:200], role=role)


def finish_sign_in(
    ctx: PlanFuse, flow: LoginFlow | None, *, code: str | None, state: str | None
) -> Admin:
    """The admin who came back from the issuer with `code` and `state`; Forbidden when the
    state is not this browser's flow (or was used before), the flow expired, or the ID
    token is not right."""
    config = sso_config(ctx)
    if config is None:
        raise InvalidInput("single sign-on is not configured (PLANFUSE_OIDC_ISSUER)")
    if flow is None:
        raise _refused("this browser did not start a sign-in (or its cookie expired); start again")
    if not isinstance(state, str) or not hmac.compare_digest(state, flow.state):
        raise _refused("the state does not match this browser's sign-in")
    if flow.expires_at < time.time():
        raise _refused("the sign-in took longer than 10 minutes; start again")
    if not isinstance(code, str) or not code or len(code) > 2000:
        raise _refused("the issuer sent no authorization code")
    _consume_state(ctx, flow.state, flow.expires_at)
    id_token = _exchange_code(ctx, config, flow, code)
    return admin_from_claims(config, validate_id_token(ctx, config, id_token, flow.nonce))
