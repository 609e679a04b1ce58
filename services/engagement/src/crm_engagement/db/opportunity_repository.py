"""SQL of the sales pipeline: numbering, loading, listing, re-pointing and the analytics
aggregates. The domain decides; this module only reads and writes rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.sql import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db.models import CustomerReplica
from crm_engagement.db.opportunity_models import (
    Opportunity,
    OpportunitySerial,
    OpportunityStageChange,
)
from crm_platform.db import conflict_insert, dialect_of

CLOSED_STAGES = ("won", "lost")
# The funnel's order: how far an opportunity got (lost is not a step of the funnel).
FUNNEL_RANK = {
    "initial_contact": 0,
    "needs_analysis": 1,
    "proposal": 2,
    "negotiation": 3,
    "won": 4,
}


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerReplica | None:
    return await session.get(CustomerReplica, customer_id)


async def take_serials(session: AsyncSession, customer_id: uuid.UUID, count: int = 1) -> list[int]:
    """``count`` new serials of the customer's opportunities, in the caller's transaction.

    One upsert on the customer's counter row: on PostgreSQL its row lock makes a concurrent
    create for the same customer wait for this transaction (creates for other customers never
    wait), so two creates never take the same number; the unique (customer_id, serial)
    constraint backs it up."""
    statement = conflict_insert(session, OpportunitySerial).values(
        customer_id=customer_id, last_serial=count
    )
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={"last_serial": OpportunitySerial.last_serial + count},
    ).returning(OpportunitySerial.last_serial)
    last = int((await session.execute(statement)).scalar_one())
    return list(range(last - count + 1, last + 1))


async def get_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Opportunity, str | None] | None:
    """The opportunity and its customer's owner (None when the replica lacks the customer)."""
    statement = (
        select(Opportunity, CustomerReplica.owner_id)
        .outerjoin(CustomerReplica, CustomerReplica.id == Opportunity.customer_id)
        .where(Opportunity.id == opportunity_id)
    )
    if for_update:
        statement = statement.with_for_update(of=Opportunity)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def history_of(
    session: AsyncSession, opportunity_id: uuid.UUID
) -> Sequence[OpportunityStageChange]:
    statement = (
        select(OpportunityStageChange)
        .where(OpportunityStageChange.opportunity_id == opportunity_id)
        .order_by(OpportunityStageChange.changed_at, OpportunityStageChange.id)
    )
    return (await session.execute(statement)).scalars().all()


@dataclass(frozen=True)
class OpportunityFilter:
    stage: str | None = None
    owner_id: str | None = None
    customer_id: uuid.UUID | None = None
    close_from: date | None = None
    close_to: date | None = None
    open_only: bool = False
    visible_customer_owner: str | None = None  # a rep: only their customers' opportunities


def _conditions(flt: OpportunityFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.stage is not None:
        conditions.append(Opportunity.stage == flt.stage)
    if flt.owner_id is not None:
        conditions.append(Opportunity.owner_id == flt.owner_id)
    if flt.customer_id is not None:
        conditions.append(Opportunity.customer_id == flt.customer_id)
    if flt.close_from is not None:
        conditions.append(Opportunity.expected_close_on >= flt.close_from)
    if flt.close_to is not None:
        conditions.append(Opportunity.expected_close_on <= flt.close_to)
    if flt.open_only:
        conditions.append(Opportunity.stage.not_in(CLOSED_STAGES))
    if flt.visible_customer_owner is not None:
        conditions.append(
            Opportunity.customer_id.in_(
                select(CustomerReplica.id).where(
                    CustomerReplica.owner_id == flt.visible_customer_owner
                )
            )
        )
    return conditions


async def page_opportunities(
    session: AsyncSession, flt: OpportunityFilter, *, offset: int, limit: int
) -> tuple[list[Opportunity], int]:
    conditions = _conditions(flt)
    total = (
        await session.execute(select(func.count()).select_from(Opportunity).where(*conditions))
    ).scalar_one()
    statement = (
        select(Opportunity)
        .where(*conditions)
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars().all()), int(total)


async def repoint_opportunities(
    session: AsyncSession, from_customer_id: uuid.UUID, to_customer_id: uuid.UUID, now: datetime
) -> list[uuid.UUID]:
    """Move every opportunity of ``from_customer_id`` to ``to_customer_id``: each takes a
    fresh serial of its new customer (the per-customer serial stays unique) and keeps its
    code (an identifier others may already hold). Returns the ids moved."""
    if from_customer_id == to_customer_id:
        return []
    ids = list(
        (
            await session.execute(
                select(Opportunity.id)
                .where(Opportunity.customer_id == from_customer_id)
                .order_by(Opportunity.serial)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    serials = await take_serials(session, to_customer_id, len(ids))
    for opportunity_id, serial in zip(ids, serials, strict=True):
        await session.execute(
            update(Opportunity)
            .where(Opportunity.id == opportunity_id)
            .values(
                customer_id=to_customer_id,
                serial=serial,
                version=Opportunity.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return ids


async def reassign_open_opportunities(
    session: AsyncSession, customer_id: uuid.UUID, new_owner_id: str, now: datetime
) -> list[uuid.UUID]:
    """Give the customer's open opportunities to ``new_owner_id``; closed ones keep the owner
    who won or lost them (the analytics credit them). Returns the ids changed."""
    statement = (
        update(Opportunity)
        .where(
            Opportunity.customer_id == customer_id,
            Opportunity.stage.not_in(CLOSED_STAGES),
            Opportunity.owner_id != new_owner_id,
        )
        .values(owner_id=new_owner_id, version=Opportunity.version + 1, updated_at=now)
        .returning(Opportunity.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(statement)).scalars().all())


# --------------------------------------------------------------------------- analytics


@dataclass(frozen=True)
class AnalyticsFilter:
    owner_id: str | None = None
    basis: str = "created"  # "created" or "closed": which moment the period applies to
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


@dataclass(frozen=True)
class StageRow:
    stage: str
    lost_reason: str | None
    count: int
    expected: Decimal
    weighted_cents: Decimal  # sum of expected * probability (hundredths of the amount)
    actual: Decimal  # sum of actual amounts (won)
    cycle_seconds: float  # sum of (closed_at - created_at) over the closed ones


def _analytics_conditions(flt: AnalyticsFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.owner_id is not None:
        conditions.append(Opportunity.owner_id == flt.owner_id)
    moment = Opportunity.created_at if flt.basis == "created" else Opportunity.closed_at
    if flt.start is not None:
        conditions.append(moment >= flt.start)
    if flt.end is not None:
        conditions.append(moment < flt.end)
    if flt.basis == "closed" and flt.start is None and flt.end is None:
        conditions.append(Opportunity.closed_at.is_not(None))
    return conditions


def _seconds_between(session: AsyncSession, later: Any, earlier: Any) -> Any:
    if dialect_of(session) == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400


async def stage_figures(session: AsyncSession, flt: AnalyticsFilter) -> list[StageRow]:
    """One scan: per stage (and lost reason) the count, the sums of expected and weighted
    amounts, and the summed cycle time of closed opportunities."""
    cycle = case(
        (
            Opportunity.closed_at.is_not(None),
            _seconds_between(session, Opportunity.closed_at, Opportunity.created_at),
        ),
        else_=literal(0),
    )
    statement = (
        select(
            Opportunity.stage,
            Opportunity.lost_reason,
            func.count(),
            func.coalesce(func.sum(Opportunity.expected_amount), 0),
            func.coalesce(func.sum(Opportunity.expected_amount * Opportunity.probability), 0),
            func.coalesce(func.sum(cycle), 0),
            func.coalesce(func.sum(Opportunity.actual_amount), 0),
        )
        .where(*_analytics_conditions(flt))
        .group_by(Opportunity.stage, Opportunity.lost_reason)
    )
    rows = (await session.execute(statement)).all()
    return [
        StageRow(
            stage=row[0],
            lost_reason=row[1],
            count=int(row[2]),
            expected=Decimal(row[3]),
            weighted_cents=Decimal(row[4]),
            cycle_seconds=float(row[5]),
            actual=Decimal(row[6]),
        )
        for row in rows
    ]


async def funnel_reach(session: AsyncSession, flt: AnalyticsFilter) -> dict[int, int]:
    """From the stage history: how many of the filtered opportunities reached each funnel
    rank (0 initial contact … 4 won). An opportunity reached every rank up to the furthest
    stage it was ever in, so a skipped stage counts as passed."""
    rank = case(
        *((OpportunityStageChange.to_stage == stage, n) for stage, n in FUNNEL_RANK.items()),
        else_=None,
    )
    furthest = (
        select(func.max(rank).label("furthest"))
        .select_from(OpportunityStageChange)
        .join(Opportunity, Opportunity.id == OpportunityStageChange.opportunity_id)
        .where(*_analytics_conditions(flt))
        .group_by(OpportunityStageChange.opportunity_id)
        .subquery()
    )
    columns = [
        func.coalesce(func.sum(case((furthest.c.furthest >= n, 1), else_=0)), 0)
        for n in range(len(FUNNEL_RANK))
    ]
    row = (await session.execute(select(*columns).select_from(furthest))).one()
    return {n: int(value) for n, value in enumerate(row)}
