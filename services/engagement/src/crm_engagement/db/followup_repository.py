"""SQL of follow-ups, action items, reminders, plan tasks, settings and the replicas.

Works on PostgreSQL and SQLite; claiming due reminders uses ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (SQLite, with one writer at a time, ignores it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db.followup_models import (
    ActionItem,
    CustomerActivity,
    EngagementSettingsRow,
    FollowUp,
    PlanTask,
    Reminder,
    UserReplica,
)
from crm_engagement.db.models import CustomerReplica
from crm_platform.db import conflict_insert

# --------------------------------------------------------------------------- replicas


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerReplica | None:
    return await session.get(CustomerReplica, customer_id)


async def user_names(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.exec(  # type: ignore[call-overload]
        select(UserReplica.id, UserReplica.display_name).where(UserReplica.id.in_(wanted))
    )
    return {row[0]: row[1] for row in rows.all()}


async def get_user(session: AsyncSession, user_id: str) -> UserReplica | None:
    return await session.get(UserReplica, user_id)


async def ensure_activity(session: AsyncSession, customer_id: uuid.UUID, since_on: date) -> None:
    statement = conflict_insert(session, CustomerActivity.__table__).values(
        customer_id=customer_id, since_on=since_on
    )
    await session.exec(statement.on_conflict_do_nothing(index_elements=["customer_id"]))  # type: ignore[call-overload]


async def record_follow_up_day(session: AsyncSession, customer_id: uuid.UUID, day: date) -> None:
    """The customer's last follow-up day becomes ``day`` unless a later one is known."""
    table = CustomerActivity.__table__
    statement = conflict_insert(session, table).values(
        customer_id=customer_id, since_on=day, last_follow_up_on=day
    )
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={"last_follow_up_on": statement.excluded.last_follow_up_on},
        where=or_(table.c.last_follow_up_on.is_(None), table.c.last_follow_up_on < day),
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def get_activity(session: AsyncSession, customer_id: uuid.UUID) -> CustomerActivity | None:
    return await session.get(CustomerActivity, customer_id)


# --------------------------------------------------------------------------- follow-ups


@dataclass(frozen=True)
class FollowUpFilter:
    customer_id: uuid.UUID | None = None
    owner_id: str | None = None  # a rep's scope: customers they own
    occurred_from: date | None = None
    occurred_to: date | None = None
    method: str | None = None
    follower_id: str | None = None
    outcome: str | None = None


def _followup_conditions(flt: FollowUpFilter) -> list[Any]:
    conditions: list[Any] = []
    if flt.customer_id is not None:
        conditions.append(FollowUp.customer_id == flt.customer_id)
    if flt.owner_id is not None:
        owned = select(CustomerReplica.id).where(CustomerReplica.owner_id == flt.owner_id)
        conditions.append(FollowUp.customer_id.in_(owned))  # type: ignore[attr-defined]
    if flt.occurred_from is not None:
        conditions.append(FollowUp.occurred_on >= flt.occurred_from)
    if flt.occurred_to is not None:
        conditions.append(FollowUp.occurred_on <= flt.occurred_to)
    if flt.method is not None:
        conditions.append(FollowUp.method == flt.method)
    if flt.follower_id is not None:
        conditions.append(FollowUp.follower_id == flt.follower_id)
    if flt.outcome is not None:
        conditions.append(FollowUp.outcome == flt.outcome)
    return conditions


async def list_followups(
    session: AsyncSession, flt: FollowUpFilter, *, offset: int, limit: int
) -> tuple[list[FollowUp], int]:
    conditions = _followup_conditions(flt)
    total = (
        await session.exec(select(func.count()).select_from(FollowUp).where(*conditions))  # type: ignore[call-overload]
    ).one()
    rows = await session.exec(
        select(FollowUp)
        .where(*conditions)
        .order_by(FollowUp.occurred_on.desc(), FollowUp.created_at.desc(), FollowUp.id)  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total)


async def get_followup(session: AsyncSession, followup_id: uuid.UUID) -> FollowUp | None:
    return await session.get(FollowUp, followup_id)


async def action_items_of(
    session: AsyncSession, followup_ids: Sequence[uuid.UUID]
) -> list[ActionItem]:
    if not followup_ids:
        return []
    rows = await session.exec(
        select(ActionItem)
        .where(ActionItem.followup_id.in_(followup_ids))  # type: ignore[attr-defined]
        .order_by(ActionItem.created_at, ActionItem.id)
    )
    return list(rows.all())


async def get_action_item(
    session: AsyncSession, item_id: uuid.UUID, *, lock: bool = False
) -> ActionItem | None:
    statement = select(ActionItem).where(ActionItem.id == item_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_action_items(
    session: AsyncSession,
    *,
    owner_id: str | None,
    assignee_id: str | None,
    customer_id: uuid.UUID | None,
    done: bool | None,
    offset: int,
    limit: int,
) -> tuple[list[ActionItem], int]:
    conditions: list[Any] = []
    if owner_id is not None:
        owned = select(CustomerReplica.id).where(CustomerReplica.owner_id == owner_id)
        conditions.append(
            or_(ActionItem.customer_id.in_(owned), ActionItem.assignee_id == owner_id)  # type: ignore[attr-defined]
        )
    if assignee_id is not None:
        conditions.append(ActionItem.assignee_id == assignee_id)
    if customer_id is not None:
        conditions.append(ActionItem.customer_id == customer_id)
    if done is not None:
        conditions.append(ActionItem.done == done)
    total = (
        await session.exec(select(func.count()).select_from(ActionItem).where(*conditions))  # type: ignore[call-overload]
    ).one()
    rows = await session.exec(
        select(ActionItem)
        .where(*conditions)
        .order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.created_at)  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total)


# --------------------------------------------------------------------------- reminders


async def insert_reminder(session: AsyncSession, values: dict[str, Any]) -> None:
    """A reminder that exists already (same dedupe key) is left as it is."""
    statement = conflict_insert(session, Reminder.__table__).values(**values)
    await session.exec(statement.on_conflict_do_nothing(index_elements=["dedupe_key"]))  # type: ignore[call-overload]


def _pending() -> Any:
    return and_(Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None))  # type: ignore[union-attr]


async def cancel_reminders(session: AsyncSession, now: datetime, *conditions: Any) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(Reminder).where(_pending(), *conditions).values(cancelled_at=now)
    )


async def cancel_subject_reminders(
    session: AsyncSession, now: datetime, subject_id: uuid.UUID
) -> None:
    await cancel_reminders(session, now, Reminder.subject_id == subject_id)


async def cancel_customer_reminders(
    session: AsyncSession, now: datetime, customer_id: uuid.UUID, kinds: Sequence[str]
) -> None:
    await cancel_reminders(
        session,
        now,
        Reminder.customer_id == customer_id,
        Reminder.kind.in_(kinds),  # type: ignore[attr-defined]
    )


async def insert_reminders(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """``insert_reminder`` for many, in one statement (executemany)."""
    if not rows:
        return
    statement = conflict_insert(session, Reminder.__table__).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    await session.exec(statement, params=rows)  # type: ignore[call-overload]


FIRED_COLUMNS = (
    Reminder.id,
    Reminder.kind,
    Reminder.recipient_id,
    Reminder.customer_id,
    Reminder.subject_id,
    Reminder.title,
    Reminder.due_on,
    Reminder.due_at,
    Reminder.late,
)


async def fire_due_reminders(
    session: AsyncSession, now: datetime, late_before: datetime, limit: int
) -> list[Any]:
    """Marks up to ``limit`` due, unfired, uncancelled reminders fired at ``now`` (late if due
    before ``late_before``) in one statement and returns them (``FIRED_COLUMNS``). The rows
    are locked with ``SKIP LOCKED``: rows another scheduler holds are skipped, rows it fired
    meanwhile no longer match."""
    due = (
        select(Reminder.id)
        .where(_pending(), Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(due))  # type: ignore[attr-defined]
        .values(fired_at=now, late=Reminder.due_at < late_before)
        .returning(*FIRED_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    return list((await session.exec(statement)).all())  # type: ignore[call-overload]


async def pending_reminders_with_day(session: AsyncSession) -> list[Reminder]:
    rows = await session.exec(select(Reminder).where(_pending(), Reminder.due_on.is_not(None)))  # type: ignore[union-attr]
    return list(rows.all())


async def list_reminders(
    session: AsyncSession, *, recipient_id: str | None, fired: bool | None, offset: int, limit: int
) -> tuple[list[Reminder], int]:
    conditions: list[Any] = [Reminder.cancelled_at.is_(None)]  # type: ignore[union-attr]
    if recipient_id is not None:
        conditions.append(Reminder.recipient_id == recipient_id)
    if fired is not None:
        conditions.append(Reminder.fired_at.is_not(None) if fired else Reminder.fired_at.is_(None))  # type: ignore[union-attr]
    total = (
        await session.exec(select(func.count()).select_from(Reminder).where(*conditions))  # type: ignore[call-overload]
    ).one()
    rows = await session.exec(
        select(Reminder)
        .where(*conditions)
        .order_by(Reminder.due_at.desc())
        .offset(offset)
        .limit(limit)  # type: ignore[attr-defined]
    )
    return list(rows.all()), int(total)


async def repoint_reminders(
    session: AsyncSession, customer_id: uuid.UUID, from_recipient: str, to_recipient: str
) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(
            _pending(),
            Reminder.customer_id == customer_id,
            Reminder.recipient_id == from_recipient,
        )
        .values(recipient_id=to_recipient)
    )


async def repoint_subject_reminders(
    session: AsyncSession, subject_id: uuid.UUID, to_recipient: str
) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(Reminder)
        .where(_pending(), Reminder.subject_id == subject_id)
        .values(recipient_id=to_recipient)
    )


# --------------------------------------------------------------------------- cadence


@dataclass(frozen=True)
class OverdueRow:
    customer_id: uuid.UUID
    code: str
    name: str
    owner_id: str
    grade: str
    last_follow_up_on: date | None
    since_on: date


async def overdue_customers(
    session: AsyncSession,
    cutoffs: dict[str, date],
    *,
    owner_id: str | None,
    offset: int,
    limit: int | None,
) -> tuple[list[OverdueRow], int]:
    """Customers of each grade whose last follow-up (or first-known day) is on or before the
    grade's cutoff."""
    if not cutoffs:
        return [], 0
    anchor = func.coalesce(CustomerActivity.last_follow_up_on, CustomerActivity.since_on)
    conditions: list[Any] = [
        CustomerReplica.archived.is_(False),  # type: ignore[attr-defined]
        or_(*(and_(CustomerReplica.grade == g, anchor <= cut) for g, cut in cutoffs.items())),
    ]
    if owner_id is not None:
        conditions.append(CustomerReplica.owner_id == owner_id)
    joined = (CustomerReplica, CustomerActivity)
    base = select(*joined).join(
        CustomerActivity,
        CustomerActivity.customer_id == CustomerReplica.id,  # type: ignore[arg-type]
    )
    total = (
        await session.exec(  # type: ignore[call-overload]
            select(func.count())
            .select_from(CustomerReplica)
            .join(CustomerActivity, CustomerActivity.customer_id == CustomerReplica.id)
            .where(*conditions)
        )
    ).one()
    statement = base.where(*conditions).order_by(anchor, CustomerReplica.code).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    rows = await session.exec(statement)  # type: ignore[call-overload]
    found = [
        OverdueRow(
            customer_id=c.id,
            code=c.code,
            name=c.name,
            owner_id=c.owner_id,
            grade=c.grade or "",
            last_follow_up_on=a.last_follow_up_on,
            since_on=a.since_on,
        )
        for c, a in rows.all()
    ]
    return found, int(total)


async def overdue_for_reminding(
    session: AsyncSession, cutoffs: dict[str, date]
) -> list[OverdueRow]:
    """Every customer ``overdue_customers`` lists, in one query of the columns needed."""
    if not cutoffs:
        return []
    anchor = func.coalesce(CustomerActivity.last_follow_up_on, CustomerActivity.since_on)
    statement = (
        select(  # type: ignore[call-overload]
            CustomerReplica.id,
            CustomerReplica.code,
            CustomerReplica.name,
            CustomerReplica.owner_id,
            CustomerReplica.grade,
            CustomerActivity.last_follow_up_on,
            CustomerActivity.since_on,
        )
        .join(CustomerActivity, CustomerActivity.customer_id == CustomerReplica.id)
        .where(
            CustomerReplica.archived.is_(False),  # type: ignore[attr-defined]
            or_(*(and_(CustomerReplica.grade == g, anchor <= cut) for g, cut in cutoffs.items())),
        )
    )
    return [OverdueRow(*row) for row in (await session.exec(statement)).all()]


# --------------------------------------------------------------------------- plans


async def plan_anchors(
    session: AsyncSession, customer_id: uuid.UUID, grade: str
) -> dict[str, date]:
    """The last planned date of each touch of the customer's plan for ``grade``."""
    rows = await session.exec(  # type: ignore[call-overload]
        select(PlanTask.kind, func.max(PlanTask.due_on))
        .where(
            PlanTask.customer_id == customer_id,
            PlanTask.grade == grade,
            PlanTask.status != "cancelled",
        )
        .group_by(PlanTask.kind)
    )
    return {kind: day for kind, day in rows.all()}


async def open_tasks(session: AsyncSession, customer_id: uuid.UUID) -> list[PlanTask]:
    rows = await session.exec(
        select(PlanTask).where(PlanTask.customer_id == customer_id, PlanTask.status == "open")
    )
    return list(rows.all())


async def get_task(
    session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False
) -> PlanTask | None:
    statement = select(PlanTask).where(PlanTask.id == task_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_tasks(
    session: AsyncSession,
    *,
    owner_id: str | None,
    customer_id: uuid.UUID | None,
    status: str | None,
    due_from: date | None,
    due_to: date | None,
    offset: int,
    limit: int,
) -> tuple[list[PlanTask], int]:
    conditions: list[Any] = []
    if owner_id is not None:
        conditions.append(PlanTask.owner_id == owner_id)
    if customer_id is not None:
        conditions.append(PlanTask.customer_id == customer_id)
    if status is not None:
        conditions.append(PlanTask.status == status)
    if due_from is not None:
        conditions.append(PlanTask.due_on >= due_from)
    if due_to is not None:
        conditions.append(PlanTask.due_on <= due_to)
    total = (
        await session.exec(select(func.count()).select_from(PlanTask).where(*conditions))  # type: ignore[call-overload]
    ).one()
    rows = await session.exec(
        select(PlanTask)
        .where(*conditions)
        .order_by(PlanTask.due_on, PlanTask.kind, PlanTask.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total)


@dataclass(frozen=True)
class PlanCustomerRow:
    id: uuid.UUID
    name: str
    code: str
    owner_id: str
    grade: str


async def plan_customers(session: AsyncSession) -> list[PlanCustomerRow]:
    """The customers the daily top-up plans for: graded, not archived (columns only)."""
    statement = select(  # type: ignore[call-overload]
        CustomerReplica.id,
        CustomerReplica.name,
        CustomerReplica.code,
        CustomerReplica.owner_id,
        CustomerReplica.grade,
    ).where(
        CustomerReplica.grade.is_not(None),  # type: ignore[union-attr]
        CustomerReplica.archived.is_(False),  # type: ignore[attr-defined]
    )
    return [PlanCustomerRow(*row) for row in (await session.exec(statement)).all()]


async def customers_with_stale_open_tasks(session: AsyncSession) -> set[uuid.UUID]:
    """Graded, unarchived customers with an open task of another grade or owner (a change
    whose event re-planning has not caught up with): the top-up re-plans them one by one."""
    statement = (
        select(PlanTask.customer_id)  # type: ignore[call-overload]
        .join(CustomerReplica, CustomerReplica.id == PlanTask.customer_id)
        .where(
            PlanTask.status == "open",
            CustomerReplica.grade.is_not(None),  # type: ignore[union-attr]
            CustomerReplica.archived.is_(False),  # type: ignore[attr-defined]
            or_(
                PlanTask.grade != CustomerReplica.grade,
                PlanTask.owner_id != CustomerReplica.owner_id,
            ),
        )
        .distinct()
    )
    return set((await session.exec(statement)).all())


async def all_plan_anchors(session: AsyncSession) -> dict[uuid.UUID, dict[str, date]]:
    """``plan_anchors`` of every graded, unarchived customer at once (its current grade)."""
    statement = (
        select(PlanTask.customer_id, PlanTask.kind, func.max(PlanTask.due_on))  # type: ignore[call-overload]
        .join(CustomerReplica, CustomerReplica.id == PlanTask.customer_id)
        .where(
            PlanTask.grade == CustomerReplica.grade,
            PlanTask.status != "cancelled",
            CustomerReplica.archived.is_(False),  # type: ignore[attr-defined]
        )
        .group_by(PlanTask.customer_id, PlanTask.kind)
    )
    anchors: dict[uuid.UUID, dict[str, date]] = {}
    for customer_id, kind, day in (await session.exec(statement)).all():
        anchors.setdefault(customer_id, {})[kind] = day
    return anchors


async def insert_plan_tasks(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.exec(insert(PlanTask.__table__), params=rows)  # type: ignore[call-overload]


async def repoint_open_tasks(
    session: AsyncSession, customer_id: uuid.UUID, to_owner: str
) -> list[uuid.UUID]:
    tasks = await open_tasks(session, customer_id)
    for task in tasks:
        task.owner_id = to_owner
        session.add(task)
    return [t.id for t in tasks]


# --------------------------------------------------------------------------- merges


async def move_customer_rows(
    session: AsyncSession, from_id: uuid.UUID, to_id: uuid.UUID, now: datetime
) -> None:
    """Everything of ``from_id`` now belongs to ``to_id``; its open plan tasks (the
    survivor's plan stands) and their reminders are cancelled."""
    for model in (FollowUp, ActionItem, Reminder):
        await session.exec(  # type: ignore[call-overload]
            update(model).where(model.customer_id == from_id).values(customer_id=to_id)  # type: ignore[attr-defined]
        )
    open_ids = select(PlanTask.id).where(PlanTask.customer_id == from_id, PlanTask.status == "open")
    await cancel_reminders(session, now, Reminder.subject_id.in_(open_ids))  # type: ignore[union-attr]
    await session.exec(  # type: ignore[call-overload]
        update(PlanTask)
        .where(PlanTask.customer_id == from_id, PlanTask.status == "open")
        .values(status="cancelled")
    )
    await session.exec(  # type: ignore[call-overload]
        update(PlanTask).where(PlanTask.customer_id == from_id).values(customer_id=to_id)
    )
    source = await session.get(CustomerActivity, from_id)
    if source is not None:
        if source.last_follow_up_on is not None:
            await record_follow_up_day(session, to_id, source.last_follow_up_on)
        await session.delete(source)


async def repoint_action_items(
    session: AsyncSession, customer_id: uuid.UUID, from_assignee: str, to_assignee: str
) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(ActionItem)
        .where(
            ActionItem.customer_id == customer_id,
            ActionItem.assignee_id == from_assignee,
            ActionItem.done.is_(False),  # type: ignore[attr-defined]
        )
        .values(assignee_id=to_assignee, version=ActionItem.version + 1)
    )


# --------------------------------------------------------------------------- settings


async def get_settings_row(
    session: AsyncSession, *, lock: bool = False
) -> EngagementSettingsRow | None:
    statement = select(EngagementSettingsRow).where(EngagementSettingsRow.id == 1)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()
