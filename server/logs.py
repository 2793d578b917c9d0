"""Structured logging (one JSON object per line) that never writes tokens or secrets."""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

# A JWS/JWT in compact form: three base64url parts, the first two JSON ("eyJ").
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_SECRET_PARAM = re.compile(
    r"(?i)\b(token|session_token|secret|password|authorization|api_key|key)"
    r"(\"?\s*[:=]\s*\"?)(Bearer\s+|Basic\s+)?[^\s\"&,;]+"
)
_URL_CREDENTIALS = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Remove JWTs, `token=...`-style values, Basic/Bearer credentials and URL passwords."""
    text = _JWT.sub(REDACTED, text)
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + REDACTED + "@", text)


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and extra fields."""

    RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in self.RESERVED and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Send PlanFuse's and the WSGI server's logs to `stream` as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger("planfuse")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    for name in ("gunicorn.error", "gunicorn.access", "werkzeug"):
        other = logging.getLogger(name)
        other.handlers[:] = [handler]
        other.propagate = False
