"""Users: the admin's use cases (create, edit, disable and enable, set roles, reset a
password) and the first admin on an empty database. Each runs in its caller's transaction,
stages its event in the outbox and leaves an audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.db import repository
from crm_gateway.db.models import User
from crm_gateway.db.repository import UserFilter
from crm_gateway.domain import audit
from crm_gateway.domain.audit import Caller
from crm_gateway.domain.commands import (
    CreateUser,
    ResetPassword,
    SetRoles,
    SetUserActive,
    UpdateUser,
)
from crm_gateway.domain.passwords import Passwords, password_problems
from crm_gateway.domain.roles import ADMIN, unknown_roles
from crm_gateway.events import published as ev
from crm_platform.errors import Conflict, InvalidField, InvalidInput, NotFound, StaleVersion
from crm_platform.events import add_event
from crm_platform.integrity import is_unique_violation

EDITABLE = frozenset({"display_name", "email", "mobile", "team", "manager_id", "roles"})


def username_key(username: str) -> str:
    """Usernames are unique regardless of case: ``Wang.Wei`` and ``wang.wei`` are one."""
    return username.strip().casefold()


def snapshot_of(user: User) -> ev.UserSnapshot:
    return ev.UserSnapshot(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        mobile=user.mobile,
        roles=list(user.roles),
        team=user.team,
        manager_id=user.manager_id,
        active=user.active,
        version=user.version,
    )


def _stage(session: AsyncSession, caller: Caller, routing_key: str, user: User) -> None:
    add_event(
        session,
        ev.build_event(routing_key, snapshot_of(user), subject=user.id, actor=caller.event_actor),
    )


def check_password(password: str, username: str, field: str = "password") -> None:
    problems = password_problems(password, username=username)
    if problems:
        raise InvalidInput(
            f"The request is not valid: {field} {'; '.join(problems)}.",
            slug="weak-password",
            errors=[
                {"field": f"body.{field}", "message": problem, "code": "weak_password"}
                for problem in problems
            ],
        )


def _check_roles(roles: Sequence[str]) -> list[str]:
    if not roles:
        raise InvalidField("roles", "must name at least one role")
    unknown = unknown_roles(list(roles))
    if unknown:
        raise InvalidField("roles", f"has unknown roles: {', '.join(unknown)}")
    return sorted(set(roles))


async def _check_manager(session: AsyncSession, manager_id: str | None, user_id: str) -> None:
    if manager_id is None:
        return
    if manager_id == user_id:
        raise InvalidField("manager_id", "may not be the user themself")
    if await repository.user_by_id(session, manager_id) is None:
        raise InvalidField("manager_id", f"'{manager_id}' is no user")


async def load_user(session: AsyncSession, user_id: str, *, lock: bool = False) -> User:
    user = await repository.user_by_id(session, user_id, lock=lock)
    if user is None:
        raise NotFound(f"No user {user_id}.", slug="user-not-found")
    return user


def _check_version(user: User, expected: int | None) -> None:
    if expected is not None and expected != user.version:
        raise StaleVersion(
            f"The user changed since you read it (you sent version {expected}, it is now "
            f"{user.version}); reload it and apply your change again.",
            current_version=user.version,
        )


async def _flush(session: AsyncSession, expected: int | None) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"The user was changed by someone else while you saved version {expected}; "
            "reload it and apply your change again."
        ) from exc


async def create_user(
    session: AsyncSession, caller: Caller, command: CreateUser, passwords: Passwords
) -> User:
    username = command.username.strip()
    key = username_key(username)
    roles = _check_roles(command.roles)
    check_password(command.password, username)
    if await repository.user_by_username(session, key) is not None:
        raise Conflict(f"The username {username!r} is taken.", slug="username-taken")
    now = datetime.now(UTC)
    user = User(
        username=username,
        username_key=key,
        display_name=command.display_name,
        email=command.email,
        mobile=command.mobile,
        roles=roles,
        team=command.team,
        manager_id=None,
        active=command.active,
        password_hash=await passwords.hash(command.password),
        created_at=now,
        updated_at=now,
    )
    await _check_manager(session, command.manager_id, user.id)
    user.manager_id = command.manager_id
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc, "app_user", "username_key"):
            raise Conflict(f"The username {username!r} is taken.", slug="username-taken") from exc
        raise
    _stage(session, caller, ev.USER_CREATED, user)
    await audit.record(
        session, caller, audit.USER_CREATED, target=f"user:{user.id}", details={"roles": roles}
    )
    return user


async def get_user(session: AsyncSession, user_id: str) -> User:
    return await load_user(session, user_id)


async def list_users(
    session: AsyncSession, flt: UserFilter, *, cursor: str | None, limit: int
) -> tuple[Sequence[User], str | None]:
    rows = await repository.list_users(session, flt, after=cursor, limit=limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].username_key
    return rows, None


async def update_user(session: AsyncSession, caller: Caller, command: UpdateUser) -> User:
    changes: dict[str, Any] = dict(command.changes)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    user = await load_user(session, command.user_id, lock=True)
    _check_version(user, command.expected_version)
    if "roles" in changes:
        changes["roles"] = _check_roles(changes["roles"])
        _keep_an_admin(user, changes["roles"], caller)
    if "manager_id" in changes:
        await _check_manager(session, changes["manager_id"], user.id)
    changed = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if not changed:
        return user
    for name, value in changed.items():
        setattr(user, name, value)
    user.updated_at = datetime.now(UTC)
    await _flush(session, command.expected_version)
    _stage(session, caller, ev.USER_UPDATED, user)
    await audit.record(
        session,
        caller,
        audit.USER_UPDATED,
        target=f"user:{user.id}",
        details={"fields": sorted(changed)},
    )
    return user


def _keep_an_admin(user: User, roles: Sequence[str], caller: Caller) -> None:
    """An admin cannot take the admin role from themself (nobody might be left to give it
    back); another admin can."""
    if user.id == caller.user_id and ADMIN in user.roles and ADMIN not in roles:
        raise Conflict("You cannot remove your own admin role.", slug="own-admin-role")


async def set_roles(session: AsyncSession, caller: Caller, command: SetRoles) -> User:
    user = await load_user(session, command.user_id, lock=True)
    return await update_user(
        session,
        caller,
        UpdateUser(
            user_id=user.id,
            changes={"roles": list(command.roles)},
            expected_version=(
                command.expected_version if command.expected_version is not None else user.version
            ),
        ),
    )


async def set_active(session: AsyncSession, caller: Caller, command: SetUserActive) -> User:
    """Disable: the user's tokens and API keys are refused from this commit on (every
    request reads the active flag), and their sessions are revoked, so enabling them again
    does not bring old refresh tokens back. Enable: they sign in anew."""
    user = await load_user(session, command.user_id, lock=True)
    _check_version(user, command.expected_version)
    if not command.active and user.id == caller.user_id:
        raise Conflict("You cannot disable yourself.", slug="own-account")
    if user.active == command.active:
        return user
    now = datetime.now(UTC)
    user.active = command.active
    user.updated_at = now
    await _flush(session, command.expected_version)
    if command.active:
        _stage(session, caller, ev.USER_UPDATED, user)
    else:
        await repository.revoke_sessions(session, now=now, reason="user_disabled", user_id=user.id)
        _stage(session, caller, ev.USER_DISABLED, user)
    await audit.record(
        session,
        caller,
        audit.USER_ENABLED if command.active else audit.USER_DISABLED,
        target=f"user:{user.id}",
    )
    return user


async def reset_password(
    session: AsyncSession, caller: Caller, command: ResetPassword, passwords: Passwords
) -> User:
    """An admin sets a new password; every session of the user ends."""
    user = await load_user(session, command.user_id, lock=True)
    check_password(command.new_password, user.username, field="new_password")
    now = datetime.now(UTC)
    user.password_hash = await passwords.hash(command.new_password)
    user.updated_at = now
    await session.flush()
    await repository.revoke_sessions(session, now=now, reason="password_reset", user_id=user.id)
    await audit.record(session, caller, audit.PASSWORD_RESET, target=f"user:{user.id}")
    return user


async def bootstrap_admin(
    session: AsyncSession, *, username: str, password: str, passwords: Passwords
) -> User | None:
    """On an empty user table, the first admin (from ``CRM_ADMIN_USERNAME`` /
    ``CRM_ADMIN_PASSWORD``); None when users exist. The password must meet the policy."""
    if await repository.any_user(session):
        return None
    return await create_user(
        session,
        Caller(),
        CreateUser(
            username=username,
            password=password,
            display_name="Administrator",
            roles=(ADMIN,),
        ),
        passwords,
    )
