"""Logging follow-ups (跟进记录) with their action items, and reading a customer's history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_models import ActionItem, FollowUp
from crm_engagement.db.followup_repository import FollowUpFilter
from crm_engagement.domain import access, records
from crm_engagement.domain.commands import LogFollowUp
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.enums import ReminderKind
from crm_engagement.domain.reminders import schedule_on_day
from crm_engagement.domain.rules import next_follow_up_problem, summary_problem
from crm_engagement.events import published as ev
from crm_platform.errors import Conflict, InvalidField, NotFound
from crm_platform.events import add_event

# A follow-up ends the wait these reminders are about.
ENDED_BY_A_FOLLOW_UP = (
    ReminderKind.FIRST_FOLLOW_UP_MISSING.value,
    ReminderKind.CADENCE_OVERDUE.value,
)


@dataclass(frozen=True)
class FollowUpView:
    followup: FollowUp
    action_items: list[ActionItem]
    follower_name: str | None = None


@dataclass(frozen=True)
class FollowUpPage:
    views: list[FollowUpView]
    total: int


async def log_followup(
    session: AsyncSession,
    ctx: RequestContext,
    command: LogFollowUp,
    *,
    allow_archived: bool = False,
) -> FollowUpView:
    """One follow-up with its action items; schedules the follower's reminder on the day of
    the next follow-up and each item's overdue reminder, ends the waits a follow-up ends
    (first follow-up, cadence), completes the plan task it names, stages ``followup.logged``.
    A system follow-up (a resolved complaint) is history only: it counts for no cadence."""
    customer = await records.customer_for_write(
        session, ctx, command.customer_id, allow_archived=allow_archived
    )
    rules = await load_rules(session, ctx.settings)
    now = ctx.clock.now()
    today = rules.today(now)
    manual = command.source == "manual"
    if manual and (problem := summary_problem(command.summary, rules.summary_min_length)):
        raise InvalidField("summary", problem)
    if problem := next_follow_up_problem(command.next_follow_up_at, now):
        raise InvalidField("next_follow_up_at", problem)
    occurred_on = command.occurred_on or today
    if occurred_on > today:
        raise InvalidField("occurred_on", "is in the future")
    follower_id = command.follower_id or ctx.actor
    follower = await repo.get_user(session, follower_id) if manual else None
    if follower is not None and not follower.active:
        raise InvalidField("follower_id", "names a disabled user")
    task = None
    if command.plan_task_id is not None:
        task = await repo.get_task(session, command.plan_task_id, lock=True)
        if task is None or task.customer_id != customer.id:
            raise InvalidField("plan_task_id", "is not a task of this customer's plan")
        if task.status != "open":
            raise Conflict(
                f"Plan task {task.id} is {task.status} already.", slug="plan-task-not-open"
            )

    followup = FollowUp(
        id=uuid.uuid4(),
        customer_id=customer.id,
        contact_id=command.contact_id,
        occurred_on=occurred_on,
        method=command.method,
        summary=command.summary.strip(),
        feedback=command.feedback,
        next_follow_up_at=(
            command.next_follow_up_at.astimezone(UTC) if command.next_follow_up_at else None
        ),
        follower_id=follower_id,
        outcome=command.outcome,
        opportunity_id=command.opportunity_id,
        plan_task_id=command.plan_task_id,
        source=command.source,
        created_by=ctx.actor,
        created_at=now,
    )
    session.add(followup)
    await session.flush()
    items = []
    for position, new in enumerate(command.action_items):
        item = ActionItem(
            id=uuid.uuid4(),
            followup_id=followup.id,
            customer_id=customer.id,
            action=new.action,
            assignee_id=new.assignee_id or follower_id,
            due_on=new.due_on,
            created_at=now + timedelta(microseconds=position),  # listed in the order given
        )
        session.add(item)
        items.append(item)
        if item.due_on is not None:
            await schedule_on_day(
                session,
                rules,
                now,
                kind=ReminderKind.ACTION_ITEM_OVERDUE,
                dedupe_key=f"action:{item.id}:{item.due_on}",
                day=item.due_on + timedelta(days=1),
                recipient_id=item.assignee_id,
                title=f"行动项逾期 Overdue action for {customer.name}: {item.action}",
                customer_id=customer.id,
                subject_id=item.id,
            )
    if command.next_follow_up_at is not None:
        await schedule_on_day(
            session,
            rules,
            now,
            kind=ReminderKind.NEXT_FOLLOW_UP,
            dedupe_key=f"next:{followup.id}",
            day=rules.today(command.next_follow_up_at),
            recipient_id=follower_id,
            title=f"今日跟进 Follow up {customer.name} ({customer.code}) today",
            customer_id=customer.id,
            subject_id=followup.id,
        )
    if manual:
        await repo.record_follow_up_day(session, customer.id, occurred_on)
        await repo.cancel_customer_reminders(session, now, customer.id, ENDED_BY_A_FOLLOW_UP)
    if task is not None:
        task.status = "done"
        task.followup_id = followup.id
        task.completed_at = now
        session.add(task)
        await repo.cancel_subject_reminders(session, now, task.id)
    _stage_logged(session, ctx, followup)
    names = await repo.user_names(session, [follower_id])
    return FollowUpView(followup, items, names.get(follower_id))


def _stage_logged(session: AsyncSession, ctx: RequestContext, followup: FollowUp) -> None:
    payload = ev.FollowUpLogged(
        id=str(followup.id),
        customer_id=str(followup.customer_id),
        contact_id=str(followup.contact_id) if followup.contact_id else None,
        occurred_on=followup.occurred_on,
        method=followup.method,
        feedback=followup.feedback,
        outcome=followup.outcome,
        follower_id=followup.follower_id,
        next_follow_up_at=followup.next_follow_up_at,
        opportunity_id=str(followup.opportunity_id) if followup.opportunity_id else None,
        plan_task_id=str(followup.plan_task_id) if followup.plan_task_id else None,
        source=followup.source,
    )
    add_event(
        session,
        ev.build_event(ev.FOLLOWUP_LOGGED, payload, subject=str(followup.id), actor=ctx.actor),
    )


async def get_followup(
    session: AsyncSession, ctx: RequestContext, followup_id: uuid.UUID
) -> FollowUpView:
    followup = await repo.get_followup(session, followup_id)
    if followup is None:
        raise NotFound(f"No follow-up {followup_id}.")
    customer = await repo.get_customer(session, followup.customer_id)
    scope = access.owner_scope(ctx.identity)
    if scope is not None and (customer is None or customer.owner_id != scope):
        raise NotFound(f"No follow-up {followup_id}.")
    return (await _views(session, [followup]))[0]


async def history(
    session: AsyncSession, ctx: RequestContext, flt: FollowUpFilter, *, page: int, page_size: int
) -> FollowUpPage:
    """Newest first. A rep sees only their own customers' follow-ups; asking for another
    rep's customer is a 404, as for the customer itself."""
    if flt.customer_id is not None:
        await records.customer_for_read(session, ctx, flt.customer_id)
    scoped = FollowUpFilter(**{**flt.__dict__, "owner_id": access.owner_scope(ctx.identity)})
    rows, total = await repo.list_followups(
        session, scoped, offset=(page - 1) * page_size, limit=page_size
    )
    return FollowUpPage(await _views(session, rows), total)


async def _views(session: AsyncSession, rows: list[FollowUp]) -> list[FollowUpView]:
    items = await repo.action_items_of(session, [f.id for f in rows])
    by_followup: dict[uuid.UUID, list[ActionItem]] = {}
    for item in items:
        by_followup.setdefault(item.followup_id, []).append(item)
    names = await repo.user_names(session, {f.follower_id for f in rows})
    return [FollowUpView(f, by_followup.get(f.id, []), names.get(f.follower_id)) for f in rows]
