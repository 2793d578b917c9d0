"""Administrator credentials created from the command line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, UTCDateTime, utcnow


class AdminToken(Base):
    __tablename__ = "admin_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the token; the token itself is shown once and never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A department administrator's department (its services only); None: platform admin.
    dept: Mapped[str | None] = mapped_column(String(32))


class AdminSession(Base):
    """A console sign-in (server-side, so sign-out and token revocation end it at once)."""

    __tablename__ = "admin_sessions"

    # SHA-256 of the cookie's random value; the value itself is only in the browser.
    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The admin token's id (method "token") or "oidc:<issuer subject>" (method "oidc").
    admin_id: Mapped[str] = mapped_column(String(240), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # A department administrator's department (the token's, checked against it on every
    # request); None: a platform administrator.
    dept: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
