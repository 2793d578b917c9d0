"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))
where the key is the base64 part of the `whsec_…` secret.

`verify` is what a receiver runs (tests/api's receiver uses it as documented in
docs/webhooks.md): every `v1,` signature of the header is tried, and a timestamp more than
five minutes off is refused (a replayed message)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not a secret)
TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """A message whose signature or timestamp does not verify."""


def secret_text(key: bytes) -> str:
    """The secret as shown to the subscriber: `whsec_` + base64 of the key."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a `whsec_…` secret."""
    body = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(body)


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """Check a received message; WebhookVerificationError unless it is authentic and fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    sent = lowered.get("webhook-signature", "")
    if not msg_id or not stamp or not sent:
        raise WebhookVerificationError("webhook-id, webhook-timestamp or webhook-signature missing")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_S:
        raise WebhookVerificationError("webhook-timestamp is more than five minutes off")
    expected = signature(secret_key(secret), msg_id, timestamp, body)
    for candidate in sent.split():
        if hmac.compare_digest(candidate, expected):
            return
    raise WebhookVerificationError("no signature matches")
