"""The server's own signing keys (ES256), for documents a host must be able to verify —
e.g. compliance reports — published as a JWKS.

A key pair is created once, on first use, and stored in `server_secrets` (the table the
server already keeps its generated secrets in): the public JWK in clear, the private key
encrypted with AES-256-GCM under a key derived from the server secret. A database dump alone
therefore does not yield the signing key. If the secret key changes, the old private key can
no longer be read: a new key pair is made, and the old public key stays in the JWKS so
documents signed before still verify.

`planfuse keys rotate` makes a new key pair the signing key (every server process picks it
up within `RECHECK_S`); `planfuse keys retire KID` takes a key out of the JWKS, for a key
that must no longer be trusted (documents it signed then fail verification).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, NotFound
from planfuse.signing.secret import derived_key
from planfuse.storage.models import ServerSecret
from planfuse.storage.models.base import utcnow

ALGORITHM = "ES256"
NAME_PREFIX = "jws_es256:"
#: Distinct label so this wrapping key differs from anything else derived from the secret.
WRAP_KEY_LABEL = b"planfuse/server-signing-key-wrap/v1"
_EXTRA = "server_signing_key"
#: How often a process looks again for the newest key, so a rotation done by another process
#: (the CLI, another worker) takes effect without a restart.
RECHECK_S = 60.0
_lock = threading.RLock()  # retire → signing_key: the same thread takes it twice


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: ECKey

    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _wrap_key(ctx: PlanFuse) -> AESGCM:
    return AESGCM(derived_key(ctx, WRAP_KEY_LABEL))


def _seal(ctx: PlanFuse, kid: str, private_jwk: dict[str, Any]) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _wrap_key(ctx).encrypt(nonce, orjson.dumps(private_jwk), kid.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _open(ctx: PlanFuse, kid: str, sealed: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return orjson.loads(_wrap_key(ctx).decrypt(raw[:12], raw[12:], kid.encode()))
    except (InvalidTag, ValueError, orjson.JSONDecodeError):
        return None


def _stored(ctx: PlanFuse, *, retired: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """(kid, record) of every stored key, oldest first; retired keys only if asked."""
    return [
        (kid, record) for kid, record, _ in _stored_rows(ctx) if retired or not _retired(record)
    ]


def _stored_rows(ctx: PlanFuse) -> list[tuple[str, dict[str, Any], datetime]]:
    with ctx.db.session() as session:
        rows = session.execute(
            select(ServerSecret.name, ServerSecret.value, ServerSecret.created_at)
            .where(ServerSecret.name.like(NAME_PREFIX + "%"))
            .order_by(ServerSecret.created_at, ServerSecret.name)
        ).all()
    return [(name[len(NAME_PREFIX) :], orjson.loads(value), at) for name, value, at in rows]


def _retired(record: dict[str, Any]) -> bool:
    return bool(record.get("retired_at"))


def _create(ctx: PlanFuse) -> str:
    key = ECKey.generate_key("P-256", private=True)
    public = key.as_dict(private=False)
    # The kid is the RFC 7638 thumbprint: stable, and a verifier can recompute it.
    kid = key.thumbprint()
    record = {
        "alg": ALGORITHM,
        "public": public,
        "private": _seal(ctx, kid, key.as_dict(private=True)),
    }
    try:
        with ctx.db.session() as session:
            session.add(ServerSecret(name=NAME_PREFIX + kid, value=orjson.dumps(record).decode()))
    except IntegrityError:
        pass  # astronomically unlikely (same thumbprint); the stored one is used
    return kid


def _load(ctx: PlanFuse) -> SigningKey | None:
    """The newest stored, unretired key this server can unseal."""
    for kid, record in reversed(_stored(ctx)):
        private = _open(ctx, kid, record.get("private", ""))
        if private is not None:
            return SigningKey(kid, ECKey.import_key(private))
    return None


def signing_key(ctx: PlanFuse) -> SigningKey:
    """The current signing key: the newest stored key this server can unseal; created on
    first use. Looked up again every `RECHECK_S` seconds."""
    cached = ctx.extras.get(_EXTRA)
    if cached is not None and time.monotonic() - cached[1] < RECHECK_S:
        return cached[0]
    with _lock:
        cached = ctx.extras.get(_EXTRA)
        if cached is not None and time.monotonic() - cached[1] < RECHECK_S:
            return cached[0]
        found = _load(ctx)
        if found is None:
            _create(ctx)
            found = _load(ctx)
        if found is None:
            raise RuntimeError("the server signing key could not be created")
        ctx.extras[_EXTRA] = (found, time.monotonic())
        return found


def rotate_signing_key(ctx: PlanFuse) -> str:
    """Make a new key pair the signing key; returns its kid. Older keys stay in the JWKS."""
    with _lock:
        kid = _create(ctx)
        ctx.extras.pop(_EXTRA, None)
    return kid


def retire_signing_key(ctx: PlanFuse, kid: str) -> None:
    """Take key `kid` out of the JWKS: documents it signed no longer verify.

    The current signing key cannot be retired; rotate first.
    """
    name = NAME_PREFIX + kid
    with _lock:
        current = signing_key(ctx).kid
        if kid == current:
            raise Conflict(
                f"key {kid} is the current signing key; run `planfuse keys rotate` first, "
                "then retire it",
                code="current_signing_key",
                title="Current signing key",
            )
        with ctx.db.write_session() as session:
            row = session.get(ServerSecret, name)
            if row is None:
                raise NotFound("signing key", kid)
            record = orjson.loads(row.value)
            if not _retired(record):
                record["retired_at"] = utcnow().isoformat()
                row.value = orjson.dumps(record).decode()
        ctx.extras.pop(_EXTRA, None)


def signing_keys(ctx: PlanFuse) -> list[dict[str, Any]]:
    """Every stored key, newest first: kid, created, retired, whether it is the current
    signing key and whether this server can still sign with it."""
    current = signing_key(ctx).kid
    return [
        {
            "kid": kid,
            "alg": record.get("alg", ALGORITHM),
            "created_at": created.isoformat() if created else None,
            "retired_at": record.get("retired_at"),
            "current": kid == current,
            "can_sign": _open(ctx, kid, record.get("private", "")) is not None,
        }
        for kid, record, created in reversed(_stored_rows(ctx))
    ]


def jwks(ctx: PlanFuse) -> dict[str, Any]:
    """The public keys as a JSON Web Key Set: every key ever used, newest first, so reports
    signed before a key change still verify."""
    signing_key(ctx)
    keys = []
    for kid, record in reversed(_stored(ctx)):
        keys.append({**record["public"], "kid": kid, "use": "sig", "alg": ALGORITHM})
    return {"keys": keys}


def sign_claims(ctx: PlanFuse, claims: dict[str, Any], typ: str = "JWT") -> str:
    """A compact JWS (a JWT) of `claims`, signed ES256 with the current server key."""
    key = signing_key(ctx)
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": typ}, claims, key.key)


def fingerprint(jws: str) -> str:
    """A short, printable fingerprint of a signed document (first 16 hex digits of the
    SHA-256 of the compact JWS, in groups of four)."""
    digest = hashlib.sha256(jws.encode()).hexdigest()[:16].upper()
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))
