"""The directory of colleagues: who works here, by name, team and role.

Every signed-in person (and API key) may read it, because the console shows people by name
(a customer's owner, a ticket's assignee, who moved an opportunity) and lets managers and
supervisors pick one (an owner transfer, an assignment); reading ``/api/v1/users`` is an
admin's. It answers only what a colleague may know: no email, mobile, manager or history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crm_gateway.api.deps import FORGETS_IDENTITIES, AuthenticatedDep, documented_security
from crm_gateway.api.schemas import PersonPage, Role
from crm_gateway.db.repository import UserFilter
from crm_gateway.domain import users
from crm_platform.http.dependencies import SessionDep

router = APIRouter(
    prefix="/api/v1/people",
    tags=["users"],
    dependencies=[FORGETS_IDENTITIES, *documented_security],
    responses={401: {"description": "Not signed in"}},
)


@router.get("", response_model=PersonPage)
async def list_people(
    session: SessionDep,
    principal: AuthenticatedDep,
    role: Role | None = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    include_inactive: bool = False,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> PersonPage:
    """Colleagues by username; active ones unless ``include_inactive`` (for names in history)."""
    found, next_cursor = await users.list_users(
        session,
        UserFilter(active=None if include_inactive else True, role=role, team=team),
        cursor=cursor,
        limit=limit,
    )
    return PersonPage.of(found, next_cursor)
