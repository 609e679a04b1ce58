"""Routes of the analytics: the pipeline (数据分析-销售机会) and the follow-ups (数据分析-跟进)."""

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from crm_engagement.api.dependencies import Context
from crm_engagement.api.opportunity_schemas import PipelineAnalyticsOut
from crm_engagement.api.schemas import FollowUpAnalyticsOut
from crm_engagement.domain import analytics, followup_analytics
from crm_platform.http.dependencies import SessionDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


class PeriodBasis(StrEnum):
    CREATED = "created"
    CLOSED = "closed"


@router.get("/pipeline", response_model=PipelineAnalyticsOut)
async def pipeline(
    session: SessionDep,
    ctx: Context,
    owner_id: Annotated[
        str | None, Query(max_length=64, description="A sales rep always gets their own")
    ] = None,
    basis: Annotated[
        PeriodBasis, Query(description="The period selects opportunities created, or closed")
    ] = PeriodBasis.CREATED,
    date_from: Annotated[date | None, Query(description="First day (configured zone)")] = None,
    date_to: Annotated[date | None, Query(description="Last day, inclusive")] = None,
) -> PipelineAnalyticsOut:
    query = analytics.PipelineQuery(
        owner_id=owner_id, basis=basis.value, date_from=date_from, date_to=date_to
    )
    return PipelineAnalyticsOut.of(await analytics.pipeline_analytics(session, ctx, query))


@router.get("/follow-ups", response_model=FollowUpAnalyticsOut)
async def follow_ups(
    session: SessionDep,
    ctx: Context,
    follower_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="A sales rep always gets their own"),
    ] = None,
    date_from: Annotated[date | None, Query(description="First occurred_on day")] = None,
    date_to: Annotated[date | None, Query(description="Last occurred_on day, inclusive")] = None,
) -> FollowUpAnalyticsOut:
    query = followup_analytics.FollowUpAnalyticsQuery(
        follower_id=follower_id, date_from=date_from, date_to=date_to
    )
    return FollowUpAnalyticsOut.of(await followup_analytics.followup_analytics(session, ctx, query))
