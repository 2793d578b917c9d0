"""The server secret and the keys derived from it, one per purpose.

Every key the server signs or encrypts with (widget sessions, the admin console's CSRF
tokens, the sealing of its own signing keys and of host apps' shared secrets) is derived
from the one server key with HMAC-SHA256 and a distinct label, so no two purposes share a
key. The server key itself comes from the environment or a key file, never from the
database (`planfuse.signing.at_rest`).
"""

from __future__ import annotations

import hashlib
import hmac

from planfuse.context import PlanFuse
from planfuse.signing.at_rest import server_key


def base_secret(ctx: PlanFuse) -> bytes:
    """The server key: PLANFUSE_SECRET_KEY, PLANFUSE_SECRET_KEY_FILE, or (development
    only) a generated key file outside the database. Read once per context."""
    return ctx.shared("server_key", lambda: server_key(ctx.settings))


def derived_key(ctx: PlanFuse, label: bytes) -> bytes:
    """A key for one purpose (`label`), derived from the server secret."""
    return hmac.new(base_secret(ctx), label, hashlib.sha256).digest()
