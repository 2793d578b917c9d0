"""Key material of host apps: generated HS256 secrets and registered public JWKs."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey

#: Algorithms a host app may sign embed tokens with; `none` and every other one are refused.
ALGORITHMS = ("HS256", "ES256", "RS256")
#: Bytes of randomness in a generated shared secret (RFC 7518 §3.2: at least the hash size).
SECRET_BYTES = 32
#: Smallest RSA modulus accepted for RS256 keys, in bits.
MIN_RSA_BITS = 2048
SECRET_PREFIX = "pfs_"  # noqa: S105 - a label, not a secret


class KeyRegistrationError(ValueError):
    """A key that cannot be registered; the message says why."""


def generate_secret() -> str:
    """A new HS256 shared secret: 32 random bytes, URL-safe text (shown to the host once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def new_kid(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def oct_key(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def public_key(jwk: dict[str, Any]) -> ECKey | RSAKey:
    """The joserfc key of a registered public JWK."""
    if jwk.get("kty") == "EC":
        return ECKey.import_key(jwk)
    return RSAKey.import_key(jwk)


def check_public_jwk(jwk: Any, alg: str) -> dict[str, Any]:
    """The public part of `jwk`, checked to suit `alg` (ES256: P-256; RS256: ≥ 2048 bits).

    Private JWKs are refused outright: the host's private key must never leave the host.
    """
    if not isinstance(jwk, dict):
        raise KeyRegistrationError("the key must be a JWK (a JSON object)")
    if alg not in ("ES256", "RS256"):
        raise KeyRegistrationError(f"public keys are registered for ES256 or RS256, not {alg!r}")
    if "d" in jwk or "p" in jwk:
        raise KeyRegistrationError(
            "this is a private key; register only the public key (no 'd' member)"
        )
    try:
        if alg == "ES256":
            if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
                raise KeyRegistrationError("an ES256 key must be an EC JWK on the P-256 curve")
            key: ECKey | RSAKey = ECKey.import_key(jwk)
        else:
            if jwk.get("kty") != "RSA":
                raise KeyRegistrationError("an RS256 key must be an RSA JWK")
            key = RSAKey.import_key(jwk)
            n = jwk.get("n", "")
            bits = len(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))) * 8
            if bits < MIN_RSA_BITS:
                raise KeyRegistrationError(
                    f"an RS256 key needs at least {MIN_RSA_BITS} bits, got {bits}"
                )
    except JoseError as exc:
        raise KeyRegistrationError(f"the JWK cannot be read: {exc}") from None
    return key.as_dict(private=False)


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret (to tell keys apart in listings)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
