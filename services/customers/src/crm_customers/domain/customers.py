"""Use cases on customers: each one a single transaction, its events staged in the outbox."""

import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Customer
from crm_customers.domain.codes import format_customer_code, sequence_scope
from crm_customers.domain.enums import CustomerKind, Lifecycle
from crm_customers.events.published import CustomerSnapshot, customer_created
from crm_platform.events import add_event
from crm_platform.http.problems import NotFound
from crm_platform.identity import Identity


def snapshot_of(customer: Customer) -> CustomerSnapshot:
    return CustomerSnapshot(
        id=str(customer.id),
        code=customer.code,
        kind=customer.kind,
        name=customer.name,
        industry=customer.industry,
        lifecycle=customer.lifecycle,
        owner_id=customer.owner_id,
        version=customer.version,
    )


async def create_customer(
    session: AsyncSession,
    *,
    kind: CustomerKind,
    name: str,
    industry: str,
    lifecycle: Lifecycle,
    owner_id: str | None,
    actor: Identity,
    code_prefix: str,
) -> Customer:
    now = datetime.now(UTC)
    async with session.begin():
        serial = await repository.next_serial(session, sequence_scope(code_prefix, now.year))
        customer = Customer(
            code=format_customer_code(code_prefix, now.year, serial),
            kind=kind.value,
            name=name,
            industry=industry,
            lifecycle=lifecycle.value,
            owner_id=owner_id or actor.subject,
            created_by=actor.subject,
            created_at=now,
            updated_at=now,
        )
        session.add(customer)
        add_event(session, customer_created(snapshot_of(customer), actor=actor.subject))
    return customer


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await repository.get_customer(session, customer_id)
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.")
    return customer


async def list_customers(
    session: AsyncSession, *, page: int, page_size: int
) -> tuple[list[Customer], int]:
    return await repository.list_customers(session, offset=(page - 1) * page_size, limit=page_size)
