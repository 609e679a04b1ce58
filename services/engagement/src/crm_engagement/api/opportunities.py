"""Routes on opportunities: validate, delegate to the domain, shape the answer."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from crm_engagement.api.dependencies import Context
from crm_engagement.api.opportunity_schemas import (
    OpportunityCreate,
    OpportunityDetailOut,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    StageMoveIn,
)
from crm_engagement.db.opportunity_repository import OpportunityFilter
from crm_engagement.domain import opportunities
from crm_engagement.domain.commands import UpdateOpportunity
from crm_engagement.domain.stages import Stage
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"])


def _answer(detail: opportunities.OpportunityDetail, status_code: int = 200) -> Response:
    return Response(
        OpportunityDetailOut.of_detail(detail).model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"etag": f'"{detail.opportunity.version}"'},
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OpportunityDetailOut)
async def create_opportunity(
    body: OpportunityCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: opportunities.create_opportunity(session, ctx, body.command()),
        OpportunityDetailOut.of_detail,
        headers=lambda detail: {"etag": f'"{detail.opportunity.version}"'},
    )


@router.get("", response_model=OpportunityPage)
async def list_opportunities(
    session: SessionDep,
    ctx: Context,
    stage: Stage | None = None,
    owner_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: uuid.UUID | None = None,
    close_from: Annotated[date | None, Query(description="Expected close on or after")] = None,
    close_to: Annotated[date | None, Query(description="Expected close on or before")] = None,
    open_only: Annotated[bool, Query(description="Leave out won and lost")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> OpportunityPage:
    flt = OpportunityFilter(
        stage=stage.value if stage else None,
        owner_id=owner_id,
        customer_id=customer_id,
        close_from=close_from,
        close_to=close_to,
        open_only=open_only,
    )
    found, total = await opportunities.list_opportunities(
        session, ctx, flt, page=page, page_size=page_size
    )
    return OpportunityPage(
        items=[OpportunityOut.of(o) for o in found], total=total, page=page, page_size=page_size
    )


@router.get("/{opportunity_id}", response_model=OpportunityDetailOut)
async def get_opportunity(opportunity_id: uuid.UUID, session: SessionDep, ctx: Context) -> Response:
    return _answer(await opportunities.get_opportunity(session, ctx, opportunity_id))


@router.patch("/{opportunity_id}", response_model=OpportunityDetailOut)
async def update_opportunity(
    opportunity_id: uuid.UUID,
    body: OpportunityPatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = UpdateOpportunity(
        opportunity_id=opportunity_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(await opportunities.update_opportunity(session, ctx, command))


@router.post("/{opportunity_id}/stage", response_model=OpportunityDetailOut)
async def move_stage(
    opportunity_id: uuid.UUID,
    body: StageMoveIn,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = body.command(opportunity_id, expected_version(body.version, if_match))
    return _answer(await opportunities.move_stage(session, ctx, command))
