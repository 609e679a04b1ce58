"""The gateway's SQL: users, sessions, refresh tokens, API keys, audit entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.db.models import ApiKey, AuditEntry, RefreshToken, User, UserSession

# --------------------------------------------------------------------------- users


async def any_user(session: AsyncSession) -> bool:
    return bool((await session.execute(select(exists().select_from(User)))).scalar())


async def user_by_id(session: AsyncSession, user_id: str, *, lock: bool = False) -> User | None:
    statement = select(User).where(User.id == user_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def user_by_username(session: AsyncSession, username_key: str) -> User | None:
    statement = select(User).where(User.username_key == username_key)
    return (await session.execute(statement)).scalar_one_or_none()


@dataclass(frozen=True)
class UserFilter:
    active: bool | None = None
    role: str | None = None
    team: str | None = None
    manager_id: str | None = None


async def list_users(
    session: AsyncSession, flt: UserFilter, *, after: str | None, limit: int
) -> Sequence[User]:
    """Users by username (case-folded), those after ``after``; ``limit`` at most. A role is
    matched in Python (roles are a small JSON list; no JSON operator works on both
    databases), so that filter reads the matching page of all users."""
    statement = select(User).order_by(User.username_key)
    if after is not None:
        statement = statement.where(User.username_key > after)
    if flt.active is not None:
        statement = statement.where(User.active == flt.active)
    if flt.team is not None:
        statement = statement.where(User.team == flt.team)
    if flt.manager_id is not None:
        statement = statement.where(User.manager_id == flt.manager_id)
    if flt.role is None:
        return (await session.execute(statement.limit(limit))).scalars().all()
    found: list[User] = []
    for user in (await session.execute(statement)).scalars():
        if flt.role in user.roles:
            found.append(user)
            if len(found) == limit:
                break
    return found


# --------------------------------------------------------------------------- sessions


async def session_by_id(session: AsyncSession, session_id: str) -> UserSession | None:
    statement = select(UserSession).where(UserSession.id == session_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_sessions(
    session: AsyncSession,
    *,
    now: datetime,
    reason: str,
    user_id: str | None = None,
    session_id: str | None = None,
    keep_session_id: str | None = None,
) -> int:
    statement = update(UserSession).where(UserSession.revoked_at.is_(None))  # type: ignore[union-attr]
    if user_id is not None:
        statement = statement.where(UserSession.user_id == user_id)
    if session_id is not None:
        statement = statement.where(UserSession.id == session_id)
    if keep_session_id is not None:
        statement = statement.where(UserSession.id != keep_session_id)
    result = await session.execute(statement.values(revoked_at=now, revoked_reason=reason))
    return result.rowcount or 0  # type: ignore[attr-defined]


async def spend_refresh_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[str, datetime] | None:
    """Mark the unspent token spent; ``(session_id, expires_at)`` if this call spent it.
    One statement: of two concurrent refreshes with one token, exactly one spends it."""
    statement = (
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=now)
        .returning(RefreshToken.session_id, RefreshToken.expires_at)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def add_refresh_token(
    session: AsyncSession, *, token_hash: str, session_id: str, now: datetime, expires_at: datetime
) -> None:
    await session.execute(
        insert(RefreshToken).values(
            token_hash=token_hash, session_id=session_id, created_at=now, expires_at=expires_at
        )
    )


# --------------------------------------------------------------------------- per request


@dataclass(frozen=True)
class SignedInState:
    """What every authenticated request checks, read by primary key in one statement."""

    active: bool
    roles: list[str]
    display_name: str
    team: str | None
    session_revoked: bool
    session_expires_at: datetime


# Built once, on bound parameters: every authenticated request runs one of these two, and
# building a statement (and its cache key) per call cost more CPU than the lookup itself.
_SIGNED_IN_STATE = (
    select(
        User.active,
        User.roles,
        User.display_name,
        User.team,
        UserSession.revoked_at,
        UserSession.expires_at,
    )
    .join(UserSession, UserSession.user_id == User.id)  # type: ignore[arg-type]
    .where(User.id == bindparam("user_id"), UserSession.id == bindparam("session_id"))
)


async def signed_in_state(
    connection: AsyncConnection, user_id: str, session_id: str
) -> SignedInState | None:
    parameters = {"user_id": user_id, "session_id": session_id}
    row = (await connection.execute(_SIGNED_IN_STATE, parameters)).first()
    if row is None:
        return None
    return SignedInState(row[0], list(row[1]), row[2], row[3], row[4] is not None, row[5])


@dataclass(frozen=True)
class KeyState:
    key_id: str
    secret_hash: str
    scopes: list[str]
    expires_at: datetime | None
    revoked: bool
    owner_id: str
    owner_active: bool
    owner_roles: list[str]
    owner_name: str
    owner_team: str | None


_KEY_STATE = (
    select(
        ApiKey.id,
        ApiKey.secret_hash,
        ApiKey.scopes,
        ApiKey.expires_at,
        ApiKey.revoked_at,
        User.id,
        User.active,
        User.roles,
        User.display_name,
        User.team,
    )
    .join(User, User.id == ApiKey.owner_id)  # type: ignore[arg-type]
    .where(ApiKey.prefix == bindparam("prefix"))
)


async def key_state(connection: AsyncConnection, prefix: str) -> KeyState | None:
    row = (await connection.execute(_KEY_STATE, {"prefix": prefix})).first()
    if row is None:
        return None
    return KeyState(
        row[0], row[1], list(row[2]), row[3], row[4] is not None, row[5], row[6], list(row[7]),
        row[8], row[9],
    )  # fmt: skip


# --------------------------------------------------------------------------- API keys


async def api_key_by_id(session: AsyncSession, key_id: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(ApiKey.id == key_id))).scalar_one_or_none()


async def list_api_keys(
    session: AsyncSession, *, owner_id: str | None, after: str | None, limit: int
) -> Sequence[ApiKey]:
    statement = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())  # type: ignore[attr-defined]
    if owner_id is not None:
        statement = statement.where(ApiKey.owner_id == owner_id)
    if after is not None:
        anchor = await api_key_by_id(session, after)
        if anchor is not None:
            statement = statement.where(
                (ApiKey.created_at < anchor.created_at)
                | ((ApiKey.created_at == anchor.created_at) & (ApiKey.id < anchor.id))
            )
    return (await session.execute(statement.limit(limit))).scalars().all()


# --------------------------------------------------------------------------- audit


async def add_audit_entry(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(AuditEntry).values(**values))


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit(
    session: AsyncSession, flt: AuditFilter, *, before_id: int | None, limit: int
) -> Sequence[AuditEntry]:
    """Newest first (by id); ``before_id`` is the cursor."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)  # type: ignore[operator]
    if flt.actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == flt.actor_id)
    if flt.action is not None:
        statement = statement.where(AuditEntry.action == flt.action)
    if flt.target is not None:
        statement = statement.where(AuditEntry.target == flt.target)
    if flt.since is not None:
        statement = statement.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        statement = statement.where(AuditEntry.at < flt.until)
    return (await session.execute(statement.limit(limit))).scalars().all()


async def count_users(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())
