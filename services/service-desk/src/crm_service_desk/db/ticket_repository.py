"""SQL of the tickets: numbering, loading, listing, the processing log, clocks, teams and
agents, and the SLA checker's claims. The domain decides; this module only reads and writes
rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import conflict_insert
from crm_service_desk.db.models import CustomerReplica
from crm_service_desk.db.ticket_models import (
    OPEN_STATUSES,
    Agent,
    Callback,
    ServiceTeam,
    SlaClock,
    Ticket,
    TicketLogEntry,
    TicketSerial,
)


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerReplica | None:
    return await session.get(CustomerReplica, customer_id)


async def take_serial(session: AsyncSession, year: int) -> int:
    """The year's next ticket serial, in the caller's transaction: one upsert on the year's
    counter row, whose row lock makes a concurrent create wait for this transaction's end,
    so numbers are gapless and never taken twice (the domain takes it last, just before the
    inserts, so the lock is held briefly)."""
    statement = (
        conflict_insert(session, TicketSerial)
        .values(year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=["year"], set_={"last_serial": TicketSerial.last_serial + 1}
        )
        .returning(TicketSerial.last_serial)
    )
    return int((await session.execute(statement)).scalar_one())


async def get_ticket(
    session: AsyncSession, ticket_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Ticket, str | None] | None:
    """The ticket and its customer's owner (None when the replica lacks the customer)."""
    statement = (
        select(Ticket, CustomerReplica.owner_id)
        .outerjoin(CustomerReplica, CustomerReplica.id == Ticket.customer_id)
        .where(Ticket.id == ticket_id)
    )
    if for_update:
        statement = statement.with_for_update(of=Ticket)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def get_ticket_by_code(session: AsyncSession, code: str) -> Ticket | None:
    return (await session.exec(select(Ticket).where(Ticket.code == code))).first()


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None  # a status, or "open" (pending or in progress)
    ticket_type: str | None = None
    priority: str | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    customer_id: uuid.UUID | None = None
    team_key: str | None = None
    urgent: bool | None = None
    waiting: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None  # code, title or customer name contains


def _conditions(flt: TicketFilter, owner_scope: str | None) -> list[Any]:
    conditions: list[Any] = []
    if flt.status == "open":
        conditions.append(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    elif flt.status is not None:
        conditions.append(Ticket.status == flt.status)
    for column, value in (
        (Ticket.ticket_type, flt.ticket_type),
        (Ticket.priority, flt.priority),
        (Ticket.assignee_id, flt.assignee_id),
        (Ticket.customer_id, flt.customer_id),
        (Ticket.team_key, flt.team_key),
        (Ticket.urgent, flt.urgent),
    ):
        if value is not None:
            conditions.append(column == value)
    if flt.unassigned:
        conditions.append(Ticket.assignee_id.is_(None))  # type: ignore[union-attr]
    if flt.waiting is not None:
        waiting = Ticket.waiting_since.is_not(None)  # type: ignore[union-attr]
        conditions.append(waiting if flt.waiting else ~waiting)
    if flt.created_from is not None:
        conditions.append(Ticket.created_at >= flt.created_from)
    if flt.created_to is not None:
        conditions.append(Ticket.created_at < flt.created_to)
    if flt.text:
        pattern = f"%{_escape_like(flt.text)}%"
        conditions.append(
            or_(
                Ticket.code.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
                Ticket.title.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
                Ticket.customer_name.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
            )
        )
    if owner_scope is not None:
        owned = select(CustomerReplica.id).where(CustomerReplica.owner_id == owner_scope)
        conditions.append(Ticket.customer_id.in_(owned))  # type: ignore[attr-defined]
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Urgent first, then by priority, then oldest first: the order a queue is worked in.
_PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


async def list_tickets(
    session: AsyncSession,
    flt: TicketFilter,
    owner_scope: str | None,
    *,
    offset: int,
    limit: int,
    queue_order: bool,
) -> tuple[list[Ticket], int]:
    conditions = _conditions(flt, owner_scope)
    total = (
        await session.exec(select(func.count()).select_from(Ticket).where(*conditions))  # type: ignore[call-overload]
    ).one()
    statement = select(Ticket).where(*conditions)
    if queue_order:
        rank = case(_PRIORITY_RANK, value=Ticket.priority, else_=3)
        statement = statement.order_by(Ticket.urgent.desc(), rank, Ticket.created_at, Ticket.id)  # type: ignore[attr-defined]
    else:
        statement = statement.order_by(Ticket.created_at.desc(), Ticket.id)  # type: ignore[attr-defined]
    rows = await session.exec(statement.offset(offset).limit(limit))
    return list(rows.all()), int(total)


async def log_of(session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[TicketLogEntry]:
    statement = (
        select(TicketLogEntry)
        .where(TicketLogEntry.ticket_id == ticket_id)
        .order_by(TicketLogEntry.at, TicketLogEntry.seq)  # type: ignore[arg-type]
    )
    return (await session.exec(statement)).all()


async def clocks_of(
    session: AsyncSession, ticket_id: uuid.UUID, *, for_update: bool = False
) -> list[SlaClock]:
    statement = (
        select(SlaClock)
        .where(SlaClock.ticket_id == ticket_id)
        .order_by(SlaClock.started_at, SlaClock.kind, SlaClock.round)  # type: ignore[arg-type]
    )
    if for_update:
        statement = statement.with_for_update()
    return list((await session.exec(statement)).all())


async def open_clocks_of(session: AsyncSession, ticket_ids: Sequence[uuid.UUID]) -> list[SlaClock]:
    """The clocks not stopped yet of these tickets (one statement for a page of a list)."""
    if not ticket_ids:
        return []
    statement = select(SlaClock).where(
        SlaClock.ticket_id.in_(ticket_ids),  # type: ignore[attr-defined]
        SlaClock.stopped_at.is_(None),  # type: ignore[union-attr]
    )
    return list((await session.exec(statement)).all())


# --------------------------------------------------------------------------- teams, agents


async def get_team(
    session: AsyncSession, key: str, *, for_update: bool = False
) -> ServiceTeam | None:
    statement = select(ServiceTeam).where(ServiceTeam.key == key)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_teams(session: AsyncSession) -> list[ServiceTeam]:
    return list((await session.exec(select(ServiceTeam).order_by(ServiceTeam.key))).all())


async def get_agent(session: AsyncSession, user_id: str) -> Agent | None:
    return await session.get(Agent, user_id)


async def list_agents(
    session: AsyncSession, *, team_key: str | None, ticket_type: str | None
) -> list[tuple[Agent, int]]:
    """Agents (of a team, handling a type) with their open tickets' count: the workload a
    supervisor assigns by."""
    statement = select(Agent, _open_count()).order_by(Agent.team_key, Agent.display_name)
    if team_key is not None:
        statement = statement.where(Agent.team_key == team_key)
    agents = [(row[0], int(row[1])) for row in (await session.execute(statement)).all()]
    if ticket_type is not None:
        agents = [(a, n) for a, n in agents if ticket_type in a.ticket_types]
    return agents


def _open_count() -> Any:
    return (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == Agent.user_id, Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
        .scalar_subquery()
    )


async def open_tickets_of(session: AsyncSession, user_id: str) -> int:
    statement = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == user_id, Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    )
    return int((await session.execute(statement)).scalar_one())


async def active_agents_of(session: AsyncSession, team_key: str) -> list[tuple[Agent, int]]:
    """The team's active agents and their open tickets, for the automatic strategies."""
    statement = select(Agent, _open_count()).where(
        Agent.team_key == team_key,
        Agent.active.is_(True),  # type: ignore[attr-defined]
    )
    return [(row[0], int(row[1])) for row in (await session.execute(statement)).all()]


async def touch_agent(session: AsyncSession, user_id: str, at: datetime) -> None:
    await session.execute(
        update(Agent).where(Agent.user_id == user_id).values(last_assigned_at=at)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- SLA checker

ALERT_COLUMNS = (
    SlaClock.id,
    SlaClock.ticket_id,
    SlaClock.kind,
    SlaClock.round,
    SlaClock.target_seconds,
    SlaClock.started_at,
    SlaClock.due_at,
    Ticket.code,
    Ticket.customer_id,
    Ticket.customer_name,
    Ticket.title,
    Ticket.ticket_type,
    Ticket.priority,
    Ticket.assignee_id,
    Ticket.team_key,
    ServiceTeam.supervisor_id,
)


def _running() -> Any:
    return and_(SlaClock.stopped_at.is_(None), SlaClock.paused_at.is_(None))  # type: ignore[union-attr]


async def claim_alerts(
    session: AsyncSession, now: datetime, limit: int, *, breach: bool
) -> list[Any]:
    """Marks up to ``limit`` running clocks past their warning (or due) moment whose event is
    not sent yet as sent at ``now`` and returns them with their ticket (``ALERT_COLUMNS``).

    The marking is one statement: rows another checker holds are skipped (``SKIP LOCKED``),
    rows it marked meanwhile no longer match, so each alert is claimed once whatever the
    number of checkers; the caller stages the events in the same transaction."""
    moment, sent = (
        (SlaClock.due_at, SlaClock.breach_sent_at)
        if breach
        else (SlaClock.warn_at, SlaClock.warning_sent_at)
    )
    conditions = [_running(), sent.is_(None), moment <= now]  # type: ignore[union-attr]
    marks: dict[str, Any] = {sent.key: now}
    if breach:
        # A breach makes the warning moot: one never follows it (the checker was down across
        # both moments, say).
        marks["warning_sent_at"] = func.coalesce(SlaClock.warning_sent_at, now)
    else:
        conditions.append(SlaClock.due_at > now)
    due = (
        select(SlaClock.id)
        .where(*conditions)
        .order_by(moment)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    marked = (
        update(SlaClock)
        .where(SlaClock.id.in_(due))  # type: ignore[attr-defined]
        .values(marks)
        .returning(SlaClock.id)
        .execution_options(synchronize_session=False)
    )
    ids = list((await session.execute(marked)).scalars().all())
    if not ids:
        return []
    statement = (
        select(*ALERT_COLUMNS)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .outerjoin(ServiceTeam, ServiceTeam.key == Ticket.team_key)
        .where(SlaClock.id.in_(ids))  # type: ignore[attr-defined]
    )
    return list((await session.execute(statement)).all())


async def claim_due_callbacks(session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    """``claim_alerts`` for callbacks: marks due ones reminded and returns them with their
    ticket."""
    due = (
        select(Callback.id)
        .where(
            Callback.reminded_at.is_(None),  # type: ignore[union-attr]
            Callback.cancelled_at.is_(None),  # type: ignore[union-attr]
            Callback.due_at <= now,
        )
        .order_by(Callback.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    marked = (
        update(Callback)
        .where(Callback.id.in_(due))  # type: ignore[attr-defined]
        .values(reminded_at=now)
        .returning(Callback.id)
        .execution_options(synchronize_session=False)
    )
    ids = list((await session.execute(marked)).scalars().all())
    if not ids:
        return []
    statement = (
        select(
            Callback.id,
            Callback.assignee_id,
            Callback.due_at,
            Callback.ticket_id,
            Ticket.code,
            Ticket.customer_id,
            Ticket.customer_name,
            Ticket.contact_id,
            Ticket.title,
            Ticket.resolution,
        )
        .join(Ticket, Ticket.id == Callback.ticket_id)
        .where(Callback.id.in_(ids))  # type: ignore[attr-defined]
    )
    return list((await session.execute(statement)).all())


async def open_tickets_by_priority(session: AsyncSession) -> dict[str, int]:
    statement = (
        select(Ticket.priority, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
        .group_by(Ticket.priority)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}


async def cancel_callbacks(session: AsyncSession, ticket_id: uuid.UUID, at: datetime) -> int:
    """Cancels the ticket's callbacks not yet due (a reopened ticket is not done)."""
    statement = (
        update(Callback)
        .where(
            Callback.ticket_id == ticket_id,
            Callback.reminded_at.is_(None),  # type: ignore[union-attr]
            Callback.cancelled_at.is_(None),  # type: ignore[union-attr]
        )
        .values(cancelled_at=at)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).rowcount


async def live_clocks_on_calendar(session: AsyncSession, calendar_key: str) -> list[SlaClock]:
    """The running and paused clocks of the teams working on ``calendar_key``, locked."""
    teams = select(ServiceTeam.key).where(ServiceTeam.calendar_key == calendar_key)
    statement = (
        select(SlaClock)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .where(SlaClock.stopped_at.is_(None), Ticket.team_key.in_(teams))  # type: ignore[union-attr,attr-defined]
        .with_for_update(of=SlaClock)
    )
    return list((await session.exec(statement)).all())


async def exists(session: AsyncSession, ticket_id: uuid.UUID) -> bool:
    statement = select(Ticket.id).where(Ticket.id == ticket_id)
    return (await session.exec(statement)).first() is not None
