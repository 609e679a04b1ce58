"""The reminder schedule: one row per reminder, written where its cause is (a follow-up's
next date, an action item, a cadence period, a plan task, a new prospect) and fired once by
the scheduler (``domain.scheduler``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_models import Reminder
from crm_engagement.domain import access
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.enums import ReminderKind
from crm_engagement.domain.rules import Rules
from crm_engagement.events import published as ev
from crm_platform.events.outbox import add_serialized_events


async def schedule_on_day(
    session: AsyncSession,
    rules: Rules,
    now: datetime,
    *,
    kind: ReminderKind,
    dedupe_key: str,
    day: date,
    recipient_id: str,
    title: str,
    customer_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
) -> None:
    """At the reminder hour of ``day`` (local); a moment already past fires at the next scan."""
    await repo.insert_reminder(
        session,
        reminder_row(
            rules,
            now,
            kind=kind,
            dedupe_key=dedupe_key,
            day=day,
            recipient_id=recipient_id,
            title=title,
            customer_id=customer_id,
            subject_id=subject_id,
        ),
    )


async def schedule_at(
    session: AsyncSession,
    now: datetime,
    *,
    kind: ReminderKind,
    dedupe_key: str,
    due_at: datetime,
    recipient_id: str,
    title: str,
    customer_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
) -> None:
    await repo.insert_reminder(
        session,
        {
            "id": uuid.uuid4(),
            "kind": kind.value,
            "dedupe_key": dedupe_key,
            "due_on": None,
            "due_at": due_at,
            "recipient_id": recipient_id,
            "customer_id": customer_id,
            "subject_id": subject_id,
            "title": title[:300],
            "created_at": now,
        },
    )


def stage_fired(session: AsyncSession, fired: Sequence[Any], now: datetime) -> None:
    """Stage ``reminder.due`` for each reminder ``repo.fire_due_reminders`` just marked fired,
    in the same transaction: both or neither."""
    add_serialized_events(session, ev.reminder_due_bodies(fired, now))


def reminder_row(
    rules: Rules,
    now: datetime,
    *,
    kind: ReminderKind,
    dedupe_key: str,
    day: date,
    recipient_id: str,
    title: str,
    customer_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The row ``schedule_on_day`` writes, for ``repo.insert_reminders`` (many at once)."""
    return {
        "id": uuid.uuid4(),
        "kind": kind.value,
        "dedupe_key": dedupe_key,
        "due_on": day,
        "due_at": max(rules.due_at(day), now),
        "recipient_id": recipient_id,
        "customer_id": customer_id,
        "subject_id": subject_id,
        "title": title[:300],
        "created_at": now,
    }


@dataclass(frozen=True)
class ReminderPage:
    items: list[Reminder]
    total: int


async def list_reminders(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    recipient_id: str | None,
    fired: bool | None,
    page: int,
    page_size: int,
) -> ReminderPage:
    """A rep sees their own reminders; managers anyone's."""
    if access.owner_scope(ctx.identity) is not None:
        recipient_id = ctx.actor
    items, total = await repo.list_reminders(
        session,
        recipient_id=recipient_id,
        fired=fired,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return ReminderPage(items, total)
