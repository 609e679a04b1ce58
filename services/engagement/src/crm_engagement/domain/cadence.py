"""Cadence (seed 000 §5.1): A customers need a follow-up at least every 7 days, B every 14,
C every 30 (configurable). Overdue customers are listed and their owners reminded once per
overdue period (a period ends with the next follow-up)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_repository import OverdueRow
from crm_engagement.domain import access
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.enums import ReminderKind
from crm_engagement.domain.rules import Rules, cadence_overdue_since

SCAN_BATCH = 1000


def cutoffs(rules: Rules, today: date) -> dict[str, date]:
    """Per grade, the latest anchor day that is overdue today."""
    return {g: today - timedelta(days=days + 1) for g, days in rules.cadence_days.items()}


@dataclass(frozen=True)
class OverdueView:
    row: OverdueRow
    overdue_since: date
    days_overdue: int


@dataclass(frozen=True)
class OverduePage:
    views: list[OverdueView]
    total: int


def _view(rules: Rules, row: OverdueRow, today: date) -> OverdueView:
    since = cadence_overdue_since(
        row.grade, row.last_follow_up_on, row.since_on, rules.cadence_days
    )
    assert since is not None
    return OverdueView(row, since, (today - since).days + 1)


async def overdue(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    owner_id: str | None,
    page: int,
    page_size: int,
) -> OverduePage:
    """Longest-waiting first; a rep sees their own customers only."""
    rules = await load_rules(session, ctx.settings)
    today = rules.today(ctx.clock.now())
    scope = access.owner_scope(ctx.identity)
    rows, total = await repo.overdue_customers(
        session,
        cutoffs(rules, today),
        owner_id=scope if scope is not None else owner_id,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return OverduePage([_view(rules, r, today) for r in rows], total)


async def remind_overdue(session: AsyncSession, rules: Rules, now: datetime) -> int:
    """One reminder per customer per overdue period, to its owner, at today's reminder hour
    (or now, if that has passed). Returns how many customers are overdue. One query and one
    insert for all of them: the reminders of periods already reminded exist and are kept."""
    today = rules.today(now)
    due_at = max(rules.due_at(today), now)
    rows = await repo.overdue_for_reminding(session, cutoffs(rules, today))
    await repo.insert_reminders(session, [_reminder(row, due_at, now) for row in rows])
    return len(rows)


def _reminder(row: OverdueRow, due_at: datetime, now: datetime) -> dict[str, object]:
    """The row ``reminders.schedule_at`` writes for a customer's overdue period."""
    anchor = row.last_follow_up_on or row.since_on
    return {
        "id": uuid.uuid4(),
        "kind": ReminderKind.CADENCE_OVERDUE.value,
        "dedupe_key": f"cadence:{row.customer_id}:{anchor.isoformat()}",
        "due_on": None,
        "due_at": due_at,
        "recipient_id": row.owner_id,
        "customer_id": row.customer_id,
        "subject_id": None,
        "title": f"跟进逾期 {row.name} ({row.code}, {row.grade}) is past its follow-up cadence"[
            :300
        ],
        "created_at": now,
    }
