"""Secrets at rest (静态加密): where the server key comes from, and how secrets the server
must keep readable (host apps' HS256 shared secrets) are stored encrypted.

The server key is never in the database. It is, in this order:

1. `secret_key` (PLANFUSE_SECRET_KEY), from the environment;
2. `secret_key_file` (PLANFUSE_SECRET_KEY_FILE): a file holding it, e.g. a mounted
   container secret;
3. in development only, a key generated on first use into a file beside the SQLite
   database (`<database>.secret`), or `var/secret_key` for other databases, readable by
   its owner only.

A production server refuses to start without 1 or 2 (`planfuse.app`).

HS256 secrets are stored as `enc1:<base64url(nonce ‖ AES-256-GCM ciphertext)>` under a key
derived from the server key, bound to the app and kid they belong to (a sealed secret copied
to another row does not open). The server's own ES256 signing keys are sealed the same way
(`planfuse.signing.server_keys`). So a copy of the database alone yields no secret that
signs or verifies anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from planfuse.paths import ROOT
from planfuse.settings import Settings, SettingsError

SEALED_PREFIX = "enc1:"
APP_SECRET_LABEL = b"planfuse/app-secret-at-rest/v1"
#: Shortest key accepted from a key file (the same bar as PLANFUSE_SECRET_KEY in production).
MIN_KEY_LENGTH = 32


def development_key_file(settings: Settings) -> Path:
    """Where a development server keeps its generated key: beside a SQLite database file
    (each database its own key), else `var/secret_key` in the installation."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().with_name(Path(url.database).name + ".secret")
    return ROOT / "var" / "secret_key"


def _read_key_file(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(
            f"the key file {path} cannot be read ({exc.strerror}); set PLANFUSE_SECRET_KEY_FILE "
            "to a readable file holding the server key, or PLANFUSE_SECRET_KEY"
        ) from None
    if len(key) < MIN_KEY_LENGTH:
        raise SettingsError(
            f"the key file {path} holds fewer than {MIN_KEY_LENGTH} characters; write a key "
            "made by `planfuse secret` into it"
        )
    return key


def _generate_key_file(path: Path) -> str:
    """Create `path` with a new random key, readable by its owner only; when another
    process made it first, read theirs (every worker must use the same key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def server_key(settings: Settings) -> bytes:
    """The server key (see the module docstring for where it comes from)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    if settings.secret_key_file:
        return _read_key_file(Path(settings.secret_key_file)).encode()
    path = development_key_file(settings)
    if path.exists():
        return _read_key_file(path).encode()
    return _generate_key_file(path).encode()


def adopt_key(settings: Settings, key: str) -> bool:
    """Make `key` the development key file's content when no key is configured and no
    file exists yet (an older development database kept its key in a table); True when
    adopted."""
    if settings.secret_key or settings.secret_key_file:
        return False
    path = development_key_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return True


def _app_secret_key(key: bytes) -> AESGCM:
    return AESGCM(hmac.new(key, APP_SECRET_LABEL, hashlib.sha256).digest())


def _binding(app_id: str, kid: str) -> bytes:
    return f"host_app_keys/{app_id}/{kid}".encode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal_app_secret(key: bytes, app_id: str, kid: str, secret: str) -> str:
    """A host app's HS256 secret as stored: encrypted under the server key."""
    nonce = secrets.token_bytes(12)
    sealed = _app_secret_key(key).encrypt(nonce, secret.encode(), _binding(app_id, kid))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_app_secret(key: bytes, app_id: str, kid: str, stored: str) -> str | None:
    """The HS256 secret of a stored value; None when it was sealed under another server
    key or for another app or kid (the secret is then unusable: rotate it). A value
    stored before encryption (no prefix) is returned as it is."""
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :].encode())
        return _app_secret_key(key).decrypt(raw[:12], raw[12:], _binding(app_id, kid)).decode()
    except (InvalidTag, ValueError):
        return None
