"""Host apps, their signing keys, the embed-token replay store and the server's own keys.

A host app is a system that embeds widgets (an approval portal, a department's business
system). Its backend signs embed tokens with one of its keys; `kid` picks the key, so a host
can hold several at once and rotate without downtime.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class HostApp(Base):
    __tablename__ = "host_apps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Exact origins (scheme://host:port) allowed to frame the widgets and talk to them.
    origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Widget names this app may embed; an empty list means every registered widget.
    widgets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Tokens issued (iat) before this instant are refused: "log everybody out".
    revoked_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    keys: Mapped[list[HostAppKey]] = relationship(
        back_populates="app", cascade="all, delete-orphan", order_by="HostAppKey.id"
    )


class HostAppKey(Base):
    """An HS256 shared secret or a registered public key (ES256/RS256 JWK) of a host app."""

    __tablename__ = "host_app_keys"
    __table_args__ = (UniqueConstraint("app_id", "kid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("host_apps.id", ondelete="CASCADE"), index=True)
    kid: Mapped[str] = mapped_column(String(100))
    alg: Mapped[str] = mapped_column(String(10))
    # HS256 only. Symmetric verification needs the secret itself, so it is stored; it is
    # shown to the operator once, at creation, and never returned by any API afterwards.
    secret: Mapped[str | None] = mapped_column(Text)
    # ES256/RS256 only: the public JWK.
    public_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # After rotation the old secret keeps working until this instant, then it is refused.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    app: Mapped[HostApp] = relationship(back_populates="keys")


class EmbedTokenUse(Base):
    """One row per exchanged embed token: a second use of the same `jti` violates the key."""

    __tablename__ = "embed_token_uses"

    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Rows are kept until the token could no longer be valid anyway, then pruned.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerSecret(Base):
    """The server's own signing keys (`planfuse.signing.server_keys`): public parts in
    clear, private parts sealed under the server key. The server key itself is never here
    (`planfuse.signing.at_rest`)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
