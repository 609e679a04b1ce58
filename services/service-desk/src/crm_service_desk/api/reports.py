"""Routes of the service-desk reports (``/v1/service-desk/reports/...``)."""

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from crm_platform.http.dependencies import SessionDep
from crm_service_desk.api.dependencies import Context
from crm_service_desk.domain import reports

router = APIRouter(prefix="/v1/service-desk/reports", tags=["service desk reports"])

DateFrom = Annotated[date | None, Query(description="First day (local); default: 6 days ago")]
DateTo = Annotated[date | None, Query(description="Last day, inclusive (local); default: today")]


class Bucket(StrEnum):
    WEEK = "week"
    MONTH = "month"


@router.get("/complaints", response_model=reports.ComplaintReview)
async def complaint_review(
    session: SessionDep,
    ctx: Context,
    week_of: Annotated[date | None, Query(description="Any day of the week to review")] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> reports.ComplaintReview:
    """The weekly complaint review: by cause, count, hours to resolve (``week_of`` picks the
    Monday-to-Sunday week; otherwise the period)."""
    period = reports.week_of(week_of) if week_of else reports.period_of(ctx, date_from, date_to)
    return await reports.complaint_review(session, ctx, period)


@router.get("/sla", response_model=reports.SlaCompliance)
async def sla_compliance(
    session: SessionDep, ctx: Context, date_from: DateFrom = None, date_to: DateTo = None
) -> reports.SlaCompliance:
    """SLA compliance per clock (assign, first response, resolve) of the clocks started in
    the period."""
    return await reports.sla_compliance(session, ctx, reports.period_of(ctx, date_from, date_to))


@router.get("/volume", response_model=reports.Volume)
async def volume(
    session: SessionDep, ctx: Context, date_from: DateFrom = None, date_to: DateTo = None
) -> reports.Volume:
    """Tickets opened in the period by type, priority and status."""
    return await reports.volume(session, ctx, reports.period_of(ctx, date_from, date_to))


@router.get("/csat", response_model=reports.CsatReport)
async def csat(
    session: SessionDep,
    ctx: Context,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    bucket: Bucket = Bucket.WEEK,
) -> reports.CsatReport:
    """Customer satisfaction: average score, CSAT (share of 4 and 5), response rate, per
    agent and per week or month."""
    period = reports.period_of(ctx, date_from, date_to)
    return await reports.csat(session, ctx, period, agent_id=agent_id, bucket=bucket.value)
