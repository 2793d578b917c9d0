"""planfuse-host: what a host system's backend needs to embed PlanFuse widgets.

    from planfuse_host import PlanFuse, verify_webhook

    planfuse = PlanFuse.from_env()  # PLANFUSE_URL, PLANFUSE_APP_ID, PLANFUSE_APP_SECRET
    token = planfuse.mint_token("user-42", widget="compliance")       # for the page
    report = planfuse.verify_result(signed_result)                    # the widget's result
    project = planfuse.call("POST", "projects", {...})                # a function service
    event = verify_webhook(webhook_secret, request.headers, request.get_data())

Versioned with the PlanFuse server (the same version number).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey

__version__ = "0.1.0"
__all__ = [
    "InvalidResult",
    "InvalidWebhook",
    "PlanFuse",
    "PlanFuseError",
    "verify_webhook",
]

#: The audience of embed tokens (the server's `token_audience` setting).
AUDIENCE = "planfuse"
#: Who signs compliance results, and the JWS `typ` they carry.
RESULT_ISSUER = "planfuse"
RESULT_TYPE = "planfuse-compliance+jwt"
RESULT_ALGORITHM = "ES256"
JWKS_PATH = "api/v1/compliance/jwks.json"
#: Embed tokens live this long by default (the server accepts at most 600 s).
TOKEN_TTL_S = 300
#: The JWKS is kept this long (the server's Cache-Control says 300 s).
JWKS_TTL_S = 300
#: A signed result naming a key we do not have makes us fetch the JWKS again (a rotation),
#: but not more often than this.
JWKS_REFETCH_S = 10
CLOCK_LEEWAY_S = 30
#: Standard Webhooks: receivers refuse timestamps further than this from now.
WEBHOOK_TOLERANCE_S = 300


class PlanFuseError(Exception):
    """A PlanFuse API call failed: `status` and the RFC 9457 problem (`code`, `detail`,
    `errors`); status 0 when the server could not be reached."""

    def __init__(self, status: int, problem: Mapping[str, Any]):
        self.status = status
        self.problem = dict(problem)
        self.code = problem.get("code") or str(problem.get("type", "")).rsplit("/", 1)[-1]
        self.detail = problem.get("detail") or problem.get("title") or f"HTTP {status}"
        self.errors = problem.get("errors") or []
        super().__init__(f"{status} {self.code}: {self.detail}")


class InvalidResult(ValueError):
    """A signed result that must not be trusted (forged, expired, another app's, …)."""


class InvalidWebhook(ValueError):
    """A webhook request that must not be trusted (bad signature, stale, malformed)."""


def _b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class PlanFuse:
    """One PlanFuse server as seen by one host app (its id and HS256 secret).

    Thread-safe; keep one per process so the JWKS cache is shared.
    """

    def __init__(
        self,
        server: str,
        app_id: str,
        secret: str,
        *,
        audience: str = AUDIENCE,
        timeout_s: float = 10.0,
        jwks_ttl_s: float = JWKS_TTL_S,
    ):
        if not server.startswith(("https://", "http://")):
            raise ValueError(f"server must be an http(s) URL, not {server!r}")
        self.server = server.rstrip("/") + "/"
        self.app_id = app_id
        self.secret = secret
        self.audience = audience
        self.timeout_s = timeout_s
        self.jwks_ttl_s = jwks_ttl_s
        self._jwks: dict[str, ECKey] = {}
        self._jwks_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> PlanFuse:
        """The server and app from the environment: PLANFUSE_URL, PLANFUSE_APP_ID and
        PLANFUSE_APP_SECRET (the secret stays out of the code)."""
        env = os.environ if environ is None else environ
        names = ("PLANFUSE_URL", "PLANFUSE_APP_ID", "PLANFUSE_APP_SECRET")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise KeyError(f"set {', '.join(missing)} (the PlanFuse server, app id and secret)")
        return cls(*(env[name] for name in names), **options)

    # --- 1. embed tokens ---------------------------------------------------------------

    def mint_token(
        self,
        user_id: str,
        widget: str,
        *,
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
        dept: str | None = None,
        roles: list[str] | None = None,
        locale: str | None = None,
        ttl_s: int = TOKEN_TTL_S,
    ) -> str:
        """An embed token (HS256 JWT) for `user_id` to open `widget`, valid `ttl_s` seconds
        (at most 600). `params` are locked: the user cannot change them."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.app_id,
            "aud": self.audience,
            "sub": user_id,
            "iat": now,
            "exp": now + ttl_s,
            "jti": secrets.token_urlsafe(16),
            "widget": widget,
        }
        optional = {"params": params, "name": name, "dept": dept, "roles": roles}
        claims.update({key: value for key, value in optional.items() if value})
        if locale:
            claims["locale"] = locale
        key = OctKey.import_key(self.secret.encode())
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)

    # --- 2. signed results ---------------------------------------------------------------

    def verify_result(self, signed_result: str, *, leeway_s: int = CLOCK_LEEWAY_S) -> dict:
        """The report of a compliance widget's `signed_result` once it is proven genuine:
        signed by this server's key (from its JWKS, cached), of type
        `planfuse-compliance+jwt`, issued to this app (`aud`), not expired. Returns the
        signed `report` claim: `id`, `verdict`, `items`, `project_id`, `land_use`, … .
        Raises InvalidResult otherwise. Never trust the browser's `verdict` alone."""
        if not isinstance(signed_result, str) or signed_result.count(".") != 2:
            raise InvalidResult("signed_result is not a compact JWS")
        try:
            header = _b64url_json(signed_result.split(".", 1)[0])
        except (ValueError, TypeError) as exc:
            raise InvalidResult("signed_result has an unreadable header") from exc
        if not isinstance(header, dict):
            raise InvalidResult("signed_result has an unreadable header")
        if header.get("alg") != RESULT_ALGORITHM:
            raise InvalidResult(
                f"signed_result must be {RESULT_ALGORITHM}, not {header.get('alg')!r}"
            )
        if header.get("typ") != RESULT_TYPE:
            raise InvalidResult(f"signed_result is not a {RESULT_TYPE} (typ {header.get('typ')!r})")
        key = self._key(str(header.get("kid", "")))
        try:
            verified = jws.deserialize_compact(signed_result, key, algorithms=[RESULT_ALGORITHM])
            claims = json.loads(verified.payload)
        except (JoseError, ValueError) as exc:
            raise InvalidResult("the signature of signed_result does not verify") from exc
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != RESULT_ISSUER:
            raise InvalidResult(f"signed_result was not issued by {RESULT_ISSUER!r}")
        if self.app_id not in audiences:
            raise InvalidResult(f"signed_result was issued to {audience!r}, not to {self.app_id}")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - leeway_s:
            raise InvalidResult("signed_result has expired")
        if isinstance(claims.get("iat"), (int, float)) and claims["iat"] > now + leeway_s:
            raise InvalidResult("signed_result was issued in the future")
        report = claims.get("report")
        if not isinstance(report, dict):
            raise InvalidResult("signed_result carries no report")
        return report

    def _key(self, kid: str) -> ECKey:
        """The server's public key `kid`, from the cached JWKS (fetched again when stale, or
        when the kid is new — a key rotation — at most every JWKS_REFETCH_S)."""
        with self._lock:
            age = time.monotonic() - self._jwks_at
            if age > self.jwks_ttl_s or (kid not in self._jwks and age > JWKS_REFETCH_S):
                document = self._request("GET", self.server + JWKS_PATH, None, auth=False)
                self._jwks = {
                    k["kid"]: ECKey.import_key(k)
                    for k in document.get("keys", [])
                    if k.get("kty") == "EC" and "kid" in k
                }
                self._jwks_at = time.monotonic()
            if kid not in self._jwks:
                raise InvalidResult(f"no published PlanFuse key has kid {kid!r}")
            return self._jwks[kid]

    # --- 3. function services ------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a function service as this app (HTTP Basic app_id:secret): `path` is relative
        to /api/v1/ (e.g. "projects", "compliance/check"). Returns the JSON answer; raises
        PlanFuseError with the problem on any error status."""
        url = urllib.parse.urljoin(self.server + "api/v1/", path.lstrip("/"))
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self._request(method.upper(), url, body, auth=True)

    def _request(self, method: str, url: str, body: Any, *, auth: bool) -> Any:
        headers = {"Accept": "application/json", "User-Agent": f"planfuse-host/{__version__}"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            pair = f"{self.app_id}:{self.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http(s) checked in __init__
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read()
            try:
                problem = json.loads(raw or b"{}")
            except ValueError:
                problem = {}
            raise PlanFuseError(exc.code, problem if isinstance(problem, dict) else {}) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PlanFuseError(0, {"code": "network", "detail": f"{url}: {exc}"}) from None


# --- 4. webhooks (Standard Webhooks) ------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict with other capitals
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if not value:
        raise InvalidWebhook(f"the {name} header is missing")
    return value


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
    now: float | None = None,
) -> Any:
    """The JSON payload of a webhook PlanFuse sent, once proven genuine by the Standard
    Webhooks rules: `webhook-signature` holds `v1,<base64 HMAC-SHA256>` of
    "{webhook-id}.{webhook-timestamp}.{body}" under the subscription's `whsec_…` secret, and
    the timestamp is within `tolerance_s` of now. `body` is the raw request body, exactly as
    received. Raises InvalidWebhook otherwise."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidWebhook("webhook-timestamp is not a Unix time in seconds") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        raise InvalidWebhook("webhook-timestamp is too far from now (replayed or clock skew)")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ValueError("the webhook secret must be whsec_ followed by base64") from None
    raw = body.encode() if isinstance(body, str) else bytes(body)
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            try:
                return json.loads(raw)
            except ValueError:
                raise InvalidWebhook("the webhook body is not JSON") from None
    raise InvalidWebhook("no webhook-signature matches")
