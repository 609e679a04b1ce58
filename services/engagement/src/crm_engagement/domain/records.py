"""What several use cases need: the customer (from the replica) the caller may work on."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.models import CustomerReplica
from crm_engagement.domain import access
from crm_engagement.domain.context import RequestContext
from crm_platform.errors import Conflict, NotFound


async def customer_for_read(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID
) -> CustomerReplica:
    customer = await repo.get_customer(session, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    access.ensure_can_read(ctx.identity, customer.owner_id, customer_id)
    return customer


async def customer_for_write(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    allow_archived: bool = False,
) -> CustomerReplica:
    customer = await repo.get_customer(session, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    access.ensure_can_write(ctx.identity, customer.owner_id, customer_id)
    if customer.archived and not allow_archived:
        raise Conflict(
            f"Customer {customer.code} is archived and takes no new follow-ups.",
            slug="customer-archived",
        )
    return customer
