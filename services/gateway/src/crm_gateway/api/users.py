"""The admin's user API: create, list, read, edit, disable and enable, set roles, reset a
password. Admins only (signed-in people; API keys are refused)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from crm_gateway.api.deps import FORGETS_IDENTITIES, AdminDep, caller_of, documented_security
from crm_gateway.api.schemas import (
    PasswordResetBody,
    Role,
    RolesBody,
    UserCreate,
    UserOut,
    UserPage,
    UserPatch,
    VersionBody,
)
from crm_gateway.db.repository import UserFilter
from crm_gateway.domain import users
from crm_gateway.domain.commands import ResetPassword, SetRoles, SetUserActive, UpdateUser
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(
    prefix="/api/v1/users",
    tags=["users"],
    dependencies=[FORGETS_IDENTITIES, *documented_security],
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "Not an admin (or an API key)"},
    },
)
UserId = Annotated[str, Path(max_length=36)]


def _etag(response: Response, version: int) -> None:
    response.headers["etag"] = f'"{version}"'


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(
    body: UserCreate,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, admin.user_id, idempotency_key, body),
        lambda: users.create_user(
            session, caller_of(request, admin), body.command(), request.app.state.passwords
        ),
        UserOut.of,
        headers=lambda user: {"etag": f'"{user.version}"', "location": f"/api/v1/users/{user.id}"},
    )


@router.get("", response_model=UserPage)
async def list_users(
    session: SessionDep,
    admin: AdminDep,
    active: bool | None = None,
    role: Role | None = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    manager_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserPage:
    found, next_cursor = await users.list_users(
        session,
        UserFilter(active=active, role=role, team=team, manager_id=manager_id),
        cursor=cursor,
        limit=limit,
    )
    return UserPage(items=[UserOut.of(u) for u in found], next_cursor=next_cursor)


@router.get("/{user_id}", response_model=UserOut)
async def get_user(
    user_id: UserId, session: SessionDep, admin: AdminDep, response: Response
) -> UserOut:
    user = await users.get_user(session, user_id)
    _etag(response, user.version)
    return UserOut.of(user)


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(
    user_id: UserId,
    body: UserPatch,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    response: Response,
    if_match: IfMatch = None,
) -> UserOut:
    command = UpdateUser(
        user_id=user_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    user = await users.update_user(session, caller_of(request, admin), command)
    _etag(response, user.version)
    return UserOut.of(user)


async def _set_active(
    user_id: UserId, active: bool, body: VersionBody | None, request: Request, session: SessionDep,
    admin: AdminDep,
) -> UserOut:  # fmt: skip
    command = SetUserActive(
        user_id=user_id, active=active, expected_version=body.version if body else None
    )
    return UserOut.of(await users.set_active(session, caller_of(request, admin), command))


@router.post("/{user_id}/disable", response_model=UserOut)
async def disable_user(
    user_id: UserId,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    body: VersionBody | None = None,
) -> UserOut:
    """From this answer on, the user's access tokens and API keys are refused."""
    return await _set_active(user_id, False, body, request, session, admin)


@router.post("/{user_id}/enable", response_model=UserOut)
async def enable_user(
    user_id: UserId,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    body: VersionBody | None = None,
) -> UserOut:
    return await _set_active(user_id, True, body, request, session, admin)


@router.put("/{user_id}/roles", response_model=UserOut)
async def set_roles(
    user_id: UserId, body: RolesBody, request: Request, session: SessionDep, admin: AdminDep
) -> UserOut:
    command = SetRoles(user_id=user_id, roles=tuple(body.roles), expected_version=body.version)
    return UserOut.of(await users.set_roles(session, caller_of(request, admin), command))


@router.post("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    user_id: UserId, body: PasswordResetBody, request: Request, session: SessionDep, admin: AdminDep
) -> Response:
    """Sets a new password; every session of the user ends."""
    await users.reset_password(
        session,
        caller_of(request, admin),
        ResetPassword(user_id=user_id, new_password=body.new_password),
        request.app.state.passwords,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
