"""What engagement does when other services' events arrive (the handlers parse, this acts):
customers' changes (owner, grade, lifecycle, merges), resolved complaints, nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.domain import followups, plans
from crm_engagement.domain.commands import LogFollowUp
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.enums import ReminderKind
from crm_engagement.domain.reminders import schedule_at
from crm_engagement.domain.repointing import repoint_customer, repoint_owner


@dataclass(frozen=True)
class CustomerChange:
    id: uuid.UUID
    code: str
    name: str
    owner_id: str
    lifecycle: str
    grade: str | None
    archived: bool
    version: int
    event_type: str
    event_time: datetime


async def customer_changed(
    session: AsyncSession, ctx: RequestContext, change: CustomerChange
) -> None:
    """Runs before the replica's upsert (staged to commit) with the replica as it was:
    an older state than the replica's changes nothing here."""
    current = await repo.get_customer(session, change.id)
    if current is not None and current.source_version >= change.version:
        return
    rules = await load_rules(session, ctx.settings)
    now = ctx.clock.now()
    await repo.ensure_activity(session, change.id, rules.today(change.event_time))
    if current is not None and current.owner_id != change.owner_id:
        await repoint_owner(session, change.id, current.owner_id, change.owner_id)
    if (
        change.event_type == "customer.created"
        and change.lifecycle == "prospect"
        and not change.archived
    ):
        await schedule_at(
            session,
            now,
            kind=ReminderKind.FIRST_FOLLOW_UP_MISSING,
            dedupe_key=f"first:{change.id}",
            due_at=change.event_time + timedelta(hours=rules.first_follow_up_hours),
            recipient_id=change.owner_id,
            title=f"新客户待首次跟进 {change.name} ({change.code}) has no first follow-up yet",
            customer_id=change.id,
        )
    if change.archived:
        await repo.cancel_customer_reminders(
            session, now, change.id, [k.value for k in ReminderKind]
        )
    grade_changed = current is None or current.grade != change.grade
    if grade_changed or change.archived or (current is not None and current.archived):
        await plans.plan_customer(
            session,
            rules,
            plans.PlannedCustomer(
                change.id, change.name, change.code, change.owner_id, change.grade, change.archived
            ),
            now,
        )


async def customer_merged(
    session: AsyncSession, ctx: RequestContext, source_id: uuid.UUID, survivor_id: uuid.UUID
) -> None:
    await repoint_customer(session, source_id, survivor_id, ctx.clock.now())


COMPLAINT_RESOLVED = "投诉已解决 complaint resolved"


async def complaint_resolved(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    customer_id: uuid.UUID,
    ticket_ref: str,
    resolution: str | None,
    resolved_at: datetime,
) -> bool:
    """A system follow-up in the customer's history; False if the customer is unknown here."""
    customer = await repo.get_customer(session, customer_id)
    if customer is None:
        return False
    rules = await load_rules(session, ctx.settings)
    summary = f"{COMPLAINT_RESOLVED}: {ticket_ref}"
    if resolution:
        summary += f" — {resolution}"
    summary = summary[:2000]
    await followups.log_followup(
        session,
        ctx,
        LogFollowUp(
            customer_id=customer_id,
            summary=summary,
            method="system",
            feedback="neutral",
            outcome="continue",
            occurred_on=min(rules.today(resolved_at), rules.today(ctx.clock.now())),
            follower_id=customer.owner_id,
            source="system",
        ),
        allow_archived=True,
    )
    return True
