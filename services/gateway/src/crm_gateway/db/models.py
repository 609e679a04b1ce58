"""The gateway's identity tables: users, sign-in sessions (refresh-token families) and their
refresh tokens, partners' API keys, and the audit trail."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, text
from sqlmodel import Field

from crm_gateway.db.registry import GatewayModel
from crm_platform.db import UtcDateTime


def _timestamp(*, nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable),
    )


def _uuid_str() -> str:
    return str(uuid.uuid4())


_user_version = Column("version", Integer, nullable=False, default=1)


class User(GatewayModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (Index("ix_app_user_manager", "manager_id"),)
    __mapper_args__ = {"version_id_col": _user_version}

    id: str = Field(default_factory=_uuid_str, primary_key=True, max_length=36)
    username: str = Field(max_length=64)
    # The username folded to lower case: unique, so ``Wang.Wei`` and ``wang.wei`` are one.
    username_key: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=20)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    team: str | None = Field(default=None, max_length=64)
    manager_id: str | None = Field(default=None, max_length=36)
    active: bool = True
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    version: int = Field(default=1, sa_column=_user_version)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class UserSession(GatewayModel, table=True):
    """One sign-in: the family of its refresh tokens; its id is the ``sid`` of every access
    token issued in it. Revoking it refuses them all at once."""

    __tablename__ = "user_session"

    id: str = Field(default_factory=_uuid_str, primary_key=True, max_length=36)
    user_id: str = Field(max_length=36, index=True)
    created_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()
    revoked_at: datetime | None = _timestamp(nullable=True)
    revoked_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(GatewayModel, table=True):
    """A refresh token, stored only as its sha256; spent once (``used_at``), then replaced."""

    __tablename__ = "refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(max_length=36, index=True)
    created_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()
    used_at: datetime | None = _timestamp(nullable=True)


class ApiKey(GatewayModel, table=True):
    """A partner's key: acts as its owner narrowed by ``scopes``. The secret is shown once;
    stored are its lookup prefix and the sha256 of the whole key."""

    __tablename__ = "api_key"

    id: str = Field(default_factory=_uuid_str, primary_key=True, max_length=36)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    name: str = Field(max_length=100)
    owner_id: str = Field(max_length=36, index=True)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=36)
    created_at: datetime = _timestamp()
    expires_at: datetime | None = _timestamp(nullable=True)
    revoked_at: datetime | None = _timestamp(nullable=True)


class AuditEntry(GatewayModel, table=True):
    """Who did what to what, when and from where. Newest first by ``id`` (the cursor)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_actor", "actor_id", "id"),
        Index("ix_audit_entry_action", "action", "id"),
        Index("ix_audit_entry_target", "target", "id"),
        Index("ix_audit_entry_at", "at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: datetime = _timestamp()
    actor_id: str | None = Field(default=None, max_length=100)  # a user id (None: anonymous)
    api_key_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=40)
    target: str | None = Field(default=None, max_length=200)
    ip: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default=text("'{}'"))
    )
