"""SQL of the callbacks after repair and visit tickets."""

from __future__ import annotations

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db.ticket_models import Callback


async def get_callback(
    session: AsyncSession, callback_id: uuid.UUID, *, for_update: bool = False
) -> Callback | None:
    statement = select(Callback).where(Callback.id == callback_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_callbacks(
    session: AsyncSession,
    *,
    assignee_id: str | None,
    ticket_id: uuid.UUID | None,
    pending_only: bool,
    limit: int = 500,
) -> list[Callback]:
    statement = select(Callback).order_by(Callback.due_at)
    if assignee_id is not None:
        statement = statement.where(Callback.assignee_id == assignee_id)
    if ticket_id is not None:
        statement = statement.where(Callback.ticket_id == ticket_id)
    if pending_only:
        statement = statement.where(
            Callback.done_at.is_(None),  # type: ignore[union-attr]
            Callback.cancelled_at.is_(None),  # type: ignore[union-attr]
        )
    return list((await session.exec(statement.limit(limit))).all())
