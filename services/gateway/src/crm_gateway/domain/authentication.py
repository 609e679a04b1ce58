"""Signing in and staying signed in: login, refresh (rotating, with reuse detection),
logout, changing one's own password, and who an access token or API key is, per request.

A refusal that must leave a trace (a failed login, a spent refresh token used again) is
*returned*, not raised: raising would roll back the transaction holding the audit entry and,
for a reused refresh token, the revocation of its family. The HTTP edge answers 401 after
the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.db import repository
from crm_gateway.db.models import User, UserSession
from crm_gateway.domain import audit, tokens
from crm_gateway.domain.audit import Caller
from crm_gateway.domain.commands import ChangePassword, Login
from crm_gateway.domain.passwords import Passwords
from crm_gateway.domain.principals import Principal
from crm_gateway.domain.throttle import LoginThrottle
from crm_gateway.domain.users import check_password, load_user, username_key
from crm_platform.errors import InvalidField, Unauthenticated


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    user: User
    session_id: str


@dataclass(frozen=True)
class Refused:
    """A refusal the edge answers with 401 once the audit entry has committed."""

    reason: Literal["bad-credentials", "refresh-refused", "refresh-reused"]
    detail: str


async def _issue(
    session: AsyncSession,
    settings: TokenSettings,
    user: User,
    session_id: str,
    now: datetime,
    refresh_expires_at: datetime,
) -> IssuedTokens:
    access, _ = tokens.mint_access_token(
        settings.secret,
        user_id=user.id,
        session_id=session_id,
        now=now,
        ttl_seconds=settings.access_ttl_seconds,
    )
    refresh = tokens.new_refresh_token()
    await repository.add_refresh_token(
        session,
        token_hash=tokens.digest(refresh),
        session_id=session_id,
        now=now,
        expires_at=refresh_expires_at,
    )
    return IssuedTokens(
        access, settings.access_ttl_seconds, refresh, refresh_expires_at, user, session_id
    )


async def login(
    session: AsyncSession,
    caller: Caller,
    command: Login,
    *,
    passwords: Passwords,
    throttle: LoginThrottle,
    settings: TokenSettings,
) -> IssuedTokens | Refused:
    """``LoginThrottled`` (raised, nothing written) while the username or the address has
    failed too often. The same argon2 work whether or not the user exists."""
    throttle.check(command.username, caller.ip)
    user = await repository.user_by_username(session, username_key(command.username))
    verified = await passwords.verify(user.password_hash if user else None, command.password)
    if user is None or not verified or not user.active:
        throttle.failed(command.username, caller.ip)
        reason = "unknown_user" if user is None else "bad_password" if not verified else "disabled"
        await audit.record(
            session,
            caller,
            audit.LOGIN_FAILED,
            actor_id=user.id if user else None,
            target=f"username:{command.username[:100]}",
            details={"reason": reason},
        )
        return Refused("bad-credentials", "The username or password is not correct.")
    throttle.succeeded(command.username)
    now = datetime.now(UTC)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(command.password)
    refresh_expires = now + timedelta(seconds=settings.refresh_ttl_seconds)
    sign_in = UserSession(user_id=user.id, created_at=now, expires_at=refresh_expires)
    session.add(sign_in)
    await session.flush()
    issued = await _issue(session, settings, user, sign_in.id, now, refresh_expires)
    await audit.record(
        session, caller, audit.LOGIN, actor_id=user.id, details={"session_id": sign_in.id}
    )
    return issued


async def refresh(
    session: AsyncSession, caller: Caller, refresh_token: str, *, settings: TokenSettings
) -> IssuedTokens | Refused:
    """Spend the refresh token and issue a new pair in the same session (family). A token
    spent before, presented again, means it was copied: the whole family is revoked, so
    neither the thief nor the owner can go on with it (and its access tokens are refused)."""
    now = datetime.now(UTC)
    token_hash = tokens.digest(refresh_token)
    spent = await repository.spend_refresh_token(session, token_hash, now)
    if spent is None:
        known = await repository.refresh_token(session, token_hash)
        if known is None:
            return Refused("refresh-refused", "The refresh token is not valid.")
        family = await repository.session_by_id(session, known.session_id)
        revoked = await repository.revoke_sessions(
            session, now=now, reason="refresh_reuse", session_id=known.session_id
        )
        await audit.record(
            session,
            caller,
            audit.REFRESH_REUSE_DETECTED,
            actor_id=family.user_id if family else None,
            target=f"session:{known.session_id}",
            details={"revoked": bool(revoked)},
        )
        return Refused(
            "refresh-reused",
            "This refresh token was already used; the session has been ended. Sign in again.",
        )
    session_id, expires_at = spent
    family = await repository.session_by_id(session, session_id)
    if family is None or family.revoked_at is not None or expires_at <= now:
        return Refused("refresh-refused", "The session has ended. Sign in again.")
    user = await repository.user_by_id(session, family.user_id)
    if user is None or not user.active:
        return Refused("refresh-refused", "The session has ended. Sign in again.")
    # The family keeps its end: refreshing never makes a sign-in last longer.
    return await _issue(session, settings, user, session_id, now, family.expires_at)


async def logout(
    session: AsyncSession,
    caller: Caller,
    *,
    session_id: str | None = None,
    refresh_token: str | None = None,
) -> bool:
    """End a session: the caller's (``session_id`` from the access token) or the one a
    refresh token belongs to. True if a session was ended."""
    if session_id is None and refresh_token is not None:
        known = await repository.refresh_token(session, tokens.digest(refresh_token))
        session_id = known.session_id if known else None
    if session_id is None:
        return False
    family = await repository.session_by_id(session, session_id)
    if family is None:
        return False
    now = datetime.now(UTC)
    ended = await repository.revoke_sessions(
        session, now=now, reason="logout", session_id=family.id
    )
    await audit.record(
        session, caller, audit.LOGOUT, actor_id=family.user_id, target=f"session:{family.id}"
    )
    return bool(ended)


async def logout_everywhere(session: AsyncSession, caller: Caller, *, user_id: str) -> int:
    """End every session of the user (a lost phone, a shared computer left signed in):
    each refresh token stops working and each access token is refused. The count ended."""
    now = datetime.now(UTC)
    ended = await repository.revoke_sessions(
        session, now=now, reason="logout_everywhere", user_id=user_id
    )
    await audit.record(
        session, caller, audit.LOGOUT, actor_id=user_id, target=f"user:{user_id}:all-sessions"
    )
    return ended


async def change_password(
    session: AsyncSession, caller: Caller, command: ChangePassword, *, passwords: Passwords
) -> User:
    """Needs the current password; ends every other session of the user."""
    user = await load_user(session, command.user_id, lock=True)
    if not await passwords.verify(user.password_hash, command.current_password):
        raise Unauthenticated("The current password is not correct.", slug="wrong-current-password")
    check_password(command.new_password, user.username, field="new_password")
    if command.new_password == command.current_password:
        raise InvalidField("new_password", "must differ from the current password")
    now = datetime.now(UTC)
    user.password_hash = await passwords.hash(command.new_password)
    user.updated_at = now
    await session.flush()
    await repository.revoke_sessions(
        session,
        now=now,
        reason="password_changed",
        user_id=user.id,
        keep_session_id=command.session_id,
    )
    await audit.record(session, caller, audit.PASSWORD_CHANGED, target=f"user:{user.id}")
    return user


# --------------------------------------------------------------------------- per request


class IdentityStates(Protocol):
    """Where the per-request state comes from (``db/identity_reads.py``: the database, or
    what this process remembers of it until told of a change)."""

    async def signed_in_state(
        self, user_id: str, session_id: str
    ) -> repository.SignedInState | None: ...

    async def key_state(self, prefix: str) -> repository.KeyState | None: ...


async def principal_of_access_token(
    states: IdentityStates, verifier: tokens.AccessTokenVerifier, token: str
) -> Principal:
    """The person an access token speaks for, as they are *now*: the user's active flag and
    roles and the session's revocation as of the last change, so disabling a user, ending a
    session or changing roles takes effect on the next request."""
    try:
        claims = verifier.verify(token)
    except tokens.TokenRefused as exc:
        raise Unauthenticated(
            f"The access token is not valid: {exc}.", slug="invalid-token"
        ) from exc
    state = await states.signed_in_state(claims.user_id, claims.session_id)
    if state is None or not state.active:
        raise Unauthenticated("The account is disabled or gone.", slug="invalid-token")
    if state.session_revoked or state.session_expires_at <= datetime.now(UTC):
        raise Unauthenticated("The session has ended. Sign in again.", slug="invalid-token")
    return Principal(
        kind="user",
        user_id=claims.user_id,
        roles=frozenset(state.roles),
        name=state.display_name,
        session_id=claims.session_id,
        team=state.team,
    )


async def principal_of_api_key(states: IdentityStates, key: str) -> Principal:
    """The owner an API key acts as, narrowed by its scopes; a revoked or expired key, or
    one whose owner is disabled, is refused from the moment it happened."""
    prefix = tokens.api_key_prefix(key)
    state = await states.key_state(prefix) if prefix else None
    if state is None or not tokens.same_digest(key, state.secret_hash):
        raise Unauthenticated("The API key is not valid.", slug="invalid-api-key")
    if state.revoked:
        raise Unauthenticated("The API key has been revoked.", slug="invalid-api-key")
    if state.expires_at is not None and state.expires_at <= datetime.now(UTC):
        raise Unauthenticated("The API key has expired.", slug="invalid-api-key")
    if not state.owner_active:
        raise Unauthenticated("The API key's owner is disabled.", slug="invalid-api-key")
    return Principal(
        kind="api_key",
        user_id=state.owner_id,
        roles=frozenset(state.owner_roles),
        name=state.owner_name,
        scopes=frozenset(state.scopes),
        key_id=state.key_id,
        team=state.owner_team,
    )
