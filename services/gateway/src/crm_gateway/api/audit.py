"""The audit trail for admins: filters and a cursor, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from crm_gateway.api.deps import AdminDep, documented_security
from crm_gateway.api.schemas import AuditOut, AuditPage
from crm_gateway.db.repository import AuditFilter
from crm_gateway.domain import audit
from crm_platform.errors import BadRequest
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.moments import UtcMoment

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=documented_security,
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "Not an admin (or an API key)"},
    },
)
Action = Literal[audit.ACTIONS]  # type: ignore[valid-type]


@router.get("", response_model=AuditPage)
async def list_audit(
    session: SessionDep,
    admin: AdminDep,
    actor: Annotated[str | None, Query(max_length=100, description="A user id")] = None,
    action: Action | None = None,
    target: Annotated[
        str | None, Query(max_length=200, description="e.g. user:<id>, customer:<id>")
    ] = None,
    since: Annotated[UtcMoment | None, Query(alias="from", description="At or after")] = None,
    until: Annotated[UtcMoment | None, Query(alias="to", description="Before")] = None,
    cursor: Annotated[str | None, Query(max_length=18, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    before = None
    if cursor is not None:
        if not cursor.isdigit():
            raise BadRequest("The cursor is not one this list gave.", slug="bad-cursor")
        before = int(cursor)
    entries, next_cursor = await audit.list_entries(
        session,
        AuditFilter(actor_id=actor, action=action, target=target, since=since, until=until),
        cursor=before,
        limit=limit,
    )
    return AuditPage(
        items=[AuditOut.of(e) for e in entries],
        next_cursor=None if next_cursor is None else str(next_cursor),
    )
