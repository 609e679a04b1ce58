"""SQL of customer import and export: set-wise look-ups (one query per chunk of a file, never
one per row), the bulk code reservation and the import records."""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.import_models import CustomerImport
from crm_customers.db.models import CodeSequence, Contact, Customer, CustomerTag, Industry, Tag
from crm_platform.db import conflict_insert

CHUNK = 1000
"""Values per ``IN (...)``: far below PostgreSQL's and SQLite's parameter limits."""

T = TypeVar("T")


def _chunks(values: Iterable[T], size: int = CHUNK) -> Iterable[list[T]]:
    items = list(dict.fromkeys(values))
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def lock_scope(session: AsyncSession, scope: str) -> None:
    """Row-lock the scope's counter row until the caller commits: imports into one scope run
    one at a time, so a batch's duplicate re-check cannot race another batch's inserts."""
    statement = (
        conflict_insert(session, CodeSequence)
        .values(scope=scope, last_serial=0)
        .on_conflict_do_update(
            index_elements=["scope"], set_={"last_serial": CodeSequence.last_serial}
        )
    )
    await session.execute(statement)


async def insert_customer_tags(session: AsyncSession, links: list[dict[str, uuid.UUID]]) -> None:
    """Tag links of freshly created customers, in one multi-row insert."""
    if links:
        await session.execute(insert(CustomerTag), links)


async def insert_tags(session: AsyncSession, tags: list[dict[str, Any]]) -> None:
    """Tags an admin's import creates, in one multi-row insert (a name taken meanwhile
    fails it on the unique index)."""
    if tags:
        await session.execute(insert(Tag), tags)


async def all_industries(session: AsyncSession) -> list[Industry]:
    return list((await session.exec(select(Industry))).all())


async def all_tags(session: AsyncSession) -> list[Tag]:
    return list((await session.exec(select(Tag))).all())


async def customers_by_credit_code(
    session: AsyncSession, credit_codes: Iterable[str]
) -> dict[str, tuple[uuid.UUID, str]]:
    """credit code → (id, code) of the customers that already hold one of ``credit_codes``."""
    found: dict[str, tuple[uuid.UUID, str]] = {}
    for chunk in _chunks(credit_codes):
        rows = await session.execute(
            sa_select(Customer.credit_code, Customer.id, Customer.code).where(
                col(Customer.credit_code).in_(chunk)
            )
        )
        for credit_code, customer_id, code in rows.all():
            found[credit_code] = (customer_id, code)
    return found


MERGE_CHAIN_LIMIT = 20


async def survivors_of(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """For those of ``customer_ids`` that were merged into another: (id, code) of the customer
    each ended in, through chains of merges (one query per step of the chains, per chunk)."""
    wanted = list(dict.fromkeys(customer_ids))
    merged_into: dict[uuid.UUID, uuid.UUID | None] = {}
    codes: dict[uuid.UUID, str] = {}
    frontier = wanted
    for _ in range(MERGE_CHAIN_LIMIT):
        if not frontier:
            break
        for chunk in _chunks(frontier):
            rows = await session.execute(
                sa_select(Customer.id, Customer.code, Customer.merged_into).where(
                    col(Customer.id).in_(chunk)
                )
            )
            for customer_id, code, into in rows.all():
                merged_into[customer_id], codes[customer_id] = into, code
        frontier = [i for i in set(merged_into.values()) if i is not None and i not in codes]
    found = {}
    for customer_id in wanted:
        current, steps = customer_id, 0
        while merged_into.get(current) is not None and steps < MERGE_CHAIN_LIMIT:
            current, steps = merged_into[current], steps + 1  # type: ignore[assignment]
        if current != customer_id and current in codes:
            found[customer_id] = (current, codes[current])
    return found


async def customers_by_id_number_index(
    session: AsyncSession, indexes: Iterable[str]
) -> dict[str, tuple[uuid.UUID, str]]:
    found: dict[str, tuple[uuid.UUID, str]] = {}
    for chunk in _chunks(indexes):
        rows = await session.execute(
            sa_select(Customer.id_number_index, Customer.id, Customer.code).where(
                col(Customer.id_number_index).in_(chunk)
            )
        )
        for index, customer_id, code in rows.all():
            found[index] = (customer_id, code)
    return found


async def customers_by_natural_key(
    session: AsyncSession, names_normalized: Iterable[str]
) -> dict[tuple[str, str, str], tuple[uuid.UUID, str]]:
    """(kind, normalized name, owner) → (id, code) for customers with one of these names."""
    found: dict[tuple[str, str, str], tuple[uuid.UUID, str]] = {}
    for chunk in _chunks(names_normalized):
        rows = await session.execute(
            sa_select(
                Customer.kind,
                Customer.name_normalized,
                Customer.owner_id,
                Customer.id,
                Customer.code,
            ).where(col(Customer.name_normalized).in_(chunk))
        )
        for kind, name, owner, customer_id, code in rows.all():
            found.setdefault((kind, name, owner), (customer_id, code))
    return found


async def primary_contacts_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    if not customer_ids:
        return {}
    rows = await session.exec(
        select(Contact).where(
            col(Contact.customer_id).in_(list(customer_ids)),
            col(Contact.is_primary).is_(True),
            col(Contact.archived_at).is_(None),
        )
    )
    return {contact.customer_id: contact for contact in rows.all()}


async def get_import(session: AsyncSession, import_id: uuid.UUID) -> CustomerImport | None:
    return await session.get(CustomerImport, import_id)


async def list_imports(
    session: AsyncSession, *, created_by: str | None, offset: int, limit: int
) -> tuple[list[CustomerImport], int]:
    """A page of import records without their problem rows (up to one per row of a file)."""
    query = sa_select(CustomerImport).options(defer(col(CustomerImport.problems)))
    count = sa_select(func.count()).select_from(CustomerImport)
    if created_by is not None:
        query = query.where(CustomerImport.created_by == created_by)
        count = count.where(CustomerImport.created_by == created_by)
    query = query.order_by(col(CustomerImport.created_at).desc(), col(CustomerImport.id).desc())
    page = await session.execute(query.offset(offset).limit(limit))
    total = await session.execute(count)
    return list(page.scalars().all()), int(total.scalar_one())
