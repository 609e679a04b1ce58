"""Action items (下一步计划): listed, and changed (marked done, re-assigned, re-dated)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_models import ActionItem
from crm_engagement.domain import access
from crm_engagement.domain.commands import UpdateActionItem
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.enums import ReminderKind
from crm_engagement.domain.reminders import schedule_on_day
from crm_platform.errors import NotFound, StaleVersion


@dataclass(frozen=True)
class ActionItemPage:
    items: list[ActionItem]
    total: int


async def list_action_items(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    assignee_id: str | None,
    customer_id: uuid.UUID | None,
    done: bool | None,
    page: int,
    page_size: int,
) -> ActionItemPage:
    """A rep sees the items of their customers and the items assigned to them."""
    items, total = await repo.list_action_items(
        session,
        owner_id=access.owner_scope(ctx.identity),
        assignee_id=assignee_id,
        customer_id=customer_id,
        done=done,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return ActionItemPage(items, total)


async def update_action_item(
    session: AsyncSession, ctx: RequestContext, command: UpdateActionItem
) -> ActionItem:
    """The customer's owner (or a manager) and the item's assignee may change it."""
    item = await repo.get_action_item(session, command.item_id, lock=True)
    if item is None:
        raise NotFound(f"No action item {command.item_id}.")
    customer = await repo.get_customer(session, item.customer_id)
    owner = customer.owner_id if customer is not None else ""
    if item.assignee_id != ctx.actor or not ctx.identity.roles & access.WRITE_OWN:
        try:
            access.ensure_can_write(ctx.identity, owner, command.item_id)
        except NotFound:
            raise NotFound(f"No action item {command.item_id}.") from None
    if item.version != command.expected_version:
        raise StaleVersion(
            f"Action item {item.id} is at version {item.version}, not {command.expected_version}.",
            current_version=item.version,
        )
    now = ctx.clock.now()
    changes = dict(command.changes)
    reschedule = False
    if "action" in changes:
        item.action = changes["action"]
    if "assignee_id" in changes and changes["assignee_id"] != item.assignee_id:
        item.assignee_id = changes["assignee_id"]
        await repo.repoint_subject_reminders(session, item.id, item.assignee_id)
    if "due_on" in changes and changes["due_on"] != item.due_on:
        item.due_on = changes["due_on"]
        reschedule = True
    if "done" in changes and changes["done"] != item.done:
        item.done = changes["done"]
        item.done_at = now if item.done else None
        reschedule = True
    if reschedule:
        await repo.cancel_subject_reminders(session, now, item.id)
        if not item.done and item.due_on is not None:
            rules = await load_rules(session, ctx.settings)
            await schedule_on_day(
                session,
                rules,
                now,
                kind=ReminderKind.ACTION_ITEM_OVERDUE,
                dedupe_key=f"action:{item.id}:{item.due_on}:{item.version + 1}",
                day=item.due_on + timedelta(days=1),
                recipient_id=item.assignee_id,
                title=f"行动项逾期 Overdue action: {item.action}",
                customer_id=item.customer_id,
                subject_id=item.id,
            )
    item.version += 1
    session.add(item)
    await session.flush()
    return item
