"""Routes on follow-ups: validate, delegate to the domain, shape the answer."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm_engagement.api.dependencies import Context
from crm_engagement.api.schemas import FollowUpCreate, FollowUpOut, FollowUpPageOut, MethodIn
from crm_engagement.db.followup_repository import FollowUpFilter
from crm_engagement.domain import exports, followups
from crm_engagement.domain.enums import Outcome
from crm_platform.errors import InvalidField
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once

router = APIRouter(prefix="/v1/follow-ups", tags=["follow-ups"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FollowUpOut)
async def log_followup(
    body: FollowUpCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: followups.log_followup(session, ctx, body.command()),
        FollowUpOut.of,
        headers=lambda view: {"location": f"/v1/follow-ups/{view.followup.id}"},
    )


def _filter(
    customer_id: uuid.UUID | None,
    occurred_from: date | None,
    occurred_to: date | None,
    method: MethodIn | None,
    follower_id: str | None,
    outcome: Outcome | None = None,
) -> FollowUpFilter:
    if occurred_from and occurred_to and occurred_from > occurred_to:
        raise InvalidField("occurred_to", "is before occurred_from", location="query")
    return FollowUpFilter(
        customer_id=customer_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        method=method.value if method else None,
        follower_id=follower_id,
        outcome=outcome.value if outcome else None,
    )


FollowerQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("", response_model=FollowUpPageOut)
async def list_followups(
    session: SessionDep,
    ctx: Context,
    customer_id: uuid.UUID | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
    method: MethodIn | None = None,
    follower_id: FollowerQuery = None,
    outcome: Outcome | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> FollowUpPageOut:
    """A customer's history (or everyone's the caller may see), newest first."""
    flt = _filter(customer_id, occurred_from, occurred_to, method, follower_id, outcome)
    found = await followups.history(session, ctx, flt, page=page, page_size=page_size)
    return FollowUpPageOut(
        items=[FollowUpOut.of(v) for v in found.views],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The history as XLSX"}},
)
async def export_followups(
    session: SessionDep,
    ctx: Context,
    customer_id: uuid.UUID | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
    method: MethodIn | None = None,
    follower_id: FollowerQuery = None,
    outcome: Outcome | None = None,
) -> Response:
    flt = _filter(customer_id, occurred_from, occurred_to, method, follower_id, outcome)
    content = await exports.export_xlsx(session, ctx, flt)
    return Response(
        content,
        media_type=XLSX,
        headers={"content-disposition": 'attachment; filename="follow-ups.xlsx"'},
    )


@router.get("/{followup_id}", response_model=FollowUpOut)
async def get_followup(followup_id: uuid.UUID, session: SessionDep, ctx: Context) -> FollowUpOut:
    return FollowUpOut.of(await followups.get_followup(session, ctx, followup_id))
