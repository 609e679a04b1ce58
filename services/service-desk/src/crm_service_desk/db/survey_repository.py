"""SQL of the satisfaction surveys: loading one with its ticket, claiming its answer once,
and writing the score onto the ticket."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db.ticket_models import Survey, Ticket


async def get_with_ticket(
    session: AsyncSession, survey_id: uuid.UUID
) -> tuple[Survey, Ticket] | None:
    statement = (
        select(Survey, Ticket)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Survey.id == survey_id)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def claim_answer(
    session: AsyncSession, survey_id: uuid.UUID, at: datetime, score: int, comment: str | None
) -> bool:
    """Records the answer if the survey has none yet; False when another got there first (the
    conditional update is the one place that decides, whatever the number of submissions)."""
    statement = (
        update(Survey)
        .where(Survey.id == survey_id, Survey.answered_at.is_(None))  # type: ignore[union-attr]
        .values(answered_at=at, score=score, comment=comment)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).rowcount == 1


async def record_on_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, at: datetime, score: int, comment: str | None
) -> None:
    """The score lands on the ticket (its version moves on: it changed)."""
    statement = (
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(
            satisfaction=score,
            satisfaction_comment=comment,
            satisfaction_at=at,
            version=Ticket.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)
