"""SQL of change requests, review decisions, owner transfers and merges."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.approval_models import ChangeRequest, ReviewDecision
from crm_customers.db.models import Contact, Customer

BATCH = 1000
"""Ids per IN (...) list: far below the bind-parameter limits of PostgreSQL and SQLite."""


def _batches(ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
    return [list(ids[i : i + BATCH]) for i in range(0, len(ids), BATCH)]


async def pending_change_request(
    session: AsyncSession, customer_id: uuid.UUID
) -> ChangeRequest | None:
    query = select(ChangeRequest).where(
        ChangeRequest.customer_id == customer_id, ChangeRequest.status == "pending"
    )
    return (await session.exec(query)).first()


async def get_change_request(
    session: AsyncSession, request_id: uuid.UUID, *, for_update: bool = False
) -> ChangeRequest | None:
    query = select(ChangeRequest).where(ChangeRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def search_change_requests(
    session: AsyncSession,
    *,
    visible_owner: str | None,
    statuses: Sequence[str],
    customer_id: uuid.UUID | None,
    requested_by: str | None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[ChangeRequest, Customer]], int]:
    """Newest first, with their customers; a rep's list stops at the customers they own."""
    conditions = []
    if visible_owner is not None:
        conditions.append(Customer.owner_id == visible_owner)
    if statuses:
        conditions.append(col(ChangeRequest.status).in_(list(statuses)))
    if customer_id is not None:
        conditions.append(ChangeRequest.customer_id == customer_id)
    if requested_by is not None:
        conditions.append(ChangeRequest.requested_by == requested_by)
    joined = sa_select(ChangeRequest, Customer).join(
        Customer, Customer.id == ChangeRequest.customer_id
    )
    page = await session.execute(
        joined.where(*conditions)
        .order_by(col(ChangeRequest.created_at).desc(), col(ChangeRequest.id).desc())
        .offset(offset)
        .limit(limit)
    )
    total = await session.execute(
        sa_select(func.count())
        .select_from(ChangeRequest)
        .join(Customer, Customer.id == ChangeRequest.customer_id)
        .where(*conditions)
    )
    return [(row[0], row[1]) for row in page.all()], int(total.scalar_one())


async def review_decisions_of(
    session: AsyncSession, customer_id: uuid.UUID
) -> list[ReviewDecision]:
    query = (
        select(ReviewDecision)
        .where(ReviewDecision.customer_id == customer_id)
        .order_by(col(ReviewDecision.decided_at).desc())
    )
    return list((await session.exec(query)).all())


async def lock_customers(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Customer]:
    """Load and row-lock ``ids`` in id order (a fixed order, so two transfers never deadlock)."""
    found: list[Customer] = []
    for batch in _batches(sorted(set(ids))):
        query = (
            select(Customer)
            .where(col(Customer.id).in_(batch))
            .order_by(col(Customer.id))
            .with_for_update()
        )
        found.extend((await session.exec(query)).all())
    return found


async def lock_live_customers_of(session: AsyncSession, owner_id: str) -> list[Customer]:
    """Every live (not archived) customer of ``owner_id``, row-locked in id order."""
    query = (
        select(Customer)
        .where(Customer.owner_id == owner_id, col(Customer.archived_at).is_(None))
        .order_by(col(Customer.id))
        .with_for_update()
    )
    return list((await session.exec(query)).all())


async def reassign_owner(
    session: AsyncSession, ids: Sequence[uuid.UUID], owner_id: str, now: datetime
) -> None:
    """One UPDATE per batch; the loaded (locked) rows are synchronised in the session too."""
    for batch in _batches(list(ids)):
        await session.execute(
            update(Customer)
            .where(col(Customer.id).in_(batch))
            .values(owner_id=owner_id, updated_at=now, version=Customer.version + 1)
            .execution_options(synchronize_session="evaluate")
        )


async def contacts_of_for_update(session: AsyncSession, customer_id: uuid.UUID) -> list[Contact]:
    """All contacts of a customer, archived included (a merge moves its whole history)."""
    query = (
        select(Contact)
        .where(Contact.customer_id == customer_id)
        .order_by(col(Contact.created_at), col(Contact.id))
        .with_for_update()
    )
    return list((await session.exec(query)).all())


async def repoint_referrals(
    session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID, now: datetime
) -> int:
    """Customers referred by a merged customer are now referred by the one it merged into."""
    result = await session.execute(
        update(Customer)
        .where(Customer.referred_by == source_id)
        .values(referred_by=target_id, updated_at=now, version=Customer.version + 1)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
