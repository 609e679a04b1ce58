"""SQL of the service-desk reports: aggregates over a period, grouped in the database; the
domain turns them into figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db.ticket_models import SlaClock, Survey, Ticket


async def complaints_in(session: AsyncSession, start: datetime, end: datetime) -> list[Any]:
    """Complaints opened in [start, end): cause, status, opened and resolved moments."""
    statement = select(
        Ticket.id,
        Ticket.code,
        Ticket.cause,
        Ticket.status,
        Ticket.created_at,
        Ticket.resolved_at,
        Ticket.mood,
    ).where(Ticket.ticket_type == "complaint", Ticket.created_at >= start, Ticket.created_at < end)
    return list((await session.execute(statement)).all())


async def volume_in(session: AsyncSession, start: datetime, end: datetime) -> list[Any]:
    """Tickets opened in [start, end) by type, priority and status."""
    statement = (
        select(Ticket.ticket_type, Ticket.priority, Ticket.status, func.count())
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(Ticket.ticket_type, Ticket.priority, Ticket.status)
    )
    return list((await session.execute(statement)).all())


async def sla_outcomes_in(
    session: AsyncSession, start: datetime, end: datetime, now: datetime
) -> list[Any]:
    """Clocks started in [start, end) by kind: met, breached (stopped late, or running past
    due), running within target, paused."""
    late = and_(SlaClock.stopped_at.is_(None), SlaClock.paused_at.is_(None), SlaClock.due_at < now)  # type: ignore[union-attr]
    statement = (
        select(
            SlaClock.kind,
            func.count(),
            func.sum(case((SlaClock.outcome == "met", 1), else_=0)),
            func.sum(case((SlaClock.outcome == "breached", 1), (late, 1), else_=0)),
            func.sum(
                case((SlaClock.paused_at.is_not(None) & SlaClock.stopped_at.is_(None), 1), else_=0)
            ),  # type: ignore[union-attr]
        )
        .where(SlaClock.started_at >= start, SlaClock.started_at < end)
        .group_by(SlaClock.kind)
    )
    return list((await session.execute(statement)).all())


async def answered_surveys_in(
    session: AsyncSession, start: datetime, end: datetime, agent_id: str | None
) -> list[Any]:
    """Surveys answered in [start, end): agent, score, moment."""
    statement = select(Survey.agent_id, Survey.score, Survey.answered_at).where(
        Survey.answered_at >= start,
        Survey.answered_at < end,  # type: ignore[operator]
    )
    if agent_id is not None:
        statement = statement.where(Survey.agent_id == agent_id)
    return list((await session.execute(statement)).all())


async def surveys_sent_in(
    session: AsyncSession, start: datetime, end: datetime, agent_id: str | None
) -> int:
    statement = (
        select(func.count())
        .select_from(Survey)
        .where(Survey.sent_at >= start, Survey.sent_at < end)
    )
    if agent_id is not None:
        statement = statement.where(Survey.agent_id == agent_id)
    return int((await session.execute(statement)).scalar_one())


async def csat_since(
    session: AsyncSession, start: datetime, satisfied_from: int
) -> tuple[int, float | None, int]:
    """Surveys answered since ``start``: how many, their average score, how many scored
    ``satisfied_from`` or more (one aggregate, for the SLA checker's gauges)."""
    statement = select(
        func.count(),
        func.avg(Survey.score),
        func.sum(case((Survey.score >= satisfied_from, 1), else_=0)),  # type: ignore[operator]
    ).where(Survey.answered_at >= start)  # type: ignore[operator]
    answers, average, satisfied = (await session.execute(statement)).one()
    return int(answers), None if average is None else float(average), int(satisfied or 0)
