"""Maintenance plans (维护计划, seed 000 §3.2): per grade, dated tasks per customer up to a
horizon, each with a reminder to the owner on its day. Planning is idempotent: it cancels
the open tasks of another grade and continues each touch's series to the horizon, so the
same call serves a grade set or changed, and the daily top-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_models import PlanTask
from crm_engagement.domain import access, records
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.enums import LABELS, PlanTouch, ReminderKind
from crm_engagement.domain.reminders import reminder_row
from crm_engagement.domain.rules import Rules, plan_for


@dataclass(frozen=True)
class PlannedCustomer:
    """What planning needs of a customer (the replica's row or an event's state)."""

    id: uuid.UUID
    name: str
    code: str
    owner_id: str
    grade: str | None
    archived: bool = False


async def plan_customer(
    session: AsyncSession, rules: Rules, customer: PlannedCustomer, now: datetime
) -> int:
    """Bring the customer's plan in line with its grade and owner; returns tasks added."""
    today = rules.today(now)
    for task in await repo.open_tasks(session, customer.id):
        if customer.archived or task.grade != customer.grade:
            task.status = "cancelled"
            session.add(task)
            await repo.cancel_subject_reminders(session, now, task.id)
        elif task.owner_id != customer.owner_id:
            task.owner_id = customer.owner_id
            session.add(task)
            await repo.repoint_subject_reminders(session, task.id, customer.owner_id)
    if customer.archived or customer.grade is None:
        return 0
    await session.flush()
    anchors = await repo.plan_anchors(session, customer.id, customer.grade)
    added = plan_for(
        rules.plan_templates, customer.grade, anchors, today, rules.plan_horizon_months
    )
    for touch, day in added:
        await _add_task(session, rules, customer, touch, day, now)
    return len(added)


async def _add_task(
    session: AsyncSession,
    rules: Rules,
    customer: PlannedCustomer,
    touch: str,
    day: date,
    now: datetime,
) -> None:
    assert customer.grade is not None
    task = PlanTask(
        id=uuid.uuid4(),
        customer_id=customer.id,
        owner_id=customer.owner_id,
        grade=customer.grade,
        kind=touch,
        due_on=day,
        created_at=now,
    )
    session.add(task)
    await repo.insert_reminder(session, _task_reminder(rules, customer, touch, day, task.id, now))


def _task_reminder(
    rules: Rules,
    customer: PlannedCustomer,
    touch: str,
    day: date,
    task_id: uuid.UUID,
    now: datetime,
) -> dict[str, object]:
    label = LABELS[PlanTouch].get(touch, (touch, touch))
    return reminder_row(
        rules,
        now,
        kind=ReminderKind.PLAN_TASK,
        dedupe_key=f"plan:{task_id}",
        day=day,
        recipient_id=customer.owner_id,
        title=f"维护计划 {label[0]} {label[1]}: {customer.name} ({customer.code})",
        customer_id=customer.id,
        subject_id=task_id,
    )


async def top_up_all(session: AsyncSession, rules: Rules, now: datetime) -> int:
    """``plan_customer`` for every graded, unarchived customer, set-wise: the anchors of all
    plans in one query, the new tasks and their reminders in one insert each. A customer
    with open tasks of another grade or owner (its change not re-planned yet) goes through
    ``plan_customer`` itself."""
    today = rules.today(now)
    stale = await repo.customers_with_stale_open_tasks(session)
    anchors = await repo.all_plan_anchors(session)
    tasks: list[dict[str, object]] = []
    reminders: list[dict[str, object]] = []
    added = 0
    for row in await repo.plan_customers(session):
        customer = PlannedCustomer(row.id, row.name, row.code, row.owner_id, row.grade)
        if row.id in stale:
            added += await plan_customer(session, rules, customer, now)
            continue
        planned = plan_for(
            rules.plan_templates,
            row.grade,
            anchors.get(row.id, {}),
            today,
            rules.plan_horizon_months,
        )
        for touch, day in planned:
            task_id = uuid.uuid4()
            tasks.append(
                {
                    "id": task_id,
                    "customer_id": row.id,
                    "owner_id": row.owner_id,
                    "grade": row.grade,
                    "kind": touch,
                    "due_on": day,
                    "status": "open",
                    "followup_id": None,
                    "completed_at": None,
                    "created_at": now,
                }
            )
            reminders.append(_task_reminder(rules, customer, touch, day, task_id, now))
        added += len(planned)
    await repo.insert_plan_tasks(session, tasks)
    await repo.insert_reminders(session, reminders)
    return added


@dataclass(frozen=True)
class TaskPage:
    items: list[PlanTask]
    total: int


async def list_tasks(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    customer_id: uuid.UUID | None,
    owner_id: str | None,
    status: str | None,
    due_from: date | None,
    due_to: date | None,
    page: int,
    page_size: int,
) -> TaskPage:
    scope = access.owner_scope(ctx.identity)
    if customer_id is not None:
        await records.customer_for_read(session, ctx, customer_id)
    items, total = await repo.list_tasks(
        session,
        owner_id=scope if scope is not None else owner_id,
        customer_id=customer_id,
        status=status,
        due_from=due_from,
        due_to=due_to,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return TaskPage(items, total)
