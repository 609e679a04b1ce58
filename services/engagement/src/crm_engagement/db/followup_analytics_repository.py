"""SQL of the follow-up analytics (数据分析-跟进): two aggregate queries over ``followup`` for a
period of ``occurred_on`` days and, optionally, one follower. The domain
(``domain.followup_analytics``) turns the sums into the published figures.

A *system* follow-up (``source = 'system'``, method ``system``: a resolved complaint the
service wrote itself) is told apart in the counts and left out of the gaps and customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, not_, or_, select
from sqlalchemy.sql import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db.followup_models import FollowUp

SYSTEM = "system"


@dataclass(frozen=True)
class FollowUpAnalyticsFilter:
    follower_id: str | None = None
    occurred_from: date | None = None  # inclusive
    occurred_to: date | None = None  # inclusive


@dataclass(frozen=True)
class CountRow:
    follower_id: str
    method: str
    feedback: str
    outcome: str
    system: bool
    count: int


@dataclass(frozen=True)
class GapFigures:
    customers: int  # distinct customers with a person's follow-up in the selection
    customers_with_gaps: int  # of those, the ones with two or more
    gaps: int  # pairs of consecutive follow-ups of one customer
    gap_days: int  # Σ days between the two follow-ups of each pair


def _column(name: str) -> Any:
    return FollowUp.__table__.c[name]  # type: ignore[attr-defined]


def _is_system() -> ColumnElement[bool]:
    return or_(_column("source") == SYSTEM, _column("method") == SYSTEM)


def _conditions(flt: FollowUpAnalyticsFilter) -> list[ColumnElement[bool]]:
    occurred_on = _column("occurred_on")
    conditions: list[ColumnElement[bool]] = []
    if flt.follower_id is not None:
        conditions.append(_column("follower_id") == flt.follower_id)
    if flt.occurred_from is not None:
        conditions.append(occurred_on >= flt.occurred_from)
    if flt.occurred_to is not None:
        conditions.append(occurred_on <= flt.occurred_to)
    return conditions


async def followup_counts(session: AsyncSession, flt: FollowUpAnalyticsFilter) -> list[CountRow]:
    """One scan: the count per (follower, method, feedback, outcome, system or not); the
    domain sums it along each dimension."""
    system = _is_system().label("system")
    keys = (
        _column("follower_id"),
        _column("method"),
        _column("feedback"),
        _column("outcome"),
        system,
    )
    statement = select(*keys, func.count()).where(*_conditions(flt)).group_by(*keys)
    rows = (await session.execute(statement)).all()
    return [
        CountRow(
            follower_id=row[0],
            method=row[1],
            feedback=row[2],
            outcome=row[3],
            system=bool(row[4]),
            count=int(row[5]),
        )
        for row in rows
    ]


def _days_between(session: AsyncSession, later: Any, earlier: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    if dialect == "postgresql":
        return later - earlier  # date - date is an integer number of days
    return func.julianday(later) - func.julianday(earlier)


async def gap_figures(session: AsyncSession, flt: FollowUpAnalyticsFilter) -> GapFigures:
    """The people's follow-ups selected, per customer in the order they happened: ``lag``
    gives each one the day of the customer's previous one (null for the first), so every
    consecutive pair is one gap; summed here with the customers counted."""
    occurred_on = _column("occurred_on")
    customer_id = _column("customer_id")
    # Ordered by the day alone: follow-ups on the same day are 0 days apart in any order, and
    # (customer_id, occurred_on) is the prefix of ix_followup_customer_occurred.
    previous = func.lag(occurred_on).over(partition_by=customer_id, order_by=occurred_on)
    picked = (
        select(
            customer_id.label("customer_id"),
            _days_between(session, occurred_on, previous).label("gap"),
        )
        .where(*_conditions(flt), not_(_is_system()))
        .subquery()
    )
    statement = select(
        func.count(func.distinct(picked.c.customer_id)),
        func.count(func.distinct(case((picked.c.gap.is_not(None), picked.c.customer_id)))),
        func.count(picked.c.gap),
        func.coalesce(func.sum(picked.c.gap), 0),
    )
    row = (await session.execute(statement)).one()
    return GapFigures(
        customers=int(row[0]),
        customers_with_gaps=int(row[1]),
        gaps=int(row[2]),
        gap_days=round(float(row[3])),
    )
