"""SQL of the customers service; the domain calls these, routers never do."""

import uuid

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.models import CodeSequence, Customer


async def next_serial(session: AsyncSession, scope: str) -> int:
    """Atomically take the next number of ``scope`` (row-locked until the caller commits)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(CodeSequence)
        .values(scope=scope, last_serial=1)
        .on_conflict_do_update(
            index_elements=["scope"], set_={"last_serial": CodeSequence.last_serial + 1}
        )
        .returning(CodeSequence.last_serial)
    )
    result = await session.execute(statement)
    return int(result.scalar_one())


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id)


async def list_customers(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[Customer], int]:
    page = await session.exec(
        select(Customer)
        .order_by(col(Customer.created_at).desc(), col(Customer.id).desc())
        .offset(offset)
        .limit(limit)
    )
    total = await session.exec(select(func.count()).select_from(Customer))
    return list(page.all()), int(total.one())
