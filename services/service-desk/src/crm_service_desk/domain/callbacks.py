"""Callbacks (回访, seed 003): resolving a repair or visit ticket schedules a call to the
customer some days later; the SLA checker publishes ``ticket.callback_due`` when it is due,
and the agent records how it went, which lands in the ticket's log."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import Conflict, NotFound
from crm_service_desk.db import callback_repository as repo
from crm_service_desk.db.ticket_models import Callback, TicketLogEntry
from crm_service_desk.domain import access
from crm_service_desk.domain.commands import CompleteCallback
from crm_service_desk.domain.context import RequestContext


async def list_callbacks(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    assignee_id: str | None,
    ticket_id: uuid.UUID | None,
    pending_only: bool,
) -> list[Callback]:
    access.ensure_service_staff(ctx.identity, "see callbacks")
    return await repo.list_callbacks(
        session, assignee_id=assignee_id, ticket_id=ticket_id, pending_only=pending_only
    )


async def complete_callback(
    session: AsyncSession, ctx: RequestContext, command: CompleteCallback
) -> Callback:
    access.ensure_service_staff(ctx.identity, "record callbacks")
    callback = await repo.get_callback(session, command.callback_id, for_update=True)
    if callback is None:
        raise NotFound(f"No callback {command.callback_id}.")
    if callback.cancelled_at is not None:
        raise Conflict(
            "This callback was cancelled (the ticket was reopened).", slug="callback-cancelled"
        )
    if callback.done_at is not None:
        raise Conflict("This callback is already recorded.", slug="callback-done")
    now = ctx.clock.now()
    callback.done_at = now
    callback.outcome = command.outcome
    session.add(callback)
    session.add(
        TicketLogEntry(
            ticket_id=callback.ticket_id,
            at=now,
            actor_id=ctx.actor,
            action="callback_done",
            note=command.outcome,
            details={"callback_id": str(callback.id)},
        )
    )
    await session.flush()
    return callback
