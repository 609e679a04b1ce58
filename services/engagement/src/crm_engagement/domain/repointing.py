"""Re-pointing records when customers merge or change owner (SPEC §1 transfers and merges).

Each engagement module that keeps rows about customers re-points them here, so the event
handlers call one function: follow-ups, action items, reminders, plan tasks, opportunities.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.domain import opportunities


async def repoint_customer(
    session: AsyncSession, from_id: uuid.UUID, to_id: uuid.UUID, now: datetime
) -> None:
    """``from_id`` was merged into ``to_id``: its follow-ups, action items, reminders and
    done plan tasks move to the survivor; its open plan tasks (and their reminders) are
    cancelled, the survivor's plan stands; the survivor's last follow-up day is the later."""
    await repo.move_customer_rows(session, from_id, to_id, now)
    await repoint_opportunities_to_customer(session, from_id, to_id)


async def repoint_owner(
    session: AsyncSession, customer_id: uuid.UUID, from_owner: str, to_owner: str
) -> None:
    """The customer changed owner: open plan tasks, the previous owner's pending reminders
    about the customer and their open action items on it go to the new owner."""
    task_ids = await repo.repoint_open_tasks(session, customer_id, to_owner)
    for task_id in task_ids:
        await repo.repoint_subject_reminders(session, task_id, to_owner)
    await repo.repoint_reminders(session, customer_id, from_owner, to_owner)
    await repo.repoint_action_items(session, customer_id, from_owner, to_owner)
    await repoint_opportunities_to_owner(session, customer_id, from_owner, to_owner)


# --------------------------------------------------------------------------- opportunities


async def repoint_opportunities_to_customer(
    session: AsyncSession, from_id: uuid.UUID, to_id: uuid.UUID
) -> None:
    """Opportunities of a merged customer move to the survivor (each keeps its code)."""
    await opportunities.repoint_opportunities(session, from_id, to_id)


async def repoint_opportunities_to_owner(
    session: AsyncSession, customer_id: uuid.UUID, from_owner: str, to_owner: str
) -> None:
    """Open opportunities of a customer follow its new owner; closed ones stay credited to
    whoever closed them."""
    await opportunities.reassign_open_opportunities(session, customer_id, to_owner)
